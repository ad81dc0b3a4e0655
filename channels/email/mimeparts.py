"""Sort the MIME tree into body text, HTML, attachments and report parts.

The tree is the stdlib's (``email`` with the compat32 policy, see parse.py);
this walk replaces ``Message.walk()`` because the walk must *not* descend into
attached messages (a forwarded mail's body is an attachment, not ours), must
stop at absurd nesting depths, and must remember which containers were
attachments themselves.

It also records, for every body part, which ``multipart/alternative`` branches
it sits in (``Body.alternatives``): only parts that are alternatives of each
other may stand in for one another, so a text/plain signature next to a
text/html message in ``multipart/mixed`` does not make the HTML disposable.
Attached messages that are not inside a report are listed as bodies too
(``BodyKind.MESSAGE``), in order, for forwards (see bodies.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import Message
from enum import StrEnum

from channels.email.charsets import Decoded, decode_bytes, sniff_html_charset

log = logging.getLogger(__name__)

MAX_DEPTH = 40
_BODY_TYPES = frozenset({"text/plain", "text/html"})
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_HEADER_TYPES = frozenset({"text/rfc822-headers", "text/global-headers"})


class BodyKind(StrEnum):
    PLAIN = "plain"
    HTML = "html"
    MESSAGE = "message"  # an attached message/rfc822 outside any report


# (group, branch): the ``branch``-th child of the ``group``-th multipart/alternative met in the walk.
Branch = tuple[int, int]


@dataclass(frozen=True)
class Body:
    """A body candidate in document order, with its alternative branches from the outermost inwards."""

    part: Message
    kind: BodyKind
    alternatives: tuple[Branch, ...] = ()


@dataclass
class Parts:
    plain: list[Message] = field(default_factory=list)
    html: list[Message] = field(default_factory=list)
    bodies: list[Body] = field(default_factory=list)
    attachments: list[Message] = field(default_factory=list)
    delivery_status: list[Message] = field(default_factory=list)
    originals: list[Message] = field(default_factory=list)  # attached messages and rfc822-headers parts
    report_type: str | None = None  # report-type of the first multipart/report seen
    alternative_groups: int = 0  # multipart/alternative containers met, numbering Body.alternatives
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


@dataclass(frozen=True)
class _Place:
    """Where the walk stands: inside an attachment, a report, which alternative branches, how deep."""

    attached: bool = False
    in_report: bool = False
    alternatives: tuple[Branch, ...] = ()
    depth: int = 0


def _leaf(part: Message, ctype: str, place: _Place, parts: Parts) -> None:
    if ctype in _MESSAGE_TYPES:
        parts.attachments.append(part)
        parts.originals.append(part)
        if not place.attached and not place.in_report:
            parts.bodies.append(Body(part, BodyKind.MESSAGE, place.alternatives))
    elif ctype in _STATUS_TYPES:
        parts.delivery_status.append(part)
    elif ctype in _HEADER_TYPES:
        parts.originals.append(part)
    elif ctype in _BODY_TYPES and not place.attached and not _is_attached_text(part):
        plain = ctype == "text/plain"
        (parts.plain if plain else parts.html).append(part)
        parts.bodies.append(Body(part, BodyKind.PLAIN if plain else BodyKind.HTML, place.alternatives))
    else:
        parts.attachments.append(part)


def _children(part: Message, ctype: str, place: _Place, parts: Parts) -> list[tuple[Message, _Place]]:
    """The sub-parts of a multipart, each with its place, in document order."""
    if ctype == "multipart/report" and parts.report_type is None:
        parts.report_type = str(part.get_param("report-type", "") or "").strip().lower()
    payload = [child for child in part.get_payload() if isinstance(child, Message)]
    inner = _Place(
        attached=place.attached or disposition(part) == "attachment",
        in_report=place.in_report or ctype == "multipart/report",
        alternatives=place.alternatives,
        depth=place.depth + 1,
    )
    if ctype != "multipart/alternative":
        return [(child, inner) for child in payload]
    group = parts.alternative_groups
    parts.alternative_groups += 1
    return [
        (child, _Place(inner.attached, inner.in_report, (*inner.alternatives, (group, index)), inner.depth))
        for index, child in enumerate(payload)
    ]


def walk(msg: Message) -> Parts:
    """Classify every part of ``msg`` without entering attached messages."""
    parts = Parts()
    stack: list[tuple[Message, _Place]] = [(msg, _Place())]
    while stack:
        part, place = stack.pop()
        parts.visited.append(part)
        ctype = part.get_content_type()
        if ctype.startswith("multipart/") and isinstance(part.get_payload(), list):
            if place.depth >= MAX_DEPTH:
                parts.too_deep = True
                continue
            stack.extend(reversed(_children(part, ctype, place, parts)))
        elif ctype.startswith("multipart/"):
            # A multipart without usable boundary: its text is all we have.
            parts.plain.append(part)
            parts.bodies.append(Body(part, BodyKind.PLAIN, place.alternatives))
        else:
            _leaf(part, ctype, place, parts)
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
