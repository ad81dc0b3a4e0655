"""Status changes: one table of allowed transitions, and the actions that move a ticket through it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ticketing.errors import InvalidTransition
from ticketing.model import Author, Message, Status, Ticket, Visibility

S = Status

# The one table. A change not listed here is refused with InvalidTransition.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.WAITING_CUSTOMER, S.WAITING_INTERNAL, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.WAITING_CUSTOMER, S.WAITING_INTERNAL, S.RESOLVED}),
    S.WAITING_CUSTOMER: frozenset({S.IN_PROGRESS, S.WAITING_INTERNAL, S.RESOLVED}),
    S.WAITING_INTERNAL: frozenset({S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED}),
    S.RESOLVED: frozenset({S.IN_PROGRESS, S.CLOSED}),  # reopen, or close for good
    S.CLOSED: frozenset(),  # final: a reply to a closed ticket opens a new one
}

RESOLVED_MARKER = "[RESOLVED]"


def can_move(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def move(ticket: Ticket, target: Status, now: datetime) -> Ticket:
    """Change status by the table, keeping the timeline in step (resolved and closed times)."""
    if not can_move(ticket.status, target):
        raise InvalidTransition(
            f"ticket {ticket.id} is {ticket.status}; it cannot become {target} "
            f"(allowed: {', '.join(sorted(TRANSITIONS[ticket.status])) or 'nothing, it is final'})"
        )
    timeline = replace(ticket.timeline, last_update=now)
    if target is S.RESOLVED:
        timeline = replace(timeline, resolved=now)
    elif target is S.CLOSED:
        timeline = replace(timeline, closed=now)
    elif ticket.status is S.RESOLVED:  # reopened: counted in the metadata, for the reports
        timeline = replace(timeline, resolved=None)
        extra = {**ticket.metadata.extra, "reopened": int(ticket.metadata.extra.get("reopened", 0)) + 1}
        return replace(ticket, status=target, timeline=timeline, metadata=replace(ticket.metadata, extra=extra))
    return replace(ticket, status=target, timeline=timeline)


def _append(ticket: Ticket, message: Message) -> Ticket:
    # A late-delivered message keeps its own time but never moves the ticket's last update backwards.
    timeline = replace(ticket.timeline, last_update=max(ticket.timeline.last_update, message.created_at))
    return replace(ticket, messages=(*ticket.messages, message), timeline=timeline)


def add_agent_reply(ticket: Ticket, message: Message) -> Ticket:
    """A public agent reply: sets first response once; open -> in_progress; `[RESOLVED]` resolves."""
    if message.author is not Author.AGENT or message.visibility is not Visibility.PUBLIC:
        raise ValueError("add_agent_reply takes a public agent message")
    if ticket.status is S.CLOSED:
        raise InvalidTransition(f"ticket {ticket.id} is closed; it takes no more replies")
    now = message.created_at
    updated = _append(ticket, message)
    if updated.timeline.first_response is None:
        updated = replace(updated, timeline=replace(updated.timeline, first_response=now))
    if RESOLVED_MARKER in message.body and updated.status is not S.RESOLVED:
        return move(updated, S.RESOLVED, now)
    if updated.status is S.OPEN:
        return move(updated, S.IN_PROGRESS, now)
    return updated


def add_customer_reply(ticket: Ticket, message: Message) -> Ticket:
    """A customer reply: waiting_customer or resolved -> in_progress. Closed tickets refuse it."""
    if message.author is not Author.CUSTOMER:
        raise ValueError("add_customer_reply takes a customer message")
    if ticket.status is S.CLOSED:
        raise InvalidTransition(f"ticket {ticket.id} is closed; the reply belongs in a new ticket")
    updated = _append(ticket, message)
    if updated.status in (S.WAITING_CUSTOMER, S.RESOLVED):
        return move(updated, S.IN_PROGRESS, message.created_at)
    return updated


def add_note(ticket: Ticket, message: Message) -> Ticket:
    """An internal note or a system message: recorded, status unchanged."""
    if message.visibility is Visibility.PUBLIC and message.author is not Author.SYSTEM:
        raise ValueError("add_note takes an internal note or a system message")
    if ticket.status is S.CLOSED:
        raise InvalidTransition(f"ticket {ticket.id} is closed; it takes no more notes")
    return _append(ticket, message)


def resolve(ticket: Ticket, now: datetime) -> Ticket:
    return move(ticket, S.RESOLVED, now)


def close(ticket: Ticket, now: datetime) -> Ticket:
    return move(ticket, S.CLOSED, now)


def assign(ticket: Ticket, agent_id: str | None, now: datetime) -> Ticket:
    if ticket.status is S.CLOSED:
        raise InvalidTransition(f"ticket {ticket.id} is closed; it cannot be assigned")
    timeline = replace(ticket.timeline, last_update=now)
    return replace(ticket, assignee=agent_id, assigned_at=now if agent_id else None, timeline=timeline)
