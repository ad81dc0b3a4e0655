"""The founder's direct message at escalation level 3: the ticket, its recent history, three buttons."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock

from blocks import limits
from blocks.card import attachments_line, classification_text, escalation_text
from blocks.ids import Action, BlockId
from blocks.labels import AUTHOR_LABEL, CATEGORY_LABEL, TIER_LABEL, USER_TYPE_LABEL, priority_label, status_label
from blocks.parts import (
    button,
    clip,
    context,
    fields_section,
    first_response_due,
    fit,
    header,
    label,
    resolution_due,
    section,
    subject,
    ticket_line,
)
from blocks.text import cut, escape, is_user_id, mention, slack_date
from ticketing.model import Author, Message, Ticket, Visibility

HISTORY = 5
MAX_HISTORY = 20
HISTORY_BODY = 600


def build_founder_dm(
    ticket: Ticket,
    now: datetime,
    *,
    customer_label: str,
    permalink: str | None = None,
    history: int = HISTORY,
) -> tuple[str, list[Block]]:
    """What the founder needs to act from the DM: who, what, how late, the last `history` messages.

    Buttons: Acknowledge and Assign to me carry the ticket id; Open the thread is a link to `permalink`
    (left out without one).
    """
    who = clip(customer_label, 300, empty=ticket.customer.email or "unknown customer")
    customer = ticket.customer
    assignee = mention(ticket.assignee) if is_user_id(ticket.assignee) else "unassigned"
    blocks: list[Block] = [
        header(f"🚨 Escalated to you: {ticket.id}"),
        section(f"{ticket_line(ticket, 500)}\nfrom {who}"),
        fields_section([
            f"*Customer*\n{USER_TYPE_LABEL[customer.user_type]} · {TIER_LABEL[customer.tier]}",
            f"*Priority*\n{priority_label(ticket.priority)}",
            f"*Status*\n{status_label(ticket.status)}",
            f"*Assignee*\n{assignee}",
            f"*Category*\n{CATEGORY_LABEL[ticket.category]}",
            f"*Escalation*\n{escalation_text(ticket)}",
            f"*First response due*\n{first_response_due(ticket, now)}",
            f"*Resolution due*\n{resolution_due(ticket, now)}",
            f"*Why classified so*\n{classification_text(ticket)}",
        ]),
    ]
    shown = ticket.messages[-max(0, min(history, MAX_HISTORY)) :] if history > 0 else ()
    if shown:
        earlier = len(ticket.messages) - len(shown)
        blocks.append(DividerBlock())
        blocks.append(
            context(f"*History*: the last {len(shown)}" + (f" of {len(ticket.messages)}" if earlier else ""))
        )
        blocks.extend(section(_history_entry(m, customer_label), verbatim=True) for m in shown)
    blocks.append(_actions(ticket, permalink))
    text = f"🚨 Escalated to you: {ticket.id} · {subject(ticket, 150)} ({who})"
    return fit(text, limits.FALLBACK_TEXT), blocks


def _history_entry(message: Message, customer_label: str) -> str:
    if message.author is Author.CUSTOMER:
        author = f"*{clip(customer_label, 200, empty=message.sender or 'Customer')}*"
    elif message.author is Author.AGENT:
        author = mention(message.sender, AUTHOR_LABEL[Author.AGENT])
    else:
        author = f"*{AUTHOR_LABEL[Author.SYSTEM]}*"
    note = " · _internal note_" if message.visibility is Visibility.INTERNAL else ""
    body = cut(escape(message.body.strip() or "(empty message)"), HISTORY_BODY).text
    lines = [f"{author} · {slack_date(message.created_at)}{note}", body]
    if message.attachments:
        lines.append(attachments_line(message.attachments))
    return "\n".join(lines)


def _actions(ticket: Ticket, permalink: str | None) -> ActionsBlock:
    elements: list[ButtonElement] = [
        button("Acknowledge", Action.ACKNOWLEDGE, ticket.id, style="primary"),
        button("Assign to me", Action.FOUNDER_ASSIGN_ME, ticket.id),
    ]
    if permalink and permalink.startswith(("https://", "http://")) and len(permalink) <= 3000:
        elements.append(
            ButtonElement(text=label("Open the thread"), action_id=Action.OPEN_THREAD, url=permalink, value=ticket.id)
        )
    return ActionsBlock(block_id=BlockId.FOUNDER_ACTIONS, elements=elements)
