"""Separate the sender's new words from quoted history and signatures.

One pass over the lines, top to bottom, in linear time: every regex is anchored
or bounded and runs on one line (or a fixed window of lines), never on the
whole text. Rules:

* lines starting with ">" are quoted: dropped (their text after them is kept,
  so inline answers between quoted lines survive);
* an attribution line ("On <date>, <name> wrote:" and its equivalents in
  de/fr/es/it/nl/pt/sv/da/no/pl, also when wrapped over two lines) is dropped
  when ">" lines follow it; when none follow (quote not prefixed, as Outlook
  and converted HTML do) it ends the new text -- but only if it starts a
  paragraph and carries a date or an address, so prose that merely says
  "... wrote:" is never cut;
* these end the new text: an "-----Original Message-----"-style separator
  (and forwarded-message markers), a line of underscores (Outlook), an
  Outlook header block ("From: / Sent: / To: / Subject:" in any of the
  languages), the RFC 3676 "-- " signature delimiter, and mobile footers
  ("Sent from my iPhone", "Von meinem iPhone gesendet", ...).
"""

from __future__ import annotations

import re

_MAX_ATTRIBUTION = 400
_MAX_FOOTER = 80
_HEADER_WINDOW = 6
_NEWLINES = re.compile(r"\r\n?")
_BLANK_RUNS = re.compile(r"\n(?:[ \t]*\n){2,}")
_TRAILING_LINK = re.compile(r"\s*[<\[(]\s*(?:https?://|mailto:)[^\s<>\[\]()]*\s*[>\])]$", re.I)

_LEAD = re.compile(r"(?:on|am|le|el|il|op|em|den|w dniu|dnia)\s", re.I)
_VERB = re.compile(
    r"(?<!\w)(?:wrote|writes|schrieb|a\s+écrit|escribió|ha\s+scritto|schreef|escreveu|skrev|napisał\(a\)"
    r"|napisała|napisał|pisze)(?!\w)[^:]{0,160}:$",
    re.I,
)
_EVIDENCE = re.compile(r"@|\d")
_ORIGINAL = re.compile(
    r"[>*\s]*-{2,}\s*(?:original (?:e-?mail )?message|ursprüngliche nachricht|originalnachricht|message d'origine"
    r"|message original|mensaje original|messaggio originale|oorspronkelijk bericht|origineel bericht"
    r"|mensagem original|ursprungligt meddelande|originalmeddelande|oprindelig meddelelse|opprinnelig melding"
    r"|original melding|wiadomość oryginalna|oryginalna wiadomość|forwarded message|weitergeleitete nachricht"
    r"|message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada"
    r"|vidarebefordrat meddelande|videresendt meddelelse|videresendt melding|wiadomość przekazana dalej)"
    r"\s*-*\s*$",
    re.I,
)
_FORWARD_INTRO = re.compile(
    r"(?:begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié"
    r"|inicio del mensaje reenviado|inizio messaggio inoltrato|begin doorgestuurd bericht"
    r"|início da mensagem reencaminhada|vidarebefordrat mejl|videresendt besked"
    r"|początek przekazywanej wiadomości)\s*:\s*$",
    re.I,
)
_UNDERSCORES = re.compile(r"_{20,}\s*$")
_FROM_LABEL = re.compile(
    r"[*\s]*(?:from|von|de|da|van|från|fra|od|expéditeur|remitente|absender|mittente|afzender|remetente"
    r"|avsändare|nadawca)\s*:\*?\s*\S",
    re.I,
)
_OTHER_LABEL = re.compile(
    r"[*\s]*(?:sent|date|gesendet|datum|envoyé(?: le)?|enviad[ao](?: em| el)?|fecha|inviato|data|verzonden"
    r"|skickat|sendt|wysłano|wysłane|to|an|à|para|a|aan|till|til|do|cc|subject|betreff|objet|asunto|oggetto|onderwerp"
    r"|assunto|ämne|emne|temat)\s*:",
    re.I,
)
_INLINE_SENT = re.compile(
    r"\b(?:sent|gesendet|envoyé(?: le)?|enviad[ao](?: em| el)?|inviato|verzonden|skickat|sendt|wysłano|date|datum"
    r"|data|fecha)\s*:",
    re.I,
)
_INLINE_SUBJECT = re.compile(r"\b(?:subject|betreff|objet|asunto|oggetto|onderwerp|assunto|ämne|emne|temat)\s*:", re.I)
_FOOTER_INITIALS = frozenset("sSgGvVeEiIwW")  # first letters of every _MOBILE alternative
_DEVICE = r"[\w\- ]{1,30}"
_MOBILE = re.compile(
    rf"(?:sent from my {_DEVICE}|sent from (?:outlook|mail|yahoo mail|samsung|protonmail|gmail)\b{_DEVICE}?"
    rf"|sent (?:via|with) (?:blackberry|spark|superhuman|samsung|android|iphone){_DEVICE}?"
    rf"|get outlook for (?:ios|android)|von meinem {_DEVICE} gesendet|gesendet (?:von meinem|mit) {_DEVICE}"
    rf"|envoyé (?:de|depuis) mon {_DEVICE}|enviado desde mi {_DEVICE}|enviado (?:do|desde o) meu {_DEVICE}"
    rf"|inviato da(?:l mio)? {_DEVICE}|verzonden (?:vanaf|met) {_DEVICE}|verstuurd vanaf mijn {_DEVICE}"
    rf"|skickat från min {_DEVICE}|sendt fra min {_DEVICE}|wysłane z {_DEVICE}|wysłano z {_DEVICE})[.!]?",
    re.I,
)


_RULED = re.compile(r"[-=_*~]{2,}[^\n]{0,60}?[-=_*~]{2,}")


def is_marker(line: str) -> bool:
    """A line that only marks where quoted or forwarded mail starts (or a rule): no words of the sender's."""
    stripped = line.strip()
    if not stripped or len(stripped) > _MAX_FOOTER:
        return not stripped
    return bool(_ORIGINAL.match(stripped) or _FORWARD_INTRO.match(stripped) or _RULED.fullmatch(stripped))


def only_markers(text: str) -> bool:
    """True when every line of ``text`` is blank or a marker (stops at the first line that is not)."""
    pos = 0
    while pos <= len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        if not is_marker(text[pos:end]):
            return False
        pos = end + 1
    return True


def _next_nonblank(lines: list[str], start: int) -> int:
    while start < len(lines) and not lines[start].strip():
        start += 1
    return start


def _is_attribution(line: str) -> bool:
    return len(line) <= _MAX_ATTRIBUTION and line.endswith(":") and _VERB.search(line) is not None


def _attribution_span(lines: list[str], i: int, stripped: str) -> int:
    """1 or 2 when an attribution line (possibly wrapped) starts at ``i``, else 0."""
    if _is_attribution(stripped):
        return 1
    if i + 1 < len(lines) and _LEAD.match(stripped) and not stripped.endswith(":"):
        joined = stripped + " " + lines[i + 1].strip()
        if _is_attribution(joined):
            return 2
    return 0


def _strong_attribution(lines: list[str], i: int, span: int) -> bool:
    """Certainly a mail client's attribution: a date or address, at a paragraph start."""
    text = " ".join(line.strip() for line in lines[i : i + span])
    paragraph_start = i == 0 or not lines[i - 1].strip() or lines[i - 1].lstrip().startswith(">")
    return _EVIDENCE.search(text) is not None and (paragraph_start or "@" in text)


def _outlook_header(lines: list[str], i: int, stripped: str) -> bool:
    """An Outlook-style "From: / Sent: / To: / Subject:" block starts at ``i``."""
    if not _FROM_LABEL.match(stripped):
        return False
    if _INLINE_SENT.search(stripped) and _INLINE_SUBJECT.search(stripped):
        return True
    labels, seen, j = 0, 0, i + 1
    while j < len(lines) and seen < _HEADER_WINDOW:
        if lines[j].strip():
            seen += 1
            if not _OTHER_LABEL.match(lines[j]):
                break
            labels += 1
        j += 1
    return labels >= 2


def _is_footer(lines: list[str], i: int, stripped: str) -> bool:
    """A mobile-client footer line ending its paragraph ("Sent from my iPhone")."""
    if not stripped or len(stripped) > 2 * _MAX_FOOTER or stripped[0] not in _FOOTER_INITIALS:
        return False
    bare = _TRAILING_LINK.sub("", stripped) if stripped[-1] in ">])" else stripped
    if len(bare) > _MAX_FOOTER or _MOBILE.fullmatch(bare) is None:
        return False
    following = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return not following or _starts_history(following)


def _starts_history(line: str) -> bool:
    """Quoted history begins on this (stripped) line: a quote, attribution, separator or From: label."""
    if line.startswith(">") or _is_attribution(line) or _UNDERSCORES.match(line):
        return True
    return bool(_ORIGINAL.match(line) or _FORWARD_INTRO.match(line) or _FROM_LABEL.match(line))


def _separator(lines: list[str], i: int, stripped: str) -> bool:
    if not _UNDERSCORES.match(stripped):
        return False
    nxt = _next_nonblank(lines, i + 1)
    return len(stripped) >= 30 or (nxt < len(lines) and _FROM_LABEL.match(lines[nxt]) is not None)


def _ends_new_text(lines: list[str], i: int, stripped: str) -> bool:
    """True when line ``i`` starts history or signature: everything from here is dropped."""
    if stripped == "--" or _is_footer(lines, i, stripped):
        return True
    if _ORIGINAL.match(stripped) or _FORWARD_INTRO.match(stripped) or _separator(lines, i, stripped):
        return True
    return _outlook_header(lines, i, stripped)


def strip_quotes(text: str) -> str:
    """The new words of a message body: quotes, history and signature removed ("" if none)."""
    lines = _NEWLINES.sub("\n", text).split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith(">"):
            i += 1
            continue
        if _ends_new_text(lines, i, stripped):
            break
        span = _attribution_span(lines, i, stripped)
        if span:
            nxt = _next_nonblank(lines, i + span)
            if nxt < len(lines) and lines[nxt].lstrip().startswith(">"):
                i += span
                continue
            if _strong_attribution(lines, i, span):
                break
        kept.append(lines[i].rstrip())
        i += 1
    return _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()
