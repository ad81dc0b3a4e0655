"""SLA clocks: thresholds in every matrix cell, pauses that give the time back, and status changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.clocks import FakeClock
from ticketing.calendar import Calendar, as_utc
from ticketing.errors import ConfigError
from ticketing.lifecycle import TRANSITIONS
from ticketing.model import Priority, Status, Tier
from ticketing.sla import DEFAULT_SLA_MATRIX
from ticketing.sla_clock import (
    ClockKind,
    Moment,
    SlaClock,
    SlaClocks,
    SlaPolicy,
    apply_status,
    deadline,
    due,
    first_reply,
    follow_up_at,
    moment_at,
    next_moment,
    pause,
    remaining,
    resume,
    start_clock,
    start_clocks,
    stop,
    used,
)

from .builders import NOW

S, K, W, B = Status, ClockKind, Moment.WARNING, Moment.BREACH
ALWAYS = Calendar.always()
LONDON = ZoneInfo("Europe/London")
OFFICE = Calendar.weekly("Europe/London", time(9), time(17))
TICK = timedelta(microseconds=1)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


# --- every cell of the matrix, walked with a fake clock -----------------------------------------------------

CELLS = [
    pytest.param(kind, budget, id=f"{priority.value} {tier.value} {kind.value} in {budget} minutes")
    for priority, row in DEFAULT_SLA_MATRIX.items()
    for tier, target in row.items()
    for kind, budget in ((K.FIRST_RESPONSE, target.first_response), (K.RESOLUTION, target.resolution))
]


def test_the_walk_covers_both_clocks_of_all_twenty_cells() -> None:
    assert len(CELLS) == 2 * 20 == 2 * len(Priority) * len(Tier)


@pytest.mark.parametrize(("kind", "budget"), CELLS)
def test_a_fake_clock_walked_through_the_thresholds_sees_each_moment_exactly_on_time_and_once(
    kind: ClockKind, budget: int
) -> None:
    clock, fake, fired = start_clock(kind, budget, NOW), FakeClock(NOW), set[Moment]()
    warning_at, breach_at = NOW + minutes(budget * 0.75), NOW + minutes(budget)

    def due_now(already_fired: set[Moment]) -> list[Moment]:
        return due(clock, fake.now(), ALWAYS, already_fired)

    assert next_moment(clock, ALWAYS, fired) == warning_at
    fake.current = warning_at - TICK
    assert due_now(fired) == []
    fake.advance(microseconds=1)
    assert due_now(fired) == [W]
    fired.add(W)
    assert due_now(fired) == []
    assert next_moment(clock, ALWAYS, fired) == breach_at
    fake.current = breach_at - TICK
    assert due_now(set()) == [W]
    assert due_now(fired) == []
    fake.advance(microseconds=1)
    assert due_now(fired) == [B]
    assert due_now(set()) == [W, B]
    fired.add(B)
    assert next_moment(clock, ALWAYS, fired) is None
    fake.advance(days=30)
    assert due_now(fired) == []


def test_a_ticket_imported_three_hours_late_has_warning_and_breach_due_at_once() -> None:
    three_hours_ago = NOW - timedelta(hours=3)
    first, resolution = start_clocks(DEFAULT_SLA_MATRIX[Priority.CRITICAL][Tier.ENTERPRISE], three_hours_ago)
    assert (first.budget_minutes, resolution.budget_minutes) == (15, 120)

    assert due(first, NOW, ALWAYS, ()) == [W, B]
    assert due(resolution, NOW, ALWAYS, ()) == [W, B]
    assert next_moment(first, ALWAYS, ()) == three_hours_ago + minutes(11.25)  # in the past: due now
    assert remaining(first, NOW, ALWAYS) == 15 - 180


def test_a_custom_warning_fraction_moves_the_warning() -> None:
    clock = start_clock(K.RESOLUTION, 100, NOW)
    assert next_moment(clock, ALWAYS, (), warning_fraction=0.5) == NOW + minutes(50)
    assert due(clock, NOW + minutes(50), ALWAYS, (), warning_fraction=0.5) == [W]
    assert due(clock, NOW + minutes(50), ALWAYS, ()) == []


def test_thresholds_follow_business_hours() -> None:
    clock = start_clock(K.FIRST_RESPONSE, 120, london(2025, 6, 13, 16))  # a Friday at four
    assert moment_at(clock, 0.75, OFFICE) == london(2025, 6, 16, 9, 30)
    assert deadline(clock, OFFICE) == london(2025, 6, 16, 10)
    assert due(clock, london(2025, 6, 15, 12), OFFICE, ()) == []  # the weekend costs nothing
    assert used(clock, london(2025, 6, 15, 12), OFFICE) == 60
    assert due(clock, london(2025, 6, 16, 9, 30), OFFICE, ()) == [W]


def test_clocks_kept_in_local_time_compare_as_instants_across_the_repeated_hour() -> None:
    # 00:30 BST on the night London falls back; the deadline is 01:30 GMT, 120 real minutes later.
    clock = start_clock(K.RESOLUTION, 120, datetime(2025, 10, 26, 0, 30, tzinfo=LONDON))
    first_quarter_to_two = datetime(2025, 10, 26, 1, 45, tzinfo=LONDON)  # BST: 75 minutes in
    end = deadline(clock, ALWAYS)
    assert end is not None and as_utc(end) == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    assert due(clock, first_quarter_to_two, ALWAYS, ()) == []
    assert due(clock, datetime(2025, 10, 26, 1, 30, tzinfo=LONDON, fold=1), ALWAYS, ()) == [W, B]


# --- pause and resume ------------------------------------------------------------------------------------------


def test_a_60_minute_clock_paused_at_30_for_two_hours_is_due_30_minutes_after_resuming() -> None:
    clock = start_clock(K.FIRST_RESPONSE, 60, NOW)
    paused = pause(clock, NOW + minutes(30), ALWAYS)
    assert (paused.used_minutes, paused.since, paused.paused) == (30, None, True)
    assert used(paused, NOW + timedelta(hours=2, minutes=30), ALWAYS) == 30
    assert deadline(paused, ALWAYS) is None

    resumed = resume(paused, NOW + timedelta(hours=2, minutes=30))
    assert deadline(resumed, ALWAYS) == NOW + timedelta(hours=3)
    assert remaining(resumed, NOW + timedelta(hours=2, minutes=40), ALWAYS) == 20


def test_several_pauses_add_up() -> None:
    clock = start_clock(K.RESOLUTION, 60, NOW)
    clock = pause(clock, NOW + minutes(10), ALWAYS)  # 10 used
    clock = resume(clock, NOW + minutes(70))  # paused 1 hour
    clock = pause(clock, NOW + minutes(90), ALWAYS)  # 30 used
    clock = resume(clock, NOW + minutes(270))  # paused 3 hours
    assert clock.used_minutes == 30
    assert deadline(clock, ALWAYS) == NOW + minutes(60 + 60 + 180)


def test_pausing_twice_is_a_no_op() -> None:
    paused = pause(start_clock(K.RESOLUTION, 60, NOW), NOW + minutes(30), ALWAYS)
    assert pause(paused, NOW + minutes(90), ALWAYS) is paused


def test_resuming_a_running_or_stopped_clock_is_a_no_op() -> None:
    running = start_clock(K.RESOLUTION, 60, NOW)
    stopped = stop(running, NOW + minutes(5), ALWAYS)
    assert resume(running, NOW + minutes(30)) is running
    assert resume(stopped, NOW + minutes(30)) is stopped


def test_stopping_a_paused_clock_keeps_the_minutes_it_had_used() -> None:
    paused = pause(start_clock(K.FIRST_RESPONSE, 60, NOW), NOW + minutes(30), ALWAYS)
    stopped = stop(paused, NOW + minutes(200), ALWAYS)
    assert (stopped.used_minutes, stopped.stopped_at, stopped.since) == (30, NOW + minutes(200), None)
    assert used(stopped, NOW + timedelta(days=3), ALWAYS) == 30
    assert deadline(stopped, ALWAYS) is None
    assert next_moment(stopped, ALWAYS, ()) is None
    assert stop(stopped, NOW + minutes(300), ALWAYS) is stopped


def test_a_clock_stopped_after_its_deadline_is_over_budget_but_has_nothing_more_due() -> None:
    stopped = stop(start_clock(K.FIRST_RESPONSE, 60, NOW), NOW + minutes(90), ALWAYS)
    assert remaining(stopped, NOW + minutes(120), ALWAYS) == -30
    assert due(stopped, NOW + minutes(120), ALWAYS, ()) == []


def test_a_pause_moves_the_deadline_by_the_business_time_it_covered() -> None:
    # Friday 16:00 + 120 would be Monday 10:00; pausing 16:30 to Monday 09:00 takes back 30 business minutes.
    clock = pause(start_clock(K.FIRST_RESPONSE, 120, london(2025, 6, 13, 16)), london(2025, 6, 13, 16, 30), OFFICE)
    assert deadline(resume(clock, london(2025, 6, 16, 9)), OFFICE) == london(2025, 6, 16, 10, 30)


def test_a_paused_clock_past_its_warning_still_has_the_warning_due_but_no_next_moment() -> None:
    paused = pause(start_clock(K.RESOLUTION, 60, NOW), NOW + minutes(50), ALWAYS)
    assert due(paused, NOW + minutes(500), ALWAYS, ()) == [W]
    assert due(paused, NOW + minutes(500), ALWAYS, {W}) == []
    assert next_moment(paused, ALWAYS, ()) is None


def test_a_clock_paused_exactly_at_its_warning_has_reached_it() -> None:
    paused = pause(start_clock(K.RESOLUTION, 60, NOW), NOW + minutes(45), ALWAYS)
    assert due(paused, NOW + minutes(45), ALWAYS, ()) == [W]


def test_a_warning_reached_before_a_resume_outside_hours_is_at_the_resume_not_the_next_opening() -> None:
    friday = london(2025, 6, 13, 10)
    paused = pause(start_clock(K.RESOLUTION, 60, friday), friday + minutes(45), OFFICE)
    saturday = london(2025, 6, 14, 12)
    resumed = resume(paused, saturday)
    assert moment_at(resumed, 0.75, OFFICE) == saturday
    assert deadline(resumed, OFFICE) == london(2025, 6, 16, 9, 15)


def test_a_clock_resumed_past_its_warning_places_the_warning_at_the_resume() -> None:
    resumed = resume(pause(start_clock(K.RESOLUTION, 60, NOW), NOW + minutes(50), ALWAYS), NOW + minutes(100))
    assert moment_at(resumed, 0.75, ALWAYS) == NOW + minutes(100)
    assert deadline(resumed, ALWAYS) == NOW + minutes(110)


# --- status changes -----------------------------------------------------------------------------------------

LATER = NOW + minutes(30)


def _clocks(first_response: int = 60, resolution: int = 480) -> SlaClocks:
    return start_clock(K.FIRST_RESPONSE, first_response, NOW), start_clock(K.RESOLUTION, resolution, NOW)


def test_waiting_on_the_customer_pauses_both_clocks_and_coming_back_gives_the_time_back() -> None:
    waiting = apply_status(_clocks(), S.IN_PROGRESS, S.WAITING_CUSTOMER, LATER, ALWAYS)
    assert all(clock.paused and clock.used_minutes == 30 for clock in waiting)

    back = apply_status(waiting, S.WAITING_CUSTOMER, S.IN_PROGRESS, LATER + timedelta(hours=5), ALWAYS)
    assert [deadline(clock, ALWAYS) for clock in back] == [NOW + timedelta(hours=6), NOW + timedelta(hours=13)]


def test_waiting_internally_does_not_pause_unless_the_policy_says_so() -> None:
    default = apply_status(_clocks(), S.IN_PROGRESS, S.WAITING_INTERNAL, LATER, ALWAYS)
    assert all(clock.running for clock in default)

    policy = SlaPolicy(pausing_statuses=frozenset({S.WAITING_CUSTOMER, S.WAITING_INTERNAL}))
    custom = apply_status(_clocks(), S.IN_PROGRESS, S.WAITING_INTERNAL, LATER, ALWAYS, policy)
    assert all(clock.paused for clock in custom)


def test_moving_between_two_pausing_statuses_keeps_the_clocks_paused_from_the_first() -> None:
    policy = SlaPolicy(pausing_statuses=frozenset({S.WAITING_CUSTOMER, S.WAITING_INTERNAL}))
    waiting = apply_status(_clocks(), S.IN_PROGRESS, S.WAITING_CUSTOMER, LATER, ALWAYS, policy)
    still = apply_status(waiting, S.WAITING_CUSTOMER, S.WAITING_INTERNAL, LATER + minutes(60), ALWAYS, policy)
    assert still == waiting


def test_resolving_stops_the_resolution_clock_and_pauses_an_unanswered_first_response_clock() -> None:
    first, resolution = apply_status(_clocks(), S.IN_PROGRESS, S.RESOLVED, LATER, ALWAYS)
    assert (resolution.stopped_at, resolution.used_minutes) == (LATER, 30)
    assert first.paused and first.used_minutes == 30
    assert due(first, LATER + timedelta(days=5), ALWAYS, ()) == []


def test_reopening_runs_the_resolution_clock_again_with_the_minutes_it_had_left() -> None:
    resolved = apply_status(_clocks(), S.IN_PROGRESS, S.RESOLVED, LATER, ALWAYS)
    reopened_at = LATER + timedelta(days=2)
    first, resolution = apply_status(resolved, S.RESOLVED, S.IN_PROGRESS, reopened_at, ALWAYS)
    assert (resolution.since, resolution.stopped_at, resolution.used_minutes) == (reopened_at, None, 30)
    assert deadline(resolution, ALWAYS) == reopened_at + minutes(450)
    assert deadline(first, ALWAYS) == reopened_at + minutes(30)


def test_reopening_leaves_an_answered_first_response_clock_stopped() -> None:
    answered = first_reply(_clocks(), NOW + minutes(10), ALWAYS)
    resolved = apply_status(answered, S.IN_PROGRESS, S.RESOLVED, LATER, ALWAYS)
    first, _ = apply_status(resolved, S.RESOLVED, S.IN_PROGRESS, LATER + minutes(60), ALWAYS)
    assert (first.stopped_at, first.used_minutes) == (NOW + minutes(10), 10)


def test_reopening_straight_into_a_pausing_status_leaves_the_resolution_clock_paused() -> None:
    resolved = apply_status(_clocks(), S.IN_PROGRESS, S.RESOLVED, LATER, ALWAYS)
    _, resolution = apply_status(resolved, S.RESOLVED, S.WAITING_CUSTOMER, LATER + minutes(60), ALWAYS)
    assert resolution.paused and resolution.used_minutes == 30


def test_closing_a_resolved_ticket_keeps_the_resolution_time() -> None:
    resolved = apply_status(_clocks(), S.IN_PROGRESS, S.RESOLVED, LATER, ALWAYS)
    assert apply_status(resolved, S.RESOLVED, S.CLOSED, LATER + timedelta(days=7), ALWAYS) == resolved


def test_the_first_reply_stops_only_the_first_response_clock_and_for_good() -> None:
    first, resolution = first_reply(_clocks(), LATER, ALWAYS)
    assert (first.stopped_at, first.used_minutes, resolution.running) == (LATER, 30, True)

    waited = apply_status((first, resolution), S.IN_PROGRESS, S.WAITING_CUSTOMER, LATER + minutes(5), ALWAYS)
    back = apply_status(waited, S.WAITING_CUSTOMER, S.IN_PROGRESS, LATER + minutes(50), ALWAYS)
    assert back[0] == first
    assert first_reply(back, LATER + minutes(60), ALWAYS)[0] == first


def test_clocks_given_in_the_wrong_order_are_refused() -> None:
    first, resolution = _clocks()
    with pytest.raises(ValueError, match=r"must be \(first_response, resolution\)"):
        apply_status((resolution, first), S.OPEN, S.IN_PROGRESS, LATER, ALWAYS)
    with pytest.raises(ValueError, match=r"must be \(first_response, resolution\)"):
        first_reply((resolution, first), LATER, ALWAYS)


STEPS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3 * 24 * 60)), max_size=25)


@given(steps=STEPS)
def test_any_legal_walk_keeps_each_clock_in_step_with_the_status(steps: list[tuple[int, int]]) -> None:
    """Step 0 is an agent reply; others pick a legal status change. Clocks only ever use more time."""
    status, now, replied, clocks = S.OPEN, NOW, False, _clocks()
    previous = [0.0, 0.0]
    for choice, gap in steps:
        now += minutes(gap)
        before = [used(clock, now, ALWAYS) for clock in clocks]
        assert all(b >= p for b, p in zip(before, previous, strict=True))
        targets = sorted(TRANSITIONS[status])
        if choice == 0 or not targets:
            clocks, replied = first_reply(clocks, now, ALWAYS), True
        else:
            new = targets[choice % len(targets)]
            clocks, status = apply_status(clocks, status, new, now, ALWAYS), new
        first, resolution = clocks
        working = status not in (S.RESOLVED, S.CLOSED, S.WAITING_CUSTOMER)
        assert resolution.stopped == (status in (S.RESOLVED, S.CLOSED))
        assert resolution.running == working
        assert first.stopped == replied
        assert first.running == (working and not replied)
        previous = [used(clock, now, ALWAYS) for clock in clocks]
        assert previous == before
        assert used(first, now, ALWAYS) <= (now - NOW).total_seconds() / 60


# --- escalation follow-ups ---------------------------------------------------------------------------------------


def test_a_follow_up_is_due_half_the_original_clock_after_escalating() -> None:
    assert follow_up_at(NOW, 60, ALWAYS) == NOW + minutes(30)
    assert follow_up_at(NOW, 60, ALWAYS, fraction=1.0) == NOW + minutes(60)


def test_a_follow_up_counts_business_hours() -> None:
    assert follow_up_at(london(2025, 6, 13, 16, 45), 60, OFFICE) == london(2025, 6, 16, 9, 15)


@pytest.mark.parametrize(("budget", "fraction"), [(60, 0), (60, -0.5), (0, 0.5), (60, float("nan"))])
def test_a_follow_up_needs_a_positive_budget_and_fraction(budget: float, fraction: float) -> None:
    with pytest.raises(ValueError, match="positive budget and fraction"):
        follow_up_at(NOW, budget, ALWAYS, fraction)


# --- refusals -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        pytest.param({"pausing_statuses": frozenset({S.RESOLVED})}, "cannot pause them", id="resolved cannot pause"),
        pytest.param({"warning_fraction": 0}, "warning fraction must be in", id="a warning at zero"),
        pytest.param({"warning_fraction": 1.5}, "warning fraction must be in", id="a warning after the breach"),
        pytest.param({"follow_up_fraction": 0}, "follow-up fraction must be positive", id="a follow-up at once"),
    ],
)
def test_a_policy_refuses_settings_that_make_no_sense(policy: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SlaPolicy(**policy)  # type: ignore[arg-type]


def test_the_default_policy_pauses_on_waiting_customer_warns_at_75_percent_and_follows_up_at_half() -> None:
    assert SlaPolicy() == SlaPolicy(frozenset({S.WAITING_CUSTOMER}), 0.75, 0.5)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"started_at": datetime(2025, 6, 11, 9, 30)}, "started_at must be timezone-aware", id="naive"),
        pytest.param({"budget_minutes": 0}, "budget_minutes must be positive", id="no budget"),
        pytest.param({"used_minutes": -1}, "used_minutes must be >= 0", id="negative use"),
        pytest.param({"since": NOW, "stopped_at": NOW}, "running and stopped at once", id="running and stopped"),
    ],
)
def test_a_clock_refuses_an_impossible_state(fields: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"kind": K.RESOLUTION, "budget_minutes": 60, "started_at": NOW} | fields
    with pytest.raises(ValueError, match=message):
        SlaClock(**values)  # type: ignore[arg-type]


def test_a_naive_now_is_refused() -> None:
    clock = start_clock(K.RESOLUTION, 60, NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        due(clock, datetime(2025, 6, 11, 10), ALWAYS, ())
    with pytest.raises(ValueError, match="timezone-aware"):
        resume(pause(clock, LATER, ALWAYS), datetime(2025, 6, 11, 10))


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_due_refuses_a_warning_fraction_outside_zero_to_one(fraction: float) -> None:
    with pytest.raises(ValueError, match="warning_fraction"):
        due(start_clock(K.RESOLUTION, 60, NOW), LATER, ALWAYS, (), warning_fraction=fraction)
