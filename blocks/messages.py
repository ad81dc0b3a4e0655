"""Messages in a ticket's thread: the undo window, sent confirmations, escalations and SLA alarms.

Every builder returns (fallback text, blocks). Teams are named in plain text: nobody is pinged through a
user group, only people by their Slack id.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from slack_sdk.models.blocks import ActionsBlock, Block

from blocks import limits
from blocks.ids import Action, BlockId
from blocks.labels import priority_label
from blocks.parts import DONE, button, clip, context, fit, section, ticket_line
from blocks.text import duration, escape, is_user_id, mention, slack_date
from ticketing.escalation import EscalationRole, EscalationTarget
from ticketing.model import Ticket

UNDO_SECONDS = 30


class SlaClock(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


CLOCK_LABEL: dict[SlaClock, str] = {SlaClock.FIRST_RESPONSE: "first response", SlaClock.RESOLUTION: "resolution"}


def build_undo_message(pending_id: str, *, seconds: int = UNDO_SECONDS) -> tuple[str, list[Block]]:
    """Posted under an agent's thread answer: it goes out in `seconds` unless undone or kept as a note.

    The buttons carry `pending_id`, the pending reply's id.
    """
    if not pending_id or len(pending_id) > limits.BUTTON_VALUE:
        raise ValueError("a pending reply id is 1 to 2,000 characters")
    text = f"📤 Will email this to the customer in {seconds} s."
    blocks: list[Block] = [
        section(text),
        ActionsBlock(
            block_id=BlockId.UNDO_ACTIONS,
            elements=[
                button("Undo", Action.UNDO_SEND, pending_id, style="danger"),
                button("Send now", Action.SEND_NOW, pending_id, style="primary"),
                button("Keep as note", Action.KEEP_NOTE, pending_id),
            ],
        ),
    ]
    return text, blocks


def build_sent_message(agent_id: str, *, at: datetime | None = None) -> tuple[str, list[Block]]:
    """Replaces the undo message once the email is on its way."""
    text = f"📧 Emailed to the customer by {mention(agent_id)}"
    return text, [context(text + (f" · {slack_date(at)}" if at else ""))]


def build_undone_message(agent_id: str) -> tuple[str, list[Block]]:
    text = f"↩️ Not sent: {mention(agent_id)} undid it. The customer got nothing."
    return text, [context(text)]


def build_kept_as_note_message(agent_id: str) -> tuple[str, list[Block]]:
    text = f"📝 Kept as an internal note by {mention(agent_id)}. The customer got nothing."
    return text, [context(text)]


def build_escalation_message(
    ticket: Ticket, target: EscalationTarget, *, by: str | None = None
) -> tuple[str, list[Block]]:
    """The thread hears who now has the ticket: level 1 a senior (or the team), 2 the lead, 3 the founder.

    `ticket` is the escalated ticket (its reason and new priority are shown); `by` the agent who escalated.
    """
    who = _target(ticket, target)
    text = f"⬆️ Escalated to level {target.level}: {who}"
    lines = [f"*{text}*", ticket_line(ticket) + f" · now {priority_label(ticket.priority)}"]
    if ticket.escalation.reason:
        lines.append(f"Why: {clip(ticket.escalation.reason, 1000)}")
    if by:
        lines.append(f"Escalated by {mention(by)}")
    return fit(text, limits.FALLBACK_TEXT), [section("\n".join(lines))]


def _target(ticket: Ticket, target: EscalationTarget) -> str:
    if target.role is EscalationRole.FOUNDER:
        return "the founder has been told."
    team = f"the *{escape(ticket.team)}* team"
    if target.slack_id and is_user_id(target.slack_id):
        role = "senior agent" if target.role is EscalationRole.SENIOR else "team lead"
        return f"{mention(target.slack_id)} ({role}), please take a look."
    missing = "senior agent" if target.role is EscalationRole.SENIOR else "lead"
    return f"{team} has no {missing} set: whoever can, please take a look."


def build_sla_warning(
    ticket: Ticket, now: datetime, *, clock: SlaClock, used: float = 0.75
) -> tuple[str, list[Block]]:
    """`used` (75%) of the first-response or resolution time is gone; the assignee or the team hears it."""
    due = _deadline(ticket, clock)
    text = f"⏳ {used:.0%} of the {CLOCK_LABEL[clock]} time on {ticket.id} is gone"
    line = (
        f"*{text}*: due {slack_date(due)} (in {duration(due - now)}). {_who(ticket)}"
        if due > now
        else f"*{text}*: due {slack_date(due)}. {_who(ticket)}"
    )
    return fit(text, limits.FALLBACK_TEXT), [section(f"{line}\n{ticket_line(ticket)}")]


def build_sla_breach(ticket: Ticket, now: datetime, *, clock: SlaClock) -> tuple[str, list[Block]]:
    """The first-response or resolution deadline has passed."""
    due = _deadline(ticket, clock)
    late = f" (overdue by {duration(now - due)})" if now > due else ""
    text = f"🚨 {CLOCK_LABEL[clock].capitalize()} SLA breached on {ticket.id}"
    line = f"*{text}*: was due {slack_date(due)}{late}. {_who(ticket)}"
    return fit(text, limits.FALLBACK_TEXT), [section(f"{line}\n{ticket_line(ticket)}")]


def breach_line(ticket: Ticket, now: datetime, clock: SlaClock) -> str:
    """Raw text for the card's `breach` argument."""
    due = _deadline(ticket, clock)
    return f"{CLOCK_LABEL[clock].capitalize()} SLA breached: overdue by {duration(now - due)}"


def _deadline(ticket: Ticket, clock: SlaClock) -> datetime:
    return ticket.sla.first_response_due if clock is SlaClock.FIRST_RESPONSE else ticket.sla.resolution_due


def _who(ticket: Ticket) -> str:
    if ticket.status in DONE:
        return ""
    if ticket.assignee and is_user_id(ticket.assignee):
        return f"{mention(ticket.assignee)}, over to you."
    return f"Nobody has it yet: the *{escape(ticket.team)}* team, can someone take it?"
