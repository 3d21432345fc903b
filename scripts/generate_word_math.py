#!/usr/bin/env python3
"""Writes tenants/word_math/dataset.jsonl: arithmetic word problems for the word_math example
tenant (a solve -> verify -> extract chain answered by the simulated model).

The output is a pure function of --seed: re-running rewrites identical files. Only the Python
standard library is used. Every problem is checked: the answer is an integer, it does not occur
among the numbers of the question, and the distractors differ from it.
"""

import argparse
import json
import os
import random

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

NAMES = ["Ada", "Bram", "Chiara", "Dev", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas",
         "Kaito", "Lena", "Mateo", "Nora", "Omar", "Priya"]


def words(n):
    """English words for 0 <= n < 10000, hyphenating compound tens ("fifty-four")."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else "-" + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + words(rest))
    rest = n % 1000
    return words(n // 1000) + " thousand" + ("" if rest == 0 else " " + words(rest))


# Each template: (task_type, question format, answer function, work format). The question
# reads a, b, c and name; the work shows the intermediate product p = a * b.
TEMPLATES = [
    ("multiply_subtract",
     "A baker bakes {a} trays of {b} rolls each and sells {c} of the rolls. How many rolls are "
     "left?",
     lambda a, b, c: a * b - c, "{a} x {b} = {p} rolls; {p} - {c} = {ans} rolls."),
    ("multiply_subtract",
     "{name} buys {a} packs of {b} stickers and gives {c} stickers to friends. How many stickers "
     "does {name} have now?",
     lambda a, b, c: a * b - c, "{a} x {b} = {p} stickers; {p} - {c} = {ans} stickers."),
    ("multiply_add",
     "A train runs at {a} km per hour for {b} hours, then another {c} km. How many kilometres "
     "does it travel in all?",
     lambda a, b, c: a * b + c, "{a} x {b} = {p} km; {p} + {c} = {ans} km."),
    ("multiply_add",
     "A library has {a} shelves with {b} books on each and receives {c} new books. How many "
     "books does it have now?",
     lambda a, b, c: a * b + c, "{a} x {b} = {p} books; {p} + {c} = {ans} books."),
    ("share",
     "{name} has {a} boxes of {b} marbles and shares all of them equally among {c} children. "
     "How many marbles does each child get?",
     None, "{a} x {b} = {p} marbles; {p} / {c} = {ans} marbles each."),
]


def make_case(rng, index, template):
    task_type, question, answer_of, work = template
    while True:
        name = rng.choice(NAMES)
        if answer_of is None:
            c = rng.randint(2, 9)
            ans = rng.randint(3, 40)
            product = ans * c
            a = rng.choice([d for d in range(2, 13) if product % d == 0] or [1])
            b = product // a
            if a < 2 or b < 2:
                continue
        else:
            a, b = rng.randint(3, 25), rng.randint(3, 25)
            c = rng.randint(2, a * b - 1) if answer_of(a, b, 0) == a * b else rng.randint(2, 60)
            ans = answer_of(a, b, c)
        p = a * b
        if ans <= 0 or ans in (a, b, c) or len({a, b, c}) < 3:
            continue
        text = question.format(a=a, b=b, c=c, name=name)
        if str(ans) in text:
            continue
        distractors = []
        for candidate in (p, ans + 10, ans - 1, ans + 1, p + c, abs(p - c)):
            if candidate > 0 and candidate != ans and candidate not in distractors:
                distractors.append(candidate)
        hard = p > 150
        return {
            "case_id": "wm%04d" % index,
            "task_type": task_type,
            "context": {"problem": text},
            "expected": {
                "answer": str(ans),
                "answer_words": words(ans),
                "work": work.format(a=a, b=b, c=c, p=p, ans=ans),
                "distractors": [str(d) for d in distractors[:3]],
            },
            "metadata": {"difficulty": "hard" if hard else "easy"},
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--cases", type=int, default=150)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tenants", "word_math"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "dataset.jsonl"), "w", encoding="utf-8") as out:
        for index in range(1, args.cases + 1):
            case = make_case(rng, index, TEMPLATES[(index - 1) % len(TEMPLATES)])
            out.write(json.dumps(case, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
