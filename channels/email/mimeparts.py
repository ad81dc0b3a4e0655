"""Sort the MIME tree into body text, HTML, attachments and report parts.

The tree is the stdlib's (``email`` with the compat32 policy, see parse.py);
this walk replaces ``Message.walk()`` because the walk must *not* descend into
attached messages (a forwarded mail's body is an attachment, not ours), must
stop at absurd nesting depths, and must remember which containers were
attachments themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import Message

from channels.email.charsets import Decoded, decode_bytes, sniff_html_charset

log = logging.getLogger(__name__)

MAX_DEPTH = 40
_BODY_TYPES = frozenset({"text/plain", "text/html"})
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_HEADER_TYPES = frozenset({"text/rfc822-headers", "text/global-headers"})


@dataclass
class Parts:
    plain: list[Message] = field(default_factory=list)
    html: list[Message] = field(default_factory=list)
    attachments: list[Message] = field(default_factory=list)
    delivery_status: list[Message] = field(default_factory=list)
    originals: list[Message] = field(default_factory=list)  # attached messages and rfc822-headers parts
    report_type: str | None = None  # report-type of the first multipart/report seen
    visited: list[Message] = field(default_factory=list)
    too_deep: bool = False


def disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except (TypeError, ValueError, AttributeError):
        return None


def _is_attached_text(part: Message) -> bool:
    """A text/plain or text/html part meant as a file rather than as the message body."""
    kind = disposition(part)
    if kind == "attachment":
        return True
    return kind != "inline" and bool(part.get_param("filename", None, "content-disposition"))


def _leaf(part: Message, ctype: str, attached: bool, parts: Parts) -> None:
    if ctype in _MESSAGE_TYPES:
        parts.attachments.append(part)
        parts.originals.append(part)
    elif ctype in _STATUS_TYPES:
        parts.delivery_status.append(part)
    elif ctype in _HEADER_TYPES:
        parts.originals.append(part)
    elif ctype in _BODY_TYPES and not attached and not _is_attached_text(part):
        (parts.plain if ctype == "text/plain" else parts.html).append(part)
    else:
        parts.attachments.append(part)


def walk(msg: Message) -> Parts:
    """Classify every part of ``msg`` without entering attached messages."""
    parts = Parts()
    stack: list[tuple[Message, bool, int]] = [(msg, False, 0)]
    while stack:
        part, attached, depth = stack.pop()
        parts.visited.append(part)
        ctype = part.get_content_type()
        payload = part.get_payload()
        if ctype.startswith("multipart/") and isinstance(payload, list):
            if depth >= MAX_DEPTH:
                parts.too_deep = True
                continue
            if ctype == "multipart/report" and parts.report_type is None:
                parts.report_type = str(part.get_param("report-type", "") or "").strip().lower()
            inner = attached or disposition(part) == "attachment"
            stack.extend((child, inner, depth + 1) for child in reversed(payload) if isinstance(child, Message))
        elif ctype.startswith("multipart/"):
            parts.plain.append(part)  # a multipart without usable boundary: its text is all we have
        else:
            _leaf(part, ctype, attached, parts)
    return parts


def payload_bytes(part: Message) -> bytes:
    """The transfer-decoded payload of a leaf part (b"" when there is none)."""
    try:
        data = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, AssertionError):
        log.info("payload could not be transfer-decoded; using it raw")
        raw = part.get_payload()
        return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return data if isinstance(data, bytes) else b""


def part_text(part: Message) -> Decoded:
    """The decoded text of a text part, in its declared (or sniffed/detected) charset."""
    data = payload_bytes(part)
    charset = part.get_content_charset()
    if charset is None and part.get_content_subtype() == "html":
        charset = sniff_html_charset(data)
    return decode_bytes(data, charset)
