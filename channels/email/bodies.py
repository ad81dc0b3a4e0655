"""The readable text of a message from its body parts, losing none that is not an alternative of another.

Rules (the parts come from :func:`mimeparts.walk`, in document order):

* Parts inside one ``multipart/alternative`` stand in for each other: of each
  such group one branch is kept, the first with non-empty text/plain (the desk
  stores text), else the last with any content (RFC 2046: the richest).
* Every other body part is kept, in order: text/plain as it is, text/html
  through html2text. A converted HTML part whose text a text/plain part
  already carries (or the other way round: clients that put both into
  ``multipart/mixed``) is not repeated.
* An attached message (``message/rfc822``, never inside a report) is
  rendered as a forwarded block -- a separator, its From/Date/Subject/To and
  its own text -- when it is shown inline (no ``attachment`` disposition) or
  when the mail has nothing else to say (no words beyond separator lines: a
  forward-only mail). Otherwise it stays an attachment only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from channels.email import mimeheaders as mh
from channels.email.charsets import Decoded
from channels.email.htmltext import html_to_text
from channels.email.mimeparts import Body, BodyKind, Parts, disposition, part_text, payload_bytes, walk
from channels.email.quotes import is_marker, only_markers

log = logging.getLogger(__name__)

FORWARD_SEPARATOR = "---------- Forwarded message ---------"
MAX_FORWARD_DEPTH = 3
_FORWARD_HEADERS = (("From", "from"), ("Date", "date"), ("Subject", "subject"), ("To", "to"), ("Cc", "cc"))


@dataclass(frozen=True)
class BodyText:
    text: str  # the readable text, line ends normalised to "\n", stripped
    html: str | None  # all HTML parts (alternatives included), decoded, or None
    charset: str | None  # the codec the first 8-bit body part was read in: a hint for raw 8-bit headers
    defects: tuple[str, ...]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _chosen_branches(bodies: list[Body], filled: list[bool]) -> dict[int, int]:
    """For every alternative group, the branch to keep."""
    groups: dict[int, dict[int, list[int]]] = {}
    for index, body in enumerate(bodies):
        for group, branch in body.alternatives:
            groups.setdefault(group, {}).setdefault(branch, []).append(index)
    chosen = {}
    for group, branches in groups.items():
        order = sorted(branches)
        plain = [b for b in order if any(filled[i] and bodies[i].kind is BodyKind.PLAIN for i in branches[b])]
        rich = [b for b in order if any(filled[i] for i in branches[b])]
        chosen[group] = plain[0] if plain else rich[-1] if rich else order[-1]
    return chosen


def _inner_message(part: Message) -> Message | None:
    """The message inside a message/rfc822 part (parsed from its payload when the stdlib did not)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return next((item for item in payload if isinstance(item, Message)), None)
    data = payload_bytes(part)
    if not data.strip():
        return None
    try:
        inner = BytesParser(policy=compat32).parsebytes(data)
    except RecursionError:
        log.info("attached message nested too deeply to parse; kept as an attachment only")
        return None
    return inner if any(True for _ in inner.raw_items()) else None


def _forward_block(part: Message, hint: str | None, depth: int, defects: list[str], after_marker: bool) -> str:
    """The attached message as a forwarded block (no separator line when one already comes before it)."""
    inner = _inner_message(part) if depth < MAX_FORWARD_DEPTH else None
    if inner is None:
        return ""
    first, _ = mh.raw_first_headers(inner)
    lines = [] if after_marker else [FORWARD_SEPARATOR]
    for label, key in _FORWARD_HEADERS:
        value = mh.header_text(first.get(key), hint)
        if value:
            lines.append(f"{label}: {value}")
    inner_text = assemble(walk(inner), depth + 1)
    defects.extend(f"forwarded message: {note}" for note in inner_text.defects)
    return "\n".join(lines) + "\n\n" + inner_text.text


class _Pieces:
    """Kept texts in order; a piece one of the other kind already carries is not repeated.

    The repeat check compares a piece with the earlier ones of the other kind, so it runs only while there
    are at most ``MAX_COMPARED`` pieces (real mail has a handful; a hostile one may have thousands), and
    squashes whitespace only when there is something to compare with.
    """

    MAX_COMPARED = 16

    def __init__(self) -> None:
        self.items: list[tuple[int, BodyKind, str]] = []
        self._squashed: dict[int, str] = {}

    def _squash(self, position: int) -> str:
        if position not in self._squashed:
            self._squashed[position] = _squash(self.items[position][2])
        return self._squashed[position]

    def add(self, index: int, kind: BodyKind, text: str) -> None:
        if not text.strip():
            return
        if kind is not BodyKind.MESSAGE and len(self.items) < self.MAX_COMPARED:
            others = [n for n, (_, k, _) in enumerate(self.items) if k is not kind and k is not BodyKind.MESSAGE]
            if others:
                squashed = _squash(text)
                if any(squashed in self._squash(n) for n in others):
                    return
        self.items.append((index, kind, text))

    def ends_with_marker(self, index: int) -> bool:
        """True when the last text kept before ``index`` ends with a separator line."""
        before = max((item for item in self.items if item[0] < index), default=None, key=lambda item: item[0])
        return before is not None and is_marker(before[2].rstrip().rsplit("\n", 1)[-1])

    def says_nothing(self) -> bool:
        return all(only_markers(text) for _, _, text in self.items)

    def text(self) -> str:
        return "\n\n".join(text for _, _, text in sorted(self.items, key=lambda item: item[0]))


def _decoded(bodies: list[Body]) -> list[Decoded | None]:
    return [None if body.kind is BodyKind.MESSAGE else part_text(body.part) for body in bodies]


def _first_charset(decoded: list[Decoded | None]) -> str | None:
    return next((d.charset for d in decoded if d is not None and d.charset not in ("ascii", "utf-8")), None)


def assemble(parts: Parts, depth: int = 0) -> BodyText:
    """The readable text and the HTML of a walked message."""
    bodies = parts.bodies
    decoded = _decoded(bodies)
    defects = [d.defect for d in decoded if d is not None and d.defect]
    filled = [b.kind is BodyKind.MESSAGE or bool(d and d.text.strip()) for b, d in zip(bodies, decoded, strict=True)]
    chosen = _chosen_branches(bodies, filled)
    kept = [i for i, body in enumerate(bodies) if all(chosen[g] == b for g, b in body.alternatives)]
    pieces = _Pieces()
    for i in kept:
        found = decoded[i]
        if found is not None:
            text = found.text if bodies[i].kind is BodyKind.PLAIN else html_to_text(found.text)
            pieces.add(i, bodies[i].kind, _lines(text))
    hint = _first_charset(decoded)
    forwards = [i for i in kept if bodies[i].kind is BodyKind.MESSAGE and parts.report_type is None]
    forward_only = pieces.says_nothing()
    for i in forwards:
        if forward_only or disposition(bodies[i].part) != "attachment":
            block = _forward_block(bodies[i].part, hint, depth, defects, pieces.ends_with_marker(i))
            pieces.add(i, BodyKind.MESSAGE, block)
    markup = [d.text for body, d in zip(bodies, decoded, strict=True) if d is not None and body.kind is BodyKind.HTML]
    return BodyText(pieces.text().strip(), "\n".join(markup) if markup else None, hint, tuple(defects))


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
