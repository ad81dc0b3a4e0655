"""The report rules on hand-made facts: percentiles, business-hours fallback, trends, backlog, targets, exact
means and the tallies the store hands over."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, time, timedelta

import pytest

from ticketing.calendar import Calendar
from ticketing.reports import (
    BREACHED,
    CRITICAL,
    DEFLECTED,
    ESCALATED,
    RESOLVED,
    BacklogBucket,
    Period,
    TicketFacts,
    build_backlog,
    build_dashboard,
    build_trends,
    created_tally,
    first_response_minutes,
    open_at,
    percentile,
    period_totals,
    resolution_minutes,
    was_open,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday
OFFICE = {"billing_team": Calendar.weekly("Europe/London", time(9), time(17))}


def facts(n: int, created: datetime, **values: object) -> TicketFacts:
    base: dict[str, object] = dict(id=f"T{n}", team="billing_team", category="billing", priority="medium",
                                   tier="free", status="open", created_at=created)
    base.update(values)
    return TicketFacts(**base)  # type: ignore[arg-type]


def test_percentiles_interpolate_between_ranks_like_numpy() -> None:
    assert percentile([10, 20, 45], 0.5) == 20
    assert percentile([10, 20, 45], 0.9) == pytest.approx(40)
    assert percentile([7], 0.9) == 7 and percentile([], 0.5) is None


def test_without_the_clocks_minutes_the_teams_business_hours_count() -> None:
    friday_evening = datetime(2026, 11, 13, 16, 30, tzinfo=UTC)
    monday = datetime(2026, 11, 16, 9, 15, tzinfo=UTC)
    ticket = facts(1, friday_evening, first_response_at=monday, resolved_at=monday + timedelta(hours=1))
    assert first_response_minutes(ticket, OFFICE) == 45  # 30 on Friday, 15 on Monday
    assert resolution_minutes(ticket, OFFICE) == 105
    assert first_response_minutes(ticket, {}) == (monday - friday_evening).total_seconds() / 60  # no hours: wall
    clocked = facts(2, friday_evening, first_response_at=monday, first_response_clock_minutes=12.0)
    assert first_response_minutes(clocked, OFFICE) == 12  # the SLA clock's own count (pauses left out) wins


def test_a_trend_needs_twice_the_usual_weekly_volume_and_three_tickets() -> None:
    history = [facts(n, NOW - timedelta(days=8 + 7 * (n % 4)), category="refund") for n in range(8)]  # 2 a week
    this_week = [facts(100 + n, NOW - timedelta(days=1), category="refund") for n in range(4)]
    assert [t.key for t in build_trends(history + this_week, NOW)] == ["category:refund"]  # 4 >= 2 x 2
    assert build_trends(history + this_week[:3], NOW) == []  # 3 < 2 x 2
    fresh = [facts(200 + n, NOW - timedelta(hours=n + 1), category="bug", tags=("stripe",)) for n in range(3)]
    found = {t.key: t for t in build_trends(fresh, NOW)}
    assert set(found) == {"category:bug", "tag:stripe"} and found["tag:stripe"].ticket_ids == ("T200", "T201", "T202")
    assert build_trends(fresh[:2], NOW) == []  # two tickets are no trend, whatever the usual


def test_the_backlog_buckets_open_tickets_by_age() -> None:
    tickets = [facts(1, NOW - timedelta(hours=1)), facts(2, NOW - timedelta(hours=5)),
               facts(3, NOW - timedelta(days=2)), facts(4, NOW - timedelta(days=5)), facts(5, NOW - timedelta(days=30)),
               facts(6, NOW - timedelta(days=30), status="resolved", resolved_at=NOW)]
    assert build_backlog(tickets, NOW) == [BacklogBucket("< 4 h", 1), BacklogBucket("4-24 h", 1),
                                           BacklogBucket("1-3 days", 1), BacklogBucket("3-7 days", 1),
                                           BacklogBucket("> 7 days", 1)]


def test_open_at_a_past_moment_counts_tickets_resolved_only_later() -> None:
    moment = NOW - timedelta(days=7)
    tickets = [facts(1, moment - timedelta(days=1), status="resolved", resolved_at=moment + timedelta(hours=1)),
               facts(2, moment - timedelta(days=1), status="resolved", resolved_at=moment - timedelta(hours=1)),
               facts(3, moment + timedelta(hours=1))]
    assert [f.id for f in open_at(tickets, moment)] == ["T1"]


def test_a_merged_ticket_counts_nowhere_and_targets_point_the_right_way() -> None:
    survivor = facts(1, NOW - timedelta(hours=2), escalation_level=1)
    merged = facts(2, NOW - timedelta(hours=1), merged_into="T1", escalation_level=1)
    board = build_dashboard([survivor, merged], NOW, 7, None, OFFICE)
    assert board.summary.open_total == 1
    escalation = board.summary.escalation_rate
    assert (escalation.value, escalation.met) == (100, False)  # lower is better: 100% misses 10%
    assert board.summary.csat.value is None and not board.summary.csat.met  # no ratings: no value, not met


def test_a_period_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="must end after"):
        Period(NOW, NOW)
    with pytest.raises(ValueError, match="days must be 1 or more"):
        Period.last_days(NOW, 0)
    assert Period.last_days(NOW, 7).previous() == Period(NOW - timedelta(days=14), NOW - timedelta(days=7))


def test_a_previous_periods_mean_is_the_exact_mean_of_its_times() -> None:
    """The previous period's mean comes from its totals (what the store sums): math.fsum of the times, so it is
    statistics.fmean's, where adding them one after the other would be off in the last digit."""
    minutes = [23.7964627, 54.4229225, 36.9955167, 60.3920039, 62.5720304, 6.5528859]
    before = NOW - timedelta(days=10)
    tickets = [facts(n, before + timedelta(hours=n), first_response_at=before + timedelta(hours=n, minutes=1),
                     first_response_clock_minutes=m) for n, m in enumerate(minutes)]
    assert sum(minutes) / 6 != math.fsum(minutes) / 6  # the case that matters
    board = build_dashboard(tickets, NOW, 7, None, {})
    assert board.summary.first_response.previous == statistics.fmean(minutes)
    totals = period_totals(tickets, Period.last_days(NOW, 7).previous(), {})
    assert (totals.first_response_sum, totals.first_responses, totals.created) == (math.fsum(minutes), 6, 6)


def test_the_tallies_count_each_flag_and_sla_outcome_once() -> None:
    tickets = [facts(1, NOW - timedelta(hours=5), priority="critical", sla_breached=True),
               facts(2, NOW - timedelta(hours=4), resolved_at=NOW - timedelta(hours=1), status="resolved"),
               facts(3, NOW - timedelta(hours=3), resolved_at=NOW, sla_breached=True, escalation_level=2,
                     status="resolved"),
               facts(4, NOW - timedelta(hours=2), deflected=True)]
    tally = created_tally(tickets, {})
    assert (tally.count, tally.having(CRITICAL), tally.having(RESOLVED), tally.having(BREACHED), tally.met,
            tally.having(DEFLECTED), tally.having(ESCALATED)) == (4, 1, 2, 2, 1, 1, 1)
    assert was_open(NOW - timedelta(days=1), NOW, None, False, NOW - timedelta(hours=1))  # resolved only later
    assert not was_open(NOW - timedelta(days=1), None, NOW - timedelta(hours=2), False, NOW - timedelta(hours=1))


def test_the_backlog_buckets_by_age_at_every_edge_as_their_definition_says() -> None:
    from ticketing.reports import BACKLOG_BUCKETS, backlog_of

    now = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)
    ages = [timedelta(0), timedelta(microseconds=1), timedelta(days=400)]
    for _, limit in BACKLOG_BUCKETS[:-1]:
        ages += [limit - timedelta(microseconds=1), limit, limit + timedelta(microseconds=1)]
    created = [now - age for age in ages] + [now, now + timedelta(minutes=5)]  # not yet open: left out
    expected = {label: 0 for label, _ in BACKLOG_BUCKETS}
    for moment in created:
        if moment < now:
            expected[next(label for label, limit in BACKLOG_BUCKETS if now - moment < limit)] += 1
    assert {b.label: b.count for b in backlog_of(created, now)} == expected
    assert sum(expected.values()) == len(ages) - 1  # every age but 0 (created at now itself) is counted
