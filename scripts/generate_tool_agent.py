#!/usr/bin/env python3
"""Generates tenants/tool_agent: tasks for a tool-using agent, deterministically.

Four task types, by the tool calls a task needs:
  direct      0 calls  the answer is in the question (a code, a seat, a name)
  arithmetic  1 call   the sum of two numbers: get-sum (server-everything)
  lookup      1 call   the opening year of a landmark: search (built-in corpus search)
  lookup_sum  2 calls  a year some years after a landmark opened: search, then get-sum

The corpus holds one passage per landmark plus near-miss passages about other landmarks of
the same towns, so a search finds the right year among distractors.

Usage: scripts/generate_tool_agent.py [TENANT_DIR]   (default: tenants/tool_agent)
"""
import json
import random
import sys
from pathlib import Path

SEED = 7321
SYLLABLES = ["or", "vel", "cas", "moor", "bri", "dan", "hel", "mar", "tos", "quin",
             "ler", "wick", "sta", "ren", "fal", "den", "gro", "ve", "lin", "th"]
KINDS = ["Bridge", "Tower", "Library", "Observatory", "Lighthouse", "Market Hall",
         "Aqueduct", "Opera House", "Museum", "Harbour"]
COUNTS = {"direct": 30, "arithmetic": 40, "lookup": 40, "lookup_sum": 40}


def place_name(rng):
    parts = rng.sample(SYLLABLES, 2)
    return (parts[0] + parts[1]).capitalize()


def landmarks(rng, count):
    seen, out = set(), []
    while len(out) < count:
        name = f"{place_name(rng)} {rng.choice(KINDS)}"
        if name in seen:
            continue
        seen.add(name)
        out.append({"name": name, "town": place_name(rng), "year": rng.randint(1702, 1968)})
    return out


def corpus_lines(rng, marks):
    lines = []
    for i, mark in enumerate(marks, 1):
        lines.append({"id": f"p{i:03d}", "title": mark["name"],
                      "text": f"The {mark['name']} in {mark['town']} opened in {mark['year']}. "
                              f"It was restored twice and is still in use."})
    # Near misses: same town, another landmark and year, so a careless answer picks a wrong one.
    for i, mark in enumerate(marks, 1):
        other = f"{place_name(rng)} {rng.choice(KINDS)}"
        lines.append({"id": f"n{i:03d}", "title": other,
                      "text": f"The {other}, also in {mark['town']}, opened in "
                              f"{rng.randint(1702, 1968)} and closed decades later."})
    return lines


def near_numbers(rng, value):
    return [str(value + delta) for delta in rng.sample([-100, -10, -1, 1, 10, 100], 3)]


def direct_case(rng, index):
    seat = f"{rng.randint(1, 60)}{rng.choice('ABCDEF')}"
    gate = f"{rng.choice('GHKM')}{rng.randint(1, 30)}"
    question = f"The ticket reads: 'Gate {gate}, seat {seat}'. Which seat is on the ticket?"
    others = [f"{rng.randint(1, 60)}{rng.choice('ABCDEF')}" for _ in range(3)]
    return {"case_id": f"ta{index:03d}", "task_type": "direct",
            "context": {"question": question},
            "expected": {"answer": seat, "tool_calls": [], "distractors": others},
            "metadata": {"tools_needed": 0}}


def arithmetic_case(rng, index):
    a, b = rng.randint(1000, 9999), rng.randint(1000, 9999)
    return {"case_id": f"ta{index:03d}", "task_type": "arithmetic",
            "context": {"question": f"What is {a} plus {b}?"},
            "expected": {"answer": str(a + b),
                         "tool_calls": [{"name": "get-sum", "arguments": {"a": a, "b": b}}],
                         "distractors": near_numbers(rng, a + b)},
            "metadata": {"tools_needed": 1, "a": a, "b": b}}


def lookup_case(rng, index, mark):
    return {"case_id": f"ta{index:03d}", "task_type": "lookup",
            "context": {"question": f"In what year did the {mark['name']} open?"},
            "expected": {"answer": str(mark["year"]), "year": str(mark["year"]),
                         "tool_calls": [{"name": "search",
                                         "arguments": {"query": mark["name"]}}],
                         "distractors": near_numbers(rng, mark["year"])},
            "metadata": {"tools_needed": 1, "entity": mark["name"]}}


def lookup_sum_case(rng, index, mark):
    offset = rng.choice([25, 50, 75, 100, 125, 150])
    answer = mark["year"] + offset
    question = f"Which year came {offset} years after the {mark['name']} opened?"
    return {"case_id": f"ta{index:03d}", "task_type": "lookup_sum",
            "context": {"question": question},
            "expected": {"answer": str(answer), "year": str(mark["year"]),
                         "tool_calls": [{"name": "search", "arguments": {"query": mark["name"]}},
                                        {"name": "get-sum",
                                         "arguments": {"a": mark["year"], "b": offset}}],
                         "distractors": near_numbers(rng, answer)},
            "metadata": {"tools_needed": 2, "entity": mark["name"], "a": mark["year"],
                         "b": offset}}


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tenants/tool_agent")
    rng = random.Random(SEED)
    marks = landmarks(rng, COUNTS["lookup"] + COUNTS["lookup_sum"])
    cases, index = [], 1
    for _ in range(COUNTS["direct"]):
        cases.append(direct_case(rng, index)); index += 1
    for _ in range(COUNTS["arithmetic"]):
        cases.append(arithmetic_case(rng, index)); index += 1
    for mark in marks[:COUNTS["lookup"]]:
        cases.append(lookup_case(rng, index, mark)); index += 1
    for mark in marks[COUNTS["lookup"]:]:
        cases.append(lookup_sum_case(rng, index, mark)); index += 1
    rng.shuffle(cases)
    with open(out / "dataset.jsonl", "w") as f:
        for case in cases:
            f.write(json.dumps(case) + "\n")
    with open(out / "corpus.jsonl", "w") as f:
        for line in corpus_lines(rng, marks):
            f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
