"""Classification accuracy on the labelled evaluation set: patterns alone, and patterns then the model.

    .venv/bin/python -m bench.bench_classify                        # patterns; the model too if OPENAI_API_KEY is set
    .venv/bin/python -m bench.bench_classify --simulate-model 0.9   # the model part against a simulated model

The set is tests/fixtures/classification/eval.jsonl (see tests/ticketing/test_eval_set.py). For each ticket:

- **patterns alone**: the first matching pattern's category; no match, the fallback's (feature_help);
- **patterns then the model**: a pattern hit as above; no hit, the model's answer through `channels.llm.
  LlmClassifier` (the real openai client), or the fallback when the model gives nothing (timeout, error,
  invalid answer). Only tickets no pattern caught reach the model, and a pattern's wrong hit stays wrong.

Where the model answers come from:

- `OPENAI_API_KEY` in the environment (and optionally `OPENAI_BASE_URL`, `OPENAI_MODEL`, `OPENAI_TIMEOUT`): the
  real endpoint. This costs a request per ticket that reaches the model (about 70 of 166).
- `--simulate-model ACCURACY`: a local stand-in (tests/fakes/openai_api.py) that answers the labelled category
  with probability ACCURACY and a wrong one otherwise (decided per ticket from `--seed`, so runs repeat). It
  measures the plumbing and the arithmetic, not any model; the output says SIMULATED wherever it matters.
  Asked for explicitly, it wins over OPENAI_API_KEY.
- neither: patterns only, and a note on how to add the model.

Accuracy is per category and overall; the type accuracy is printed too. Results also go to
`bench/out/classify.json`. Nothing is asserted: the pattern-only floor lives in the test above.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from channels.llm import LlmClassifier, LlmConfig, LlmStats
from ticketing.classify import DEFAULT_PATTERN_SPECS, FALLBACK_CLASSIFICATION, default_patterns, match_patterns
from ticketing.model import Category, Classification, TicketType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EVAL_SET = ROOT / "tests" / "fixtures" / "classification" / "eval.jsonl"
OUT = HERE / "out" / "classify.json"
TEMPLATES = tuple(dict.fromkeys(spec[5] for spec in DEFAULT_PATTERN_SPECS if spec[5]))


@dataclass(frozen=True)
class Ticket:
    subject: str
    description: str
    category: Category
    type: TicketType


@dataclass(frozen=True)
class Result:
    ticket: Ticket
    pattern: Classification | None  # the pattern hit, None when no pattern matched
    model: Classification | None  # the model's answer (only asked when no pattern matched)

    @property
    def patterns_only(self) -> Classification:
        return self.pattern or FALLBACK_CLASSIFICATION

    @property
    def with_model(self) -> Classification:
        return self.pattern or self.model or FALLBACK_CLASSIFICATION


def load(path: Path) -> list[Ticket]:
    tickets = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            tickets.append(Ticket(row["subject"], row["description"], Category(row["category"]),
                                  TicketType(row["type"])))
    return tickets


# -- the simulated model --------------------------------------------------------------------------------------


def simulated_answer(labels: dict[tuple[str, str], Ticket], accuracy: float, seed: int, call: Any) -> dict[str, Any]:
    """The stand-in's answer: the label with probability `accuracy`, else another category (per-ticket draw)."""
    user = call.messages[-1]["content"]
    ticket_json = user.split("<ticket>", 1)[1].rsplit("</ticket>", 1)[0]
    sent = json.loads(ticket_json)
    label = labels.get((sent["subject"], sent["description"]))
    rng = random.Random(f"{seed}:{sent['subject']}:{sent['description']}")
    right = label is not None and rng.random() < accuracy
    if label is not None and right:
        category, type_ = label.category, label.type
    else:
        category = rng.choice([c for c in Category if label is None or c is not label.category])
        type_ = rng.choice(list(TicketType))
    return {
        "reason": "simulated answer" + ("" if right else " (deliberately wrong)"),
        "category": category.value,
        "type": type_.value,
        "tags": [category.value],
        "urgency": 5,
        "sentiment": "neutral",
        "suggested_template": None,
        "confidence": round(rng.uniform(0.7, 0.95) if right else rng.uniform(0.4, 0.8), 2),
    }


@contextmanager
def simulated_endpoint(tickets: list[Ticket], accuracy: float, seed: int, timeout: float) -> Iterator[LlmConfig]:
    from tests.fakes.openai_api import OpenAIApi  # only here: the real-endpoint run needs no test code

    labels = {(t.subject, t.description): t for t in tickets}
    with OpenAIApi() as api:
        api.default_answer = lambda call: simulated_answer(labels, accuracy, seed, call)
        yield LlmConfig(api_key=api.api_key, base_url=api.base_url, timeout=timeout, templates=TEMPLATES)


# -- the run ------------------------------------------------------------------------------------------------


async def classify_all(
    tickets: list[Ticket], config: LlmConfig | None, concurrency: int
) -> tuple[list[Result], LlmStats | None]:
    patterns = default_patterns()
    hits = [match_patterns(t.subject, t.description, patterns) for t in tickets]
    if config is None:
        return [Result(t, hit, None) for t, hit in zip(tickets, hits, strict=True)], None
    classifier = LlmClassifier(config)
    gate = asyncio.Semaphore(concurrency)

    async def ask(ticket: Ticket) -> Classification | None:
        async with gate:
            return await classifier(ticket.subject, ticket.description)

    try:
        answers = await asyncio.gather(*(ask(t) if hit is None else _none() for t, hit in zip(tickets, hits,
                                                                                             strict=True)))
    finally:
        await classifier.aclose()
    return [Result(t, hit, answer) for t, hit, answer in zip(tickets, hits, answers, strict=True)], classifier.stats


async def _none() -> None:
    return None


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def report(results: list[Result], mode: str, stats: LlmStats | None) -> dict[str, Any]:
    with_model = mode != "patterns only"
    n = len(results)
    reached = [r for r in results if r.pattern is None]
    wrong_hits = [r for r in results if r.pattern is not None and r.pattern.category is not r.ticket.category]
    per: dict[str, dict[str, Any]] = {}
    for category in Category:
        mine = [r for r in results if r.ticket.category is category]
        per[category.value] = {
            "n": len(mine),
            "patterns": share(sum(r.patterns_only.category is category for r in mine), len(mine)),
            "with_model": share(sum(r.with_model.category is category for r in mine), len(mine)),
            "reached_model": sum(r.pattern is None for r in mine),
        }
    overall = {
        "n": n,
        "patterns": share(sum(r.patterns_only.category is r.ticket.category for r in results), n),
        "with_model": share(sum(r.with_model.category is r.ticket.category for r in results), n),
        "patterns_type": share(sum(r.patterns_only.type is r.ticket.type for r in results), n),
        "with_model_type": share(sum(r.with_model.type is r.ticket.type for r in results), n),
        "reached_model": len(reached),
        "pattern_hits": n - len(reached),
        "pattern_wrong_hits": len(wrong_hits),
        "model_right_when_asked": share(sum(r.model is not None and r.model.category is r.ticket.category
                                            for r in reached), len(reached)),
    }

    print(f"eval set: {EVAL_SET.relative_to(ROOT)}, {n} tickets")
    print(f"model: {mode}")
    reach = "reached the model" if with_model else "would reach a model"
    print(f"{reach} (no pattern matched): {len(reached)} of {n} ({share(len(reached), n):.1%})")
    print(f"pattern hits: {n - len(reached)}, of which wrong: {len(wrong_hits)} (the model never sees these)")
    if stats is not None:
        print(f"model calls: ok {stats.ok}, timeout {stats.timeout}, error {stats.error}, invalid {stats.invalid}; "
              f"right when asked: {overall['model_right_when_asked']:.1%}")
    label = "patterns+model" + (" (SIMULATED)" if mode.startswith("SIMULATED") else "")
    print()
    print(f"{'category':<16}{'n':>4}{'no pattern':>11}{'patterns':>10}  {label if with_model else ''}")
    for name, row in per.items():
        model_col = f"{row['with_model']:>8.1%}" if with_model else ""
        print(f"{name:<16}{row['n']:>4}{row['reached_model']:>11}{row['patterns']:>10.1%}  {model_col}")
    model_col = f"{overall['with_model']:>8.1%}" if with_model else ""
    print(f"{'overall':<16}{n:>4}{len(reached):>11}{overall['patterns']:>10.1%}  {model_col}")
    type_col = f"{overall['with_model_type']:>8.1%}" if with_model else ""
    print(f"{'type (overall)':<16}{n:>4}{'':>11}{overall['patterns_type']:>10.1%}  {type_col}")
    if mode.startswith("SIMULATED"):
        print("\nSIMULATED: the model column comes from a stand-in that answers from the labels; it is not a "
              "measurement of any real model.")
    return {"mode": mode, "overall": overall, "per_category": per,
            "model_stats": None if stats is None else {**vars(stats), "calls": stats.calls}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--simulate-model", type=float, metavar="ACCURACY", default=None,
                        help="run the model part against a local stand-in right with this probability (0-1)")
    parser.add_argument("--seed", type=int, default=1, help="which tickets the simulated model gets wrong")
    parser.add_argument("--concurrency", type=int, default=4, help="model requests in flight at once")
    parser.add_argument("--timeout", type=float, default=None, help="model timeout in seconds (default 5)")
    parser.add_argument("--eval", type=Path, default=EVAL_SET, help="the evaluation set (JSON lines)")
    parser.add_argument("--no-learned", action="store_true", help="skip the learned classifier's part")
    args = parser.parse_args(argv)
    tickets = load(args.eval)

    if args.simulate_model is not None:
        if not 0 <= args.simulate_model <= 1:
            parser.error("--simulate-model takes an accuracy between 0 and 1")
        mode = (f"SIMULATED - a local stand-in answering the labelled category with probability "
                f"{args.simulate_model:.2f} (seed {args.seed}), through the real openai client")
        with simulated_endpoint(tickets, args.simulate_model, args.seed, args.timeout or 5.0) as config:
            results, stats = asyncio.run(classify_all(tickets, config, args.concurrency))
    else:
        real = LlmConfig.from_env(os.environ, TEMPLATES)
        if real is not None and args.timeout is not None:
            real = replace(real, timeout=args.timeout)
        if real is None:
            mode = "patterns only"
            print("no OPENAI_API_KEY: the model part is skipped. Set OPENAI_API_KEY (and OPENAI_BASE_URL, "
                  "OPENAI_MODEL) for a real model, or pass --simulate-model 0.9 for a simulated one.\n")
        else:
            mode = f"REAL (from OPENAI_*) - {real.model} at {real.base_url or 'https://api.openai.com/v1'}"
        results, stats = asyncio.run(classify_all(tickets, real, args.concurrency))

    summary = report(results, mode, stats)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {OUT.relative_to(ROOT)}")
    if not args.no_learned:  # the local learned classifier, on every held-out file (bench_learned.py)
        from bench import bench_learned

        print("\n-- the learned classifier (no model endpoint) --")
        return bench_learned.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
