#!/usr/bin/env python3
"""Answer scorer for the multihop_qa tenant, run by fapo as a `command` scorer.

It speaks the JSON-lines protocol of docs/scorers.md: one request per line on stdin, one
reply per line on stdout (flushed at once), logs only on stderr.

  {"type": "validate", "case": {...}}                  -> {"ok": true} | {"ok": false, "error": "..."}
  {"type": "score", "case": {...}, "output": "...", "trace": {...}}
                                                       -> {"composite_score": x, "score_breakdown": {...}}

The accepted answers are expected.answer (a string, a number or a list of them) plus
expected.aliases when present. Both the output and the answers are normalised the way fapo's
built-in scorers do it: lowercase, punctuation and the articles a/an/the removed, number words
written as digits. The breakdown has "exact_match" (0 or 1) and "token_f1" (0 to 1, the best
over the accepted answers); the composite is 100 x exact match, or with `--composite f1` /
`--composite mean` the F1 or the mean of the two.

Standard library only: copy it next to any tenant and adjust.
"""

import argparse
import collections
import json
import sys

NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11",
    "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16",
    "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30",
    "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
    "ninety": "90", "hundred": "100", "thousand": "1000",
}
ARTICLES = {"a", "an", "the"}


def normalize(text):
    """Lowercase, keep letters and digits ("3.5" and "1,000" stay numbers), drop the rest."""
    kept = []
    for i, char in enumerate(text):
        between_digits = 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
        if char in ".," and between_digits:
            if char == ".":
                kept.append(".")
            continue
        if ord(char) >= 0x80 or char.isalnum():
            kept.append(char.lower())
        else:
            kept.append(" ")
    words = [w for w in "".join(kept).split() if w not in ARTICLES]
    return " ".join(NUMBER_WORDS.get(w, w) for w in words)


def token_f1(prediction, reference):
    predicted = normalize(prediction).split()
    wanted = normalize(reference).split()
    if not predicted and not wanted:
        return 1.0
    common = sum((collections.Counter(predicted) & collections.Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def answers_of(case):
    """The accepted answers, or raises ValueError naming the field at fault."""
    expected = case.get("expected")
    if not isinstance(expected, dict) or expected.get("answer") is None:
        raise ValueError("field 'expected.answer' is missing")
    answers = []
    for name in ("answer", "aliases"):
        value = expected.get(name)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                where = name if not isinstance(value, list) else "%s[%d]" % (name, index)
                raise ValueError("field 'expected.%s' must be a string or a number" % where)
            answers.append(str(item))
    if not answers:
        raise ValueError("field 'expected.answer' is an empty list")
    return answers


def score(case, output, composite_mode):
    answers = answers_of(case)
    exact = 1.0 if any(normalize(output) == normalize(a) for a in answers) else 0.0
    f1 = max(token_f1(output, a) for a in answers)
    composite = {"em": exact, "f1": f1, "mean": (exact + f1) / 2}[composite_mode]
    return {"composite_score": 100.0 * composite,
            "score_breakdown": {"exact_match": exact, "token_f1": f1}}


def handle(request, composite_mode):
    kind = request.get("type")
    case = request.get("case") or {}
    if kind == "validate":
        try:
            answers_of(case)
        except ValueError as error:
            return {"ok": False, "error": str(error)}
        return {"ok": True}
    if kind == "score":
        output = request.get("output")
        if not isinstance(output, str):
            return {"error": "request field 'output' must be a string"}
        try:
            return score(case, output, composite_mode)
        except ValueError as error:
            return {"error": str(error)}
    return {"error": "unknown request type %r" % (kind,)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--composite", choices=["em", "f1", "mean"], default="em",
                        help="what the composite score is (default: exact match)")
    args = parser.parse_args()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = handle(json.loads(line), args.composite)
        except (ValueError, AttributeError) as error:
            reply = {"error": "cannot read the request: %s" % error}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
