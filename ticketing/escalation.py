"""Escalation: one level up with time and reason, a target by level, priority one step up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from ticketing.errors import InvalidTransition
from ticketing.model import PRIORITY_LADDER, AgentRole, Escalation, Priority, Status, Ticket
from ticketing.routing import AgentProfile


class EscalationRole(StrEnum):
    SENIOR = "senior"
    LEAD = "lead"
    FOUNDER = "founder"


def role_for_level(level: int) -> EscalationRole:
    if level <= 1:
        return EscalationRole.SENIOR
    if level == 2:
        return EscalationRole.LEAD
    return EscalationRole.FOUNDER


def step_up(priority: Priority) -> Priority:
    index = PRIORITY_LADDER.index(priority)
    return PRIORITY_LADDER[min(index + 1, len(PRIORITY_LADDER) - 1)]


@dataclass(frozen=True)
class EscalationTarget:
    level: int
    role: EscalationRole
    slack_id: str | None  # None when the team has nobody in that role (the team channel hears it)


def escalate(ticket: Ticket, reason: str, now: datetime) -> Ticket:
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        raise InvalidTransition(f"ticket {ticket.id} is {ticket.status}; reopen it before escalating")
    level = ticket.escalation.level + 1
    return replace(
        ticket,
        escalation=Escalation(level=level, at=now, reason=reason),
        priority=step_up(ticket.priority),
        timeline=replace(ticket.timeline, last_update=now),
    )


def find_target(
    level: int, team: str, agents: Iterable[AgentProfile], lead_id: str | None, founder_id: str | None
) -> EscalationTarget:
    role = role_for_level(level)
    if role is EscalationRole.FOUNDER:
        return EscalationTarget(level, role, founder_id)
    if role is EscalationRole.LEAD:
        lead = lead_id or _first(agents, team, AgentRole.LEAD)
        return EscalationTarget(level, role, lead)
    return EscalationTarget(level, role, _first(agents, team, AgentRole.SENIOR))


def _first(agents: Iterable[AgentProfile], team: str, role: AgentRole) -> str | None:
    return next((a.slack_id for a in agents if a.team == team and a.role is role), None)
