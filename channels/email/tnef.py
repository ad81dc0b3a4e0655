"""Files inside an Outlook winmail.dat (application/ms-tnef) attachment.

No maintained TNEF library is among our dependencies, and the part we need is
small: walk the attribute stream, collect each attachment's title (8.3 name),
data, and the long filename from its MAPI property block. Anything malformed
ends the walk with what was found so far; this never raises.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

TNEF_SIGNATURE = 0x223E9F78
ATT_ATTACH_REND_DATA = 0x00069002  # starts a new attachment
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACHMENT = 0x00069005  # the attachment's MAPI properties
_LEVEL_ATTACHMENT = 2
PR_ATTACH_LONG_FILENAME = 0x3707
_PT_STRING8 = 0x001E
_PT_UNICODE = 0x001F
_FIXED_SIZES = {
    0x0002: 4,
    0x0003: 4,
    0x0004: 4,
    0x000A: 4,
    0x000B: 4,
    0x0005: 8,
    0x0006: 8,
    0x0007: 8,
    0x0014: 8,
    0x0040: 8,
    0x0048: 16,
}
_VARIABLE = frozenset({_PT_STRING8, _PT_UNICODE, 0x0102, 0x000D})
_MULTI = 0x1000
_MAX_ATTACHMENTS = 200


@dataclass(frozen=True)
class TnefFile:
    filename: str
    data: bytes


class _Reader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise ValueError("truncated TNEF")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def u16(self) -> int:
        return int(struct.unpack("<H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4))[0])


def _text(raw: bytes, unicode: bool) -> str:
    text = raw.decode("utf-16-le", "replace") if unicode else raw.decode("cp1252", "replace")
    return text.split("\x00", 1)[0].strip()


def _skip_name(reader: _Reader) -> None:
    reader.take(16)  # property set GUID
    if reader.u32() == 0:
        reader.take(4)
    else:
        reader.take((reader.u32() + 3) & ~3)


def _values(reader: _Reader, ptype: int) -> list[bytes]:
    base = ptype & ~_MULTI
    multi = bool(ptype & _MULTI)
    if base in _FIXED_SIZES:
        count = reader.u32() if multi else 1
        return [reader.take(_FIXED_SIZES[base]) for _ in range(count)]
    if base not in _VARIABLE:
        raise ValueError("unknown MAPI property type")
    out = []
    for _ in range(reader.u32()):
        size = reader.u32()
        out.append(reader.take(size))
        reader.take(-size & 3)
    return out


def long_filename(props: bytes) -> str | None:
    """PR_ATTACH_LONG_FILENAME from an attAttachment MAPI property block."""
    reader = _Reader(props)
    try:
        for _ in range(min(reader.u32(), 1000)):
            ptype, pid = reader.u16(), reader.u16()
            if pid >= 0x8000:
                _skip_name(reader)
            values = _values(reader, ptype)
            if pid == PR_ATTACH_LONG_FILENAME and values and ptype in (_PT_STRING8, _PT_UNICODE):
                return _text(values[0], ptype == _PT_UNICODE) or None
    except (ValueError, struct.error):
        return None
    return None


def _finish(current: dict[str, object], out: list[TnefFile]) -> None:
    data = current.get("data")
    if isinstance(data, bytes):
        name = current.get("long") or current.get("title") or ""
        out.append(TnefFile(str(name), data))


def extract(data: bytes) -> list[TnefFile]:
    """The attachments inside a TNEF stream; [] when it is not TNEF or holds none."""
    reader = _Reader(data)
    out: list[TnefFile] = []
    current: dict[str, object] = {}
    try:
        if reader.u32() != TNEF_SIGNATURE:
            return []
        reader.take(2)  # legacy key
        while reader.pos < len(data) and len(out) < _MAX_ATTACHMENTS:
            level, attr, size = reader.take(1)[0], reader.u32(), reader.u32()
            value = reader.take(size)
            reader.take(2)  # checksum
            if level != _LEVEL_ATTACHMENT:
                continue
            if attr == ATT_ATTACH_REND_DATA:
                _finish(current, out)
                current = {}
            elif attr == ATT_ATTACH_TITLE:
                current["title"] = _text(value, unicode=False)
            elif attr == ATT_ATTACH_DATA:
                current["data"] = value
            elif attr == ATT_ATTACHMENT:
                current["long"] = long_filename(value)
    except (ValueError, struct.error, IndexError):
        pass
    _finish(current, out)
    return out
