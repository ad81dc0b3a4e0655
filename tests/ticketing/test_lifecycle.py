"""Status changes: every pair of the transition table, and the actions that move a ticket through it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest

from ticketing.errors import InvalidTransition
from ticketing.escalation import escalate
from ticketing.lifecycle import (
    TRANSITIONS,
    add_agent_reply,
    add_customer_reply,
    add_note,
    assign,
    can_move,
    close,
    move,
    resolve,
)
from ticketing.model import Message, Status, Ticket

from .builders import (
    NOW,
    a_customer_reply,
    a_system_message,
    a_ticket,
    a_ticket_in,
    an_agent_reply,
    an_internal_note,
)

S = Status
LATER = NOW + timedelta(hours=1)
EVEN_LATER = NOW + timedelta(hours=2)

# The desk's transition table, written out independently of ticketing.lifecycle.TRANSITIONS.
ALLOWED: set[tuple[Status, Status]] = {
    (S.OPEN, S.IN_PROGRESS),
    (S.OPEN, S.WAITING_CUSTOMER),
    (S.OPEN, S.WAITING_INTERNAL),
    (S.OPEN, S.RESOLVED),
    (S.IN_PROGRESS, S.WAITING_CUSTOMER),
    (S.IN_PROGRESS, S.WAITING_INTERNAL),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.WAITING_CUSTOMER, S.IN_PROGRESS),
    (S.WAITING_CUSTOMER, S.WAITING_INTERNAL),
    (S.WAITING_CUSTOMER, S.RESOLVED),
    (S.WAITING_INTERNAL, S.IN_PROGRESS),
    (S.WAITING_INTERNAL, S.WAITING_CUSTOMER),
    (S.WAITING_INTERNAL, S.RESOLVED),
    (S.RESOLVED, S.IN_PROGRESS),
    (S.RESOLVED, S.CLOSED),
}
PAIRS = list(itertools.product(Status, Status))
ALLOWED_PAIRS = [
    pytest.param(a, b, id=f"{a.value} can become {b.value}") for a, b in PAIRS if (a, b) in ALLOWED
]
REFUSED_PAIRS = [
    pytest.param(a, b, id=f"{a.value} cannot become {b.value}") for a, b in PAIRS if (a, b) not in ALLOWED
]


def test_there_are_fifteen_allowed_and_twenty_one_refused_pairs_and_the_table_agrees() -> None:
    assert (len(PAIRS), len(ALLOWED_PAIRS), len(REFUSED_PAIRS)) == (36, 15, 21)
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED


@pytest.mark.parametrize(("current", "target"), ALLOWED_PAIRS)
def test_an_allowed_move_succeeds_and_stamps_the_update_time(current: Status, target: Status) -> None:
    ticket = a_ticket_in(current)
    assert can_move(current, target)

    moved = move(ticket, target, LATER)

    assert moved.status is target
    assert moved.timeline.last_update == LATER
    assert moved.messages == ticket.messages


@pytest.mark.parametrize(("current", "target"), REFUSED_PAIRS)
def test_a_refused_move_raises_invalid_transition_naming_both_statuses(current: Status, target: Status) -> None:
    ticket = a_ticket_in(current)
    assert not can_move(current, target)

    with pytest.raises(InvalidTransition) as refused:
        move(ticket, target, LATER)

    message = str(refused.value)
    assert f"is {current.value};" in message
    assert f"cannot become {target.value}" in message
    assert ticket.id in message


@pytest.mark.parametrize(
    "current",
    [pytest.param(s, id=f"from {s.value}") for s in (S.OPEN, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.WAITING_INTERNAL)],
)
def test_moving_to_resolved_records_the_resolved_time(current: Status) -> None:
    resolved = move(a_ticket_in(current), S.RESOLVED, LATER)
    assert resolved.timeline.resolved == LATER
    assert resolved.timeline.closed is None


def test_closing_a_resolved_ticket_records_the_closed_time_and_keeps_the_resolved_time() -> None:
    resolved = resolve(a_ticket(), LATER)
    closed = close(resolved, EVEN_LATER)
    assert closed.status is S.CLOSED
    assert closed.timeline.closed == EVEN_LATER
    assert closed.timeline.resolved == LATER


def test_reopening_a_resolved_ticket_clears_the_resolved_time() -> None:
    reopened = move(resolve(a_ticket(), LATER), S.IN_PROGRESS, EVEN_LATER)
    assert reopened.status is S.IN_PROGRESS
    assert reopened.timeline.resolved is None


@pytest.mark.parametrize(
    ("current", "target"),
    [
        pytest.param(S.OPEN, S.WAITING_CUSTOMER, id="asking the customer"),
        pytest.param(S.IN_PROGRESS, S.WAITING_INTERNAL, id="waiting on the team"),
        pytest.param(S.WAITING_INTERNAL, S.IN_PROGRESS, id="back to work"),
    ],
)
def test_moves_between_working_statuses_leave_resolved_and_closed_times_empty(
    current: Status, target: Status
) -> None:
    moved = move(a_ticket_in(current), target, LATER)
    assert (moved.timeline.resolved, moved.timeline.closed) == (None, None)


# --- replies -------------------------------------------------------------------------------------------


def test_an_agent_reply_on_an_open_ticket_starts_work_and_sets_first_response_once() -> None:
    first = an_agent_reply("Hi Amelia, looking into it now.", at=LATER)
    second = an_agent_reply("Found it: try again now.", at=EVEN_LATER)

    working = add_agent_reply(a_ticket(), first)
    again = add_agent_reply(working, second)

    assert working.status is S.IN_PROGRESS
    assert working.timeline.first_response == LATER
    assert again.timeline.first_response == LATER
    assert again.timeline.last_update == EVEN_LATER
    assert again.messages[-2:] == (first, second)


@pytest.mark.parametrize(
    "current",
    [pytest.param(s, id=f"{s.value} stays {s.value}") for s in (S.IN_PROGRESS, S.WAITING_CUSTOMER, S.WAITING_INTERNAL)],
)
def test_an_agent_reply_on_a_ticket_already_being_worked_keeps_its_status(current: Status) -> None:
    replied = add_agent_reply(a_ticket_in(current), an_agent_reply(at=LATER))
    assert replied.status is current
    assert replied.timeline.first_response == LATER


def test_an_agent_reply_on_a_resolved_ticket_does_not_reopen_it() -> None:
    resolved = resolve(a_ticket(), LATER)
    replied = add_agent_reply(resolved, an_agent_reply("Glad that worked!", at=EVEN_LATER))
    assert replied.status is S.RESOLVED
    assert replied.timeline.resolved == LATER


@pytest.mark.parametrize(
    "current",
    [pytest.param(s, id=f"from {s.value}") for s in (S.OPEN, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.WAITING_INTERNAL)],
)
def test_an_agent_reply_containing_the_resolved_marker_resolves_the_ticket(current: Status) -> None:
    reply = an_agent_reply("That is fixed now, your form saves again. [RESOLVED]", at=LATER)

    resolved = add_agent_reply(a_ticket_in(current), reply)

    assert resolved.status is S.RESOLVED
    assert resolved.timeline.resolved == LATER
    assert resolved.timeline.first_response == LATER
    assert resolved.messages[-1] == reply


def test_the_resolved_marker_on_an_already_resolved_ticket_keeps_the_first_resolved_time() -> None:
    resolved = resolve(a_ticket(), LATER)
    again = add_agent_reply(resolved, an_agent_reply("[RESOLVED] for good", at=EVEN_LATER))
    assert again.status is S.RESOLVED
    assert again.timeline.resolved == LATER


def test_a_customer_reply_on_waiting_customer_puts_the_ticket_back_in_progress() -> None:
    reply = a_customer_reply("Here is the screenshot you asked for.", at=LATER)
    answered = add_customer_reply(a_ticket_in(S.WAITING_CUSTOMER), reply)
    assert answered.status is S.IN_PROGRESS
    assert answered.messages[-1] == reply
    assert answered.timeline.last_update == LATER


def test_a_customer_reply_on_a_resolved_ticket_reopens_it_and_clears_the_resolved_time() -> None:
    resolved = resolve(a_ticket(), LATER)
    reopened = add_customer_reply(resolved, a_customer_reply("Sorry, it is happening again.", at=EVEN_LATER))
    assert reopened.status is S.IN_PROGRESS
    assert reopened.timeline.resolved is None
    assert reopened.timeline.last_update == EVEN_LATER


@pytest.mark.parametrize(
    "current",
    [pytest.param(s, id=f"{s.value} stays {s.value}") for s in (S.OPEN, S.IN_PROGRESS, S.WAITING_INTERNAL)],
)
def test_a_customer_reply_elsewhere_is_recorded_without_a_status_change(current: Status) -> None:
    ticket = a_ticket_in(current)
    replied = add_customer_reply(ticket, a_customer_reply(at=LATER))
    assert replied.status is current
    assert len(replied.messages) == len(ticket.messages) + 1
    assert replied.timeline.first_response is None


def test_the_resolve_action_resolves_with_the_given_time() -> None:
    resolved = resolve(a_ticket_in(S.WAITING_INTERNAL), LATER)
    assert (resolved.status, resolved.timeline.resolved) == (S.RESOLVED, LATER)


def test_an_open_ticket_cannot_be_closed_without_being_resolved_first() -> None:
    with pytest.raises(InvalidTransition, match="cannot become closed"):
        close(a_ticket(), LATER)


# --- notes and assignment ------------------------------------------------------------------------------


def test_an_internal_note_is_recorded_without_changing_status_or_first_response() -> None:
    note = an_internal_note(at=LATER)
    noted = add_note(a_ticket(), note)
    assert noted.status is S.OPEN
    assert noted.timeline.first_response is None
    assert noted.internal_notes == (note,)
    assert note not in noted.public_messages


def test_a_public_system_message_is_accepted_as_a_note() -> None:
    message = a_system_message(at=LATER)
    noted = add_note(a_ticket(), message)
    assert noted.messages[-1] == message
    assert noted.status is S.OPEN


def test_assigning_sets_the_agent_and_the_time_and_unassigning_clears_both() -> None:
    assigned = assign(a_ticket(), "U_PRIYA", LATER)
    unassigned = assign(assigned, None, EVEN_LATER)
    assert (assigned.assignee, assigned.assigned_at, assigned.timeline.last_update) == ("U_PRIYA", LATER, LATER)
    assert (unassigned.assignee, unassigned.assigned_at) == (None, None)
    assert unassigned.timeline.last_update == EVEN_LATER


def test_a_resolved_ticket_can_still_be_assigned() -> None:
    assert assign(resolve(a_ticket(), LATER), "U_PRIYA", EVEN_LATER).assignee == "U_PRIYA"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        pytest.param(lambda t: add_agent_reply(t, an_agent_reply(at=EVEN_LATER)), "takes no more replies",
                     id="an agent reply"),
        pytest.param(lambda t: add_customer_reply(t, a_customer_reply(at=EVEN_LATER)), "belongs in a new ticket",
                     id="a customer reply"),
        pytest.param(lambda t: assign(t, "U_PRIYA", EVEN_LATER), "cannot be assigned", id="an assignment"),
        pytest.param(lambda t: assign(t, None, EVEN_LATER), "cannot be assigned", id="an unassignment"),
        pytest.param(lambda t: resolve(t, EVEN_LATER), "cannot become resolved", id="resolving"),
        pytest.param(lambda t: close(t, EVEN_LATER), "cannot become closed", id="closing again"),
        pytest.param(lambda t: escalate(t, "customer is upset", EVEN_LATER), "reopen it before escalating",
                     id="an escalation"),
    ],
)
def test_a_closed_ticket_refuses(action: Callable[[Ticket], Ticket], message: str) -> None:
    closed = a_ticket_in(S.CLOSED)
    with pytest.raises(InvalidTransition, match=message):
        action(closed)


@pytest.mark.parametrize("target", [pytest.param(s, id=f"becoming {s.value}") for s in Status])
def test_a_closed_ticket_refuses_every_move(target: Status) -> None:
    with pytest.raises(InvalidTransition, match="nothing, it is final"):
        move(a_ticket_in(S.CLOSED), target, EVEN_LATER)


# --- wrong kinds of message ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "message"),
    [
        pytest.param(add_agent_reply, a_customer_reply(), id="an agent reply refuses a customer message"),
        pytest.param(add_agent_reply, an_internal_note(), id="an agent reply refuses an internal note"),
        pytest.param(add_customer_reply, an_agent_reply(), id="a customer reply refuses an agent message"),
        pytest.param(add_note, an_agent_reply(), id="a note refuses a public agent reply"),
        pytest.param(add_note, a_customer_reply(), id="a note refuses a public customer reply"),
    ],
)
def test_each_action_refuses_the_wrong_kind_of_message(
    action: Callable[[Ticket, Message], Ticket], message: Message
) -> None:
    with pytest.raises(ValueError):
        action(a_ticket(), message)


# --- known problems ------------------------------------------------------------------------------------


def test_a_closed_ticket_refuses_an_internal_note() -> None:
    with pytest.raises(InvalidTransition):
        add_note(a_ticket_in(S.CLOSED), an_internal_note(at=EVEN_LATER))


def test_a_message_stamped_before_the_last_update_does_not_move_last_update_backwards() -> None:
    assigned = assign(a_ticket(), "U_PRIYA", EVEN_LATER)
    late = add_customer_reply(assigned, a_customer_reply("sent an hour ago", at=LATER))
    assert late.timeline.last_update >= EVEN_LATER

