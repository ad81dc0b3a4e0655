"""Thread messages (undo window, confirmations, escalations, SLA alarms) and the founder's DM."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from blocks.card import build_ticket_card
from blocks.founder import build_founder_dm
from blocks.messages import (
    SlaClock,
    breach_line,
    build_escalation_message,
    build_kept_as_note_message,
    build_sent_message,
    build_sla_breach,
    build_sla_warning,
    build_undo_message,
    build_undone_message,
)
from tests.ticketing.builders import (
    NOW,
    a_customer,
    a_customer_reply,
    a_system_message,
    a_ticket,
    a_ticket_in,
    an_agent_reply,
    an_internal_note,
)
from ticketing.escalation import EscalationRole, EscalationTarget, escalate
from ticketing.model import Status

from .slack_checks import all_text, check_message

EVIL = "<!channel> <@U123> & <b>"
EVIL_ESCAPED = "&lt;!channel&gt; &lt;@U123&gt; &amp; &lt;b&gt;"


def shown(built: tuple[str, list[Any]]) -> str:
    text, blocks = built
    return all_text(text, check_message(text, blocks))


def buttons(built: tuple[str, list[Any]]) -> list[dict[str, Any]]:
    text, blocks = built
    return [e for b in check_message(text, blocks) if b["type"] == "actions" for e in b["elements"]]


def test_the_undo_message_gives_30_seconds_and_three_buttons_carrying_the_pending_reply_id() -> None:
    built = build_undo_message("pending-42")

    assert "Will email this to the customer in 30 s" in shown(built)
    assert [(b["text"]["text"], b["action_id"], b["value"]) for b in buttons(built)] == [
        ("Undo", "undo_send", "pending-42"),
        ("Send now", "send_now", "pending-42"),
        ("Keep as note", "keep_note", "pending-42"),
    ]


def test_the_undo_message_refuses_an_empty_pending_id() -> None:
    with pytest.raises(ValueError):
        build_undo_message("")


def test_the_confirmation_names_the_agent_who_emailed() -> None:
    text = shown(build_sent_message("U0SAMPATEL", at=NOW))

    assert "Emailed to the customer by <@U0SAMPATEL>" in text
    assert "<!date^" in text


def test_undone_and_kept_as_note_say_the_customer_got_nothing() -> None:
    assert "<@U0SAMPATEL> undid it" in shown(build_undone_message("U0SAMPATEL"))
    assert "Kept as an internal note by <@U0SAMPATEL>" in shown(build_kept_as_note_message("U0SAMPATEL"))


def test_level_1_mentions_the_senior_agent() -> None:
    ticket = escalate(a_ticket(), "customer waiting two days", NOW)

    text = shown(build_escalation_message(ticket, EscalationTarget(1, EscalationRole.SENIOR, "USENIOR01"), by="U0SAM"))

    assert "Escalated to level 1: <@USENIOR01> (senior agent)" in text
    assert "customer waiting two days" in text
    assert "Escalated by <@U0SAM>" in text


def test_level_1_without_a_senior_names_the_team_in_plain_text() -> None:
    ticket = escalate(a_ticket(), "slow", NOW)

    text = shown(build_escalation_message(ticket, EscalationTarget(1, EscalationRole.SENIOR, None)))

    assert f"the *{ticket.team}* team has no senior agent set" in text
    assert "subteam" not in text and "<!" not in text.replace("<!date^", "")


def test_level_2_mentions_the_lead() -> None:
    ticket = escalate(escalate(a_ticket(), "slow", NOW), "slower", NOW)

    text = shown(build_escalation_message(ticket, EscalationTarget(2, EscalationRole.LEAD, "ULEAD0001")))

    assert "Escalated to level 2: <@ULEAD0001> (team lead)" in text


def test_level_3_says_the_founder_has_been_told_without_mentioning_them() -> None:
    ticket = a_ticket()

    text = shown(build_escalation_message(ticket, EscalationTarget(3, EscalationRole.FOUNDER, "UFOUNDER01")))

    assert "the founder has been told" in text
    assert "UFOUNDER01" not in text


def test_the_escalation_reason_is_escaped() -> None:
    ticket = escalate(a_ticket(), EVIL, NOW)

    assert EVIL_ESCAPED in shown(build_escalation_message(ticket, EscalationTarget(1, EscalationRole.SENIOR, None)))


@pytest.mark.parametrize("clock", list(SlaClock))
def test_the_sla_warning_mentions_the_assignee_and_the_deadline(clock: SlaClock) -> None:
    ticket = a_ticket(assignee="U0SAMPATEL")

    text = shown(build_sla_warning(ticket, NOW, clock=clock))

    assert f"75% of the {clock.value.replace('_', ' ')} time on {ticket.id} is gone" in text
    assert "<@U0SAMPATEL>" in text
    assert "<!date^" in text


def test_the_sla_warning_for_an_unassigned_ticket_names_the_team_without_pinging_a_group() -> None:
    ticket = a_ticket()

    text = shown(build_sla_warning(ticket, NOW, clock=SlaClock.FIRST_RESPONSE))

    assert f"the *{ticket.team}* team, can someone take it?" in text
    assert "subteam" not in text


@pytest.mark.parametrize("clock", list(SlaClock))
def test_the_sla_breach_says_how_late_and_who_should_act(clock: SlaClock) -> None:
    ticket = a_ticket(assignee="U0SAMPATEL")
    due = ticket.sla.first_response_due if clock is SlaClock.FIRST_RESPONSE else ticket.sla.resolution_due

    text = shown(build_sla_breach(ticket, due + timedelta(minutes=20), clock=clock))

    assert "SLA breached on" in text
    assert "overdue by 20 min" in text
    assert "<@U0SAMPATEL>" in text


def test_the_breach_line_fits_the_card() -> None:
    ticket = a_ticket()
    late = ticket.sla.first_response_due + timedelta(minutes=45)

    text, blocks = build_ticket_card(
        ticket, late, customer_label="A", assignee_name=None, reason="",
        breach=breach_line(ticket, late, SlaClock.FIRST_RESPONSE),
    )

    assert "First response SLA breached: overdue by 45 min" in all_text(text, check_message(text, blocks))


def founder_ticket(**overrides: Any) -> Any:
    ticket = a_ticket(**overrides)
    messages = (
        *ticket.messages,
        an_agent_reply("We're on it."),
        an_internal_note("Looks like a Stripe webhook failure"),
        a_customer_reply("Still broken!"),
        a_system_message("Escalated to level 3."),
    )
    ticket = replace(ticket, messages=messages)
    for level in range(3):
        ticket = escalate(ticket, f"reason {level}", NOW)
    return ticket


def test_the_founder_dm_summarises_the_ticket_with_its_recent_history_and_three_buttons() -> None:
    ticket = founder_ticket()

    built = build_founder_dm(ticket, NOW, customer_label="Amelia Hart", permalink="https://wedsync.slack.com/p1")

    text = shown(built)
    assert f"Escalated to you: {ticket.id}" in text
    assert "Level 3" in text
    assert "Still broken!" in text and "Stripe webhook" in text and "_internal note_" in text
    assert "*History*: the last 5" in text
    assert "Hello, I have a question" in text
    assert [(b["text"]["text"], b["action_id"]) for b in buttons(built)] == [
        ("Acknowledge", "acknowledge"),
        ("Assign to me", "founder_assign_me"),
        ("Open the thread", "open_thread"),
    ]
    assert buttons(built)[0]["value"] == buttons(built)[1]["value"] == ticket.id
    assert buttons(built)[2]["url"] == "https://wedsync.slack.com/p1"


def test_the_founder_dm_shows_only_the_last_few_messages_cut() -> None:
    ticket = founder_ticket()
    ticket = replace(ticket, messages=(*ticket.messages, a_customer_reply("long " * 1000)))

    built = build_founder_dm(ticket, NOW, customer_label="Amelia", history=2)

    text = shown(built)
    assert "*History*: the last 2 of 6" in text
    assert "We're on it." not in text
    assert "long long" in text and "…" in text


def test_the_founder_dm_without_a_permalink_has_no_link_button() -> None:
    built = build_founder_dm(founder_ticket(), NOW, customer_label="Amelia")

    assert [b["action_id"] for b in buttons(built)] == ["acknowledge", "founder_assign_me"]


def test_customer_text_is_escaped_in_the_founder_dm() -> None:
    ticket = founder_ticket(subject=EVIL, customer=a_customer(name=EVIL))
    ticket = replace(ticket, messages=(*ticket.messages, a_customer_reply(EVIL)))

    text = shown(build_founder_dm(ticket, NOW, customer_label=EVIL))

    assert text.count(EVIL_ESCAPED) >= 3
    assert "<!channel>" not in text and "<@U123>" not in text


def test_customer_text_is_escaped_in_the_thread_messages() -> None:
    ticket = escalate(a_ticket(subject=EVIL), EVIL, NOW)

    for built in (
        build_escalation_message(ticket, EscalationTarget(1, EscalationRole.SENIOR, None)),
        build_sla_warning(ticket, NOW, clock=SlaClock.RESOLUTION),
        build_sla_breach(ticket, NOW + timedelta(days=9), clock=SlaClock.RESOLUTION),
    ):
        text = shown(built)
        assert EVIL_ESCAPED in text
        assert "<!channel>" not in text


def test_a_resolved_tickets_breach_mentions_nobody() -> None:
    ticket = a_ticket_in(Status.RESOLVED, assignee="U0SAMPATEL")

    assert "<@" not in shown(build_sla_breach(ticket, NOW + timedelta(days=9), clock=SlaClock.RESOLUTION))
