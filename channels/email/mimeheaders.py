"""Decode header values: encoded words, raw 8-bit text, ids, addresses, dates.

What comes from where, and why:

* RFC 2047 encoded words are decoded here, leniently, with the stdlib's
  ``base64``/``binascii`` doing the byte work. ``email.header.decode_header``
  gives up on a whole header for one bad base64 word and decodes each word on
  its own, which breaks multi-byte characters that clients split across two
  words (common in Chinese and Japanese subjects); both cases need repair here.
* Charsets go through :mod:`channels.email.charsets`, so a header in GBK,
  Shift_JIS or a misspelled charset reads like the body does; raw 8-bit bytes
  that are not UTF-8 are detected the same way, with the body's charset as a
  hint (:func:`charsets.decode_header_bytes`).
* Addresses go through mail-parser's ``get_addresses``: its structural scanner
  splits mailboxes only at real delimiters and records why an item was
  ambiguous, where the ``email.utils.getaddresses`` of the Python 3.11 patch
  releases we run can be fooled into returning an address taken from a display
  name (CVE-2023-27043) -- and the From address decides loop protection.
* Dates go through mail-parser's ``parse_mail_date``: it reads the obsolete
  RFC 5322 forms (two-digit years, alphabetic zones, comments) and reports
  defects such as a wrong weekday; ``email.utils`` is the fallback for what it
  rejects.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from mailparser.dates import parse_mail_date
from mailparser.utils import get_addresses

from channels.email.charsets import decode_header_bytes

log = logging.getLogger(__name__)

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,80})\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]+")
_NOT_B64 = re.compile(r"[^A-Za-z0-9+/]")
_ANGLE_ID = re.compile(r"<\s*([^<>\s]+)\s*>")
_ID_DELIMITERS = re.compile(r"[\s<>,;\"]+")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDR_SPEC = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z][A-Za-z0-9-]{{1,62}}")
_ANGLED = re.compile(r"(?P<name>[^<>]*)<\s*(?P<addr>[^<>\s]+?)(?P<dots>\.*)\s*(?P<close>>?)\s*")


def raw_first_headers(msg: Message) -> tuple[dict[str, str], list[str]]:
    """First occurrence of every header by lowercased name, and the names seen twice."""
    first: dict[str, str] = {}
    repeated: list[str] = []
    for name, value in msg.raw_items():
        key = name.strip().lower()
        if key in first:
            if key not in repeated:
                repeated.append(key)
            continue
        first[key] = str(value)
    return first, repeated


def raw_values(msg: Message, name: str) -> list[str]:
    """Every value of the header ``name`` (lowercase), raw, in order."""
    return [str(value) for key, value in msg.raw_items() if key.strip().lower() == name]


def unfold(value: str) -> str:
    return _FOLD.sub("", value)


def tidy(value: str) -> str:
    """One line: control characters (CR/LF included) and runs of whitespace become one space."""
    return " ".join(_CONTROLS.sub(" ", value).split())


def _raw8(text: str, hint: str | None, detect: bool = True) -> tuple[str, str | None]:
    if text.isascii() and "\x1b" not in text:
        return text, None
    decoded = decode_header_bytes(text.encode("utf-8", "surrogateescape"), None, hint, detect=detect)
    return decoded.text, decoded.defect


def raw8(text: str, hint: str | None) -> str:
    """Text that arrived as raw 8-bit bytes in a header: UTF-8, else detected (``hint``: the body's charset)."""
    return _raw8(text, hint)[0]


def _word_bytes(encoding: str, text: str) -> bytes:
    if encoding in "bB":
        letters = _NOT_B64.sub("", text)
        if len(letters) % 4 == 1:
            letters = letters[:-1]
        return base64.b64decode(letters + "=" * (-len(letters) % 4))
    return binascii.a2b_qp(text.encode("utf-8", "surrogateescape"), header=True)


class _Words:
    """Accumulates decoded output, joining adjacent encoded words in one charset."""

    def __init__(self, hint: str | None, detect: bool) -> None:
        self.hint = hint
        self.detect = detect
        self.out: list[str] = []
        self.charset: str | None = None
        self.pending: list[bytes] = []
        self.defects: list[str] = []

    def flush(self) -> None:
        if self.charset is not None:
            decoded = decode_header_bytes(b"".join(self.pending), self.charset)
            self.out.append(decoded.text)
            if decoded.defect:
                self.defects.append(decoded.defect)
        self.charset, self.pending = None, []

    def word(self, charset: str, data: bytes) -> None:
        if self.charset is not None and charset != self.charset:
            self.flush()
        self.charset = charset
        self.pending.append(data)

    def text(self, raw: str) -> None:
        self.flush()
        text, defect = _raw8(raw, self.hint, self.detect)
        self.out.append(text)
        if defect:
            self.defects.append(defect)


def decode_value(raw: str, hint: str | None = None, *, detect: bool = True) -> tuple[str, list[str]]:
    """A header value with encoded words and raw 8-bit text decoded, and any defects."""
    value = unfold(raw)
    words = _Words(hint, detect)
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        if gap and (words.charset is None or gap.strip(" \t")):
            words.text(gap)
        try:
            data = _word_bytes(match.group(2), match.group(3))
        except (binascii.Error, ValueError):
            words.text(match.group())
            words.defects.append("malformed encoded word kept as is")
        else:
            words.word(match.group(1).lower(), data)
        pos = match.end()
    words.text(value[pos:])
    return "".join(words.out), words.defects


def header_text(raw: str | None, hint: str | None = None, *, detect: bool = True) -> str:
    """A decoded single-line header value; "" when absent."""
    if raw is None:
        return ""
    return tidy(decode_value(raw, hint, detect=detect)[0])


def _bare_ids(value: str) -> list[str]:
    """Tokens that look like ids (contain an @) when the value has no angle brackets."""
    return [token for token in _ID_DELIMITERS.split(value) if "@" in token]


def _id_text(raw: str) -> str:
    return _CONTROLS.sub(" ", raw8(unfold(raw), None))


def message_id(raw: str | None) -> str | None:
    """The id inside the first ``<...>`` of a Message-ID value (case kept), or a bare id."""
    if raw is None:
        return None
    value = _id_text(raw)
    match = _ANGLE_ID.search(value)
    if match:
        return match.group(1)
    bare = _bare_ids(value)
    if bare:
        return bare[0]
    tokens = tidy(value).strip("<>").split(" ")
    return tokens[0] or None


def id_list(raw: str | None) -> tuple[str, ...]:
    """Message ids of an In-Reply-To/References value, in order, without duplicates."""
    if not raw:
        return ()
    value = _id_text(raw)
    found = _ANGLE_ID.findall(value) or _bare_ids(value)
    return tuple(dict.fromkeys(found))


def addresses(raw: str | None, hint: str | None = None) -> tuple[list[tuple[str, str]], list[str]]:
    """(decoded display name, lowercased addr-spec) pairs of an address header, and defects."""
    if raw is None or not raw.strip():
        return [], []
    value = tidy(raw8(unfold(raw), hint))
    diagnostics: list[dict[str, object]] = []
    try:
        pairs = get_addresses(value, defects=diagnostics)
    except Exception as exc:  # third-party scanner: a bug there must not lose the mail
        log.warning("address scanner failed: %s", type(exc).__name__)  # no traceback: it may quote addresses
        return [], ["address header could not be parsed"]
    defects = [f"address header: {d.get('reason', 'unreadable item')}" for d in diagnostics]
    repaired = _repaired(diagnostics)
    defects.extend(f"address header: a mailbox read with {fix}" for _, _, fix in repaired)
    pairs = [pair for pair in pairs if pair[1]] + _single_candidates(diagnostics)
    pairs.extend((name, addr) for name, addr, _ in repaired)
    result = [(header_text(name, hint), addr.strip().lower()) for name, addr in pairs if "@" in addr]
    return result, defects


def repair_mailbox(item: str) -> tuple[str, str, str] | None:
    """(display name, address, what was repaired) of a mailbox with exactly one possible reading, else None.

    Reads ``Name <a@b.com.>`` (a trailing dot on the domain), ``Name <a@b.com`` (no closing bracket),
    and ``Name a@b.com`` / ``a@b.com.`` (no
    angle brackets, exactly one word with an ``@``). Anything else stays unreadable: a second ``@`` word
    or stray brackets leave more than one reading, and the sender address must not be a guess.
    """
    item = item.strip()
    if (angled := _ANGLED.fullmatch(item)) is not None:
        addr, name = angled.group("addr"), angled.group("name").strip().strip('"').strip()
        if _ADDR_SPEC.fullmatch(addr) is None:
            return None
        return name, addr, "a trailing dot dropped" if angled.group("dots") else "the closing bracket added"
    words = item.split()
    if "<" in item or ">" in item or sum("@" in word for word in words) != 1:
        return None
    word = next(word for word in words if "@" in word)
    addr = word.strip("\"'()[],;:").rstrip(".")
    if _ADDR_SPEC.fullmatch(addr) is None:
        return None
    name = " ".join(w for w in words if w is not word).strip().strip('"').strip()
    return name, addr, "no angle brackets" if name else "a trailing dot dropped" if word.endswith(".") else "no change"


def _repaired(diagnostics: list[dict[str, object]]) -> list[tuple[str, str, str]]:
    """Repairable mailboxes among the items the scanner could not read at all."""
    found = []
    for item in diagnostics:
        if item.get("recovered") or item.get("candidates"):
            continue
        repaired = repair_mailbox(str(item.get("raw", "")))
        if repaired is not None:
            found.append(repaired)
    return found


def _single_candidates(diagnostics: list[dict[str, object]]) -> list[tuple[str, str]]:
    """Mailboxes of malformed items that have exactly one possible reading ("Name <a@b>>")."""
    found = []
    for item in diagnostics:
        candidates = item.get("candidates")
        if not item.get("recovered") and isinstance(candidates, list) and len(candidates) == 1:
            found.append((str(candidates[0].get("display_name", "")), str(candidates[0].get("address", ""))))
    return found


def _stdlib_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # a zone offset pushing year 1 or 9999 out of range
        return None


def date(raw: str | None) -> tuple[datetime | None, list[str]]:
    """The Date header as an aware UTC datetime, with defects; None when missing or unreadable."""
    if raw is None:
        return None, ["missing Date header"]
    value = tidy(raw8(unfold(raw), None))
    result = parse_mail_date(value)
    defects = [f"Date header: {reason}" for reason in result.reasons if reason != "invalid-date-syntax"]
    parsed: datetime | None = result.value
    if parsed is None:
        parsed = _stdlib_date(value)
    if parsed is None:
        defects.append("unreadable Date header")
    return parsed, defects


def decoded_map(first: dict[str, str], hint: str | None = None) -> dict[str, str]:
    """Decoded single-line values of all headers, by lowercased name (raw 8-bit text is not detected)."""
    return {tidy(key): header_text(value, hint, detect=False) for key, value in first.items() if tidy(key)}
