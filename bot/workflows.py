"""Ticket workflows that are not tied to one channel."""

from __future__ import annotations

from bot import sla
from bot.desk import Desk
from bot.imports import ImportedTicket
from db import tickets as ticket_store
from ticketing.create import NewTicket, apply_given_category
from ticketing.model import Source


async def import_ticket(desk: Desk, item: ImportedTicket, notify: bool = False) -> str:
    """An open ticket from another desk: it keeps its created time, so its SLA clocks are right from the first
    minute; no confirmation mail (the customer heard from the old desk already). Warnings and breaches that
    came before the import are recorded, not announced (no customer mail, no manager page, no escalation).
    Automation rules run on it, but without customer mail or manager alerts (`bot.automation.quiet_import`).
    `notify` lets the SLA ticker and the rules announce as if it all happened now."""
    found = await desk.classify(item.subject, item.description)  # outside the transaction: a model may be slow
    async with desk.db.transaction() as session:
        customer = await ticket_store.ensure_customer(session, item.customer_email, "", desk.clock.now())
        request = NewTicket(customer=customer, subject=item.subject, description=item.description,
                            source=Source.API, created_at=item.created_at, status=item.status,
                            category=item.category, priority=item.priority, assignee=item.assignee,
                            extra={"imported": True, **({"import_notify": True} if notify else {})})
        created = await desk.create(session, request, apply_given_category(request, found))
        if not notify:
            await sla.record_past(desk, session, created.ticket.id)
    return created.ticket.id
