"""Who hears what when a clock warns, breaches or a ticket climbs the ladder (all through the outbox):
- the assignee (or the team): a thread mention, and email;
- managers: SMS, email and a Slack DM when a ticket breaches or reaches level 2;
- the founder: a Slack DM at level 3 (with the ticket, its history and buttons), and SMS when it is critical;
- the customer: an email saying their ticket was escalated.
Every escalation alert carries an Acknowledge button."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from sqlalchemy.ext.asyncio import AsyncSession

from blocks.ids import Action
from blocks.messages import SlaClock as ClockLabel
from blocks.messages import build_escalation_message, build_sla_warning
from bot.desk import Desk
from db import outbox
from ticketing.escalation import EscalationRole, EscalationTarget, find_target, role_for_level
from ticketing.model import AgentRole, Priority, Ticket
from ticketing.sla_clock import ClockKind


def escalation_target(desk: Desk, ticket: Ticket) -> EscalationTarget:
    team = desk.config.teams.get(ticket.team)
    founder = desk.config.founder.slack_id if desk.config.founder else None
    return find_target(ticket.escalation.level, ticket.team, desk.config.agents, team.lead if team else None, founder)


def ack_button(ticket: Ticket) -> dict[str, Any]:
    level = ticket.escalation.level
    return ActionsBlock(block_id=f"ack:{ticket.id}:{level}", elements=[ButtonElement(
        text="Acknowledge", action_id=Action.ACKNOWLEDGE.value, value=f"{ticket.id}:{level}", style="primary")]
    ).to_dict()


async def internal_email(desk: Desk, session: AsyncSession, ticket: Ticket, to: str, body: str) -> None:
    payload = {"to": to, "subject": f"[support alert] {ticket.subject}", "ticket_id": ticket.id, "body": body,
               "auto": True, "internal": True}
    await outbox.enqueue(session, "email", payload, desk.clock.now(), ticket.id)


async def sms(desk: Desk, session: AsyncSession, ticket: Ticket, person: str, phone: str, kind: str,
              summary: str) -> None:
    if not desk.settings.sms_enabled:
        return
    payload = {"person": person, "to": phone, "ticket_id": ticket.id, "kind": kind, "summary": summary,
               "priority": ticket.priority.value, "critical": ticket.priority is Priority.CRITICAL}
    await outbox.enqueue(session, "sms", payload, desk.clock.now(), ticket.id)


async def warn(desk: Desk, session: AsyncSession, ticket: Ticket, kind: ClockKind, due: datetime | None = None
               ) -> None:
    """75% of a clock: the assignee (or the team) in the thread, and the assignee by email. `due`: the clock's
    real deadline (business hours, pauses); without it the ticket's wall-clock deadline is shown."""
    fraction = desk.config.sla_policy.warning_fraction
    if due is not None and kind is ClockKind.FIRST_RESPONSE:
        ticket = replace(ticket, sla=replace(ticket.sla, first_response_due=due))
    elif due is not None:
        ticket = replace(ticket, sla=replace(ticket.sla, resolution_due=due))
    text, blocks = build_sla_warning(ticket, desk.clock.now(), clock=ClockLabel(kind.value), used=fraction)
    await desk.enqueue_slack(session, "thread", ticket.id, text=text, blocks=[b.to_dict() for b in blocks])
    agent = desk.config.agent(ticket.assignee) if ticket.assignee else None
    if agent is not None:
        await internal_email(desk, session, ticket, agent.email, f"{text}.\nTicket {ticket.id}: {ticket.subject}")


async def escalated(desk: Desk, session: AsyncSession, ticket: Ticket, breach: bool, by: str | None = None) -> None:
    target = escalation_target(desk, ticket)
    text, blocks = build_escalation_message(ticket, target, by=by)
    await desk.enqueue_slack(session, "thread", ticket.id, text=text, broadcast=True,
                             blocks=[*(b.to_dict() for b in blocks), ack_button(ticket)])
    await desk.enqueue_slack(session, "card", ticket.id)
    if target.role is EscalationRole.FOUNDER and target.slack_id:
        await desk.enqueue_slack(session, "founder_dm", ticket.id, user=target.slack_id)
    founder = desk.config.founder
    if target.role is EscalationRole.FOUNDER and founder and founder.phone and ticket.priority is Priority.CRITICAL:
        await sms(desk, session, ticket, founder.slack_id or founder.name, founder.phone, "escalation",
                  f"critical, escalated to you (level {ticket.escalation.level})")
    if breach or ticket.escalation.level >= 2:
        await tell_managers(desk, session, ticket, breach)
    if ticket.escalation.level == 1:  # the customer hears it once, not at every step of the ladder
        await desk.enqueue_customer_mail(session, ticket, "ticket_escalated", auto=True)


async def tell_managers(desk: Desk, session: AsyncSession, ticket: Ticket, breach: bool) -> None:
    what = "breached its SLA" if breach else f"reached escalation level {ticket.escalation.level}"
    summary = f"{'breached' if breach else 'escalated to level ' + str(ticket.escalation.level)} " \
              f"({ticket.priority}, {ticket.category})"
    for manager in desk.config.managers:
        if manager.phone:
            await sms(desk, session, ticket, manager.slack_id or manager.name, manager.phone,
                      "sla_breach" if breach else "escalation", summary)
        if manager.email:
            await internal_email(desk, session, ticket, manager.email,
                                 f"Ticket {ticket.id} ({ticket.priority}, {ticket.team}) {what}: {ticket.subject}")
        if manager.slack_id:
            text = f"🚨 {ticket.id} {what} ({ticket.priority}, {ticket.team})."
            await desk.enqueue_slack(session, "dm", ticket.id, user=manager.slack_id, text=text,
                                     blocks=[SectionBlock(text=text).to_dict(), ack_button(ticket)])


def may_acknowledge(desk: Desk, ticket: Ticket, level: int, by: str) -> bool:
    """The step's target, the team lead, a manager or the founder; in the team, a lead for any step and a
    senior for a senior's step (level 1 goes to "a senior of the team"), never a senior for the lead's step."""
    team = desk.config.teams.get(ticket.team)
    founder = desk.config.founder.slack_id if desk.config.founder else None
    target = escalation_target(desk, ticket) if ticket.escalation.level == level else None
    allowed = {team.lead if team else None, founder, target.slack_id if target else None,
               *(m.slack_id for m in desk.config.managers)} - {None}
    agent = desk.config.agent(by)
    seniors_step = role_for_level(level) is EscalationRole.SENIOR
    in_role = agent is not None and agent.team == ticket.team and (
        agent.role is AgentRole.LEAD or (agent.role is AgentRole.SENIOR and seniors_step))
    return by in allowed or in_role
