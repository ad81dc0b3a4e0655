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
import re
from collections import Counter
from dataclasses import dataclass
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


# The multilingual held-out set (tests/fixtures/classification/eval_multilingual.jsonl): 470 tickets in six
# languages, written apart from the training data and never read by training. These tests check its shape only;
# `bench/bench_classify.py` measures the classifier on it.
MULTILINGUAL_SET = EVAL_SET.with_name("eval_multilingual.jsonl")
MULTILINGUAL_KEYS = KEYS | {"language"}
LANGUAGES = ("en", "fr", "de", "es", "it", "nl")
MIN_MULTILINGUAL_TICKETS = 450
ENGLISH_SHARE = (0.35, 0.45)
MIN_SHARE_PER_OTHER_LANGUAGE = 0.10
MIN_COSTLY = {Category.SECURITY.value: 40, Category.DATA_LOSS.value: 40}
MIN_LOOK_ALIKES = 40
# Words that point at security, data loss or slowness in the six languages, whole words or stems. A ticket that
# carries one but is labelled otherwise is a look-alike trap ("the venue's security deposit", "lost my phone",
# "deleted the draft on purpose", "loading the van", "slow dance").
COSTLY_LOOK_ALIKE = re.compile(
    r"secur|sécurité|sicherheit|seguridad|sicurezza|beveiliging|password|mot de passe|passwort|contraseña"
    r"|wachtwoord|hack|piraté|breach|suspicious|stolen|\blost\b|\blose\b|perdu|verloren|\bperd|\bpers[oa]\b"
    r"|kwijt|delet|supprim|gelöscht|borr[eé]|cancellat|verwijder|wiped|vanish|disappear|disparu|verschwunden"
    r"|desaparec|spari|verdwenen|\bgone\b|missing|\bweg\b|\bkill",
    re.IGNORECASE,
)
SLOW_LOOK_ALIKE = re.compile(
    r"\b(load|loading|slow|slowdance|lag|freeze|stuck|beladen|inladen|langsamer|lento|caricare|cargar)\b",
    re.IGNORECASE,
)


def load_multilingual() -> list[dict[str, Any]]:
    lines = MULTILINGUAL_SET.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


MULTILINGUAL = load_multilingual()


def is_look_alike(ticket: dict[str, Any]) -> bool:
    text = f"{ticket['subject']} {ticket['description']}"
    costly = ticket["category"] in MIN_COSTLY
    slow = ticket["category"] == Category.PERFORMANCE.value
    return bool((COSTLY_LOOK_ALIKE.search(text) and not costly) or (SLOW_LOOK_ALIKE.search(text) and not slow))


def test_every_multilingual_ticket_has_a_known_category_type_and_language() -> None:
    categories, types = {c.value for c in Category}, {t.value for t in TicketType}
    bad = [
        ticket
        for ticket in MULTILINGUAL
        if set(ticket) != MULTILINGUAL_KEYS
        or not all(isinstance(ticket[key], str) and ticket[key].strip() for key in MULTILINGUAL_KEYS)
        or ticket["category"] not in categories
        or ticket["type"] not in types
        or ticket["language"] not in LANGUAGES
    ]
    assert bad == []


def test_no_multilingual_ticket_is_there_twice() -> None:
    seen = Counter((t["subject"].casefold(), t["description"].casefold()) for t in MULTILINGUAL)
    assert [ticket for ticket, count in seen.items() if count > 1] == []


def test_no_multilingual_ticket_is_copied_from_the_english_set() -> None:
    english_descriptions = {t["description"].casefold() for t in TICKETS}
    assert [t for t in MULTILINGUAL if t["description"].casefold() in english_descriptions] == []


def test_the_multilingual_set_is_about_two_fifths_english_and_a_tenth_each_other_language() -> None:
    assert len(MULTILINGUAL) >= MIN_MULTILINGUAL_TICKETS
    per_language = Counter(t["language"] for t in MULTILINGUAL)
    share = {language: per_language[language] / len(MULTILINGUAL) for language in LANGUAGES}
    low, high = ENGLISH_SHARE
    assert low <= share["en"] <= high, share
    assert {lang: share[lang] for lang in LANGUAGES[1:] if share[lang] < MIN_SHARE_PER_OTHER_LANGUAGE} == {}


def test_every_category_appears_in_every_language_and_every_type_appears() -> None:
    present = {(t["language"], t["category"]) for t in MULTILINGUAL}
    assert [(lang, c.value) for lang in LANGUAGES for c in Category if (lang, c.value) not in present] == []
    assert {t["type"] for t in MULTILINGUAL} == {t.value for t in TicketType}


def test_there_are_enough_security_and_data_loss_tickets_and_look_alike_traps() -> None:
    per_category = Counter(t["category"] for t in MULTILINGUAL)
    assert {c: per_category[c] for c, least in MIN_COSTLY.items() if per_category[c] < least} == {}
    look_alikes = Counter(t["language"] for t in MULTILINGUAL if is_look_alike(t))
    assert sum(look_alikes.values()) >= MIN_LOOK_ALIKES, look_alikes
    assert set(look_alikes) == set(LANGUAGES), look_alikes


# The two held-out sets written later, each by a session that never saw the training data, the seed nor the other
# evaluation sets (see tests/fixtures/classification/README.md). Shape only, as for the multilingual set.
# - eval_fresh.jsonl: 336 tickets in the same six languages, written after the classifier was tuned;
# - eval_blind.jsonl: 300 tickets, written by a session that also read no training source, bench/out/ nor
#   bench/README.md, and ran no bench; meant to be measured once. Its copies are compared here and never printed.
TRAINING_SOURCES = [*sorted(EVAL_SET.parent.glob("train_*.py")), EVAL_SET.with_name("make_training_set.py")]


def load_set(name: str) -> list[dict[str, Any]]:
    lines = EVAL_SET.with_name(name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


FRESH = load_set("eval_fresh.jsonl")
BLIND = load_set("eval_blind.jsonl")


@dataclass(frozen=True)
class HeldOut:
    name: str
    tickets: list[dict[str, Any]]
    least: int
    least_per_language: dict[str, int]
    least_costly: dict[str, int]  # security and data loss
    least_costly_per_language: int
    least_look_alikes: int
    subject_required: bool = True  # eval_blind has mails without a subject, as customers send them


PER_LANGUAGE = {"en": 100, "fr": 40, "de": 40, "es": 40, "it": 40, "nl": 40}
LATER_SETS = [
    HeldOut("fresh", FRESH, 300, PER_LANGUAGE, {Category.SECURITY.value: 45, Category.DATA_LOSS.value: 45}, 5, 60),
    HeldOut("blind", BLIND, 300, PER_LANGUAGE, {Category.SECURITY.value: 40, Category.DATA_LOSS.value: 40}, 5, 50,
            subject_required=False),
]
later_sets = pytest.mark.parametrize("held", LATER_SETS, ids=[h.name for h in LATER_SETS])


def training_source_strings() -> set[str]:
    """Every string literal in the training sources, casefolded: parsed, never imported nor printed."""
    import ast

    strings: set[str] = set()
    for path in TRAINING_SOURCES:
        if path.exists():
            tree = ast.parse(path.read_text(encoding="utf-8"))
            strings |= {node.value.casefold() for node in ast.walk(tree)
                        if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    return strings


@later_sets
def test_every_later_ticket_has_a_known_category_type_and_language(held: HeldOut) -> None:
    categories, types = {c.value for c in Category}, {t.value for t in TicketType}
    required = MULTILINGUAL_KEYS if held.subject_required else MULTILINGUAL_KEYS - {"subject"}
    bad = [
        ticket
        for ticket in held.tickets
        if set(ticket) != MULTILINGUAL_KEYS
        or not all(isinstance(ticket[key], str) for key in MULTILINGUAL_KEYS)
        or not all(ticket[key].strip() for key in required)
        or ticket["category"] not in categories
        or ticket["type"] not in types
        or ticket["language"] not in LANGUAGES
    ]
    assert bad == []


@later_sets
def test_no_later_ticket_is_there_twice(held: HeldOut) -> None:
    seen = Counter((t["subject"].casefold(), t["description"].casefold()) for t in held.tickets)
    assert [ticket for ticket, count in seen.items() if count > 1] == []
    descriptions = Counter(t["description"].casefold() for t in held.tickets)
    assert [d for d, count in descriptions.items() if count > 1] == []


def test_no_fresh_ticket_is_copied_from_the_other_sets_or_the_training_seed() -> None:
    from channels.learned.store import seed_rows

    elsewhere = {t["description"].casefold() for t in TICKETS + MULTILINGUAL}
    elsewhere |= {row.description.casefold() for row in seed_rows()}
    assert [t["subject"] for t in FRESH if t["description"].casefold() in elsewhere] == []


def test_no_blind_ticket_is_copied_from_the_other_sets_the_seed_or_the_training_sources() -> None:
    from channels.learned.store import seed_rows

    elsewhere = {t["description"].casefold() for t in TICKETS + MULTILINGUAL + FRESH}
    elsewhere |= {row.description.casefold() for row in seed_rows()}
    elsewhere |= training_source_strings()
    rows = {(t["subject"].casefold(), t["description"].casefold()) for t in TICKETS + MULTILINGUAL + FRESH}
    rows |= {(row.subject.casefold(), row.description.casefold()) for row in seed_rows()}
    copied = [t["subject"] for t in BLIND if t["description"].casefold() in elsewhere
              or (t["subject"].casefold(), t["description"].casefold()) in rows]
    assert copied == []


@later_sets
def test_each_later_set_has_enough_tickets_in_each_language_and_every_category_in_every_language(
        held: HeldOut) -> None:
    assert len(held.tickets) >= held.least
    per_language = Counter(t["language"] for t in held.tickets)
    assert {lang: per_language[lang] for lang, least in held.least_per_language.items()
            if per_language[lang] < least} == {}
    present = {(t["language"], t["category"]) for t in held.tickets}
    assert [(lang, c.value) for lang in LANGUAGES for c in Category if (lang, c.value) not in present] == []
    assert {t["type"] for t in held.tickets} == {t.value for t in TicketType}


@later_sets
def test_each_later_set_has_enough_security_and_data_loss_tickets_in_every_language_and_look_alikes(
        held: HeldOut) -> None:
    per_category = Counter(t["category"] for t in held.tickets)
    assert {c: per_category[c] for c, least in held.least_costly.items() if per_category[c] < least} == {}
    per_language = Counter((t["language"], t["category"]) for t in held.tickets if t["category"] in held.least_costly)
    thin = {(lang, c): per_language[(lang, c)] for lang in LANGUAGES for c in held.least_costly
            if per_language[(lang, c)] < held.least_costly_per_language}
    assert thin == {}
    look_alikes = Counter(t["language"] for t in held.tickets if is_look_alike(t))
    assert sum(look_alikes.values()) >= held.least_look_alikes, look_alikes
    assert set(look_alikes) == set(LANGUAGES), look_alikes


@later_sets
def test_every_later_language_label_agrees_with_the_projects_language_detector(held: HeldOut) -> None:
    from channels.language import LanguageDetector

    detector = LanguageDetector(LANGUAGES)
    disagree = [(t["language"], detector.detect(t["subject"], t["description"]), t["subject"])
                for t in held.tickets if detector.detect(t["subject"], t["description"]) != t["language"]]
    assert disagree == []
