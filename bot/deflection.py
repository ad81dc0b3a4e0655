"""Self-service deflection: a template marked `self_service` goes to the customer at once with "Did this solve
it?" links; "yes" resolves the ticket without an agent and counts as deflected, "no" tells the thread.

What happened is kept in the ticket's `metadata.extra` (no schema of its own):

    extra["deflection"] = {"template": name, "sent_at": iso time, "answer": "yes" | "no", "answered_at": iso}
    extra["deflected"] = True    # set by "yes"; `deflection_rate` counts it

The first answer wins; a second click, a forged link or an answer after the ticket was resolved changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import Desk
from bot.links import Purpose, customer_url, make_token
from db import metrics
from db import tickets as ticket_store
from db.tables import TicketRow
from ticketing import lifecycle
from ticketing.canned import CannedResponse, render, template_values
from ticketing.model import Status, Ticket

DEFLECT_PATH = "deflect"
YES, NO = "yes", "no"
RESOLVED_TEXT = "Resolved by the customer's self-service answer"
NOT_HELPED_TEXT = "The customer says the self-service answer did not help; it needs an agent."


class Result(StrEnum):
    RESOLVED = "resolved"  # "yes": resolved without an agent
    NOTED = "noted"  # "no": told the thread
    ALREADY = "already"  # answered before: nothing changed
    CLOSED = "closed"  # resolved or closed by someone else first: nothing changed
    NOT_FOUND = "not_found"  # no such ticket, or no self-service answer was sent for it


@dataclass(frozen=True)
class Outcome:
    result: Result
    ticket_id: str
    answer: str | None = None  # the answer on record


def _self_service_answer(desk: Desk, ticket: Ticket) -> CannedResponse | None:
    name = ticket.classification.template
    canned = desk.config.canned_response(name) if name else None
    return canned if canned is not None and canned.self_service else None


async def enqueue_self_service(desk: Desk, session: AsyncSession, ticket: Ticket) -> int | None:
    """Inside the caller's transaction, right after the ticket is created: the self-service answer with yes/no
    links in the outbox, and `extra["deflection"]` stored on the ticket (this function writes it, re-reading
    the ticket in `session`, so the caller must not store its own copy of the ticket afterwards). Returns the
    outbox row id, or None when the template is not self-service, the ticket is not open, the customer's
    address bounces, or the answer was sent already."""
    canned = _self_service_answer(desk, ticket)
    if canned is None:
        return None
    current = await ticket_store.find_ticket(session, ticket.id, for_update=True)
    if current is None or current.status is not Status.OPEN or "deflection" in current.metadata.extra:
        return None
    if await ticket_store.is_undeliverable(session, current.customer.email):
        return None
    name, company = canned.name, desk.config.company
    yes, no = [customer_url(desk, DEFLECT_PATH, await make_token(desk, Purpose.DEFLECT, current.id, said,
                                                                 session=session)) for said in (YES, NO)]
    text = render(canned.in_language(current.language), template_values(current, 'The team', company))
    body = (f"{text.rstrip()}\n\n"
            f"Did this solve it?\nYes: {yes}\nNo: {no}\n\n"
            f"If you answer no, or not at all, the team will pick up ticket {current.id} as usual.")
    item = await desk.enqueue_email(session, current, body, auto=True)
    extra = {**current.metadata.extra, "deflection": {"template": name, "sent_at": desk.clock.now().isoformat()}}
    offered = replace(current, metadata=replace(current.metadata, extra=extra))
    await ticket_store.update_ticket(session, offered)
    await desk.changed(session, current, offered)
    await desk.enqueue_slack(session, "thread", current.id,
                             text=f"Sent the self-service answer {name} to the customer, asking if it solved it.")
    return item


async def answer(desk: Desk, ticket_id: str, helped: bool) -> Outcome:
    """The customer's click on "yes" or "no", in one transaction; anything but the first answer changes nothing."""
    async with desk.db.transaction() as session:
        ticket = await ticket_store.find_ticket(session, ticket_id, for_update=True)
        offer = ticket.metadata.extra.get("deflection") if ticket else None
        if ticket is None or not isinstance(offer, dict):
            return Outcome(Result.NOT_FOUND, ticket_id)
        if offer.get("answer"):
            return Outcome(Result.ALREADY, ticket_id, str(offer["answer"]))
        if ticket.status in (Status.RESOLVED, Status.CLOSED):
            return Outcome(Result.CLOSED, ticket_id)
        now = desk.clock.now()
        said = YES if helped else NO
        extra: dict[str, Any] = {**ticket.metadata.extra,
                                 "deflection": {**offer, "answer": said, "answered_at": now.isoformat()}}
        changed = ticket
        if helped:
            extra["deflected"] = True
            changed = lifecycle.resolve(ticket, now)
            minutes = (now - ticket.timeline.created).total_seconds() / 60
            await metrics.bump(session, now, metrics.Bump(resolved=1, resolution_minutes=minutes),
                               ticket.category.value, ticket.priority.value, ticket.assignee)
        await desk.enqueue_slack(session, "thread", ticket_id, text=RESOLVED_TEXT if helped else NOT_HELPED_TEXT)
        changed = replace(changed, metadata=replace(changed.metadata, extra=extra))
        await ticket_store.update_ticket(session, changed)
        await desk.changed(session, ticket, changed)  # a resolve stops the SLA clocks
        await desk.enqueue_slack(session, "card", ticket_id)
    desk.outbox_written()
    return Outcome(Result.RESOLVED if helped else Result.NOTED, ticket_id, said)


async def deflection_rate(desk: Desk, since: datetime) -> tuple[int, int]:
    """(deflected, offered) over the tickets created since `since`: how many got a self-service answer, and
    how many of those the customer resolved with it. One read of the tickets' metadata; the JSON is looked
    at here, so it is the same on SQLite and PostgreSQL."""
    query = select(TicketRow.metadata_).where(TicketRow.created_at >= since)
    async with desk.db.sessions() as session:
        offered = deflected = 0
        for (meta,) in await session.execute(query):
            extra = (meta or {}).get("extra") or {}
            if "deflection" in extra:
                offered += 1
                deflected += extra.get("deflected") is True
    return deflected, offered
