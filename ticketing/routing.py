"""Routing: the team by category, then the best-scoring agent of that team."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from ticketing.model import AgentRole, Category, Ticket

TEAM_BY_CATEGORY: dict[Category, str] = {
    Category.BILLING: "billing_team",
    Category.BUG: "technical_team",
    Category.FORM_BUILDER: "technical_team",
    Category.DATA_LOSS: "technical_team",
    Category.ONBOARDING: "customer_success",
    Category.FEATURE_HELP: "customer_success",
    Category.SECURITY: "security_team",
}
DEFAULT_TEAM = "general_support"


def team_for(category: Category) -> str:
    return TEAM_BY_CATEGORY.get(category, DEFAULT_TEAM)


@dataclass(frozen=True)
class AgentProfile:
    slack_id: str
    name: str
    email: str
    team: str
    role: AgentRole = AgentRole.AGENT
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("en",)
    timezone: str = "UTC"
    work_start: time = time(9, 0)
    work_end: time = time(17, 30)
    work_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday is 0
    expertise: int = 1


@dataclass(frozen=True)
class AgentLoad:
    """What the store knows about an agent at routing time."""

    open_tickets: int = 0
    customers_handled: frozenset[str] = frozenset()


def in_working_hours(agent: AgentProfile, now: datetime) -> bool:
    """A shift across midnight belongs to the day it starts: Friday 22:00-06:00 covers Saturday 03:00."""
    if now.tzinfo is None:
        raise ValueError("in_working_hours needs an aware datetime")
    local = now.astimezone(ZoneInfo(agent.timezone))
    clock, day = local.time(), local.weekday()
    if agent.work_start <= agent.work_end:
        return day in agent.work_days and agent.work_start <= clock < agent.work_end
    if clock >= agent.work_start:
        return day in agent.work_days
    return clock < agent.work_end and (day - 1) % 7 in agent.work_days


@dataclass(frozen=True)
class Score:
    agent: AgentProfile
    total: int
    terms: tuple[tuple[str, int], ...]


def score_agent(agent: AgentProfile, ticket: Ticket, load: AgentLoad, now: datetime) -> Score:
    terms = (
        ("skill", 30 if ticket.category.value in agent.skills else 0),
        ("handled this customer", 20 if ticket.customer.id in load.customers_handled else 0),
        ("open tickets", -5 * load.open_tickets),
        ("expertise", 10 * agent.expertise),
        ("language", 15 if (ticket.language or ticket.customer.language) in agent.languages else 0),
        ("working hours", 10 if in_working_hours(agent, now) else 0),
    )
    return Score(agent, sum(value for _, value in terms), terms)


def choose_agent(
    ticket: Ticket,
    agents: Iterable[AgentProfile],
    loads: Mapping[str, AgentLoad],
    now: datetime,
) -> Score | None:
    """The team's highest scorer when above zero; None leaves the ticket in the team's queue.

    Ties go to the agent listed first, so the result is the same every time.
    """
    best: Score | None = None
    for agent in agents:
        if agent.team != ticket.team:
            continue
        score = score_agent(agent, ticket, loads.get(agent.slack_id, AgentLoad()), now)
        if best is None or score.total > best.total:
            best = score
    return best if best is not None and best.total > 0 else None
