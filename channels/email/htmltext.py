"""HTML mail to readable plain text with html2text.

html2text writes Markdown; a support agent wants text. So: links and images
are dropped to their text, emphasis markers and heading hashes are not written,
Markdown escaping is off, table cells are separated, lines are not wrapped.
Blockquotes keep their "> " prefix on purpose: the quote stripper uses it.
"""

from __future__ import annotations

import html
import logging
import re

import html2text

log = logging.getLogger(__name__)

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CELLS = frozenset({"td", "th"})
_TAG = re.compile(r"<[^<>]*>")
_BREAK_TAG = re.compile(r"<(?:br|hr|/p|/div|/li|/tr|/h[1-6]|/blockquote|/table)\b[^<>]*>", re.I)
_CELL_END = re.compile(r"</t[dh]\s*>", re.I)
_SPACES = re.compile(r"[ \t\xa0]+")
# html2text (html.parser underneath) needs ~0.8 s per MiB; bigger HTML is newsletters and reports,
# where a fast tag strip is good enough and keeps the hot path bounded.
MAX_HTML2TEXT = 1024 * 1024
_BLOCK_START = re.compile(r"<(style|script)\b")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _PlainText(html2text.HTML2Text):
    """html2text tuned to produce plain text rather than Markdown."""

    def __init__(self) -> None:
        super().__init__(bodywidth=0)
        self.ignore_links = True
        self.ignore_images = True
        self.ignore_emphasis = True
        self.ignore_tables = True
        self.unicode_snob = True
        self.single_line_break = False

    def handle_data(self, data: str, entity_char: bool = False) -> None:
        # entity_char=True only switches off html2text's Markdown escaping.
        super().handle_data(data, entity_char=True)

    def handle_tag(self, tag: str, attrs: dict[str, str | None], start: bool) -> None:
        if tag == "hr":  # html2text draws "* * *"; a paragraph break reads better
            self.p()
            return
        super().handle_tag("p" if tag in _HEADINGS else tag, attrs, start)
        if not start and tag in _CELLS:
            self.o(" ")


def _without_scripts(markup: str) -> str:
    """``markup`` minus the content of <style> and <script> elements (linear scan)."""
    lower, out, pos = markup.lower(), [], 0
    while (start := _BLOCK_START.search(lower, pos)) is not None:
        out.append(markup[pos : start.start()])
        end = lower.find("</" + start.group(1), start.end())
        pos = len(markup) if end < 0 else end
    out.append(markup[pos:])
    return "".join(out)


def _crude(markup: str) -> str:
    """Fast tag stripping: for huge HTML, and for HTML that html2text's parser rejects."""
    text = _without_scripts(markup).replace("\r", " ").replace("\n", " ")
    text = html.unescape(_TAG.sub("", _CELL_END.sub(" ", _BREAK_TAG.sub("\n", text))))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def html_to_text(markup: str) -> str:
    """Readable text of an HTML document: paragraphs, lists, line breaks, no tags."""
    if len(markup) > MAX_HTML2TEXT:
        text = _crude(markup)
    else:
        try:
            text = _PlainText().handle(markup)
        except Exception:  # html.parser raises AssertionError on some junk markup
            log.info("html2text rejected the HTML part; stripping tags instead")
            text = _crude(markup)
    lines = (line.rstrip().replace("\xa0", " ") for line in text.replace("\r", "").split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
