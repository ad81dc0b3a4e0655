"""Automation rules: WedSync's three defaults with their own numbers, the format's errors, firing once."""

from __future__ import annotations

import ast
import copy
import math
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ticketing.rules as rules_module
from ticketing.errors import UserFacingError
from ticketing.lifecycle import add_customer_reply
from ticketing.model import Category, Priority, Ticket, TicketType, Tier, UserType
from ticketing.rules import (
    DEFAULT_RULES_DATA,
    AddTags,
    AssignAgent,
    AssignRole,
    Escalate,
    Firing,
    NotifyManagers,
    Rule,
    RuleContext,
    RuleError,
    RuleEvent,
    SendCanned,
    SetPriority,
    apply_to_ticket,
    effects,
    evaluate,
    parse_rules,
)

from .builders import NOW, a_customer, a_customer_reply, a_request, a_ticket

E = RuleEvent
ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ("refund_policy", "onboarding_welcome", "payment_troubleshooting")
AGENTS = ("U0BEABILL1", "U0TOMTECH1")
LATER = NOW + timedelta(hours=1)


def parse(data: object) -> tuple[Rule, ...]:
    return parse_rules(data, known_templates=TEMPLATES, known_agents=AGENTS)


DEFAULTS = parse(DEFAULT_RULES_DATA)


def one_rule(**fields: Any) -> dict[str, Any]:
    """A valid rule; override the parts a test is about (None removes a key)."""
    rule: dict[str, Any] = {"name": "vip", "on": ["created"], "when": {"tier": "enterprise"},
                            "then": {"add_tags": ["vip"]}}
    rule.update(fields)
    return {k: v for k, v in rule.items() if v is not None}


def fire(rules: tuple[Rule, ...], ticket: Ticket, event: RuleEvent = E.CREATED) -> tuple[Firing, ...]:
    return evaluate(rules, RuleContext(ticket, event, NOW))


def ticket_with(*, description: str = "Hello", category: Category = Category.FEATURE_HELP, **customer: Any) -> Ticket:
    return a_ticket(customer=a_customer(**customer), category=category, description=description,
                    subject="A question")


def problems_of(data: object) -> tuple[str, ...]:
    with pytest.raises(RuleError) as raised:
        parse(data)
    return raised.value.problems


# --- WedSync's three rules, as the spec words them ----------------------------------------------------------


def test_the_default_rules_parse_against_the_canned_responses_the_desk_ships() -> None:
    shipped = yaml.safe_load((ROOT / "bot/defaults/canned_responses.yml").read_text())["canned_responses"]
    parsed = parse_rules(DEFAULT_RULES_DATA, known_templates={c["name"] for c in shipped}, known_agents=())
    assert [r.name for r in parsed] == ["refund request", "new account onboarding", "at-risk customer"]
    assert parsed == DEFAULTS


def test_a_billing_ticket_mentioning_a_refund_gets_the_refund_policy_the_refund_request_tag_and_high_priority(
) -> None:
    ticket = ticket_with(category=Category.BILLING, description="Please can I have a REFUND for May?")
    ticket = replace(ticket, priority=Priority.MEDIUM)

    firings = fire(DEFAULTS, ticket)
    after = apply_to_ticket(ticket, firings, NOW)

    assert firings == (Firing("refund request", E.CREATED, (
        SendCanned("refund_policy"), AddTags(("refund_request",)), SetPriority(Priority.HIGH))),)
    assert "refund_request" in after.tags
    assert after.priority is Priority.HIGH
    assert effects(firings) == (SendCanned("refund_policy"),)


def test_a_refund_request_filed_under_refund_by_the_default_patterns_counts_as_a_billing_ticket() -> None:
    ticket = a_ticket(request=a_request(subject="Refund", description="I was charged and would like a refund."))
    assert ticket.category is Category.REFUND
    assert [f.rule for f in fire(DEFAULTS, ticket)] == ["refund request"]


def test_a_billing_ticket_that_does_not_mention_a_refund_gets_no_refund_rule() -> None:
    assert fire(DEFAULTS, ticket_with(category=Category.BILLING, description="Where is my invoice?")) == ()


def test_a_refund_mentioned_only_in_a_later_customer_reply_fires_the_refund_rule_on_that_reply() -> None:
    ticket = ticket_with(category=Category.BILLING, description="Where is my invoice?")
    replied = add_customer_reply(ticket, a_customer_reply("Actually I would rather have a refund.", at=LATER))
    assert fire(DEFAULTS, replied, E.CUSTOMER_REPLY)[0].rule == "refund request"
    assert fire(DEFAULTS, replied, E.CREATED) == ()  # on creation only subject and description count


def test_an_onboarding_ticket_from_a_23_hour_old_account_gets_the_welcome_the_specialist_and_the_new_user_tag(
) -> None:
    ticket = ticket_with(category=Category.ONBOARDING, account_created_at=NOW - timedelta(hours=23))

    firings = fire(DEFAULTS, ticket)
    after = apply_to_ticket(ticket, firings, NOW)

    assert firings == (Firing("new account onboarding", E.CREATED, (
        SendCanned("onboarding_welcome"), AssignRole("onboarding_specialist"), AddTags(("new_user",)))),)
    assert "new_user" in after.tags
    assert after.assignee == ticket.assignee  # the caller maps the role to an agent
    assert effects(firings) == (SendCanned("onboarding_welcome"), AssignRole("onboarding_specialist"))


@pytest.mark.parametrize(
    "created",
    [
        pytest.param(NOW - timedelta(hours=24), id="an account exactly 24 hours old is not new"),
        pytest.param(NOW - timedelta(days=30), id="a month-old account is not new"),
        pytest.param(None, id="an account with no known creation date is not new"),
    ],
)
def test_an_onboarding_ticket_from_an_account_not_younger_than_24_hours_gets_no_onboarding_rule(created: Any) -> None:
    assert fire(DEFAULTS, ticket_with(category=Category.ONBOARDING, account_created_at=created)) == ()


def test_a_new_account_asking_about_something_else_gets_no_onboarding_rule() -> None:
    ticket = ticket_with(category=Category.FORM_BUILDER, account_created_at=NOW - timedelta(hours=1))
    assert fire(DEFAULTS, ticket) == ()


def test_a_customer_with_6_previous_tickets_and_satisfaction_2_9_is_escalated_managers_notified_and_tagged() -> None:
    ticket = ticket_with(previous_tickets=6, average_satisfaction=2.9)

    firings = fire(DEFAULTS, ticket)
    after = apply_to_ticket(ticket, firings, NOW)

    reason = "at-risk customer: more than 5 previous tickets and average satisfaction below 3"
    assert firings == (Firing("at-risk customer", E.CREATED, (
        Escalate(reason), NotifyManagers("automation rule 'at-risk customer'"), AddTags(("at_risk_customer",)))),)
    assert "at_risk_customer" in after.tags
    assert after.escalation == ticket.escalation  # escalating (and telling people) is the caller's
    assert effects(firings) == (Escalate(reason), NotifyManagers("automation rule 'at-risk customer'"))


@pytest.mark.parametrize(
    ("previous", "satisfaction"),
    [
        pytest.param(5, 2.9, id="5 previous tickets are not more than 5"),
        pytest.param(6, 3.0, id="satisfaction 3.0 is not below 3"),
        pytest.param(6, None, id="no satisfaction yet is not below 3"),
        pytest.param(0, 1.0, id="a first ticket is not at risk"),
    ],
)
def test_a_customer_short_of_the_at_risk_numbers_is_not_escalated(previous: int, satisfaction: float | None) -> None:
    assert fire(DEFAULTS, ticket_with(previous_tickets=previous, average_satisfaction=satisfaction)) == ()


def test_a_ticket_matching_two_default_rules_fires_both_in_order_and_collects_both_tags() -> None:
    ticket = ticket_with(category=Category.BILLING, description="refund please", previous_tickets=9,
                         average_satisfaction=1.5)
    firings = fire(DEFAULTS, ticket)
    after = apply_to_ticket(ticket, firings, NOW)
    assert [f.rule for f in firings] == ["refund request", "at-risk customer"]
    assert after.tags[-2:] == ("refund_request", "at_risk_customer")


# --- firing once, and the record on the ticket --------------------------------------------------------------


def test_every_firing_is_recorded_on_the_ticket_with_rule_event_time_and_actions() -> None:
    ticket = ticket_with(category=Category.BILLING, description="refund")
    after = apply_to_ticket(ticket, fire(DEFAULTS, ticket), LATER)
    assert after.metadata.extra["automation"] == [{
        "rule": "refund request", "event": "created", "at": LATER.isoformat(),
        "actions": [{"send_canned": "refund_policy"}, {"add_tags": ["refund_request"]}, {"set_priority": "high"}],
    }]
    assert after.timeline.last_update == LATER
    assert ticket.metadata.extra == {}  # the original is untouched


def test_a_rule_already_recorded_on_the_ticket_does_not_fire_again_on_a_later_reply() -> None:
    ticket = ticket_with(category=Category.BILLING, description="refund")
    after = apply_to_ticket(ticket, fire(DEFAULTS, ticket), NOW)
    replied = add_customer_reply(after, a_customer_reply("Still waiting for that refund.", at=LATER))
    assert fire(DEFAULTS, replied, E.CUSTOMER_REPLY) == ()


def test_a_rule_with_repeat_fires_on_every_event_it_matches() -> None:
    rules = parse({"rules": [one_rule(name="chase", on=["created", "customer_reply"], repeat=True,
                                      when={"text_contains": "urgent"}, then={"notify_managers": "urgent again"})]})
    ticket = ticket_with(description="urgent")
    ticket = apply_to_ticket(ticket, fire(rules, ticket), NOW)
    for minutes in (1, 2):
        ticket = add_customer_reply(ticket, a_customer_reply("still urgent", at=NOW + timedelta(minutes=minutes)))
        firings = fire(rules, ticket, E.CUSTOMER_REPLY)
        assert firings == (Firing("chase", E.CUSTOMER_REPLY, (NotifyManagers("urgent again"),)),)
        ticket = apply_to_ticket(ticket, firings, NOW + timedelta(minutes=minutes))
    assert [r["event"] for r in ticket.metadata.extra["automation"]] == ["created", "customer_reply",
                                                                         "customer_reply"]


def test_a_rule_only_fires_on_the_events_it_lists() -> None:
    rules = parse([one_rule(on="rating", when=None)])
    ticket = ticket_with()
    assert fire(rules, ticket, E.CREATED) == ()
    assert fire(rules, ticket, E.CUSTOMER_REPLY) == ()
    assert fire(rules, ticket, E.RATING)[0].rule == "vip"


def test_a_rule_without_on_fires_when_a_ticket_is_created() -> None:
    (rule,) = parse([one_rule(on=None)])
    assert rule.events == (E.CREATED,)


def test_applying_no_firings_leaves_the_ticket_as_it_was() -> None:
    ticket = ticket_with()
    assert apply_to_ticket(ticket, (), LATER) is ticket


def test_tags_are_added_once_and_the_last_rule_to_set_a_priority_wins() -> None:
    rules = parse([one_rule(name="a", when=None, then={"add_tags": ["x", "y"], "set_priority": "low"}),
                   one_rule(name="b", when=None, then={"add_tags": ["y", "z", "x"], "set_priority": "critical"})])
    ticket = replace(ticket_with(), tags=("x",))
    after = apply_to_ticket(ticket, fire(rules, ticket), NOW)
    assert after.tags == ("x", "y", "z")
    assert after.priority is Priority.CRITICAL


def test_earlier_records_are_kept_and_a_malformed_record_does_not_stop_the_rules() -> None:
    ticket = replace(ticket_with(), metadata=replace(ticket_with().metadata, extra={"automation": [
        "junk", {"rule": ["not", "a", "name"]}, {"rule": "other", "event": "created"}]}))
    firings = fire(parse([one_rule(when=None)]), ticket)
    after = apply_to_ticket(ticket, firings, NOW)
    assert [r["rule"] for r in after.metadata.extra["automation"]] == [["not", "a", "name"], "other", "vip"]


# --- conditions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "fires"),
    [
        pytest.param({"category": ["billing", "refund"]}, True, id="a category in the list matches"),
        pytest.param({"category": "security"}, False, id="another category does not"),
        pytest.param({"type": "billing"}, True, id="the type matches"),
        pytest.param({"tier": ["starter", "scale"]}, True, id="the tier is in the list"),
        pytest.param({"tier": "free"}, False, id="another tier does not"),
        pytest.param({"user_type": "couple"}, True, id="the user type matches"),
        pytest.param({"text_contains": ["vat", "INVOICE"]}, True, id="any phrase matches, ignoring case"),
        pytest.param({"text_contains": "receipt"}, False, id="a phrase the text lacks does not"),
        pytest.param({"text_contains": "my question"}, True, id="the subject counts as text"),
        pytest.param({"previous_tickets": {"gte": 2, "lt": 3}}, True, id="every comparison holds"),
        pytest.param({"previous_tickets": {"gte": 2, "lt": 2}}, False, id="one comparison fails"),
        pytest.param({"previous_tickets": {"eq": 2}}, True, id="eq compares"),
        pytest.param({"average_satisfaction": {"lte": 4.5}}, True, id="lte includes the value"),
        pytest.param({"average_satisfaction": {"gt": 4.5}}, False, id="gt excludes the value"),
        pytest.param({"account_age_hours": {"gt": 47.9, "lte": 48}}, True, id="account age counts hours"),
        pytest.param({"category": "billing", "tier": "free"}, False, id="all conditions must hold"),
        pytest.param({}, True, id="no conditions always hold"),
    ],
)
def test_a_condition_is_checked_against_the_ticket_and_the_customer(when: dict[str, Any], fires: bool) -> None:
    customer = a_customer(tier=Tier.STARTER, user_type=UserType.COUPLE, previous_tickets=2,
                          average_satisfaction=4.5, account_created_at=NOW - timedelta(days=2))
    ticket = a_ticket(subject="My question", description="Where is the Invoice with VAT?", customer=customer,
                      category=Category.BILLING, type=TicketType.BILLING)
    assert bool(fire(parse([one_rule(when=when)]), ticket)) is fires


def test_an_account_created_after_now_by_clock_skew_counts_as_zero_hours_old() -> None:
    ticket = ticket_with(account_created_at=NOW + timedelta(minutes=5))
    assert RuleContext(ticket, E.CREATED, NOW).account_age_hours == 0.0
    assert fire(parse([one_rule(when={"account_age_hours": {"eq": 0}})]), ticket)


def test_escalate_true_gives_a_reason_naming_the_rule_and_false_turns_an_action_off() -> None:
    (rule,) = parse([one_rule(name="Angry", then={"escalate": True, "notify_managers": False, "add_tags": "angry"})])
    assert rule.actions == (Escalate("automation rule 'Angry'"), AddTags(("angry",)))


def test_assign_takes_a_known_agent_or_a_known_role() -> None:
    (by_agent,) = parse([one_rule(then={"assign": {"agent": "U0BEABILL1"}})])
    (by_role,) = parse([one_rule(then={"assign": {"role": "lead"}})])
    assert by_agent.actions == (AssignAgent("U0BEABILL1"),)
    assert by_role.actions == (AssignRole("lead"),)


def test_the_format_reads_from_yaml_including_a_bare_on_key_that_pyyaml_turns_into_true() -> None:
    data = yaml.safe_load("""
rules:
  - name: refund request
    on: [created, customer_reply]
    when:
      category: billing
      text_contains: [refund, money back]
      account_age_hours: {gte: 1}
    then:
      send_canned: refund_policy
      add_tags: refund_request
      set_priority: high
      assign: {agent: U0BEABILL1}
      escalate: "customer wants money back"
      notify_managers: true
""")
    assert True in data["rules"][0]  # what PyYAML makes of `on:`
    (rule,) = parse(data)
    assert rule.events == (E.CREATED, E.CUSTOMER_REPLY)
    assert rule.actions == (SendCanned("refund_policy"), AddTags(("refund_request",)), SetPriority(Priority.HIGH),
                            AssignAgent("U0BEABILL1"), Escalate("customer wants money back"),
                            NotifyManagers("automation rule 'refund request'"))


@pytest.mark.parametrize("data", [None, {}, {"rules": None}, {"rules": []}, []], ids=str)
def test_no_rules_at_all_is_an_empty_rule_set(data: object) -> None:
    assert parse(data) == ()


# --- the format's errors ----------------------------------------------------------------------------------

KNOWN_CONDITIONS = ("account_age_hours, average_satisfaction, category, previous_tickets, text_contains, tier, "
                    "type, user_type")
ACTIONS = "send_canned, add_tags, set_priority, assign, escalate, notify_managers"


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        pytest.param(one_rule(when={"acount_age_hours": {"lt": 24}}),
                     f"rules[0].when: unknown condition 'acount_age_hours'; known: {KNOWN_CONDITIONS}; "
                     "did you mean 'account_age_hours'?", id="an unknown condition names the known ones"),
        pytest.param(one_rule(then={"set_priority": "urgent"}),
                     "rules[0].then.set_priority: set_priority must be one of critical, high, medium, low; "
                     "got 'urgent' (str)", id="an unknown priority lists the four"),
        pytest.param(one_rule(then={"send_canned": "refund_polcy"}),
                     "rules[0].then.send_canned: no canned response named 'refund_polcy' (known: onboarding_welcome, "
                     "payment_troubleshooting, refund_policy; did you mean 'refund_policy'?)",
                     id="an unknown canned response lists the known ones"),
        pytest.param(one_rule(name=None), "rules[0].name: a rule needs a name", id="a rule needs a name"),
        pytest.param(one_rule(name="  "), "rules[0].name: a rule needs a name, got '  ' (str)",
                     id="a blank name is no name"),
        pytest.param(one_rule(name=7), "rules[0].name: a rule needs a name, got 7 (int)", id="a name is text"),
        pytest.param(one_rule(when=["category", "billing"]),
                     "rules[0].when: 'when' must be a mapping of conditions, e.g. {category: billing}; "
                     "got ['category', 'billing'] (list)", id="when must be a mapping"),
        pytest.param({**one_rule(), "when": None},
                     "rules[0].when: 'when' must be a mapping of conditions, e.g. {category: billing}; got nothing",
                     id="an empty when is a mistake"),
        pytest.param(one_rule(when={"previous_tickets": {"over": 5}}),
                     "rules[0].when.previous_tickets: unknown comparison operator 'over'; use lt, lte, gt, gte, eq",
                     id="an unknown comparison operator lists the five"),
        pytest.param(one_rule(when={"previous_tickets": {"gt": "five"}}),
                     "rules[0].when.previous_tickets.gt: expected a number, got 'five' (str)",
                     id="a comparison needs a number"),
        pytest.param(one_rule(when={"average_satisfaction": {"lt": True}}),
                     "rules[0].when.average_satisfaction.lt: expected a number, got true (true/false)",
                     id="true is not a number"),
        pytest.param(one_rule(when={"average_satisfaction": {"lt": math.nan}}),
                     "rules[0].when.average_satisfaction.lt: expected a number, got nan (float)",
                     id="nan is not a number to compare with"),
        pytest.param(one_rule(when={"account_age_hours": 24}),
                     "rules[0].when.account_age_hours: expected comparisons, e.g. {account_age_hours: {lt: 24}}; "
                     "comparisons: lt, lte, gt, gte, eq; got 24 (int)", id="a bare number is not a comparison"),
        pytest.param(one_rule(when={"account_age_hours": {}}),
                     "rules[0].when.account_age_hours: expected comparisons, e.g. {account_age_hours: {lt: 24}}; "
                     "comparisons: lt, lte, gt, gte, eq; got {} (dict)", id="no comparison is a mistake"),
        pytest.param(one_rule(on=["created", "closed"]),
                     "rules[0].on: unknown event 'closed'; use created, customer_reply, rating",
                     id="an unknown event lists the three"),
        pytest.param(one_rule(on=[]),
                     "rules[0].on: expected an event (created, customer_reply, rating) or a list of them, "
                     "got [] (list)",
                     id="a rule needs an event"),
        pytest.param(one_rule(when={"category": "billling"}),
                     "rules[0].when.category: unknown category 'billling'; use one of billing, bug, data_loss, "
                     "email_system, feature_help, form_builder, import_export, integration, journey_canvas, "
                     "onboarding, performance, refund, security, subscription, training; did you mean 'billing'?",
                     id="an unknown category lists the categories"),
        pytest.param(one_rule(when={"tier": ["free", "gold"]}),
                     "rules[0].when.tier: unknown tier 'gold'; use one of enterprise, free, professional, scale, "
                     "starter", id="an unknown tier lists the tiers"),
        pytest.param(one_rule(when={"text_contains": ["refund", ""]}),
                     "rules[0].when.text_contains: expected a phrase or a list of them, got ['refund', ''] (list)",
                     id="an empty phrase would match everything"),
        pytest.param(one_rule(repeat="yes please"),
                     "rules[0].repeat: repeat is true or false, got 'yes please' (str)", id="repeat is true or false"),
        pytest.param(one_rule(when_=1),
                     "rules[0]: unknown key 'when_'; known: name, on, repeat, then, when; did you mean 'when'?",
                     id="an unknown rule key is named"),
        pytest.param(one_rule(then=None),
                     f"rules[0].then: a rule needs at least one action in 'then', e.g. {{add_tags: [vip]}}; "
                     f"known: {ACTIONS}", id="a rule needs then"),
        pytest.param(one_rule(then={}),
                     f"rules[0].then: a rule needs at least one action in 'then', e.g. {{add_tags: [vip]}}; "
                     f"known: {ACTIONS}", id="an empty then is a mistake"),
        pytest.param(one_rule(then="add_tags"),
                     f"rules[0].then: 'then' must be a mapping of actions, e.g. {{add_tags: [vip]}}; known: {ACTIONS}",
                     id="then must be a mapping"),
        pytest.param(one_rule(then={"escalate": False}),
                     "rules[0].then: a rule needs at least one action in 'then' (false turns an action off)",
                     id="a then with every action off is a mistake"),
        pytest.param(one_rule(then={"close": True}),
                     "rules[0].then: unknown action 'close'; known: add_tags, assign, escalate, notify_managers, "
                     "send_canned, set_priority", id="an unknown action lists the known ones"),
        pytest.param(one_rule(then={"escalate": 3}),
                     "rules[0].then.escalate: escalate takes a reason (text) or true; got 3 (int)",
                     id="escalate takes a reason or true"),
        pytest.param(one_rule(then={"notify_managers": ""}),
                     "rules[0].then.notify_managers: notify_managers takes a reason (text) or true; got '' (str)",
                     id="an empty reason is a mistake"),
        pytest.param(one_rule(then={"add_tags": ["at risk"]}),
                     "rules[0].then.add_tags: tag 'at risk' has spaces; use one word, e.g. at_risk",
                     id="a tag is one word"),
        pytest.param(one_rule(then={"add_tags": []}),
                     "rules[0].then.add_tags: expected a tag or a list of them, got [] (list)",
                     id="add_tags needs a tag"),
        pytest.param(one_rule(then={"assign": "U0BEABILL1"}),
                     "rules[0].then.assign: assign takes {agent: <slack id>} or {role: <role>}; "
                     "got 'U0BEABILL1' (str)", id="assign takes a mapping"),
        pytest.param(one_rule(then={"assign": {"agent": "U0BEABILL1", "role": "lead"}}),
                     "rules[0].then.assign: assign takes {agent: <slack id>} or {role: <role>}; "
                     "got {'agent': 'U0BEABILL1', 'role': 'lead'} (dict)", id="assign takes one of agent and role"),
        pytest.param(one_rule(then={"assign": {"agent": "U0NOBODY"}}),
                     "rules[0].then.assign.agent: no agent 'U0NOBODY' in support.yml; known: U0BEABILL1, U0TOMTECH1",
                     id="an unknown agent lists the agents"),
        pytest.param(one_rule(then={"assign": {"role": "onboarding"}}),
                     "rules[0].then.assign.role: unknown role 'onboarding'; known: agent, lead, "
                     "onboarding_specialist, senior; did you mean 'onboarding_specialist'?",
                     id="an unknown role lists the roles"),
    ],
)
def test_a_mistake_in_a_rule_is_reported_with_its_path_the_problem_and_the_fix(rule: object, problem: str) -> None:
    assert problems_of({"rules": [rule]}) == (problem,)


def test_a_second_rule_with_the_same_name_ignoring_case_is_a_duplicate() -> None:
    assert problems_of([one_rule(name="VIP"), one_rule(), one_rule(name="vip ")]) == (
        "rules[1].name: duplicate rule name 'vip' (also rules[0]); give each rule its own name",
        "rules[2].name: duplicate rule name 'vip' (also rules[0]); give each rule its own name",
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param("rules", "rules: expected a list of rules, got 'rules' (str)", id="the rules are a list"),
        pytest.param({"rules": {"name": "x"}}, "rules: expected a list of rules, got {'name': 'x'} (dict)",
                     id="a single rule must still be in a list"),
        pytest.param({"rule": []}, "'rule': unknown key; the rules go under 'rules:'", id="an unknown top key"),
        pytest.param(["refund"], "rules[0]: a rule is a mapping with name, on, when and then; got 'refund' (str)",
                     id="a rule is a mapping"),
    ],
)
def test_a_mistake_in_the_shape_of_the_rules_is_reported(data: object, problem: str) -> None:
    assert problems_of(data) == (problem,)


def test_every_mistake_is_reported_at_once_so_one_edit_fixes_them_all() -> None:
    data = {"rules": [
        one_rule(name="refund", when={"acount_age_hours": {"lt": 24}, "previous_tickets": {"gt": "5"}}),
        one_rule(name=None, then={"set_priority": "urgent", "send_canned": "nope"}),
        one_rule(name="refund", on="closed"),
    ]}
    with pytest.raises(RuleError) as raised:
        parse(data)
    error = raised.value
    assert [p.split(":")[0] for p in error.problems] == [
        "rules[0].when", "rules[0].when.previous_tickets.gt", "rules[1].name", "rules[1].then.set_priority",
        "rules[1].then.send_canned", "rules[2].on", "rules[2].name",
    ]
    assert isinstance(error, UserFacingError)
    assert str(error).startswith("the automation rules have 7 mistakes:\n  rules[0].when: unknown condition")
    assert all(p in str(error) for p in error.problems)


def test_one_mistake_reads_as_one() -> None:
    assert str(RuleError(["rules[0].name: a rule needs a name"])) == (
        "an automation rule has a mistake:\n  rules[0].name: a rule needs a name")


def test_parsing_does_not_change_the_data_it_is_given() -> None:
    data = copy.deepcopy(DEFAULT_RULES_DATA)
    parse(data)
    assert data == DEFAULT_RULES_DATA


def test_the_rules_module_never_evaluates_or_executes_text() -> None:
    source = Path(rules_module.__file__).read_text()
    assert "eval(" not in source and "exec(" not in source
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)]
    called = {n.func.id for n in calls if isinstance(n.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__"}


# --- properties -------------------------------------------------------------------------------------------

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


# Mostly valid parts with a few mistakes mixed in, so that both outcomes are common.
WHEN_PARTS = [("category", "billing"), ("tier", ["free", "scale"]), ("text_contains", ["refund", "Help"]),
              ("account_age_hours", {"lt": 24}), ("previous_tickets", {"gt": 1, "lte": 9.5}), ("type", "bug"),
              ("average_satisfaction", {"lt": 3}), ("user_type", "supplier"), ("acount_age_hours", {"lt": 1}),
              ("previous_tickets", {"over": 1}), ("average_satisfaction", {"eq": math.inf}),
              ("previous_tickets", {"lt": 10**400}), ("category", ["billing", "refund"]), ("tier", "scale"),
              ("text_contains", "question"), ("account_age_hours", {"gte": 1, "lt": 1e308})]
THEN_PARTS = [("send_canned", "refund_policy"), ("set_priority", "high"), ("add_tags", ["tag", "other"]),
              ("assign", {"agent": "U0BEABILL1"}), ("assign", {"role": "lead"}), ("escalate", True),
              ("notify_managers", "why"), ("escalate", False), ("add_tags", "two words"), ("assign", {"role": "x"}),
              ("close", True), ("set_priority", "urgent"), ("add_tags", "solo"), ("set_priority", "low"),
              ("notify_managers", True), ("send_canned", "onboarding_welcome")]


def parts(options: list[tuple[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.lists(st.sampled_from(options), max_size=4).map(dict)


rule_like = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "A", ""]), "then": parts(THEN_PARTS)},
    optional={
        "on": st.sampled_from(["created", ["customer_reply", "rating"], "closed", []]),
        "repeat": st.sampled_from([True, False, False, "yes"]),
        "when": parts(WHEN_PARTS),
        True: st.sampled_from(["rating", ["created"]]),
    },
)
rules_data = st.one_of(
    json_like,
    st.lists(rule_like, max_size=3),
    st.fixed_dictionaries({"rules": st.lists(rule_like | json_like, max_size=3)}),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(rules_data)
def test_any_json_like_data_either_parses_into_rules_that_evaluate_or_raises_rule_error(data: object) -> None:
    try:
        parsed = parse(data)
    except RuleError as error:
        assert error.problems
        return
    ticket = ticket_with(account_created_at=NOW - timedelta(hours=3), average_satisfaction=2.0)
    for event in RuleEvent:
        apply_to_ticket(ticket, fire(parsed, ticket, event), NOW)
