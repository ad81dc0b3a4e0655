"""Text for Slack mrkdwn: escaping, cutting to a limit, dates every reader sees in their own time zone.

Rule: text from outside (customers, agents' free text, configuration) goes through `escape` exactly once,
on its way into a block. `escape` returns a `Mrkdwn` string and passes a `Mrkdwn` through untouched, so a
value that was already escaped is never escaped twice (`&amp;` shown as `&amp;amp;`). Our own markup
(mentions, links, `<!date^...>`) is built with `mention`, `link` and `slack_date`, which escape what they
wrap themselves.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

ELLIPSIS = "…"
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9_]{1,40}")
_ENTITY_LENGTH = 5  # the longest entity `escape` writes: &amp;
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


class Mrkdwn(str):
    """Text already escaped for mrkdwn (the output of `escape`)."""

    __slots__ = ()


def escape(text: str) -> Mrkdwn:
    """`&` -> `&amp;`, `<` -> `&lt;`, `>` -> `&gt;`: `<!channel>` or `<@U123>` from a customer pings nobody.

    Text that is already `Mrkdwn` comes back unchanged.
    """
    if isinstance(text, Mrkdwn):
        return text
    return Mrkdwn(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def unescape(text: str) -> str:
    """The text `escape` was given (what a reader sees)."""
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


class Cut(NamedTuple):
    text: str
    removed: int  # characters left out; for Mrkdwn input, counted as the reader sees them (`&amp;` is one)


def cut(text: str, limit: int) -> Cut:
    """`text` if it fits in `limit` characters, else its start ended at a word boundary with "…".

    The result, "…" included, is at most `limit` long and never ends inside an `&amp;`-style entity.
    A `Mrkdwn` input gives a `Mrkdwn` output.
    """
    if limit < 1:
        raise ValueError("cut needs a limit of at least 1")
    if len(text) <= limit:
        return Cut(text, 0)
    end = _boundary(text, limit - len(ELLIPSIS), keep_space=False)
    kept = text[:end].rstrip()
    shortened = kept + ELLIPSIS
    if isinstance(text, Mrkdwn):
        return Cut(Mrkdwn(shortened), len(unescape(text)) - len(unescape(kept)))
    return Cut(shortened, len(text) - len(kept))


def chunks(text: str, size: int) -> list[str]:
    """`text` in consecutive pieces of at most `size` characters, split at line ends or spaces where possible.

    Nothing is dropped (`"".join(chunks(t, n)) == t`) and no piece splits an entity.
    """
    if size < _ENTITY_LENGTH:
        raise ValueError(f"chunks needs a size of at least {_ENTITY_LENGTH}")
    pieces: list[str] = []
    rest = text
    while len(rest) > size:
        end = _boundary(rest, size, keep_space=True) or size
        pieces.append(rest[:end])
        rest = rest[end:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _boundary(text: str, most: int, *, keep_space: bool) -> int:
    """Where to end a piece of `text` no longer than `most`: after a line, else at a space, else anywhere.

    A break is only taken in the last 40% of the window, so a long word does not leave a tiny piece.
    """
    if most <= 0:
        return 0
    if most >= len(text):
        return len(text)
    floor = int(most * 0.6)
    window = text[: most + (0 if keep_space else 1)]
    for found in (window.rfind("\n"), _last_space(window)):
        if found >= floor and found > 0:
            end = found + 1 if keep_space else found
            if end <= most:
                return end
    end = most
    amp = text.rfind("&", max(0, end - _ENTITY_LENGTH + 1), end)
    if amp != -1 and ";" not in text[amp:end]:
        end = amp
    return end


def _last_space(window: str) -> int:
    for index in range(len(window) - 1, -1, -1):
        if window[index].isspace():
            return index
    return -1


def one_line(text: str) -> str:
    """Runs of whitespace (newlines included) as single spaces, trimmed: for headers, titles and labels."""
    return " ".join(text.split())


def slack_date(moment: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """`<!date^1749634200^{date_short_pretty} {time}|2025-06-11 09:30 UTC>`: each reader's own time zone.

    The text after `|` is what clients that cannot format dates show.
    """
    if moment.tzinfo is None:
        raise ValueError("slack_date needs an aware datetime")
    if any(char in fmt for char in "|<>"):
        raise ValueError("a slack_date format cannot contain |, < or >")
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


def is_user_id(value: str | None) -> bool:
    return value is not None and _SLACK_USER_ID.fullmatch(value) is not None


def mention(user_id: str | None, fallback: str | None = None) -> str:
    """`<@U123>` for a Slack user id; otherwise `fallback` (or the value itself) escaped, never a mention."""
    if user_id is not None and is_user_id(user_id):
        return f"<@{user_id}>"
    return escape(fallback or user_id or "someone")


def link(url: str | None, label: str) -> str:
    """`<https://...|label>` for an http(s) url; just the escaped label for anything else."""
    safe_label = escape(one_line(label) or url or "link").replace("|", "¦")
    if not url or not url.startswith(("https://", "http://")) or any(c in url for c in "|<> \n\t"):
        return safe_label
    return f"<{escape(url)}|{safe_label}>"


def duration(span: timedelta) -> str:
    """`45 s`, `24 min`, `2 h 5 min`, `3 d 4 h`."""
    seconds = int(span.total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{sign}{hours} h {minutes} min" if minutes else f"{sign}{hours} h"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours} h" if hours else f"{sign}{days} d"


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (words or word + 's')}"
