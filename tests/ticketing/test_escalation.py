"""Escalation: one level up with time and reason, priority one step up, and who hears it at each level."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ticketing.errors import InvalidTransition
from ticketing.escalation import EscalationRole, EscalationTarget, escalate, find_target, role_for_level, step_up
from ticketing.model import AgentRole, Priority, Status

from .builders import NOW, a_ticket, a_ticket_in, an_agent

P, S = Priority, Status
LATER = NOW + timedelta(hours=1)
EVEN_LATER = NOW + timedelta(hours=2)


def test_escalating_raises_the_level_by_one_with_the_time_and_the_reason() -> None:
    ticket = a_ticket()
    assert ticket.escalation.level == 0

    once = escalate(ticket, "no reply in 24 hours", LATER)
    twice = escalate(once, "customer threatened to leave", EVEN_LATER)

    assert (once.escalation.level, once.escalation.at, once.escalation.reason) == (
        1, LATER, "no reply in 24 hours",
    )
    assert (twice.escalation.level, twice.escalation.at, twice.escalation.reason) == (
        2, EVEN_LATER, "customer threatened to leave",
    )
    assert twice.timeline.last_update == EVEN_LATER
    assert twice.status is ticket.status


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(P.LOW, P.MEDIUM, id="low steps up to medium"),
        pytest.param(P.MEDIUM, P.HIGH, id="medium steps up to high"),
        pytest.param(P.HIGH, P.CRITICAL, id="high steps up to critical"),
        pytest.param(P.CRITICAL, P.CRITICAL, id="critical stays critical"),
    ],
)
def test_escalating_steps_the_priority_up_one_place(before: Priority, after: Priority) -> None:
    assert step_up(before) is after
    assert escalate(a_ticket(priority=before), "sla breach", LATER).priority is after


def test_three_escalations_take_a_low_ticket_to_critical_and_a_fourth_keeps_it_there() -> None:
    ticket = a_ticket(priority=P.LOW)
    seen = []
    for hour in range(1, 5):
        ticket = escalate(ticket, f"round {hour}", NOW + timedelta(hours=hour))
        seen.append(ticket.priority)
    assert seen == [P.MEDIUM, P.HIGH, P.CRITICAL, P.CRITICAL]
    assert ticket.escalation.level == 4


@pytest.mark.parametrize(
    "status",
    [pytest.param(s, id=f"{s.value} can be escalated") for s in (S.OPEN, S.IN_PROGRESS, S.WAITING_CUSTOMER,
                                                                 S.WAITING_INTERNAL)],
)
def test_a_ticket_still_being_worked_can_be_escalated(status: Status) -> None:
    assert escalate(a_ticket_in(status), "stuck", LATER).escalation.level == 1


@pytest.mark.parametrize(
    "status", [pytest.param(s, id=f"a {s.value} ticket cannot be escalated") for s in (S.RESOLVED, S.CLOSED)]
)
def test_escalating_a_finished_ticket_raises_invalid_transition(status: Status) -> None:
    ticket = a_ticket_in(status)
    with pytest.raises(InvalidTransition, match=f"is {status.value}; reopen it before escalating"):
        escalate(ticket, "too late", LATER)


@pytest.mark.parametrize(
    ("level", "role"),
    [
        pytest.param(1, EscalationRole.SENIOR, id="level 1 goes to a senior"),
        pytest.param(2, EscalationRole.LEAD, id="level 2 goes to the team lead"),
        pytest.param(3, EscalationRole.FOUNDER, id="level 3 goes to the founder"),
        pytest.param(4, EscalationRole.FOUNDER, id="level 4 still goes to the founder"),
        pytest.param(10, EscalationRole.FOUNDER, id="level 10 still goes to the founder"),
    ],
)
def test_each_level_has_its_role(level: int, role: EscalationRole) -> None:
    assert role_for_level(level) is role


TEAM = [
    an_agent(slack_id="U_AGENT", team="technical_team"),
    an_agent(slack_id="U_OTHER_SENIOR", team="billing_team", role=AgentRole.SENIOR),
    an_agent(slack_id="U_SENIOR", team="technical_team", role=AgentRole.SENIOR),
    an_agent(slack_id="U_SECOND_SENIOR", team="technical_team", role=AgentRole.SENIOR),
    an_agent(slack_id="U_OTHER_LEAD", team="billing_team", role=AgentRole.LEAD),
    an_agent(slack_id="U_LEAD", team="technical_team", role=AgentRole.LEAD),
]


def test_level_one_goes_to_the_first_senior_of_the_ticket_team() -> None:
    target = find_target(1, "technical_team", TEAM, "U_CONFIGURED_LEAD", "U_FOUNDER")
    assert target == EscalationTarget(1, EscalationRole.SENIOR, "U_SENIOR")


def test_level_one_with_no_senior_in_the_team_goes_to_the_team_channel() -> None:
    juniors = [a for a in TEAM if a.role is AgentRole.AGENT]
    assert find_target(1, "technical_team", juniors, "U_LEAD", "U_FOUNDER").slack_id is None


def test_level_two_goes_to_the_configured_lead_first() -> None:
    target = find_target(2, "technical_team", TEAM, "U_CONFIGURED_LEAD", "U_FOUNDER")
    assert target == EscalationTarget(2, EscalationRole.LEAD, "U_CONFIGURED_LEAD")


def test_level_two_without_a_configured_lead_goes_to_the_teams_agent_with_the_lead_role() -> None:
    target = find_target(2, "technical_team", TEAM, None, "U_FOUNDER")
    assert target == EscalationTarget(2, EscalationRole.LEAD, "U_LEAD")


def test_level_two_with_no_lead_anywhere_in_the_team_goes_to_the_team_channel() -> None:
    assert find_target(2, "security_team", TEAM, None, "U_FOUNDER").slack_id is None


@pytest.mark.parametrize("level", [pytest.param(n, id=f"level {n} goes to the founder") for n in (3, 4, 7)])
def test_level_three_and_above_go_to_the_founder(level: int) -> None:
    assert find_target(level, "technical_team", TEAM, "U_LEAD", "U_FOUNDER") == EscalationTarget(
        level, EscalationRole.FOUNDER, "U_FOUNDER"
    )


def test_an_escalated_tickets_level_picks_the_target() -> None:
    ticket = a_ticket(team="technical_team")
    for _ in range(2):
        ticket = escalate(ticket, "no progress", LATER)
    target = find_target(ticket.escalation.level, ticket.team, TEAM, None, "U_FOUNDER")
    assert (target.role, target.slack_id) == (EscalationRole.LEAD, "U_LEAD")
