"""The labelled evaluation set (tests/fixtures/classification/eval.jsonl): its shape, and the accuracy of the
patterns alone on it, kept as a floor that may only go up.

Each line is one WedSync or WedMe ticket, `{"subject", "description", "category", "type"}`, labelled with what a
support lead would choose. Many are written the way customers write (paraphrases, typos, English as a second
language) so that no pattern catches them, and some trip a pattern that picks the wrong category ("Important"
matching `\\bimport`, "in charge" matching `charge`, "stuck" in a security ticket). `bench/bench_classify.py`
reports the accuracy of patterns alone and of patterns then the model on the same file.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ticketing.classify import FALLBACK_CLASSIFICATION, default_patterns, match_patterns
from ticketing.model import Category, TicketType

EVAL_SET = Path(__file__).resolve().parents[1] / "fixtures" / "classification" / "eval.jsonl"
KEYS = {"subject", "description", "category", "type"}
MIN_TICKETS = 150
MIN_PER_CATEGORY = 6
# Measured 0.4518 (75 of 166) when the set was written. Raise it when patterns or labels improve; never lower
# it to make a pattern change pass.
PATTERN_ACCURACY_FLOOR = 0.45


def load() -> list[dict[str, Any]]:
    lines = EVAL_SET.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


TICKETS = load()


def test_the_set_is_big_enough() -> None:
    assert len(TICKETS) >= MIN_TICKETS


@pytest.mark.parametrize("index", range(len(TICKETS)))
def test_each_ticket_is_well_formed(index: int) -> None:
    ticket = TICKETS[index]
    assert set(ticket) == KEYS
    assert all(isinstance(ticket[key], str) and ticket[key].strip() for key in KEYS)
    assert ticket["category"] in {c.value for c in Category}
    assert ticket["type"] in {t.value for t in TicketType}


def test_every_category_has_enough_tickets_and_every_type_appears() -> None:
    per_category = Counter(t["category"] for t in TICKETS)
    assert {c.value: per_category[c.value] for c in Category if per_category[c.value] < MIN_PER_CATEGORY} == {}
    assert {t["type"] for t in TICKETS} == {t.value for t in TicketType}


def test_no_ticket_is_there_twice() -> None:
    seen = Counter((t["subject"].casefold(), t["description"].casefold()) for t in TICKETS)
    assert [ticket for ticket, count in seen.items() if count > 1] == []


def test_pattern_only_accuracy_does_not_fall() -> None:
    """Patterns alone: a hit gives its category, no hit the fallback's (feature_help)."""
    patterns = default_patterns()
    correct = sum(
        (match_patterns(t["subject"], t["description"], patterns) or FALLBACK_CLASSIFICATION).category == t["category"]
        for t in TICKETS
    )
    accuracy = correct / len(TICKETS)
    assert accuracy >= PATTERN_ACCURACY_FLOOR, f"{correct}/{len(TICKETS)} = {accuracy:.4f}"
