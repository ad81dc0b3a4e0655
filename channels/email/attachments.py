"""Attachment parts to :class:`ParsedAttachment` values.

Filenames: the stdlib collects RFC 2231 parameters (continuations, charset,
language) but decodes them with ``errors="replace"`` and gives up on unknown
charsets, and it does not decode the (non-standard, very common) encoded-word
filenames; the raw pieces are taken from it and decoded with our charset
handling instead. Path components are removed from names.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
from collections.abc import Iterator
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from email.utils import unquote
from io import BytesIO

from channels.email import tnef
from channels.email.charsets import decode_bytes
from channels.email.mimeheaders import decode_value, raw8, tidy
from channels.email.mimeparts import disposition, payload_bytes
from channels.email.parsed import ParsedAttachment

log = logging.getLogger(__name__)

_TYPES = mimetypes.MimeTypes(filenames=())  # built-in table only: same answer on every host
_OFFICE = "application/vnd.openxmlformats-officedocument."
for _type, _ext in (
    (_OFFICE + "wordprocessingml.document", ".docx"),
    (_OFFICE + "spreadsheetml.sheet", ".xlsx"),
    (_OFFICE + "presentationml.presentation", ".pptx"),
    ("application/vnd.ms-outlook", ".msg"),
    ("image/heic", ".heic"),
    ("image/webp", ".webp"),
    ("text/calendar", ".ics"),
    ("application/ms-tnef", ".dat"),
):
    _TYPES.add_type(_type, _ext)
_CID_REF = re.compile(r"""cid:([^"'\s>)]+)""", re.I)
_PATH = re.compile(r"[\\/]")
_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})


def referenced_cids(html: str | None) -> frozenset[str]:
    """Content-IDs (lowercased) that the HTML body points at with ``cid:``."""
    if not html or "cid:" not in html.lower():
        return frozenset()
    return frozenset(match.lower() for match in _CID_REF.findall(html))


def _metadata(part: Message) -> Message:
    """``part`` itself, or a copy of its MIME headers with raw 8-bit text decoded.

    The stdlib hands raw 8-bit parameters back with replacement characters.
    """
    raw = [(name, str(value)) for name, value in part.raw_items()]
    if all(value.isascii() for _, value in raw):
        return part
    view = Message()
    for name, value in raw:
        if name.lower() in ("content-type", "content-disposition"):
            view[name] = raw8(value, None)
    return view


def _param(part: Message) -> str | tuple[str | None, str | None, str] | None:
    metadata = _metadata(part)
    for header, name in (("content-disposition", "filename"), ("content-type", "name")):
        value = metadata.get_param(name, None, header)
        if value:
            return value
    return None


def _rfc2231(value: tuple[str | None, str | None, str]) -> str:
    charset, _language, text = value
    text = unquote(text)
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogateescape")
    return decode_bytes(data, charset or "utf-8").text


def filename_of(part: Message) -> str:
    """The decoded filename of a part, without any directory; "" when it has none."""
    value = _param(part)
    if value is None:
        return ""
    name = _rfc2231(value) if isinstance(value, tuple) else decode_value(unquote(str(value)))[0]
    return tidy(_PATH.split(name)[-1]).strip(". ") if name else ""


def _generated(index: int, content_type: str) -> str:
    return f"attachment-{index}{_TYPES.guess_extension(content_type) or '.bin'}"


def _message_bytes(part: Message) -> bytes:
    """An attached message/rfc822 as .eml bytes (re-serialised by the stdlib)."""
    inner = part.get_payload()
    if not isinstance(inner, list) or not inner or not isinstance(inner[0], Message):
        return payload_bytes(part)
    buffer = BytesIO()
    try:
        BytesGenerator(buffer, mangle_from_=False, policy=compat32).flatten(inner[0])
    except (TypeError, ValueError, LookupError, UnicodeError, RecursionError):
        log.info("attached message could not be re-serialised")
    return buffer.getvalue()


def _content_id(part: Message) -> str | None:
    raw = part.get("content-id")
    value = tidy(str(raw)).strip("<> ") if raw is not None else ""
    return value or None


def _make(name: str, ctype: str, data: bytes, inline: bool, cid: str | None, cap: int) -> ParsedAttachment:
    return ParsedAttachment(
        filename=name,
        content_type=ctype,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        inline=inline,
        content_id=cid,
        payload=data if len(data) <= cap else None,
    )


def _from_tnef(data: bytes, cap: int, start: int) -> Iterator[ParsedAttachment]:
    for offset, item in enumerate(tnef.extract(data)):
        ctype = _TYPES.guess_type(item.filename)[0] if item.filename else None
        ctype = ctype or "application/octet-stream"
        name = _PATH.split(item.filename)[-1] or _generated(start + offset, ctype)
        yield _make(name, ctype, item.data, False, None, cap)


def build(parts: list[Message], *, html: str | None, cap: int) -> tuple[ParsedAttachment, ...]:
    """ParsedAttachment values for the attachment parts, winmail.dat contents appended after it."""
    cids = referenced_cids(html)
    out: list[ParsedAttachment] = []
    for part in parts:
        ctype = part.get_content_type()
        is_message = ctype in ("message/rfc822", "message/global")
        data = _message_bytes(part) if is_message else payload_bytes(part)
        cid = _content_id(part)
        inline = disposition(part) == "inline" or (cid is not None and cid.lower() in cids)
        name = filename_of(part) or _generated(len(out) + 1, ctype)
        out.append(_make(name, ctype, data, inline, cid, cap))
        if ctype in _TNEF_TYPES or name.lower() == "winmail.dat":
            out.extend(_from_tnef(data, cap, len(out) + 1))
    return tuple(out)
