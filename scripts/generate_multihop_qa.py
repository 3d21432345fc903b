#!/usr/bin/env python3
"""Generates the data of the multihop_qa example tenant: corpus.jsonl and dataset.jsonl.

A synthetic encyclopedia of invented people, cities, companies, products, bands and novels, and
two-hop questions over it: the first article names a bridge entity, the bridge's own article
holds the answer. Next to every question's articles sit "confuser" articles that share a
distinctive word with the question's entity or with the bridge, so BM25 with a small k
sometimes ranks a confuser above the article that matters. Hard questions get more confusers.

Everything is invented and the output is a pure function of --seed: re-running the script
rewrites identical files. Python 3 standard library only.

    python3 scripts/generate_multihop_qa.py [--seed N] [--out tenants/multihop_qa]
"""

import argparse
import json
import pathlib
import random
import re

DEFAULT_SEED = 20261121
QUESTIONS_PER_TYPE = 60
HARD_FRACTION = 0.4
# Confusers sharing the question's entity word / the bridge's word, by difficulty.
ENTITY_CONFUSERS = {"easy": (0, 1), "hard": (2, 3)}
BRIDGE_CONFUSERS = {"easy": (0, 1), "hard": (1, 2)}

ONSETS = ["b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "r", "s",
          "st", "t", "tr", "v", "w", "z", "th", "sh", "qu", "sk"]
VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ae", "ei", "ou"]
CODAS = ["", "", "", "n", "r", "l", "s", "th", "nd", "rk", "m", "v", "sk", "ll"]

FIRST_NAMES = ["Aldric", "Brisa", "Cato", "Delphine", "Edvin", "Fenna", "Galen", "Hesper",
               "Ilse", "Joran", "Kesia", "Lorcan", "Maren", "Nils", "Oriel", "Pim", "Quill",
               "Rosalind", "Soren", "Tamsin", "Ulric", "Vesna", "Wendel", "Ysolde", "Zeno",
               "Anouk", "Bertil", "Corentin", "Dagny", "Emrys"]
REGIONS_COUNT = 12
INDUSTRIES = ["textile", "shipping", "glassware", "machine tool", "food processing",
              "clockmaking", "paper", "instrument", "pharmaceutical", "railway equipment"]
COMPANY_SUFFIXES = ["Industries", "Works", "Holdings", "Systems", "Foods", "Textiles",
                    "Motors", "Instruments", "Laboratories", "Shipping"]
PROFESSIONS = ["engineer", "chemist", "merchant", "architect", "inventor", "banker",
               "economist", "physician", "journalist", "botanist"]
GENRES = ["folk", "post-punk", "jazz", "synth-pop", "indie rock", "bluegrass", "shoegaze"]
BAND_NOUNS = ["Lanterns", "Parade", "Static", "Choir", "Drift", "Orchard", "Signal", "Harbour"]
PRODUCT_KINDS = ["camera", "tractor", "typewriter", "bicycle", "radio", "sewing machine",
                 "motorcycle", "telescope"]
NOVEL_GENRES = ["historical", "detective", "science fiction", "coming-of-age", "comic"]
NOVEL_NOUNS = ["Letters", "Summer", "Harvest", "Crossing", "Winter", "Lighthouse", "Archive"]
FEATURES = ["stone bridges", "spring fair", "clock tower", "salt market", "glass museum",
            "botanical garden", "old cathedral"]
UNIVERSITY_KINDS = ["University", "College", "Institute of Technology", "Polytechnic"]
CONFUSER_THINGS = ["Stadium", "Festival", "Prize", "Square", "Theatre", "Observatory",
                   "Academy", "Tower", "Gardens", "Hotel"]


class World:
    """Invented entities and the articles that describe them."""

    def __init__(self, rng):
        self.rng = rng
        self.used_words = set()
        self.used_person_names = set()
        self.articles = []  # dicts with id, title, text
        self.titles = set()
        self.regions = [self.word() for _ in range(REGIONS_COUNT)]
        self.cities = [self.make_city() for _ in range(140)]
        self.universities = [self.make_university() for _ in range(40)]

    def word(self, syllables=None):
        while True:
            count = syllables or self.rng.choice([2, 2, 3])
            parts = [self.rng.choice(ONSETS) + self.rng.choice(VOWELS) for _ in range(count)]
            parts[-1] += self.rng.choice(CODAS)
            candidate = "".join(parts).capitalize()
            if 4 <= len(candidate) <= 10 and candidate not in self.used_words:
                self.used_words.add(candidate)
                return candidate

    def make_city(self):
        return {"name": self.word(), "region": self.rng.choice(self.regions),
                "river": self.word() + " River", "feature": self.rng.choice(FEATURES),
                "population": self.rng.randrange(20, 900) * 1000}

    def make_university(self):
        kind = self.rng.choice(UNIVERSITY_KINDS)
        name = self.word()
        return {"name": f"{name} {kind}", "aliases": [f"{kind} of {name}"],
                "city": self.rng.choice(self.cities)["name"]}

    def make_person(self, last_name=None, exclude_city=None, exclude_university=None):
        city = self.pick(self.cities, exclude=exclude_city)
        university = self.pick(self.universities, exclude=exclude_university)
        born = self.rng.randrange(1820, 1960)
        while True:
            name = f"{self.rng.choice(FIRST_NAMES)} {last_name or self.word()}"
            if name not in self.used_person_names:
                self.used_person_names.add(name)
                break
        return {"name": name,
                "city": city["name"], "university": university["name"],
                "profession": self.rng.choice(PROFESSIONS), "born": born,
                "died": born + self.rng.randrange(45, 95)}

    def pick(self, items, exclude=None):
        while True:
            item = self.rng.choice(items)
            if exclude is None or item["name"] not in exclude:
                return item

    def add_article(self, title, text):
        assert title not in self.titles, title
        self.titles.add(title)
        article = {"id": f"a{len(self.articles) + 1:04d}", "title": title, "text": text}
        self.articles.append(article)
        return article

    # --- articles -------------------------------------------------------------------------

    def person_article(self, person):
        text = self.rng.choice([
            "{name} ({born}-{died}) was {a_profession} born in {city}. {name_last} studied at "
            "{university} and worked for most of a long career in the capital.",
            "{name} was {a_profession}, born in {city} in {born}. After studying at "
            "{university}, {name_last} became known well beyond the region.",
        ]).format(name_last=person["name"].split()[-1], a_profession=a(person["profession"]),
                  **person)
        return self.add_article(person["name"], text)

    def company_article(self, company):
        text = self.rng.choice([
            "{name} is {a_industry} company headquartered in {hq}. It was founded in {year} by "
            "{founder}. Today it employs about {staff} people.",
            "{name} is {a_industry} maker based in {hq}, founded by {founder} in {year}. The "
            "firm grew quickly and now has about {staff} employees.",
        ]).format(a_industry=a(company["industry"]), **company)
        return self.add_article(company["name"], text)

    def city_article(self, city):
        text = ("{name} is a city in the {region} region with about {population} inhabitants. "
                "The {river} flows through its old town, and the city is known for its "
                "{feature}.").format(**city)
        return self.add_article(city["name"], text)

    def confuser_article(self, shared_word, thing, topic_sentence, avoid):
        city = self.pick(self.cities, exclude=avoid)
        title = f"{shared_word} {thing}"
        text = (f"The {title} is {a(thing.lower())} in {city['name']}, named after the "
                f"{shared_word} family. {topic_sentence}")
        return self.add_article(title, text)


def a(noun):
    """The noun with its indefinite article: "an engineer", "a chemist"."""
    return ("an " if noun[0].lower() in "aeiou" else "a ") + noun


def count_range(rng, bounds):
    return rng.randrange(bounds[0], bounds[1] + 1)


class QuestionMaker:
    """Builds the four question types; each returns a dataset case."""

    def __init__(self, world, rng):
        self.world = world
        self.rng = rng
        self.used_bridge_cities = set()  # each city bridges at most one question

    def case(self, task_type, question, answer, bridge, titles, distractors, difficulty,
             answer_type, aliases=None):
        expected = {"answer": answer}
        if aliases:
            expected["aliases"] = aliases
        expected.update({"bridge": bridge, "supporting_titles": titles,
                         "distractors": distractors})
        return {"task_type": task_type, "context": {"question": question},
                "expected": expected,
                "metadata": {"difficulty": difficulty, "answer_type": answer_type}}

    def things(self, bounds):
        return self.rng.sample(CONFUSER_THINGS, count_range(self.rng, bounds))

    def distractors_from(self, pool, answer, preferred):
        picks = [p for p in dict.fromkeys(preferred) if p != answer]
        while len(picks) < 3:
            candidate = self.rng.choice(pool)
            if candidate != answer and candidate not in picks:
                picks.append(candidate)
        return picks[:3]

    def person_city(self, difficulty):
        w = self.world
        founder = w.make_person()
        hq = w.pick(w.cities, exclude={founder["city"]})["name"]
        word = w.word()
        company = {"name": f"{word} {self.rng.choice(COMPANY_SUFFIXES)}",
                   "industry": self.rng.choice(INDUSTRIES), "hq": hq,
                   "year": self.rng.randrange(1850, 1990), "founder": founder["name"],
                   "staff": self.rng.randrange(2, 90) * 100}
        hop1 = w.company_article(company)
        hop2 = w.person_article(founder)
        avoid = {founder["city"]}
        seen = [hq]
        for thing in self.things(ENTITY_CONFUSERS[difficulty]):
            other = w.pick(w.cities, exclude=avoid)["name"]
            seen.append(other)
            w.confuser_article(word, thing, f"Its founder was born in the city of {other}.",
                               avoid)
        last = founder["name"].split()[-1]
        for _ in range(count_range(self.rng, BRIDGE_CONFUSERS[difficulty])):
            relative = w.make_person(last_name=last, exclude_city=avoid)
            seen.append(relative["city"])
            w.person_article(relative)
        question = self.rng.choice([
            f"In which city was the founder of {company['name']} born?",
            f"Where was the person who founded {company['name']} born?"])
        pool = [c["name"] for c in w.cities]
        return self.case("bridge_person_city", question, founder["city"], founder["name"],
                         [hop1["title"], hop2["title"]],
                         self.distractors_from(pool, founder["city"], seen), difficulty, "city")

    def city_river(self, difficulty):
        w = self.world
        city = w.pick(w.cities, exclude=self.used_bridge_cities)
        self.used_bridge_cities.add(city["name"])
        word = w.word()
        band = {"name": f"{word} {self.rng.choice(BAND_NOUNS)}",
                "genre": self.rng.choice(GENRES), "city": city["name"],
                "year": self.rng.randrange(1960, 2020),
                "singer": f"{self.rng.choice(FIRST_NAMES)} {w.word()}",
                "albums": self.rng.randrange(2, 9)}
        hop1 = w.add_article(band["name"], (
            "{name} is {a_genre} band formed in {city} in {year}. The group is led by singer "
            "{singer} and has released {albums} albums.").format(a_genre=a(band["genre"]),
                                                                 **band))
        hop2 = w.city_article(city)
        avoid = {city["name"]}
        seen = []
        others = [c for c in w.cities if c["river"] != city["river"]]
        for thing in self.things(ENTITY_CONFUSERS[difficulty]):
            river = self.rng.choice(others)["river"]
            seen.append(river)
            w.confuser_article(word, thing, f"A choir formed there sings every summer on the "
                               f"banks of the {river}.", avoid)
        places = ["Bay", "Castle", "Abbey", "Harbour", "Heights"]
        count = count_range(self.rng, BRIDGE_CONFUSERS[difficulty])
        for thing in self.rng.sample(places, count):
            river = self.rng.choice(others)["river"]
            seen.append(river)
            w.add_article(f"{city['name']} {thing}", (
                f"{city['name']} {thing} lies some distance from the city of {city['name']}. "
                f"The {river} flows into the sea nearby."))
        question = self.rng.choice([
            f"Which river flows through the city where {band['name']} was formed?",
            f"What river runs through the city in which the band {band['name']} was formed?"])
        pool = [c["river"] for c in others]
        return self.case("bridge_city_river", question, city["river"], city["name"],
                         [hop1["title"], hop2["title"]],
                         self.distractors_from(pool, city["river"], seen), difficulty, "river")

    def company_founder(self, difficulty):
        w = self.world
        founder = w.make_person()
        company_word = w.word()
        company = {"name": f"{company_word} {self.rng.choice(COMPANY_SUFFIXES)}",
                   "industry": self.rng.choice(INDUSTRIES),
                   "hq": w.pick(w.cities)["name"], "year": self.rng.randrange(1850, 1990),
                   "founder": founder["name"], "staff": self.rng.randrange(2, 90) * 100}
        kind = self.rng.choice(PRODUCT_KINDS)
        word = w.word()
        product = f"{word} {kind}"
        hop1 = w.add_article(product, (
            f"The {word} is {a(kind)} made by {company['name']} since "
            f"{self.rng.randrange(1900, 2015)}. Reviewers praised it for its reliability."))
        hop2 = w.company_article(company)
        seen = []
        for thing in self.things(ENTITY_CONFUSERS[difficulty]):
            other = w.make_person()
            seen.append(other["name"])
            w.confuser_article(word, thing, f"It was opened by {other['name']}, whose workshop "
                               f"makes parts for the {kind} trade.", None)
        suffixes = [s for s in COMPANY_SUFFIXES if s not in company["name"]]
        count = count_range(self.rng, BRIDGE_CONFUSERS[difficulty])
        for suffix in self.rng.sample(suffixes, count):
            other = w.make_person()
            seen.append(other["name"])
            w.company_article({"name": f"{company_word} {suffix}",
                               "industry": self.rng.choice(INDUSTRIES),
                               "hq": w.pick(w.cities)["name"],
                               "year": self.rng.randrange(1850, 1990),
                               "founder": other["name"],
                               "staff": self.rng.randrange(2, 90) * 100})
        question = self.rng.choice([
            f"Who founded the company that makes the {product}?",
            f"Who was the founder of the company that manufactures the {product}?"])
        pool = [f"{self.rng.choice(FIRST_NAMES)} {w.word()}" for _ in range(3)]
        return self.case("bridge_company_founder", question, founder["name"], company["name"],
                         [hop1["title"], hop2["title"]],
                         self.distractors_from(pool, founder["name"], seen), difficulty,
                         "person")

    def person_university(self, difficulty):
        w = self.world
        author = w.make_person()
        word = w.word()
        title = self.rng.choice([f"The {word} {self.rng.choice(NOVEL_NOUNS)}",
                                 f"{word} {self.rng.choice(NOVEL_NOUNS)}"])
        hop1 = w.add_article(title, (
            f"{title} is {a(self.rng.choice(NOVEL_GENRES))} novel by {author['name']}, published "
            f"in {self.rng.randrange(1880, 2010)}. It was adapted for the stage twice."))
        hop2 = w.person_article(author)
        avoid = {author["university"]}
        seen = []
        for thing in self.things(ENTITY_CONFUSERS[difficulty]):
            other = w.pick(w.universities, exclude=avoid)["name"]
            seen.append(other)
            w.confuser_article(word, thing, f"A well-known author attended {other} before "
                               f"writing a novel set there.", None)
        last = author["name"].split()[-1]
        for _ in range(count_range(self.rng, BRIDGE_CONFUSERS[difficulty])):
            relative = w.make_person(last_name=last, exclude_university=avoid)
            seen.append(relative["university"])
            w.person_article(relative)
        question = self.rng.choice([
            f"Which university did the author of {title} attend?",
            f"At which university did the writer of the novel {title} study?"])
        university = next(u for u in w.universities if u["name"] == author["university"])
        pool = [u["name"] for u in w.universities]
        return self.case("bridge_person_university", question, author["university"],
                         author["name"], [hop1["title"], hop2["title"]],
                         self.distractors_from(pool, author["university"], seen), difficulty,
                         "university", aliases=university["aliases"])


def normalize(text):
    """Mirror of the engine's answer normalisation, enough for the self-checks below."""
    words = re.sub(r"[^0-9a-z]+", " ", text.lower()).split()
    return " " + " ".join(w for w in words if w not in ("a", "an", "the")) + " "


def check(cases, articles):
    """Self-checks: each question is answerable from its two articles, the first article names
    the bridge but never the answer, and titles are unique."""
    by_title = {a["title"]: a for a in articles}
    for case in cases:
        expected = case["expected"]
        hop1 = by_title[expected["supporting_titles"][0]]
        hop2 = by_title[expected["supporting_titles"][1]]
        answer = normalize(expected["answer"])
        assert normalize(expected["bridge"]) in normalize(hop1["text"]), case["case_id"]
        assert answer in normalize(hop2["text"]), case["case_id"]
        assert answer not in normalize(hop1["title"] + " " + hop1["text"]), case["case_id"]
        assert answer not in normalize(case["context"]["question"]), case["case_id"]
        assert expected["answer"] not in expected["distractors"], case["case_id"]
    assert len({a["title"] for a in articles}) == len(articles), "duplicate titles"


def generate(seed):
    rng = random.Random(seed)
    world = World(rng)
    maker = QuestionMaker(world, rng)
    makers = [maker.person_city, maker.city_river, maker.company_founder,
              maker.person_university]
    cases = []
    for index in range(QUESTIONS_PER_TYPE * len(makers)):
        difficulty = "hard" if rng.random() < HARD_FRACTION else "easy"
        case = makers[index % len(makers)](difficulty)
        cases.append({"case_id": f"mh{index + 1:04d}", **case})
    # Shuffle the corpus so an article's position says nothing about its question.
    articles = list(world.articles)
    rng.shuffle(articles)
    for number, article in enumerate(articles, start=1):
        article["id"] = f"a{number:04d}"
    check(cases, articles)
    return cases, articles


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent.parent /
                                             "tenants" / "multihop_qa"))
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cases, articles = generate(args.seed)
    write_jsonl(out / "corpus.jsonl", articles)
    write_jsonl(out / "dataset.jsonl", cases)
    hard = sum(c["metadata"]["difficulty"] == "hard" for c in cases)
    print(f"wrote {len(articles)} articles and {len(cases)} questions ({hard} hard) to {out}")


if __name__ == "__main__":
    main()
