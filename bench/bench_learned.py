"""The learned classifier on the held-out files, without any model endpoint (run by bench_classify.py too).

    python bench/bench_learned.py [--eval FILE ...] [--skip-10k]

For each held-out file (tests/fixtures/classification/eval.jsonl and, when present, eval_multilingual.jsonl and
eval_fresh.jsonl; training never sees any; eval_fresh.jsonl was written after the classifier was tuned, by a
session that saw neither the training rows nor the other sets; eval_blind.jsonl likewise, later, and used once,
to choose the shipped candidate in bench/choose_learned.py):
category and type accuracy, security and data-loss recall and precision, and accuracy on non-English tickets,
for patterns alone, the learned model alone and the desk's order (`ticketing.classify.decide`: strict patterns,
learned, weak patterns; no model). Then:

- the gain from retraining on 200 simulated agent corrections: a held-out file is split in two halves (seeded
  shuffle); 200 tickets of one half become corrections (their label, weighted as the desk weighs them) added to
  the seed set; both models are measured on the other half;
- one-ticket latency of the learned predict and of the whole decision, with pattern matching alone as the
  baseline measured in the same run (ratio printed);
- training time on 10,000 tickets (seed rows resampled with typos), with training on the seed set as the
  baseline measured in the same run.

Results also go to bench/out/classify_learned.json. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bot.learning import CORRECTION_WEIGHT  # noqa: E402
from channels.learned.classifier import classification_of  # noqa: E402
from channels.learned.model import TicketModel, TrainingRow, train_model  # noqa: E402
from channels.learned.store import seed_rows  # noqa: E402
from ticketing.classify import FALLBACK_CLASSIFICATION, decide, default_patterns, find_pattern  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "classification"
EVAL_FILES = (FIXTURES / "eval.jsonl", FIXTURES / "eval_multilingual.jsonl", FIXTURES / "eval_fresh.jsonl",
              FIXTURES / "eval_blind.jsonl")
OUT = HERE / "out" / "classify_learned.json"
RECALL_FIRST = ("security", "data_loss")
CORRECTIONS = 200


@dataclass(frozen=True)
class Row:
    subject: str
    description: str
    category: str
    type: str
    language: str


def load(path: Path) -> list[Row]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            rows.append(Row(r["subject"], r["description"], r["category"], r["type"], r.get("language", "en")))
    return rows


def answers(model: TicketModel, rows: list[Row]) -> dict[str, list[tuple[str, str]]]:
    patterns = default_patterns()
    guesses = model.predict_many([(r.subject, r.description) for r in rows])
    out: dict[str, list[tuple[str, str]]] = {"patterns": [], "learned": [], "desk": []}
    for row, guess in zip(rows, guesses, strict=True):
        hit = find_pattern(row.subject, row.description, patterns)
        alone = hit.classification() if hit else FALLBACK_CLASSIFICATION
        learned = classification_of(guess)
        both = decide(hit, learned).classification or FALLBACK_CLASSIFICATION
        out["patterns"].append((alone.category.value, alone.type.value))
        out["learned"].append((learned.category.value, learned.type.value))
        out["desk"].append((both.category.value, both.type.value))
    return out


def score(rows: list[Row], said: list[tuple[str, str]]) -> dict[str, Any]:
    n = len(rows)
    result: dict[str, Any] = {
        "n": n,
        "category": sum(r.category == c for r, (c, _) in zip(rows, said, strict=True)) / n,
        "type": sum(r.type == t for r, (_, t) in zip(rows, said, strict=True)) / n,
    }
    foreign = [(r, s) for r, s in zip(rows, said, strict=True) if r.language != "en"]
    result["non_english_n"] = len(foreign)
    result["non_english"] = (sum(r.category == s[0] for r, s in foreign) / len(foreign)) if foreign else None
    for label in RECALL_FIRST:
        tp = sum(r.category == label and s[0] == label for r, s in zip(rows, said, strict=True))
        actual = sum(r.category == label for r in rows)
        predicted = sum(s[0] == label for s in said)
        result[f"{label}_recall"] = tp / actual if actual else None
        result[f"{label}_precision"] = tp / predicted if predicted else None
        result[f"{label}_n"] = actual
    return result


def pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.1%}"


def print_scores(name: str, scores: dict[str, dict[str, Any]]) -> None:
    print(f"\n{name}")
    print(f"{'':<10}{'category':>9}{'type':>8}{'non-en':>8}{'sec rec':>9}{'sec prec':>9}{'dl rec':>8}{'dl prec':>9}")
    for mode, s in scores.items():
        print(f"{mode:<10}{pct(s['category']):>9}{pct(s['type']):>8}{pct(s['non_english']):>8}"
              f"{pct(s['security_recall']):>9}{pct(s['security_precision']):>9}"
              f"{pct(s['data_loss_recall']):>8}{pct(s['data_loss_precision']):>9}")
    s = next(iter(scores.values()))
    print(f"({s['n']} tickets, {s['non_english_n']} not English, {s['security_n']} security, "
          f"{s['data_loss_n']} data loss)")


def retraining_gain(seed: list[TrainingRow], rows: list[Row], seed_model: TicketModel) -> dict[str, Any]:
    shuffled = rows[:]
    random.Random(11).shuffle(shuffled)
    half = len(shuffled) // 2
    slice_, test = shuffled[:half], shuffled[half:]
    corrections = slice_[:CORRECTIONS]
    extra = [TrainingRow(r.subject, r.description, r.category, r.type, r.language, "correction")
             for r in corrections for _ in range(CORRECTION_WEIGHT)]
    retrained = train_model([*seed, *extra])
    before = score(test, answers(seed_model, test)["desk"])
    after = score(test, answers(retrained, test)["desk"])
    print(f"\nretraining on {len(corrections)} simulated agent corrections (one half of the file), measured on the "
          f"other half ({len(test)} tickets), desk order:")
    gain = after["category"] - before["category"]
    print(f"  category {before['category']:.1%} -> {after['category']:.1%} ({gain:+.1%}),"
          f" type {before['type']:.1%} -> {after['type']:.1%}")
    return {"corrections": len(corrections), "measured_on": len(test), "before": before, "after": after}


def latency(model: TicketModel, rows: list[Row], repeat: int = 3) -> dict[str, float]:
    patterns = default_patterns()

    def per_ticket(work: Any) -> list[float]:
        times = []
        for _ in range(repeat):
            for r in rows:
                started = time.perf_counter()
                work(r)
                times.append(time.perf_counter() - started)
        return times

    base = per_ticket(lambda r: find_pattern(r.subject, r.description, patterns))
    learned = per_ticket(lambda r: model.predict(r.subject, r.description))
    whole = per_ticket(lambda r: decide(find_pattern(r.subject, r.description, patterns),
                                        classification_of(model.predict(r.subject, r.description))))
    result = {
        "patterns_median_ms": statistics.median(base) * 1000,
        "learned_median_ms": statistics.median(learned) * 1000,
        "learned_p99_ms": sorted(learned)[int(len(learned) * 0.99)] * 1000,
        "decision_median_ms": statistics.median(whole) * 1000,
        "decision_p99_ms": sorted(whole)[int(len(whole) * 0.99)] * 1000,
    }
    result["ratio_to_patterns"] = result["decision_median_ms"] / result["patterns_median_ms"]
    print(f"\none ticket: learned predict median {result['learned_median_ms']:.2f} ms (p99 "
          f"{result['learned_p99_ms']:.2f}); whole decision median {result['decision_median_ms']:.2f} ms (p99 "
          f"{result['decision_p99_ms']:.2f}) = {result['ratio_to_patterns']:.0f}x pattern matching alone "
          f"({result['patterns_median_ms'] * 1000:.0f} us) measured in this run")
    return result


def ten_thousand(seed: list[TrainingRow], seed_seconds: float) -> dict[str, float]:
    rng = random.Random(3)
    rows = []
    for i in range(10_000):
        base = seed[i % len(seed)]
        text = list(base.description)
        if len(text) > 3:
            j = rng.randrange(1, len(text) - 1)
            text[j], text[j + 1] = text[j + 1], text[j]
        rows.append(replace(base, description="".join(text) + f" ref {rng.randrange(10_000)}"))
    started = time.perf_counter()
    train_model(rows)
    seconds = time.perf_counter() - started
    print(f"\ntraining on 10,000 tickets: {seconds:.1f} s (target < 60 s); on the {len(seed)} seed rows "
          f"{seed_seconds:.1f} s in this run, ratio {seconds / seed_seconds:.1f}x for {10_000 / len(seed):.1f}x rows")
    return {"seconds": seconds, "seed_seconds": seed_seconds, "seed_rows": len(seed)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--eval", type=Path, nargs="*", default=[p for p in EVAL_FILES if p.exists()])
    parser.add_argument("--skip-10k", action="store_true", help="skip the 10,000-ticket training time")
    args = parser.parse_args(argv)
    seed = seed_rows()
    started = time.perf_counter()
    model = train_model(seed)
    seed_seconds = time.perf_counter() - started
    print(f"learned model: trained on the {len(seed)} shipped seed rows in {seed_seconds:.1f} s "
          f"({dict(Counter(r.language for r in seed))})")
    summary: dict[str, Any] = {"files": {}}
    for path in args.eval:
        rows = load(path)
        said = answers(model, rows)
        scores = {mode: score(rows, s) for mode, s in said.items()}
        print_scores(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", scores)
        summary["files"][path.name] = scores
    gain_file = max(args.eval, key=lambda p: len(load(p))) if args.eval else None
    if gain_file is not None:
        summary["retraining"] = {"file": gain_file.name, **retraining_gain(seed, load(gain_file), model)}
        summary["latency"] = latency(model, load(gain_file))
    if not args.skip_10k:
        summary["training_10k"] = ten_thousand(seed, seed_seconds)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
