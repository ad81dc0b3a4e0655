"""Routing: the team by category, every score term, working hours across time zones, and the choice."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest

from ticketing.model import Category
from ticketing.routing import AgentLoad, AgentProfile, choose_agent, in_working_hours, score_agent, team_for

from .builders import a_customer, a_request, a_ticket, an_agent

C = Category

EXPECTED_TEAM = {
    C.BILLING: "billing_team",
    C.BUG: "technical_team",
    C.FORM_BUILDER: "technical_team",
    C.DATA_LOSS: "technical_team",
    C.ONBOARDING: "customer_success",
    C.FEATURE_HELP: "customer_success",
    C.SECURITY: "security_team",
    C.JOURNEY_CANVAS: "general_support",
    C.EMAIL_SYSTEM: "general_support",
    C.IMPORT_EXPORT: "general_support",
    C.PERFORMANCE: "general_support",
    C.SUBSCRIPTION: "general_support",
    C.REFUND: "general_support",
    C.TRAINING: "general_support",
    C.INTEGRATION: "general_support",
}


def test_the_team_table_covers_all_fifteen_categories() -> None:
    assert set(EXPECTED_TEAM) == set(Category)


@pytest.mark.parametrize(
    ("category", "team"),
    [pytest.param(c, t, id=f"{c.value} goes to {t}") for c, t in EXPECTED_TEAM.items()],
)
def test_each_category_goes_to_its_team(category: Category, team: str) -> None:
    assert team_for(category) == team


def test_a_created_ticket_carries_the_team_of_its_category() -> None:
    ticket = a_ticket(request=a_request(subject="Form", description="My enquiry form won't save"))
    assert (ticket.category, ticket.team) == (C.FORM_BUILDER, "technical_team")


# --- working hours ------------------------------------------------------------------------------------

LONDON = an_agent(slack_id="U_LDN", timezone="Europe/London")
NEW_YORK = an_agent(slack_id="U_NYC", timezone="America/New_York")
SYDNEY = an_agent(slack_id="U_SYD", timezone="Australia/Sydney")
NIGHT_SHIFT = an_agent(slack_id="U_NIGHT", timezone="Europe/London", work_start=time(22, 0), work_end=time(6, 0))


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("instant", "london", "new_york", "sydney"),
    [
        pytest.param(_utc(2025, 6, 11, 9, 30), True, False, False,
                     id="Wednesday 09:30 UTC is 10:30 in London, 05:30 in New York, 19:30 in Sydney"),
        pytest.param(_utc(2025, 6, 11, 14, 0), True, True, False,
                     id="Wednesday 14:00 UTC is 15:00 in London, 10:00 in New York, midnight in Sydney"),
        pytest.param(
            _utc(2025, 6, 10, 23, 30), False, False, True,
            id="Tuesday 23:30 UTC is after midnight in London, evening in New York, 09:30 in Sydney",
        ),
        pytest.param(_utc(2025, 6, 14, 13, 0), False, False, False,
                     id="Saturday 13:00 UTC is inside the clock hours in London and New York but a weekend"),
        pytest.param(_utc(2025, 6, 13, 16, 0), True, True, False,
                     id="Friday 16:00 UTC is Friday afternoon in London and New York but 02:00 Saturday in Sydney"),
        pytest.param(_utc(2025, 6, 15, 23, 30), False, False, True,
                     id="Sunday 23:30 UTC is still Sunday in New York but 09:30 Monday in Sydney"),
        pytest.param(_utc(2025, 6, 11, 8, 45), True, False, False,
                     id="08:45 UTC in June is 09:45 in London on summer time"),
        pytest.param(_utc(2025, 1, 15, 8, 45), False, False, False,
                     id="08:45 UTC in January is 08:45 in London on winter time"),
        pytest.param(_utc(2025, 1, 15, 22, 0), False, True, True,
                     id="22:00 UTC in January is 17:00 in New York and 09:00 in Sydney on summer time"),
        pytest.param(_utc(2025, 6, 11, 22, 0), False, False, False,
                     id="22:00 UTC in June is 08:00 in Sydney on winter time"),
    ],
)
def test_working_hours_are_read_in_each_agents_own_time_zone(
    instant: datetime, london: bool, new_york: bool, sydney: bool
) -> None:
    assert (
        in_working_hours(LONDON, instant),
        in_working_hours(NEW_YORK, instant),
        in_working_hours(SYDNEY, instant),
    ) == (london, new_york, sydney)


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        pytest.param(_utc(2025, 6, 11, 7, 59, 59), False, id="08:59:59 London is before the start"),
        pytest.param(_utc(2025, 6, 11, 8, 0), True, id="09:00 London is the first minute of the day"),
        pytest.param(_utc(2025, 6, 11, 16, 29, 59), True, id="17:29:59 London is still at work"),
        pytest.param(_utc(2025, 6, 11, 16, 30), False, id="17:30 London is home time"),
    ],
)
def test_the_working_day_includes_its_start_and_excludes_its_end(instant: datetime, inside: bool) -> None:
    assert in_working_hours(LONDON, instant) is inside


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        pytest.param(_utc(2025, 6, 11, 11, 0), False, id="noon Wednesday is outside a night shift"),
        pytest.param(_utc(2025, 6, 11, 20, 59), False, id="21:59 Wednesday is just before a night shift"),
        pytest.param(_utc(2025, 6, 11, 21, 0), True, id="22:00 Wednesday starts a night shift"),
        pytest.param(_utc(2025, 6, 11, 22, 30), True, id="23:30 Wednesday is inside a night shift"),
        pytest.param(_utc(2025, 6, 11, 23, 0), True, id="midnight is inside a night shift"),
        pytest.param(_utc(2025, 6, 12, 1, 0), True, id="02:00 Thursday is inside a night shift"),
        pytest.param(_utc(2025, 6, 12, 4, 59), True, id="05:59 Thursday is the last minute of a night shift"),
        pytest.param(_utc(2025, 6, 12, 5, 0), False, id="06:00 Thursday ends a night shift"),
        pytest.param(_utc(2025, 6, 14, 21, 30), False, id="22:30 Saturday is a weekend night"),
    ],
)
def test_a_shift_across_midnight_counts_both_sides_of_midnight(instant: datetime, inside: bool) -> None:
    assert in_working_hours(NIGHT_SHIFT, instant) is inside


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        pytest.param(_utc(2025, 6, 14, 1, 0), True, id="02:00 Saturday is still inside Friday's night shift"),
        pytest.param(_utc(2025, 6, 16, 1, 0), False, id="02:00 Monday belongs to a Sunday night shift nobody works"),
    ],
)
def test_the_morning_half_of_a_night_shift_belongs_to_the_day_the_shift_started(
    instant: datetime, inside: bool
) -> None:
    assert in_working_hours(NIGHT_SHIFT, instant) is inside


# --- score terms --------------------------------------------------------------------------------------

SATURDAY = _utc(2025, 6, 14, 13, 0)  # outside everyone's hours
WEDNESDAY = _utc(2025, 6, 11, 9, 30)  # 10:30 in London
FORM_TICKET = a_ticket(request=a_request(subject="Form", description="My enquiry form won't save"))
# Scores nothing: no skills, another language, no expertise, weekend.
ZERO = {"skills": (), "languages": ("de",), "expertise": 0, "team": "technical_team"}


@pytest.mark.parametrize(
    ("agent_changes", "load", "instant", "term", "value"),
    [
        pytest.param({}, AgentLoad(), SATURDAY, None, 0, id="an agent with nothing going for them scores 0"),
        pytest.param({"skills": ("billing", "form_builder")}, AgentLoad(), SATURDAY, "skill", 30,
                     id="the category among the skills adds 30"),
        pytest.param({"skills": ("billing", "forms")}, AgentLoad(), SATURDAY, "skill", 0,
                     id="a skill that only resembles the category adds nothing"),
        pytest.param({}, AgentLoad(customers_handled=frozenset({"cust-amelia"})), SATURDAY,
                     "handled this customer", 20, id="having handled this customer before adds 20"),
        pytest.param({}, AgentLoad(customers_handled=frozenset({"cust-other"})), SATURDAY,
                     "handled this customer", 0, id="having handled other customers adds nothing"),
        pytest.param({}, AgentLoad(open_tickets=1), SATURDAY, "open tickets", -5,
                     id="one open ticket takes 5"),
        pytest.param({}, AgentLoad(open_tickets=4), SATURDAY, "open tickets", -20,
                     id="four open tickets take 20"),
        pytest.param({"expertise": 1}, AgentLoad(), SATURDAY, "expertise", 10, id="expertise 1 adds 10"),
        pytest.param({"expertise": 3}, AgentLoad(), SATURDAY, "expertise", 30, id="expertise 3 adds 30"),
        pytest.param({"expertise": 5}, AgentLoad(), SATURDAY, "expertise", 50, id="expertise 5 adds 50"),
        pytest.param({"languages": ("de", "en")}, AgentLoad(), SATURDAY, "language", 15,
                     id="speaking the customers language adds 15"),
        pytest.param({}, AgentLoad(), WEDNESDAY, "working hours", 10,
                     id="being inside working hours adds 10"),
    ],
)
def test_each_score_term_adds_its_own_points(
    agent_changes: dict[str, Any], load: AgentLoad, instant: datetime, term: str | None, value: int
) -> None:
    agent = an_agent(**{**ZERO, **agent_changes})
    score = score_agent(agent, FORM_TICKET, load, instant)
    terms = dict(score.terms)
    assert score.total == value
    if term is not None:
        assert terms[term] == value
    assert sum(v for k, v in terms.items() if k != term) == 0


def test_the_score_names_its_six_terms_in_order() -> None:
    score = score_agent(an_agent(**ZERO), FORM_TICKET, AgentLoad(), SATURDAY)
    assert [name for name, _ in score.terms] == [
        "skill", "handled this customer", "open tickets", "expertise", "language", "working hours",
    ]


def test_all_terms_together_add_up() -> None:
    agent = an_agent(skills=("form_builder",), languages=("fr", "en"), expertise=3, team="technical_team")
    load = AgentLoad(open_tickets=2, customers_handled=frozenset({"cust-amelia"}))
    # 30 skill + 20 customer - 10 load + 30 expertise + 15 language + 10 hours
    assert score_agent(agent, FORM_TICKET, load, WEDNESDAY).total == 95


def test_a_french_speaking_customer_scores_language_only_with_a_french_speaking_agent() -> None:
    ticket = a_ticket(
        request=a_request(customer=a_customer(language="fr"), description="Mon formulaire: form won't save")
    )
    english = score_agent(an_agent(**{**ZERO, "languages": ("en",)}), ticket, AgentLoad(), SATURDAY)
    french = score_agent(an_agent(**{**ZERO, "languages": ("en", "fr")}), ticket, AgentLoad(), SATURDAY)
    assert (dict(english.terms)["language"], dict(french.terms)["language"]) == (0, 15)


# --- choosing -----------------------------------------------------------------------------------------


def _tech(slack_id: str, **changes: Any) -> AgentProfile:
    return an_agent(**{**ZERO, "slack_id": slack_id, **changes})


def test_the_highest_scoring_agent_of_the_team_is_chosen() -> None:
    agents = [_tech("U_A", expertise=1), _tech("U_B", expertise=3), _tech("U_C", expertise=2)]
    chosen = choose_agent(FORM_TICKET, agents, {}, SATURDAY)
    assert chosen is not None
    assert (chosen.agent.slack_id, chosen.total) == ("U_B", 30)


def test_load_can_outweigh_expertise() -> None:
    agents = [_tech("U_BUSY", expertise=3), _tech("U_FREE", expertise=2)]
    loads = {"U_BUSY": AgentLoad(open_tickets=3)}  # 30 - 15 = 15 against 20
    chosen = choose_agent(FORM_TICKET, agents, loads, SATURDAY)
    assert chosen is not None and chosen.agent.slack_id == "U_FREE"


@pytest.mark.parametrize(
    ("changes", "load", "chosen"),
    [
        pytest.param({}, AgentLoad(), False, id="a best score of exactly 0 leaves the ticket in the queue"),
        pytest.param({"expertise": 1}, AgentLoad(open_tickets=3), False,
                     id="a negative best score leaves the ticket in the queue"),
        pytest.param({"expertise": 1}, AgentLoad(open_tickets=1), True,
                     id="a best score of 5 is enough to be chosen"),
    ],
)
def test_a_best_score_of_zero_or_below_leaves_the_ticket_unassigned(
    changes: dict[str, Any], load: AgentLoad, chosen: bool
) -> None:
    result = choose_agent(FORM_TICKET, [_tech("U_A", **changes)], {"U_A": load}, SATURDAY)
    assert (result is not None) is chosen


def test_agents_of_other_teams_are_ignored_however_well_they_score() -> None:
    star = _tech("U_STAR", team="billing_team", skills=("form_builder",), expertise=5, languages=("en",))
    modest = _tech("U_MODEST", expertise=1)
    chosen = choose_agent(FORM_TICKET, [star, modest], {}, SATURDAY)
    assert chosen is not None and chosen.agent.slack_id == "U_MODEST"
    assert choose_agent(FORM_TICKET, [star], {}, SATURDAY) is None


def test_no_agents_at_all_leaves_the_ticket_in_the_queue() -> None:
    assert choose_agent(FORM_TICKET, [], {}, WEDNESDAY) is None


@pytest.mark.parametrize(
    ("order", "winner"),
    [
        pytest.param(("U_A", "U_B"), "U_A", id="A listed first wins a tie"),
        pytest.param(("U_B", "U_A"), "U_B", id="B listed first wins a tie"),
    ],
)
def test_a_tie_goes_to_the_agent_listed_first(order: tuple[str, str], winner: str) -> None:
    agents = [_tech(slack_id, expertise=2) for slack_id in order]
    chosen = choose_agent(FORM_TICKET, agents, {}, SATURDAY)
    assert chosen is not None and chosen.agent.slack_id == winner


def test_an_agent_with_no_known_load_counts_as_idle() -> None:
    agents = [_tech("U_KNOWN", expertise=2), _tech("U_UNKNOWN", expertise=2)]
    chosen = choose_agent(FORM_TICKET, agents, {"U_KNOWN": AgentLoad(open_tickets=1)}, SATURDAY)
    assert chosen is not None and (chosen.agent.slack_id, chosen.total) == ("U_UNKNOWN", 20)
