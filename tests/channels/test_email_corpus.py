"""The email fixture corpus: every message in tests/fixtures/email parses and meets expected.json.

The fixtures are raw RFC 5322 bytes imitating what Gmail, Outlook/Exchange, Apple Mail, Thunderbird,
MTAs (bounces) and auto-responders really send, including broken charsets and malformed structure.
``tests/fixtures/email/make_corpus.py`` regenerates them (and expected.json) deterministically.

Phrases in ``text_contains`` / ``new_text_contains`` / ``*_excludes`` are compared with whitespace
collapsed on both sides, so line wrapping (format=flowed, HTML conversion) does not matter.
"""

from __future__ import annotations

import enum
import hashlib
import json
import typing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from channels.email.parse import NoiseKind, ParsedEmail, parse_email

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"
EXPECTED: dict[str, dict[str, Any]] = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
EML_FILES = sorted(p.name for p in FIXTURES.glob("*.eml"))

KNOWN_KEYS = frozenset({
    "from_address", "has_message_id", "message_id", "subject", "subject_contains", "date_is_none",
    "in_reply_to", "references_count", "text_contains", "text_excludes", "new_text_contains",
    "new_text_excludes", "attachments", "attachment_count", "noise", "bounce_original_message_id",
    "bounce_failed_recipients", "bounce_status", "bounce_permanent", "expects_defects", "description",
    "allow_replacement_char",
})
ATTACHMENT_KEYS = frozenset({"filename", "content_type", "inline", "size"})


def _squash(text: str) -> str:
    return " ".join(text.split())


def _noise_values() -> set[str]:
    if isinstance(NoiseKind, type) and issubclass(NoiseKind, enum.Enum):
        return {str(member.value) for member in NoiseKind}
    return {str(arg) for arg in typing.get_args(NoiseKind)}


def _noise(parsed: ParsedEmail) -> str:
    return str(getattr(parsed.noise, "value", parsed.noise))


def test_corpus_is_big_enough() -> None:
    assert len(EML_FILES) >= 60, f"only {len(EML_FILES)} fixtures"


def test_every_expectation_has_a_fixture() -> None:
    missing = sorted(set(EXPECTED) - set(EML_FILES))
    assert not missing, f"expected.json names fixtures that do not exist: {missing}"


def test_expectations_are_well_formed() -> None:
    problems: list[str] = []
    noise_values = _noise_values()
    for name, exp in EXPECTED.items():
        unknown = set(exp) - KNOWN_KEYS
        if unknown:
            problems.append(f"{name}: unknown keys {sorted(unknown)}")
        if exp.get("noise") not in noise_values:
            problems.append(f"{name}: noise {exp.get('noise')!r} is not a NoiseKind")
        if "subject" not in exp and "subject_contains" not in exp:
            problems.append(f"{name}: needs subject or subject_contains")
        if exp.get("noise") == "none" and "new_text_contains" not in exp:
            problems.append(f"{name}: a human message needs new_text_contains")
        for att in exp.get("attachments", []):
            if set(att) - ATTACHMENT_KEYS or not {"filename", "content_type"} <= set(att):
                problems.append(f"{name}: bad attachment expectation {att}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", EML_FILES, ids=EML_FILES)
def test_fixture(name: str) -> None:
    assert name in EXPECTED, f"{name} has no entry in expected.json"
    exp = EXPECTED[name]
    raw = (FIXTURES / name).read_bytes()

    parsed = parse_email(raw)

    # Invariants for every fixture.
    if not exp.get("allow_replacement_char", False):
        assert "\ufffd" not in parsed.text, "U+FFFD in text"
        assert "\ufffd" not in parsed.new_text, "U+FFFD in new_text"
    assert len(parsed.new_text) <= len(parsed.text) + 1
    assert not parsed.message_id.startswith("<") and not parsed.message_id.endswith(">")
    if parsed.from_address is not None:
        assert parsed.from_address == parsed.from_address.lower()
    if parsed.date is not None:
        assert parsed.date.tzinfo is not None and parsed.date.utcoffset() == timedelta(0)

    if "from_address" in exp:
        assert parsed.from_address == exp["from_address"]
    if "has_message_id" in exp:
        assert parsed.has_message_id is exp["has_message_id"]
        if not exp["has_message_id"]:
            assert parsed.message_id == f"{hashlib.sha256(raw).hexdigest()}@no-message-id.invalid"
    if "message_id" in exp:
        assert parsed.message_id == exp["message_id"]
    if "subject" in exp:
        assert parsed.subject == exp["subject"]
    for phrase in exp.get("subject_contains", []):
        assert phrase in parsed.subject, f"subject lacks {phrase!r}: {parsed.subject!r}"
    if "date_is_none" in exp:
        assert (parsed.date is None) is exp["date_is_none"], f"date is {parsed.date!r}"
    if "in_reply_to" in exp:
        assert list(parsed.in_reply_to) == exp["in_reply_to"]
    if "references_count" in exp:
        assert len(parsed.references) == exp["references_count"], parsed.references

    text, new_text = _squash(parsed.text), _squash(parsed.new_text)
    for phrase in exp.get("text_contains", []):
        assert _squash(phrase) in text, f"text lacks {phrase!r}"
    for phrase in exp.get("text_excludes", []):
        assert _squash(phrase) not in text, f"text contains {phrase!r}"
    for phrase in exp.get("new_text_contains", []):
        assert _squash(phrase) in new_text, f"new_text lacks {phrase!r}; new_text={parsed.new_text[:400]!r}"
    for phrase in exp.get("new_text_excludes", []):
        assert _squash(phrase) not in new_text, f"new_text contains {phrase!r}; new_text={parsed.new_text[:400]!r}"

    if "attachment_count" in exp:
        got = [(a.filename, a.content_type) for a in parsed.attachments]
        assert len(parsed.attachments) == exp["attachment_count"], got
    unmatched = list(parsed.attachments)
    for want in exp.get("attachments", []):
        match = next(
            (
                a for a in unmatched
                if a.filename == want["filename"]
                and a.content_type == want["content_type"]
                and ("inline" not in want or a.inline is want["inline"])
                and ("size" not in want or a.size == want["size"])
            ),
            None,
        )
        got = [(a.filename, a.content_type, a.inline, a.size) for a in parsed.attachments]
        assert match is not None, f"no attachment like {want}; got {got}"
        unmatched.remove(match)

    assert _noise(parsed) == exp["noise"]
    bounce_keys = [k for k in exp if k.startswith("bounce_")]
    if exp["noise"] == "bounce" or bounce_keys:
        assert parsed.bounce is not None, "no BounceInfo"
    if "bounce_original_message_id" in exp:
        assert parsed.bounce is not None and parsed.bounce.original_message_id == exp["bounce_original_message_id"]
    if "bounce_failed_recipients" in exp:
        assert parsed.bounce is not None
        assert sorted(set(parsed.bounce.failed_recipients)) == sorted(exp["bounce_failed_recipients"])
    if "bounce_status" in exp:
        assert parsed.bounce is not None and parsed.bounce.status == exp["bounce_status"]
    if "bounce_permanent" in exp:
        assert parsed.bounce is not None and parsed.bounce.permanent is exp["bounce_permanent"]

    if exp.get("expects_defects"):
        assert parsed.defects, "expected parser defects for this malformed message"
