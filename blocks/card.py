"""The ticket card (the parent message of a ticket's thread) and the customer's message that opens the thread."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ConfirmObject,
    DividerBlock,
    OverflowMenuElement,
    UserSelectElement,
)

from blocks import limits
from blocks.ids import Action, Overflow, card_actions_block_id, overflow_value
from blocks.labels import (
    CATEGORY_LABEL,
    PRIORITY_EMOJI,
    STATUS_EMOJI,
    TIER_LABEL,
    TYPE_LABEL,
    USER_TYPE_LABEL,
    priority_label,
    status_label,
)
from blocks.merge import merge_option
from blocks.parts import (
    DONE,
    NO_SUBJECT,
    button,
    clip,
    context,
    fields_section,
    first_response_due,
    fit,
    header,
    label,
    option,
    resolution_due,
    section,
    subject,
)
from blocks.text import Mrkdwn, chunks, cut, escape, is_user_id, link, mention, one_line, plural, slack_date
from ticketing.model import Attachment, Author, Customer, Message, Status, Ticket

MAX_BODY_SECTIONS = 12  # 12 x 3,000 = 36,000 characters: under the 40,000 a message may carry
MAX_RELATED = 10
MAX_ATTACHMENTS = 8
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def customer_label(customer: Customer) -> str:
    """`Amelia Hart <amelia@...>` or just the email: raw text, the builders escape it."""
    name = one_line(customer.name)
    return f"{name} <{customer.email}>" if name else customer.email


def build_ticket_card(
    ticket: Ticket,
    now: datetime,
    *,
    customer_label: str,
    assignee_name: str | None,
    reason: str,
    breach: str | None = None,
    related: Sequence[str] = (),
    permalink: str | None = None,
) -> tuple[str, list[Block]]:
    """The card every agent sees in the team channel: fallback text and blocks.

    `customer_label` is how the customer reads (raw; see `customer_label()`); `assignee_name` names the
    assignee in the notification text; `reason` says why the card is here (routing, the latest change);
    `breach` is an SLA breach line; `related` ticket ids (the ticket's own when empty); `permalink` links the
    conversation elsewhere (the original email, say). Resolved and closed tickets get no action buttons.
    """
    customer = ticket.customer
    who = clip(customer_label, 300, empty=customer.email or "unknown customer")
    fields = [
        f"*Customer*\n{who}\n{USER_TYPE_LABEL[customer.user_type]} · {TIER_LABEL[customer.tier]}",
        f"*Priority*\n{priority_label(ticket.priority)}",
        f"*Status*\n{status_label(ticket.status)}",
        f"*Assignee*\n{_assignee(ticket.assignee, assignee_name)}",
        f"*Category*\n{CATEGORY_LABEL[ticket.category]}",
        f"*Type*\n{TYPE_LABEL[ticket.type]}",
        f"*First response due*\n{first_response_due(ticket, now)}",
        f"*Resolution due*\n{resolution_due(ticket, now)}",
        f"*Why classified so*\n{classification_text(ticket)}",
    ]
    if ticket.escalation.level > 0:
        fields.append(f"*Escalation*\n{escalation_text(ticket)}")

    blocks: list[Block] = [header(f"{ticket.id} · {one_line(ticket.subject) or NO_SUBJECT}")]
    blocks.append(context(_reason_line(ticket, reason)))
    blocks.append(fields_section(fields))
    if breach:
        blocks.append(section(f"🚨 *{clip(breach, 500)}*"))
    extra = _related_and_link(related or ticket.related, permalink)
    if extra:
        blocks.append(context(*extra))
    if ticket.status in DONE:
        blocks.append(context(_done_line(ticket)))
    else:
        blocks.append(_card_actions(ticket))

    assignee = clip(assignee_name, 100) if assignee_name else "unassigned"
    text = (
        f"{PRIORITY_EMOJI[ticket.priority]} {ticket.priority.value.capitalize()} · {ticket.id}: "
        f"{subject(ticket, 150)} — {who} ({assignee})"
    )
    return fit(text, limits.FALLBACK_TEXT), blocks


def classification_text(ticket: Ticket) -> str:
    found = ticket.classification
    why = clip(found.reason, 500, empty="no reason recorded")
    source = clip(found.source, 40)
    return f"{why}\n_{source}, {found.confidence:.0%} confident_"


def escalation_text(ticket: Ticket) -> str:
    level = ticket.escalation
    parts = [f"Level {level.level}"]
    if level.at is not None:
        parts.append(slack_date(level.at))
    line = " · ".join(parts)
    if level.reason:
        line += f"\n{clip(level.reason, 500)}"
    return line


def _assignee(assignee: str | None, assignee_name: str | None) -> str:
    if assignee is None:
        return "unassigned"
    return mention(assignee) if is_user_id(assignee) else clip(assignee_name or assignee, 200)


def _reason_line(ticket: Ticket, reason: str) -> str:
    team = escape(ticket.team)
    why = clip(reason, 1500)
    opened = slack_date(ticket.timeline.created)
    return f"Team *{team}* · opened {opened}" + (f" · {why}" if why else "")


def _related_and_link(related: Sequence[str], permalink: str | None) -> list[str]:
    parts: list[str] = []
    if related:
        shown = ", ".join(f"`{clip(r, 40)}`" for r in related[:MAX_RELATED])
        more = len(related) - MAX_RELATED
        parts.append(f"Related: {shown}" + (f" and {more} more" if more > 0 else ""))
    if permalink:
        parts.append(link(permalink, "Open the conversation"))
    return parts


def _done_line(ticket: Ticket) -> str:
    status = ticket.status
    when = ticket.timeline.closed if status is Status.CLOSED else ticket.timeline.resolved
    line = f"{STATUS_EMOJI[status]} *{status.value.capitalize()}*"
    return f"{line} {slack_date(when)}" if when else line


def _card_actions(ticket: Ticket) -> ActionsBlock:
    resolve_confirm = ConfirmObject(
        title=label("Resolve this ticket?"),
        text=f"{ticket.id} will be marked resolved; a reply from the customer opens it again.",
        confirm=label("Resolve"),
        deny=label("Not yet"),
    )
    resolve = button("Resolve", Action.RESOLVE, ticket.id)
    resolve.confirm = resolve_confirm
    return ActionsBlock(
        block_id=card_actions_block_id(ticket.id),
        elements=[
            button("Assign to me", Action.ASSIGN_ME, ticket.id),
            UserSelectElement(
                placeholder=label("Assign…"),
                action_id=Action.ASSIGN_PICK,
                initial_user=ticket.assignee if is_user_id(ticket.assignee) else None,
            ),
            button("Reply", Action.REPLY, ticket.id, style="primary"),
            button("Escalate", Action.ESCALATE, ticket.id, style="danger"),
            resolve,
            OverflowMenuElement(
                action_id=Action.OVERFLOW,
                options=[
                    option("Change priority…", overflow_value(Overflow.PRIORITY, ticket.priority)),
                    option("Change category…", overflow_value(Overflow.CATEGORY, ticket.category)),
                    option("Add internal note", overflow_value(Overflow.NOTE)),
            merge_option(),
                ],
            ),
        ],
    )


def build_customer_message(
    message: Message, customer_label: str, *, ticket_id: str | None = None
) -> tuple[str, list[Block]]:
    """The customer's message, first in the card's thread: escaped, in sections of at most 3,000 characters.

    A body longer than 12 sections (36,000 characters) ends with how many characters were left out and
    `/ticket <id>`, which shows all of it.
    """
    who = _author(message, customer_label)
    body = _normalise(message.body)
    blocks: list[Block] = [context(f"✉️ {who} wrote · {slack_date(message.created_at)}")]
    blocks.extend(section(piece, verbatim=True) for piece in body_sections(body, ticket_id=ticket_id))
    if message.attachments:
        blocks.append(context(attachments_line(message.attachments)))
    blocks.append(DividerBlock())
    preview = clip(body, 200, empty="(empty message)")
    return fit(f"{who}: {preview}", limits.FALLBACK_TEXT), blocks


def body_sections(body: str, *, ticket_id: str | None = None, most: int = MAX_BODY_SECTIONS) -> list[Mrkdwn]:
    """Raw `body` escaped and split into at most `most` section texts; the last says what was left out."""
    escaped = escape(body if body.strip() else "(empty message)")
    pieces = chunks(escaped, limits.SECTION_TEXT)
    if len(pieces) <= most:
        return [Mrkdwn(p) for p in pieces if p.strip()]
    kept = [p for p in pieces[: most - 1] if p.strip()]
    rest = Mrkdwn("".join(pieces[most - 1 :]))
    where = f"`/ticket {escape(ticket_id)}`" if ticket_id else "`/ticket`"
    tail = f" ({{}} more characters; {where} shows all of it)"
    room = limits.SECTION_TEXT - len(tail.format(f"{len(body):,}"))
    last = cut(rest, room)
    return [*(Mrkdwn(p) for p in kept), Mrkdwn(last.text + tail.format(f"{last.removed:,}"))]


def attachments_line(attachments: Sequence[Attachment]) -> str:
    names = ", ".join(
        f"{clip(a.filename, 80, empty='unnamed')} ({_size(a.size)})"
        for a in attachments[:MAX_ATTACHMENTS]
    )
    more = len(attachments) - MAX_ATTACHMENTS
    return f"📎 {plural(len(attachments), 'attachment')}: {names}" + (f" and {more} more" if more > 0 else "")


def _author(message: Message, customer_label: str) -> str:
    if message.author is Author.CUSTOMER:
        return f"*{clip(customer_label, 300, empty=message.sender or 'The customer')}*"
    if message.author is Author.AGENT:
        return mention(message.sender, "An agent")
    return "*System*"


def _normalise(body: str) -> str:
    """Line ends as `\\n`, no runs of blank lines, no trailing space: what the reader would not miss."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    return _BLANK_LINES.sub("\n\n", text).strip()


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
