"""Properties: no sequence of actions takes a ticket into an invalid state; ids and matrices in general."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ticketing.errors import ConfigError, InvalidTransition
from ticketing.escalation import escalate
from ticketing.ids import build_ticket_id
from ticketing.lifecycle import (
    add_agent_reply,
    add_customer_reply,
    add_note,
    assign,
    close,
    move,
    resolve,
)
from ticketing.model import PRIORITY_LADDER, Author, Category, Message, Priority, Status, Ticket, Tier, Visibility
from ticketing.sla import DEFAULT_SLA_MATRIX, SlaTarget, check_matrix

from .builders import NOW, a_customer, a_request, created_ticket

S = Status
WORKING = (S.OPEN, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.WAITING_INTERNAL)
# The table, written out: the property must not trust ticketing.lifecycle.TRANSITIONS.
ALLOWED = {
    S.OPEN: {S.IN_PROGRESS, S.WAITING_CUSTOMER, S.WAITING_INTERNAL, S.RESOLVED},
    S.IN_PROGRESS: {S.WAITING_CUSTOMER, S.WAITING_INTERNAL, S.RESOLVED},
    S.WAITING_CUSTOMER: {S.IN_PROGRESS, S.WAITING_INTERNAL, S.RESOLVED},
    S.WAITING_INTERNAL: {S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED},
    S.RESOLVED: {S.IN_PROGRESS, S.CLOSED},
    S.CLOSED: set(),
}

minutes = st.integers(min_value=0, max_value=3 * 24 * 60)


class TicketLife(RuleBasedStateMachine):
    """Drives one ticket through random actions, a clock that only moves forward, and checks every step."""

    ticket: Ticket
    now: datetime

    @initialize(
        tier=st.sampled_from(Tier),
        priority=st.sampled_from(Priority),
        description=st.sampled_from([
            "My enquiry form won't save",
            "The dashboard is slow",
            "Payment failed on renewal",
            "How do I add my logo?",
        ]),
    )
    def create(self, tier: Tier, priority: Priority, description: str) -> None:
        request = a_request(customer=a_customer(tier=tier), description=description, priority=priority)
        self.ticket = created_ticket(request, now=NOW).ticket
        self.now = NOW
        self.serial = 0

    # --- helpers -------------------------------------------------------------------------------------

    def _tick(self, delta: int) -> datetime:
        self.now += timedelta(minutes=delta)
        return self.now

    def _message(self, author: Author, body: str, visibility: Visibility = Visibility.PUBLIC) -> Message:
        self.serial += 1
        return Message(f"m-{self.serial}", author, body, self.now, visibility=visibility)

    def _apply(self, action: Callable[[Ticket], Ticket], refused_iff: bool) -> None:
        """Run an action; a refusal must raise InvalidTransition and leave the ticket as it was."""
        before = self.ticket
        try:
            after = action(before)
        except InvalidTransition:
            assert refused_iff, f"refused although allowed, from {before.status}"
            return
        assert not refused_iff, f"allowed although it should be refused, from {before.status}"
        self._check_step(before, after)
        self.ticket = after

    def _check_step(self, before: Ticket, after: Ticket) -> None:
        assert before.status is not S.CLOSED, "a closed ticket changed"
        assert (after.id, after.timeline.created) == (before.id, before.timeline.created)
        if before.timeline.first_response is not None:
            assert after.timeline.first_response == before.timeline.first_response
        assert after.escalation.level >= before.escalation.level
        assert PRIORITY_LADDER.index(after.priority) >= PRIORITY_LADDER.index(before.priority)
        assert after.messages[: len(before.messages)] == before.messages
        assert len(after.messages) >= len(before.messages)
        assert after.timeline.last_update >= before.timeline.last_update
        if after.status is not before.status:
            assert after.status in ALLOWED[before.status]

    # --- actions -------------------------------------------------------------------------------------

    @rule(delta=minutes, marker=st.booleans())
    def agent_reply(self, delta: int, marker: bool) -> None:
        self._tick(delta)
        body = "All sorted now. [RESOLVED]" if marker else "Looking into it."
        message = self._message(Author.AGENT, body)
        self._apply(lambda t: add_agent_reply(t, message), refused_iff=self.ticket.status is S.CLOSED)

    @rule(delta=minutes)
    def customer_reply(self, delta: int) -> None:
        self._tick(delta)
        message = self._message(Author.CUSTOMER, "Any news?")
        self._apply(lambda t: add_customer_reply(t, message), refused_iff=self.ticket.status is S.CLOSED)

    # Notes on a closed ticket are accepted by the core: the known bug pinned by
    # test_lifecycle.py::test_a_closed_ticket_refuses_an_internal_note. Left out here so the other
    # invariants keep being checked.
    @precondition(lambda self: self.ticket.status is not S.CLOSED)
    @rule(delta=minutes, system=st.booleans())
    def note(self, delta: int, system: bool) -> None:
        self._tick(delta)
        if system:
            message = self._message(Author.SYSTEM, "Reminder sent.")
        else:
            message = self._message(Author.AGENT, "Checked logs.", Visibility.INTERNAL)
        status = self.ticket.status
        self._apply(lambda t: add_note(t, message), refused_iff=False)
        assert self.ticket.status is status

    @rule(delta=minutes, status=st.sampled_from(Status))
    def move_to(self, delta: int, status: Status) -> None:
        now = self._tick(delta)
        self._apply(lambda t: move(t, status, now), refused_iff=status not in ALLOWED[self.ticket.status])

    @rule(delta=minutes)
    def resolve_it(self, delta: int) -> None:
        now = self._tick(delta)
        self._apply(lambda t: resolve(t, now), refused_iff=self.ticket.status not in WORKING)

    @rule(delta=minutes)
    def close_it(self, delta: int) -> None:
        now = self._tick(delta)
        self._apply(lambda t: close(t, now), refused_iff=self.ticket.status is not S.RESOLVED)

    @rule(delta=minutes, agent=st.sampled_from(["U_SAM", "U_PRIYA", None]))
    def assign_to(self, delta: int, agent: str | None) -> None:
        now = self._tick(delta)
        self._apply(lambda t: assign(t, agent, now), refused_iff=self.ticket.status is S.CLOSED)

    @rule(delta=minutes)
    def escalate_it(self, delta: int) -> None:
        now = self._tick(delta)
        level = self.ticket.escalation.level
        self._apply(
            lambda t: escalate(t, "customer chasing", now),
            refused_iff=self.ticket.status in (S.RESOLVED, S.CLOSED),
        )
        if self.ticket.status not in (S.RESOLVED, S.CLOSED):
            assert self.ticket.escalation.level == level + 1

    # --- invariants ----------------------------------------------------------------------------------

    @invariant()
    def status_is_a_status(self) -> None:
        assert isinstance(self.ticket.status, Status)

    @invariant()
    def resolved_time_is_set_exactly_when_resolved_or_closed(self) -> None:
        timeline = self.ticket.timeline
        assert (timeline.resolved is not None) is (self.ticket.status in (S.RESOLVED, S.CLOSED))
        if timeline.resolved is not None:
            assert timeline.created <= timeline.resolved <= timeline.last_update

    @invariant()
    def closed_time_is_set_exactly_when_closed(self) -> None:
        timeline = self.ticket.timeline
        assert (timeline.closed is not None) is (self.ticket.status is S.CLOSED)
        if timeline.closed is not None and timeline.resolved is not None:
            assert timeline.resolved <= timeline.closed

    @invariant()
    def first_response_is_never_before_creation(self) -> None:
        first = self.ticket.timeline.first_response
        assert first is None or first >= self.ticket.timeline.created

    @invariant()
    def first_response_comes_with_an_agent_reply(self) -> None:
        has_agent_reply = any(
            m.author is Author.AGENT and m.visibility is Visibility.PUBLIC for m in self.ticket.messages
        )
        assert (self.ticket.timeline.first_response is not None) is has_agent_reply

    @invariant()
    def last_update_is_never_in_the_future(self) -> None:
        assert self.ticket.timeline.last_update <= self.now

    @invariant()
    def assignment_time_goes_with_an_assignee(self) -> None:
        assert (self.ticket.assigned_at is None) is (self.ticket.assignee is None)


TicketLife.TestCase.settings = settings(
    max_examples=200, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_no_sequence_of_actions_reaches_an_invalid_ticket = TicketLife.TestCase


# --- general properties of ids and SLA matrices --------------------------------------------------------

ID_FORMAT = re.compile(r"^[A-Z]+-[0-9A-Z]+-[0-9A-Z]{3}$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(
    category=st.sampled_from(Category),
    moment=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_any_id_has_the_documented_shape_and_decodes_to_its_millisecond(
    category: Category, moment: datetime, seed: int
) -> None:
    ticket_id = build_ticket_id(category, moment, random.Random(seed))
    assert ID_FORMAT.match(ticket_id)
    assert len(ticket_id) <= 20
    assert int(ticket_id.split("-")[1], 36) == (moment - EPOCH) // timedelta(milliseconds=1)


@settings(max_examples=200, deadline=None)
@given(
    priority=st.sampled_from(Priority),
    tier=st.sampled_from(Tier),
    first_response=st.integers(min_value=-100, max_value=10_000),
    resolution=st.integers(min_value=-100, max_value=10_000),
)
def test_check_matrix_accepts_a_cell_exactly_when_it_is_positive_and_ordered(
    priority: Priority, tier: Tier, first_response: int, resolution: int
) -> None:
    matrix = {p: dict(row) for p, row in DEFAULT_SLA_MATRIX.items()}
    matrix[priority][tier] = SlaTarget(first_response, resolution)
    valid = 0 < first_response <= resolution
    try:
        check_matrix(matrix)
    except ConfigError as refused:
        assert not valid
        assert f"sla.{priority.value}.{tier.value}" in str(refused)
    else:
        assert valid
