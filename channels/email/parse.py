"""Raw email bytes to a :class:`ParsedEmail`, plus the noise/loop guard.

Which library does what, and why:

* **Structure: the stdlib** ``email`` package, ``BytesParser`` with the
  ``compat32`` policy -- the same parser mail-parser wraps. It is lenient
  (malformed input becomes ``defects``, not exceptions) and fast. Reading the
  headers of a typical mail through ``policy.default``'s header registry took
  ~1.7 ms against ~0.09 ms here, and the registry can raise on hostile headers;
  we decode header values and payloads ourselves anyway (below), because the
  stdlib gives up on misdeclared charsets. Using mail-parser's ``MailParser``
  as the entry point costs ~0.9 ms per mail (it parses every Received header
  and re-encodes every attachment to base64), twice our whole parse, for
  results we would not use.
* **mail-parser** where it adds what the stdlib of our Python lacks: its
  structural address scanner with diagnostics (mimeheaders.addresses; the From
  address drives loop protection, and 3.11's ``getaddresses`` can be fooled by
  display names) and its RFC 5322 date reader that reports defects such as a
  wrong weekday (mimeheaders.date).
* **charset-normalizer** only for bytes whose charset is missing or wrong
  (charsets.py); **html2text** for HTML-only mail (htmltext.py).

Decisions: see noise.py for the noise precedence (auto-reply and out-of-office
win over bulk; noreply relays with a human Reply-To are not noise), bounce.py
for classic bounces, quotes.py for what counts as quoted history, htmltext.py
for HTML over 1 MiB, bodies.py for which body parts make up the text (every
part that is not an alternative of another; forwards). A UTF-8 byte order
mark, blank lines, an mbox ``From `` line or a few junk lines ("---- Original
email message ----") before the first header are skipped. The sender is the
first usable mailbox of: the From header, a later From header, Reply-To,
Sender (``ParsedEmail.sender_source`` says which). ``parse_email`` never sets
OWN_ADDRESS / OWN_MESSAGE: those need configuration and come from
:func:`classify_noise`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from types import MappingProxyType

from channels.email import mimeheaders as mh
from channels.email.attachments import build as build_attachments
from channels.email.bodies import assemble
from channels.email.bounce import BounceInput, bounce_info
from channels.email.charsets import header_hint
from channels.email.mimeparts import Parts, walk
from channels.email.noise import NoiseInput, noise_kind
from channels.email.parsed import BounceInfo, NoiseKind, ParsedAttachment, ParsedEmail, SenderSource
from channels.email.quotes import only_markers, strip_quotes
from channels.errors import EmailParseError

__all__ = [
    "BounceInfo",
    "NoiseKind",
    "ParsedAttachment",
    "ParsedEmail",
    "SenderSource",
    "classify_noise",
    "message_id_of",
    "parse_email",
    "strip_quotes",
]

log = logging.getLogger(__name__)

DEFAULT_ATTACHMENT_CAP = 10 * 1024 * 1024
NO_ID_DOMAIN = "no-message-id.invalid"
_MAX_DEFECTS = 100
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,75}")
_SINGLE_HEADERS = ("from", "to", "cc", "reply-to", "subject", "date", "message-id", "in-reply-to", "references")
MAX_JUNK_LINES = 5
MAX_LATER_FROMS = 5  # later From headers tried when the first is unusable (each costs an address scan)
_TEXT_HEADERS = ("subject", "from", "to", "cc", "reply-to", "sender")
_HEADER_LINE = re.compile(rb"([A-Za-z][A-Za-z0-9_-]{0,75})[ \t]*:")
# Fields one of which must open the header block found after junk lines, so prose is not taken for headers.
_MAIL_FIELDS = frozenset({
    b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"sender", b"reply-to", b"return-path",
    b"received", b"delivered-to", b"x-original-to", b"envelope-to", b"mime-version", b"content-type",
    b"dkim-signature", b"arc-seal", b"authentication-results", b"x-received", b"x-mailer", b"user-agent",
    b"in-reply-to", b"references", b"thread-topic", b"thread-index",
})


def _header_lines(data: bytes, limit: int = 3) -> int:
    """How many of the first ``limit`` lines of ``data`` are header fields (stops at the first that is not)."""
    count, pos = 0, 0
    while count < limit and _HEADER_LINE.match(data, pos):
        count += 1
        end = data.find(b"\n", pos)
        if end < 0:
            break
        pos = end + 1
        while data[pos : pos + 1] in (b" ", b"\t"):  # a folded continuation belongs to the field
            end = data.find(b"\n", pos)
            pos = len(data) if end < 0 else end + 1
    return count


def _trimmed(raw: bytes) -> tuple[bytes, int]:
    """``raw`` from its first header line on, and how many junk lines were skipped to get there.

    A UTF-8 byte order mark and blank lines go silently (an mbox ``From `` line is the stdlib's). Up to
    ``MAX_JUNK_LINES`` other lines are skipped only when what follows is a header block opening with a
    mail field and at least two fields long; otherwise ``raw`` stays as it is.
    """
    data = raw.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")
    if _HEADER_LINE.match(data):
        return data, 0
    if data.startswith(b"From ") and _HEADER_LINE.match(data, data.find(b"\n") + 1):
        return data, 0  # an mbox From line: the stdlib's parser drops it
    pos = 0
    for skipped in range(1, MAX_JUNK_LINES + 1):
        end = data.find(b"\n", pos)
        if end < 0:
            break
        pos = end + 1
        while data[pos : pos + 1] in (b"\r", b"\n"):
            pos += 1
        field = _HEADER_LINE.match(data, pos)
        if field and field.group(1).lower() in _MAIL_FIELDS and _header_lines(data[pos:]) >= 2:
            return data[pos:], skipped
    return data, 0


def _parse_bytes(raw: bytes) -> tuple[Message, int]:
    """The stdlib's message tree and the junk lines skipped; EmailParseError when ``raw`` is not an email."""
    if not raw or not raw.strip():
        raise EmailParseError("empty input")
    data, skipped = _trimmed(raw)
    try:
        msg = BytesParser(policy=compat32).parsebytes(data)
    except RecursionError as exc:
        raise EmailParseError("MIME parts nested too deeply to parse") from exc
    if not any(_FIELD_NAME.fullmatch(name) for name in msg):
        raise EmailParseError("no header block: not an email")
    return msg, skipped


def _header_block(raw: bytes) -> bytes:
    """``raw`` up to and including the blank line that ends the headers."""
    pos = 0
    while (end := raw.find(b"\n", pos)) >= 0:
        if raw[pos:end] in (b"", b"\r"):
            return raw[: end + 1]
        pos = end + 1
    return raw


def _message_id(raw: bytes, value: str | None) -> tuple[str, bool]:
    found = mh.message_id(value)
    if found:
        return found, True
    return f"{hashlib.sha256(raw).hexdigest()}@{NO_ID_DOMAIN}", False


def message_id_of(raw: bytes) -> str:
    """The message id ``parse_email`` would give, reading only the header block."""
    msg, _ = _parse_bytes(_header_block(_trimmed(raw)[0]))
    return _message_id(raw, mh.raw_first_headers(msg)[0].get("message-id"))[0]


class _Defects:
    def __init__(self) -> None:
        self.items: dict[str, None] = {}

    def add(self, *notes: str | None) -> None:
        for note in notes:
            if note and len(self.items) < _MAX_DEFECTS:
                self.items[note] = None

    def mime(self, parts: Parts) -> None:
        for part in parts.visited:
            for defect in part.defects:
                doc = (type(defect).__doc__ or type(defect).__name__).strip().splitlines()[0]
                self.add(f"{part.get_content_type()}: {doc}")
        if parts.too_deep:
            self.add("MIME parts nested too deeply; the innermost were ignored")


def _charset_hint(parts: Parts) -> str | None:
    for part in parts.plain + parts.html:
        charset = part.get_content_charset()
        if charset:
            return charset
    return None


def _header_hint(first: dict[str, str], body_charset: str | None) -> str | None:
    """The charset hint for raw 8-bit header text: the body's, or what all 8-bit headers read as together."""
    values = (first[name] for name in _TEXT_HEADERS if name in first and not first[name].isascii())
    return header_hint((value.encode("utf-8", "surrogateescape") for value in values), body_charset)


def _addresses(first: dict[str, str], hint: str | None, defects: _Defects) -> dict[str, tuple[str, ...]]:
    out = {}
    for name in ("to", "cc", "reply-to"):
        pairs, notes = mh.addresses(first.get(name), hint)
        defects.add(*notes)
        out[name] = tuple(dict.fromkeys(addr for _, addr in pairs))
    return out


_SOURCE_LABELS = {
    SenderSource.LATER_FROM: "a later From header",
    SenderSource.REPLY_TO: "the Reply-To header",
    SenderSource.SENDER: "the Sender header",
}


@dataclass(frozen=True)
class _Sender:
    address: str | None
    name: str
    source: SenderSource


def _sender(msg: Message, first: dict[str, str], hint: str | None, defects: _Defects) -> _Sender:
    """The first usable mailbox of From, a later From, Reply-To, Sender."""
    pairs, notes = mh.addresses(first.get("from"), hint)
    defects.add(*notes)
    if pairs:
        return _Sender(pairs[0][1], pairs[0][0], SenderSource.FROM)
    defects.add("missing From header" if "from" not in first else "unreadable From header")
    fallbacks: list[tuple[str | None, SenderSource]] = [
        (value, SenderSource.LATER_FROM) for value in mh.raw_values(msg, "from")[1 : 1 + MAX_LATER_FROMS]
    ]
    fallbacks += [(first.get("reply-to"), SenderSource.REPLY_TO), (first.get("sender"), SenderSource.SENDER)]
    for value, source in fallbacks:
        pairs, notes = mh.addresses(value, hint)
        if pairs:
            defects.add(*notes, f"sender taken from {_SOURCE_LABELS[source]}")
            return _Sender(pairs[0][1], pairs[0][0], source)
    return _Sender(None, "", SenderSource.NONE)


def _subject(first: dict[str, str], hint: str | None, defects: _Defects) -> str:
    value, notes = mh.decode_value(first.get("subject", ""), hint)
    defects.add(*(f"Subject: {note}" for note in notes))
    return mh.tidy(value)


@dataclass(frozen=True)
class _Envelope:
    """The header fields of ParsedEmail."""

    message_id: str
    has_message_id: bool
    sender: _Sender
    raw_from: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    subject: str
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]


def _envelope(raw: bytes, msg: Message, first: dict[str, str], hint: str | None, defects: _Defects) -> _Envelope:
    message_id, has_id = _message_id(raw, first.get("message-id"))
    if not has_id:
        defects.add("missing Message-ID header")
    sender = _sender(msg, first, hint, defects)
    recipients = _addresses(first, hint, defects)
    date, date_notes = mh.date(first.get("date"))
    defects.add(*date_notes)
    return _Envelope(
        message_id=message_id,
        has_message_id=has_id,
        sender=sender,
        raw_from=mh.tidy(first.get("from", "")),
        to=recipients["to"],
        cc=recipients["cc"],
        reply_to=recipients["reply-to"],
        subject=_subject(first, hint, defects),
        date=date,
        in_reply_to=mh.id_list(first.get("in-reply-to")),
        references=mh.id_list(first.get("references")),
    )


def _judge(env: _Envelope, parts: Parts, headers: dict[str, str], text: str) -> tuple[NoiseKind, BounceInfo | None]:
    """The message's noise kind and, for bounces, what bounced."""
    bounce = bounce_info(
        BounceInput(
            report_type=parts.report_type,
            delivery_status=parts.delivery_status,
            originals=parts.originals,
            headers=headers,
            from_address=env.sender.address,
            from_name=env.sender.name,
            subject=env.subject,
            text=text,
            in_reply_to=env.in_reply_to,
            references=env.references,
            message_id=env.message_id,
        ),
        env.raw_from,
    )
    noise = noise_kind(
        NoiseInput(
            headers=headers,
            subject=env.subject,
            text=text,
            from_address=env.sender.address,
            from_name=env.sender.name,
            raw_from=env.raw_from,
            reply_to=env.reply_to,
            report_type=parts.report_type,
            bounce=bounce,
        )
    )
    return noise, bounce


def parse_email(raw: bytes, *, attachment_cap: int = DEFAULT_ATTACHMENT_CAP) -> ParsedEmail:
    """Parse one email; raises EmailParseError only when ``raw`` is not an email at all."""
    msg, skipped = _parse_bytes(raw)
    first, repeated = mh.raw_first_headers(msg)
    defects = _Defects()
    if skipped:
        defects.add(f"{skipped} line(s) before the headers skipped")
    defects.add(*(f"duplicate {name} header; the first was used" for name in repeated if name in _SINGLE_HEADERS))
    parts = walk(msg)
    body = assemble(parts)
    defects.add(*body.defects)
    text, html = body.text, body.html
    hint = _header_hint(first, body.charset or _charset_hint(parts))
    env = _envelope(raw, msg, first, hint, defects)
    headers = mh.decoded_map(first, hint)
    noise, bounce = _judge(env, parts, headers, text)
    attachments = build_attachments(parts.attachments, html=html, cap=attachment_cap)
    defects.mime(parts)
    return ParsedEmail(
        message_id=env.message_id,
        has_message_id=env.has_message_id,
        from_address=env.sender.address,
        from_name=env.sender.name,
        to=env.to,
        cc=env.cc,
        reply_to=env.reply_to,
        subject=env.subject,
        date=env.date,
        in_reply_to=env.in_reply_to,
        references=env.references,
        text=text,
        new_text=_new_text(text),
        html=html,
        attachments=attachments,
        headers=MappingProxyType(headers),
        noise=noise,
        bounce=bounce,
        defects=tuple(defects.items),
        sender_source=env.sender.source,
    )


def _new_text(text: str) -> str:
    """The sender's new words; the whole text when they are nothing but separator lines (a forward)."""
    new = strip_quotes(text)
    return text if only_markers(new) else new


def classify_noise(parsed: ParsedEmail, *, own_addresses: Collection[str], own_message_id_domain: str) -> NoiseKind:
    """The loop guard: our own messages and addresses first, then the message's own noise kind."""
    domain = own_message_id_domain.strip().lower()
    if domain and parsed.message_id.lower().endswith("@" + domain):
        return NoiseKind.OWN_MESSAGE
    if parsed.from_address is not None and parsed.from_address in {a.strip().lower() for a in own_addresses}:
        return NoiseKind.OWN_ADDRESS
    return parsed.noise
