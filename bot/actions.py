"""What people do to tickets (from Slack today, from timers too): each is one transaction that changes the
ticket through the core and writes its effects (emails, card updates, thread notices, DMs) to the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from blocks import ids
from bot import alerts
from bot.csat import enqueue_rating_mail
from bot.desk import Desk
from db import metrics
from db import tickets as ticket_store
from db.errors import NotFound
from ticketing import lifecycle
from ticketing.classify import FALLBACK_CLASSIFICATION
from ticketing.errors import UserFacingError
from ticketing.escalation import escalate
from ticketing.model import Attachment, Author, Category, Message, Priority, Status, Ticket, Visibility

# What happens to the ticket after a reply: the Reply modal's choices, one enum for both.
AfterSend = ids.AfterSend


Change = Callable[[AsyncSession, Ticket], Awaitable[Ticket]]


async def change_ticket(desk: Desk, ticket_id: str, change: Change) -> Ticket:
    """Load the ticket locked, apply `change`, store it and refresh its card, all in one transaction."""
    async with desk.db.transaction() as session:
        ticket = await ticket_store.find_ticket(session, ticket_id, for_update=True)
        if ticket is None:
            raise UserFacingError(f"There is no ticket {ticket_id}.")
        changed = await change(session, ticket)
        await ticket_store.update_ticket(session, changed)
        await desk.changed(session, ticket, changed)
        await desk.enqueue_slack(session, "card", changed.id)
    desk.outbox_written()
    return changed


def _message(desk: Desk, author: Author, body: str, sender: str | None, visibility: Visibility) -> Message:
    return Message(str(uuid.uuid4()), author, body, desk.clock.now(), visibility, sender)


async def assign(desk: Desk, ticket_id: str, agent_id: str, by: str) -> Ticket:
    async def change(session: AsyncSession, ticket: Ticket) -> Ticket:
        if desk.config.agent(agent_id) is None:
            raise UserFacingError(f"<@{agent_id}> is not an agent in support.yml, so they cannot take tickets.")
        changed = lifecycle.assign(ticket, agent_id, desk.clock.now())
        who = "took it" if agent_id == by else f"assigned it to <@{agent_id}>"
        await desk.enqueue_slack(session, "thread", ticket.id, text=f"<@{by}> {who}.")
        return changed

    return await change_ticket(desk, ticket_id, change)


def signed(desk: Desk, body: str, agent_id: str) -> str:
    agent = desk.config.agent(agent_id)
    name = agent.name if agent else "The support team"
    return f"{body.rstrip()}\n\n{name}\n{desk.config.company} support"


async def reply(desk: Desk, ticket_id: str, agent_id: str, body: str, after: AfterSend = AfterSend.KEEP_OPEN,
                confirm: bool = True, attachments: tuple[Attachment, ...] = ()) -> Ticket:
    """A public reply: emailed to the customer (threaded, through the outbox), confirmed in the thread.

    `confirm=False` when the caller confirms it itself (a thread answer's Undo message becomes the
    confirmation): the thread says "Emailed to the customer" once. `attachments` (kept blobs, e.g. files the
    agent shared from Slack) go with the mail and stay on the ticket's message."""
    if not body.strip():
        raise UserFacingError("The reply is empty.")

    async def change(session: AsyncSession, ticket: Ticket) -> Ticket:
        now = desk.clock.now()
        first = ticket.timeline.first_response is None
        message = replace(_message(desk, Author.AGENT, body, agent_id, Visibility.PUBLIC), attachments=attachments)
        changed = lifecycle.add_agent_reply(ticket, message)
        if after is AfterSend.WAIT_CUSTOMER and changed.status is not Status.WAITING_CUSTOMER:
            changed = lifecycle.move(changed, Status.WAITING_CUSTOMER, now)
        elif after is AfterSend.RESOLVE and changed.status is not Status.RESOLVED:
            changed = lifecycle.resolve(changed, now)
        await desk.enqueue_email(session, changed, signed(desk, body, agent_id), auto=False, attachments=attachments)
        if changed.status is Status.RESOLVED and ticket.status is not Status.RESOLVED:
            await enqueue_rating_mail(desk, session, changed)
        if confirm:
            await desk.enqueue_slack(session, "thread", ticket.id, text=f"Emailed to the customer by <@{agent_id}>.")
        await _count_reply(session, ticket, changed, first, agent_id)
        return changed

    return await change_ticket(desk, ticket_id, change)


async def _count_reply(session: AsyncSession, before: Ticket, after: Ticket, first: bool, agent: str) -> None:
    created = before.timeline.created
    change = metrics.Bump(
        first_response_minutes=(after.timeline.last_update - created).total_seconds() / 60 if first else None,
        resolved=int(after.status is Status.RESOLVED and before.status is not Status.RESOLVED),
        resolution_minutes=((after.timeline.last_update - created).total_seconds() / 60
                            if after.status is Status.RESOLVED and before.status is not Status.RESOLVED else None),
    )
    await metrics.bump(session, after.timeline.last_update, change, after.category.value, after.priority.value, agent)


LOCK = "lock"  # the reaction on an agent's thread message that was kept as an internal note


async def add_note(desk: Desk, ticket_id: str, agent_id: str, body: str, mark: tuple[str, str] | None = None
                   ) -> Ticket:
    """An internal note. `mark` (channel, ts): the agent's own Slack message gets a 🔒 reaction, in the same
    transaction, so the thread shows it stayed internal."""

    async def change(session: AsyncSession, ticket: Ticket) -> Ticket:
        if mark is not None:
            await desk.enqueue_slack(session, "react", ticket.id, channel=mark[0], ts=mark[1], name=LOCK)
        return lifecycle.add_note(ticket, _message(desk, Author.AGENT, body, agent_id, Visibility.INTERNAL))

    return await change_ticket(desk, ticket_id, change)


async def resolve(desk: Desk, ticket_id: str, by: str) -> Ticket:
    async def change(session: AsyncSession, ticket: Ticket) -> Ticket:
        changed = lifecycle.resolve(ticket, desk.clock.now())
        await desk.enqueue_slack(session, "thread", ticket.id, text=f"Resolved by <@{by}>.")
        await enqueue_rating_mail(desk, session, changed)
        minutes = (changed.timeline.last_update - ticket.timeline.created).total_seconds() / 60
        await metrics.bump(session, desk.clock.now(), metrics.Bump(resolved=1, resolution_minutes=minutes),
                           changed.category.value, changed.priority.value, changed.assignee)
        return changed

    return await change_ticket(desk, ticket_id, change)


async def escalate_ticket(desk: Desk, ticket_id: str, reason: str, by: str) -> Ticket:
    """One level up through the core; announced in the thread and the channel; level 3 DMs the founder."""
    if not reason.strip():
        raise UserFacingError("Say why the ticket is escalated.")

    async def change(session: AsyncSession, ticket: Ticket) -> Ticket:
        if ticket.escalation.level >= 3:
            raise UserFacingError(f"{ticket.id} is already with the founder (level 3), the top of the ladder.")
        changed = escalate(ticket, reason.strip(), desk.clock.now())
        await alerts.escalated(desk, session, changed, breach=False, by=by)
        await metrics.bump(session, desk.clock.now(), metrics.Bump(escalations=1), changed.category.value,
                           changed.priority.value, changed.assignee)
        return changed

    return await change_ticket(desk, ticket_id, change)


async def set_priority(desk: Desk, ticket_id: str, priority: Priority, by: str) -> Ticket:
    async def change(session: AsyncSession, ticket: Ticket) -> Ticket:
        if ticket.status is Status.CLOSED:
            raise UserFacingError(f"{ticket.id} is closed.")
        await desk.enqueue_slack(session, "thread", ticket.id, text=f"<@{by}> set the priority to {priority}.")
        return replace(ticket, priority=priority, timeline=replace(ticket.timeline, last_update=desk.clock.now()))

    return await change_ticket(desk, ticket_id, change)


async def set_category(desk: Desk, ticket_id: str, category: Category, by: str) -> Ticket:
    """An agent's correction: kept on the ticket (what the desk had said, and who changed it)."""

    async def change(session: AsyncSession, ticket: Ticket) -> Ticket:
        if ticket.status is Status.CLOSED:
            raise UserFacingError(f"{ticket.id} is closed.")
        correction: dict[str, Any] = {"from": ticket.category.value, "to": category.value, "by": by,
                                      "at": desk.clock.now().isoformat(),
                                      "source": ticket.classification.source}
        extra = {**ticket.metadata.extra,
                 "corrections": [*ticket.metadata.extra.get("corrections", []), correction]}
        classification = replace(ticket.classification or FALLBACK_CLASSIFICATION, category=category,
                                 source="agent", reason=f"set by <@{by}>", confidence=1.0)
        await desk.enqueue_slack(session, "thread", ticket.id, text=f"<@{by}> set the category to {category}.")
        return replace(ticket, category=category, classification=classification,
                       metadata=replace(ticket.metadata, extra=extra),
                       timeline=replace(ticket.timeline, last_update=desk.clock.now()))

    return await change_ticket(desk, ticket_id, change)


async def get(desk: Desk, ticket_id: str) -> Ticket:
    ticket = await desk.find_ticket(ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}")
    return ticket
