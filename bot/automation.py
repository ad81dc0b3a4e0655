"""Automation rules from support.yml, run when a ticket is created, when the customer replies and when a
rating arrives. Each firing is recorded on the ticket; effects that reach people go through the outbox."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot import alerts
from bot.desk import Desk
from db import tickets as ticket_store
from ticketing import lifecycle
from ticketing.escalation import escalate
from ticketing.model import Author, Status, Ticket
from ticketing.rules import (
    AssignAgent,
    AssignRole,
    Escalate,
    NotifyManagers,
    RuleContext,
    RuleEvent,
    SendCanned,
    apply_to_ticket,
    effects,
    evaluate,
)

log = logging.getLogger(__name__)


async def run_rules(desk: Desk, session: AsyncSession, ticket: Ticket, event: RuleEvent) -> Ticket:
    now = desk.clock.now()
    firings = evaluate(desk.config.rules, RuleContext(ticket, event, now))
    if not firings:
        return ticket
    changed = apply_to_ticket(ticket, firings, now)
    quiet = event is RuleEvent.CREATED and quiet_import(ticket)
    for action in effects(firings):
        changed = await _carry_out(desk, session, changed, action, quiet)
    await ticket_store.update_ticket(session, changed)
    if changed.priority is not ticket.priority or changed.escalation.level != ticket.escalation.level:
        await desk.changed(session, ticket, changed)
    await desk.enqueue_slack(session, "thread", ticket.id, text="Automation: " + "; ".join(
        f.rule for f in firings) + ".")
    return changed


def quiet_import(ticket: Ticket) -> bool:
    """A ticket brought by `tickets import` without --notify: its creation tells no customer and no manager."""
    return bool(ticket.metadata.extra.get("imported")) and not ticket.metadata.extra.get("import_notify")


async def _carry_out(desk: Desk, session: AsyncSession, ticket: Ticket, action: object, quiet: bool = False
                     ) -> Ticket:
    """One rule effect. `quiet` (an import): changes to the ticket still happen, but no mail to the customer,
    no manager alert and no escalation announcement."""
    now = desk.clock.now()
    if isinstance(action, SendCanned | NotifyManagers) and quiet:
        log.info("automation: %s is imported; %s not sent", ticket.id, type(action).__name__)
    elif isinstance(action, SendCanned):
        await desk.enqueue_customer_mail(session, ticket, action.name, auto=True)
    elif isinstance(action, AssignAgent) and desk.config.agent(action.slack_id):
        return lifecycle.assign(ticket, action.slack_id, now)
    elif isinstance(action, AssignRole):
        agent = role_holder(desk, ticket, action.role)
        if agent is not None:
            return lifecycle.assign(ticket, agent, now)
        log.warning("automation: nobody has the role %s; %s stays where it is", action.role, ticket.id)
    elif isinstance(action, Escalate) and ticket.status not in (Status.RESOLVED, Status.CLOSED):
        climbed = escalate(ticket, action.reason, now)
        if not quiet:
            await alerts.escalated(desk, session, climbed, breach=False)
        return climbed
    elif isinstance(action, NotifyManagers):
        await alerts.tell_managers(desk, session, ticket, breach=False)
    return ticket


def role_holder(desk: Desk, ticket: Ticket, role: str) -> str | None:
    """An agent for a role: `onboarding_specialist` is an agent with the onboarding skill; agent, senior and
    lead are the roles in support.yml, taken from the ticket's team first."""
    agents = sorted(desk.config.agents, key=lambda a: a.team != ticket.team)
    if role == "onboarding_specialist":
        return next((a.slack_id for a in agents if "onboarding" in a.skills), None)
    return next((a.slack_id for a in agents if a.role.value == role), None)


async def on_created(desk: Desk, session: AsyncSession, ticket: Ticket) -> None:
    await run_rules(desk, session, ticket, RuleEvent.CREATED)


async def on_changed(desk: Desk, session: AsyncSession, before: Ticket, after: Ticket) -> None:
    new = after.messages[len(before.messages):]
    if any(m.author is Author.CUSTOMER for m in new):
        await run_rules(desk, session, after, RuleEvent.CUSTOMER_REPLY)
    elif after.satisfaction.rating is not None and before.satisfaction.rating is None:
        await run_rules(desk, session, after, RuleEvent.RATING)
