"""The digest message: within Slack's limits with any number of tickets at risk, customer text escaped, the
card's action ids, and each figure against its target."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from blocks.digest import DigestNumbers, build_digest, figure_text
from tests.ticketing.builders import NOW, a_customer, a_ticket
from ticketing.model import Ticket
from ticketing.report_model import Better, Figure, Period
from ticketing.reports import build_summary

from .slack_checks import all_text, check_message

EVIL = "<!channel> <@U123> & <b>"
EVIL_ESCAPED = "&lt;!channel&gt; &lt;@U123&gt; &amp; &lt;b&gt;"


def numbers(title: str = "Billing team") -> DigestNumbers:
    empty = build_summary([], Period(NOW - timedelta(days=1), NOW), {})
    return DigestNumbers(title, date(2025, 6, 10), 0, 0, empty, 0, 0, empty)


def risky(number: int) -> Ticket:
    ticket = a_ticket(customer=a_customer(name=EVIL, email=f"x{number}@example.com"), subject=f"{EVIL} {number}")
    due = NOW - timedelta(minutes=number)
    return replace(ticket, id=f"BIL-TEST{number:04d}-ABC", sla=replace(ticket.sla, first_response_due=due))


def test_thirty_tickets_at_risk_fit_the_message_ten_shown_and_the_rest_counted() -> None:
    text, blocks = build_digest(numbers(EVIL), [risky(n) for n in range(30)], more=0, now=NOW)
    dicts = check_message(text, blocks)
    actions = [b for b in dicts if b["type"] == "actions"]
    assert len(actions) == 10
    assert [e["action_id"] for e in actions[0]["elements"]] == ["assign_me", "assign_pick", "reply"]
    assert actions[0]["block_id"] == "card_actions:BIL-TEST0000-ABC" and actions[0]["elements"][0]["value"] == \
        "BIL-TEST0000-ABC"
    shown = all_text(text, dicts)
    assert "and 20 more" in shown and "(30)" in shown
    assert EVIL not in shown and EVIL_ESCAPED in shown


def test_nothing_at_risk_and_no_data_yet() -> None:
    text, blocks = build_digest(numbers(), [], more=0, now=NOW)
    shown = all_text(text, check_message(text, blocks))
    assert "nothing near its SLA" in shown
    assert "*First response (avg)*\nno data · target 30 min\nno data to compare last week" in shown


def test_a_figure_reads_against_its_target_and_last_week_in_the_direction_that_is_better() -> None:
    lower = Figure(45.0, 30.0, 30.0, "min", met=False, better=Better.LOWER)
    assert figure_text("First response", lower, replace(lower, value=30.0)) == \
        "*First response*\n⚠️ 45 min · target 30 min\n▲ 15 min vs last week 👎"
    higher = Figure(96.0, 95.0, None, "%", met=True, better=Better.HIGHER)
    assert figure_text("SLA", higher, replace(higher, value=90.0)) == \
        "*SLA*\n✅ 96% · target 95%\n▲ 6 pts vs last week 👍"


