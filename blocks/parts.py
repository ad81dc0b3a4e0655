"""Small pieces the builders share: blocks kept inside Slack's limits, and how a ticket reads in one line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
)

from blocks import limits
from blocks.ids import Action
from blocks.labels import PRIORITY_EMOJI
from blocks.text import ELLIPSIS, Mrkdwn, cut, escape, one_line, slack_date
from ticketing.model import Status, Ticket

NO_SUBJECT = "(no subject)"
DONE = (Status.RESOLVED, Status.CLOSED)


def fit(text: str, limit: int) -> str:
    """Our own mrkdwn cut to `limit`, never ending inside a `<...>` of ours (a mention, link or date)."""
    if len(text) <= limit:
        return text
    kept = cut(text, limit).text[: -len(ELLIPSIS)]
    opened = kept.rfind("<")
    if opened > kept.rfind(">"):
        kept = kept[:opened].rstrip()
    return kept + ELLIPSIS


def plain(text: str, limit: int, *, empty: str = "-") -> PlainTextObject:
    """Raw text as one escaped line of plain text, at most `limit` long and never empty."""
    line = escape(one_line(text) or empty)
    return PlainTextObject(text=cut(line, limit).text, emoji=True)


def label(text: str) -> PlainTextObject:
    """One of our own short labels (buttons, options, titles): already safe, never cut."""
    return PlainTextObject(text=text, emoji=True)


def mrkdwn(text: str, limit: int = limits.SECTION_TEXT, *, verbatim: bool = False) -> MarkdownTextObject:
    return MarkdownTextObject(text=fit(text, limit) or "-", verbatim=verbatim or None)


def section(text: str, *, block_id: str | None = None, verbatim: bool = False) -> SectionBlock:
    return SectionBlock(text=mrkdwn(text, verbatim=verbatim), block_id=block_id)


def fields_section(fields: Sequence[str]) -> SectionBlock:
    return SectionBlock(fields=[mrkdwn(field, limits.FIELD_TEXT) for field in fields[: limits.SECTION_FIELDS]])


def context(*texts: str, verbatim: bool = False) -> ContextBlock:
    return ContextBlock(
        elements=[mrkdwn(text, limits.CONTEXT_TEXT, verbatim=verbatim) for text in texts[: limits.CONTEXT_ELEMENTS]]
    )


def header(text: str) -> HeaderBlock:
    """A header from raw text: escaped, on one line, at most 150 characters."""
    return HeaderBlock(text=plain(text, limits.HEADER_TEXT))


def button(text: str, action: Action, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=label(text), action_id=action, value=value, style=style)


def option(text: str, value: str) -> Option:
    """An option from raw text (escaped, cut to 75) and a value of ours."""
    return Option(text=plain(text, limits.OPTION_TEXT), value=value)


def clip(raw: str, limit: int, *, empty: str = "") -> Mrkdwn:
    """Raw text on one line, escaped, then cut to `limit` (so the escaped text fits)."""
    return Mrkdwn(cut(escape(one_line(raw) or empty), limit).text)


def subject(ticket: Ticket, limit: int = 200) -> Mrkdwn:
    """The ticket's subject on one line, escaped and cut."""
    return clip(ticket.subject, limit, empty=NO_SUBJECT)


def ticket_line(ticket: Ticket, limit: int = 200) -> str:
    """`🔴 *BIL-...* · Payment failed`: how a ticket reads in lists and notices."""
    return f"{PRIORITY_EMOJI[ticket.priority]} *{ticket.id}* · {subject(ticket, limit)}"


def first_response_due(ticket: Ticket, now: datetime) -> str:
    if ticket.timeline.first_response is not None:
        return "met"
    if ticket.status in DONE:
        return "resolved"
    return _due(ticket.sla.first_response_due, now)


def resolution_due(ticket: Ticket, now: datetime) -> str:
    if ticket.status in DONE:
        return "resolved"
    return _due(ticket.sla.resolution_due, now)


def next_deadline(ticket: Ticket, now: datetime) -> str:
    """The clock that matters now: first response until it is met, then resolution."""
    if ticket.status in DONE:
        return "resolved"
    if ticket.timeline.first_response is None:
        return f"first response {_due(ticket.sla.first_response_due, now)}"
    return f"resolution {_due(ticket.sla.resolution_due, now)}"


def _due(deadline: datetime, now: datetime) -> str:
    when = slack_date(deadline)
    return f"{when} ⚠️ *overdue*" if deadline <= now else when
