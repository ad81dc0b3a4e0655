"""Turn bytes in whatever charset mail claims into text, never raising.

Why hand-rolled around the codecs: mail lies about charsets. Labels are
misspelled ("utf8", "iso-8859-1\\"", "x-unknown"), name a subset of what is
really used (GB2312 for GBK/GB18030 text, Shift_JIS for CP932, ISO-8859-1 for
Windows-1252 smart quotes) or are missing. The stdlib codecs do the decoding;
this module only picks the codec: the declared one mapped to its practical
superset (the WHATWG Encoding Standard does the same), then UTF-8, then
charset-normalizer's detection, then a lossy decode with replacement characters.

Header bytes (:func:`decode_header_bytes`) get the same detection, with three
differences: a header is short, so a multi-byte charset the body was read in
is a hint that outweighs a guess; only a CJK reading is trusted from detection
(a few Western letters fit Cyrillic codepages as well, and Windows-1252 is
what 8-bit headers mostly are); and a Western single-byte label on an encoded
word decodes any bytes at all, so when detection reads the bytes as a CJK
multi-byte charset (GB2312 sent as ISO-8859-1, say) that reading wins.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

import charset_normalizer

log = logging.getLogger(__name__)

_WESTERN = ("cp1252",)
# Declared label (normalised) -> codecs to try, most likely first.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        (
            "iso-8859-1",
            "iso8859-1",
            "iso_8859-1",
            "latin1",
            "latin-1",
            "l1",
            "cp819",
            "ibm819",
            "us-ascii",
            "ascii",
            "ansi_x3.4-1968",
            "iso-ir-100",
            "windows-1252",
            "cp1252",
            "x-cp1252",
            "us",
        ),
        _WESTERN,
    ),
    **dict.fromkeys(
        ("gb2312", "gbk", "cp936", "x-gbk", "euc-cn", "x-euc-cn", "csgb2312", "gb_2312-80", "chinese", "gb18030"),
        ("gb18030",),
    ),
    **dict.fromkeys(("big5", "x-x-big5", "cn-big5", "csbig5", "big5-hkscs", "cp950"), ("cp950", "big5hkscs")),
    **dict.fromkeys(
        ("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j", "cp932"),
        ("cp932", "shift_jis_2004"),
    ),
    **dict.fromkeys(("euc-jp", "x-euc-jp", "eucjp"), ("euc_jp", "euc_jis_2004", "cp932")),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_3"),
    **dict.fromkeys(("ks_c_5601-1987", "ks_c_5601", "euc-kr", "korean", "cp949", "x-windows-949"), ("cp949",)),
    **dict.fromkeys(("iso-8859-8-i", "iso-8859-8-e"), ("iso-8859-8",)),
    **dict.fromkeys(("tis-620", "iso-8859-11", "windows-874"), ("cp874",)),
    "iso-8859-9": ("cp1254",),
    **dict.fromkeys(("utf-8", "utf8", "utf_8", "unicode-1-1-utf-8", "x-unicode20utf8"), ("utf-8-sig",)),
}
# Western single-byte labels are so often slapped on UTF-8 that valid UTF-8 wins.
_UTF8_FIRST = frozenset(k for k, v in _SUPERSETS.items() if v == _WESTERN)
# Labels under which 7-bit bytes are plain ASCII (not so for ISO-2022-*, UTF-7, UTF-16...).
_ASCII_COMPATIBLE = _UTF8_FIRST | frozenset(k for k, v in _SUPERSETS.items() if v == ("utf-8-sig",))
_ESCAPE_SEQUENCE_CODEC = "iso2022_jp_2"  # undeclared 7-bit mail with ESC sequences: JIS (and its kin)
# Codec names Python knows that no mail should be allowed to select.
_FORBIDDEN = frozenset({"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem"})
_LABEL = re.compile(r"[a-z0-9][a-z0-9_.:+-]*")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]{1,40})""", re.I)
_MULTIBYTE_UTF8 = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
_DETECT_SAMPLE = 64 * 1024
# What detection may answer, most common in mail first (also the tie-break order).
_DETECTABLE = (
    "utf_8",
    "cp1252",
    "iso8859_15",
    "iso8859_2",
    "cp1250",
    "cp1251",
    "koi8_r",
    "koi8_u",
    "cp1253",
    "cp1254",
    "cp1257",
    "cp1255",
    "cp1256",
    "gb18030",
    "big5",
    "cp932",
    "shift_jis",
    "euc_jp",
    "iso2022_jp",
    "cp949",
    "cp874",
)


# Four 8-bit bytes in a row: two CJK characters, where Western text has one accented letter between ASCII
# ones. Only then is a Western label on a header worth a detection run (0.2 ms or more each).
_HIGH_RUN = re.compile(rb"[\x81-\xfe]{4}")
# Detected codecs that a Western single-byte label on a header may be overruled by.
_MULTIBYTE = frozenset({"gb18030", "big5", "cp932", "shift_jis", "euc_jp", "cp949"})


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # the codec actually used
    defect: str | None  # human-readable note when the declared charset was not usable as is


def normalize_label(label: str | None) -> str | None:
    """The charset label lowercased and stripped of quotes, junk and RFC 2231 language."""
    if not label:
        return None
    match = _LABEL.search(label.strip().lower().split("*", 1)[0])
    return match.group() if match else None


def _codec(name: str) -> str | None:
    """The Python codec name for a label, or None when unknown or unsafe."""
    for candidate in (name, name.removeprefix("x-"), name.replace("windows-", "cp")):
        try:
            info = codecs.lookup(candidate)
        except LookupError:
            continue
        if info.name.replace("-", "_") in _FORBIDDEN or getattr(info, "_is_text_encoding", True) is False:
            return None
        return info.name
    return None


def candidates_for(label: str | None) -> tuple[str, ...]:
    """Codecs to try strictly for a declared label, best first (empty when unknown)."""
    if label is None:
        return ()
    if label in _SUPERSETS:
        return _SUPERSETS[label]
    codec = _codec(label)
    if codec is None:
        return ()
    return ("utf-8-sig",) if codec == "utf-8" else (codec,)


def clean(text: str) -> str:
    """Text safe to store: no lone surrogates (some codecs make them), no NUL."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\x00", "") if "\x00" in text else text


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError):
        return None


def _detect(data: bytes, prefer: tuple[str, ...] = ()) -> str | None:
    """charset-normalizer's guess among the charsets mail uses, or None.

    Short texts fit several codepages equally well; among the least chaotic
    readings, a ``prefer`` codec giving the same text wins, then the one most
    common in mail (``_DETECTABLE`` order), so French in ISO-8859-1 does not
    come out as Central European.
    """
    try:
        matches = list(charset_normalizer.from_bytes(data[:_DETECT_SAMPLE], cp_isolation=list(_DETECTABLE)))
    except Exception as exc:  # a third-party heuristic must never take the parse down
        log.warning("charset detection failed: %s", type(exc).__name__)  # no traceback: it may quote mail text
        return None
    if not matches:
        return None
    least = min(match.percent_chaos for match in matches)
    readings = {name for m in matches if m.percent_chaos - least < 0.1 for name in m.could_be_from_charset}
    if prefer:
        texts = {_strict(data, name) for name in readings}
        preferred = next((codec for codec in prefer if _strict(data, codec) in texts), None)
        if preferred is not None:
            return preferred
    chosen = next((name for name in _DETECTABLE if name in readings), matches[0].encoding)
    return _codec(chosen)


def _damaged_utf8(data: bytes, declared_utf8: bool) -> bool:
    """True when undecodable bytes are still best read as UTF-8 with a few bad sequences."""
    if declared_utf8:
        return _MULTIBYTE_UTF8.search(data) is not None
    sample = data[:_DETECT_SAMPLE].decode("utf-8", "replace")
    bad = sample.count("\ufffd")
    good = len(sample) - len(sample.encode("ascii", "ignore")) - bad
    return good > 0 and good >= 2 * bad


def _fallback(data: bytes, tried: tuple[str, ...]) -> tuple[str, str]:
    """Decode undeclared or undecodable bytes: UTF-8, damaged UTF-8, detection, then lossy.

    Returns the text and a description of how it was decoded.
    """
    text = _strict(data, "utf-8-sig")
    if text is not None:
        return text, "utf-8"
    if _damaged_utf8(data, declared_utf8=tried == ("utf-8-sig",)):
        return data.decode("utf-8", "replace"), "utf-8 with replacement characters"
    detected = _detect(data)
    if detected is not None:
        text = _strict(data, detected)
        if text is not None:
            return text, f"{detected} (detected)"
    lossy = tried[0] if tried else "utf-8"
    return data.decode(lossy, "replace"), f"{lossy} with replacement characters"


def _defect(declared: str | None, label: str | None, tried: tuple[str, ...], how: str) -> str | None:
    if declared is None:
        return None if how == "utf-8" else f"no charset declared for 8-bit text; decoded as {how}"
    if label is None:
        return f"charset {declared[:40]!r} unreadable; decoded as {how}"
    if not tried:
        return f"unknown charset {label!r}; decoded as {how}"
    return f"text is not valid {label}; decoded as {how}"


def decode_bytes(data: bytes, declared: str | None) -> Decoded:
    """Text of ``data`` in the ``declared`` charset (any label, or None), best effort."""
    label = normalize_label(declared)
    if data.isascii() and (label is None or label in _ASCII_COMPATIBLE) and b"\x1b" not in data:
        return Decoded(clean(data.decode("ascii")), "ascii", None)
    tried = candidates_for(label)
    if not tried and b"\x1b" in data:
        tried = (_ESCAPE_SEQUENCE_CODEC,)
    if label in _UTF8_FIRST and _MULTIBYTE_UTF8.search(data):
        text = _strict(data, "utf-8")
        if text is not None:
            return Decoded(clean(text), "utf-8", f"charset {label} declared but the text is UTF-8")
    for codec in tried:
        text = _strict(data, codec)
        if text is not None:
            return Decoded(clean(text), codec, None)
    text, how = _fallback(data, tried)
    log.debug("charset %r not usable as declared, decoded as %s", label, how)
    return Decoded(clean(text), how.split(" ", 1)[0], _defect(declared, label, tried, how))


def _header_guess(data: bytes, hint: str | None, detect: bool) -> tuple[str, str]:
    """Undeclared 8-bit header bytes: UTF-8, a multi-byte hint, a detected CJK charset, the hint, Windows-1252.

    Returns the text and the codec used (with " (detected)" when guessed).
    """
    text = _strict(data, "utf-8")
    if text is not None:
        return text, "utf-8"
    hinted = candidates_for(normalize_label(hint))
    if hinted and hinted != _WESTERN and hinted != ("utf-8-sig",):
        for codec in hinted:
            text = _strict(data, codec)
            if text is not None:
                return text, codec
    # Only a CJK reading is trusted from detection: a few Western letters fit Cyrillic or Greek codepages as
    # well ("ÆØÅÉ" reads as Windows-1251), and Windows-1252 is what 8-bit headers mostly are.
    detected = _detect(data, prefer=hinted) if detect and _HIGH_RUN.search(data) else None
    detected = detected if detected in _MULTIBYTE else None
    for codec in (*((detected,) if detected else ()), *hinted, "cp1252"):
        text = _strict(data, codec)
        if text is not None:
            return text, f"{codec} (detected)" if codec == detected else codec
    return data.decode("utf-8", "replace"), "utf-8 with replacement characters"


def header_hint(values: Iterable[bytes], hint: str | None) -> str | None:
    """The charset hint for a message's raw 8-bit headers (``values``); ``hint`` is the body's charset.

    A multi-byte body charset stays the hint. Otherwise the 8-bit values that are not UTF-8 are detected
    together -- one display name alone is too short to tell GB2312 from a codepage -- and a multi-byte
    answer becomes the hint.
    """
    hinted = candidates_for(normalize_label(hint))
    if hinted and hinted != _WESTERN and hinted != ("utf-8-sig",):
        return hint
    sample = b"\n".join(value for value in values if not value.isascii() and _strict(value, "utf-8") is None)
    if not _HIGH_RUN.search(sample):
        return hint
    detected = _detect(sample, prefer=hinted)
    return detected if detected in _MULTIBYTE else hint


def decode_header_bytes(data: bytes, declared: str | None, hint: str | None = None, *, detect: bool = True) -> Decoded:
    """Header bytes: an encoded word's (``declared`` is its charset) or raw 8-bit ones (``declared`` None).

    ``hint`` is the charset the body was decoded in (or declares), used for raw bytes. ``detect=False``
    skips charset-normalizer for raw bytes (for headers nobody reads, which a hostile mail may have by the
    thousand).
    """
    label = normalize_label(declared)
    if declared is None:
        if data.isascii() and b"\x1b" not in data:
            return Decoded(clean(data.decode("ascii")), "ascii", None)
        if b"\x1b" in data and (text := _strict(data, _ESCAPE_SEQUENCE_CODEC)) is not None:
            return Decoded(clean(text), _ESCAPE_SEQUENCE_CODEC, None)
        text, how = _header_guess(data, hint, detect)
        return Decoded(clean(text), how.split(" ", 1)[0], None if how == "utf-8" else f"8-bit header decoded as {how}")
    if label in _UTF8_FIRST and _HIGH_RUN.search(data) and _strict(data, "utf-8") is None:
        detected = _detect(data, prefer=_WESTERN)
        if detected in _MULTIBYTE and (text := _strict(data, detected)) is not None:
            return Decoded(clean(text), detected, f"charset {label} declared but the text is {detected} (detected)")
    return decode_bytes(data, declared)


def sniff_html_charset(data: bytes) -> str | None:
    """The charset named by a ``<meta>`` tag near the start of an HTML document."""
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None
