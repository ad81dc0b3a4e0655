"""Reports from facts: one `TicketFacts` per ticket in, the dashboard's figures and the daily report out.

Pure: no I/O, never reads the clock (`now` is passed in). The store (db/reports.py) reads the facts; this
module decides what each number means. The rules:

- A ticket merged into another (`merged_into` set) counts nowhere: its survivor carries the request.
- Cohorts. Figures about how tickets were answered (first response, SLA compliance, escalation rate,
  deflection) take the tickets *created* in the period; figures about finishing work (resolution time, CSAT,
  resolved per agent per day) take the tickets *resolved* in the period (`resolved_at`, the final resolve:
  a reopened ticket has no resolved time until it is resolved again).
- Times are business minutes by the ticket's team calendar with waiting-on-customer pauses left out: the SLA
  clock's own count when the store has it (`*_clock_minutes`), else the calendar's minutes between the two
  moments (an imported or pre-clock ticket). A reopened ticket's resolution time runs to its final resolve,
  without the time it spent resolved (as the SLA clock counts it).
- SLA compliance: of the tickets whose SLA outcome is known (resolved, or breached), the share not breached.
- CSAT: ratings of 4 or 5 out of all ratings, in percent. Deflection: tickets resolved by a self-service
  answer out of all created. Escalation rate: tickets that reached level 1 or more out of all created.
- Days are UTC days.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ticketing.calendar import Calendar
from ticketing.report_model import (
    AgentRow,
    BacklogBucket,
    Better,
    CategoryCount,
    DailyRow,
    Dashboard,
    Figure,
    Period,
    Spread,
    Summary,
    TicketFacts,
    Trend,
    VolumePoint,
)

__all__ = [  # the values live in ticketing.report_model; they are imported from here too
    "AgentRow", "BacklogBucket", "Better", "CategoryCount", "DailyRow", "Dashboard", "Figure", "Period", "Spread",
    "Summary", "TicketFacts", "Trend", "VolumePoint", "build_agents", "build_backlog", "build_categories",
    "build_daily", "build_dashboard", "build_summary", "build_trends", "build_volume", "counted", "created_in",
    "facts_window", "first_response_minutes", "open_at", "percentile", "resolution_minutes", "resolved_in", "spread",
    "summary_window", "trend_keys", "trend_periods", "trend_window", "trends_of",
]

FIRST_RESPONSE_TARGET_MINUTES = 30.0
RESOLUTION_TARGET_HOURS = 8.0
CSAT_TARGET_PERCENT = 90.0
SLA_TARGET_PERCENT = 95.0
DEFLECTION_TARGET_PERCENT = 30.0
ESCALATION_TARGET_PERCENT = 10.0
RESOLVED_PER_AGENT_DAY_TARGET = 20.0
TREND_FACTOR = 2.0  # this week >= 2x the mean of the previous weeks ...
TREND_MINIMUM = 3  # ... and at least this many tickets
TREND_WEEKS = 4
PRIORITIES = ("critical", "high", "medium", "low")
BACKLOG_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("< 4 h", timedelta(hours=4)), ("4-24 h", timedelta(days=1)), ("1-3 days", timedelta(days=3)),
    ("3-7 days", timedelta(days=7)), ("> 7 days", timedelta.max),
)
_ALWAYS = Calendar.always()


# -- times -------------------------------------------------------------------------------------------------


def _calendar(facts: TicketFacts, calendars: Mapping[str, Calendar]) -> Calendar:
    return calendars.get(facts.calendar_name, _ALWAYS)


def first_response_minutes(facts: TicketFacts, calendars: Mapping[str, Calendar]) -> float | None:
    """Business minutes to the first agent reply (pauses left out); None before any reply."""
    if facts.first_response_at is None:
        return None
    if facts.first_response_clock_minutes is not None:
        return facts.first_response_clock_minutes
    return _calendar(facts, calendars).minutes_between(facts.created_at, facts.first_response_at)


def resolution_minutes(facts: TicketFacts, calendars: Mapping[str, Calendar]) -> float | None:
    """Business minutes to the final resolve (pauses and time spent resolved left out); None while open."""
    if facts.resolved_at is None:
        return None
    if facts.resolution_clock_minutes is not None:
        return facts.resolution_clock_minutes
    return _calendar(facts, calendars).minutes_between(facts.created_at, facts.resolved_at)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Sequence[float]) -> Spread:
    if not values:
        return Spread()
    return Spread(len(values), statistics.fmean(values), percentile(values, 0.5), percentile(values, 0.9))


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


def _figure(value: float | None, target: float, previous: float | None, unit: str, better: Better) -> Figure:
    met = value is not None and (value <= target if better is Better.LOWER else value >= target)
    return Figure(value, target, previous, unit, met, better)


# -- the summary -------------------------------------------------------------------------------------------


def counted(facts: Iterable[TicketFacts], team: str | None = None) -> list[TicketFacts]:
    """The tickets that count (merged ones do not), of one team if given."""
    return [f for f in facts if f.counts and (team is None or f.team == team)]


def created_in(facts: Iterable[TicketFacts], period: Period) -> list[TicketFacts]:
    start, end = period.start, period.end  # compared inline: this runs over every ticket several times
    return [f for f in facts if start <= f.created_at < end]


def resolved_in(facts: Iterable[TicketFacts], period: Period) -> list[TicketFacts]:
    start, end = period.start, period.end
    return [f for f in facts if f.resolved_at is not None and start <= f.resolved_at < end]


def open_at(facts: Iterable[TicketFacts], moment: datetime) -> list[TicketFacts]:
    """Open at `moment`: created before it and not resolved (or closed) by then. For a past moment a reopened
    ticket counts as open from its creation to its final resolve (its resolved spells are not kept)."""
    return [f for f in facts if f.created_at < moment and (f.resolved_at is None or f.resolved_at >= moment)
            and (f.closed_at is None or f.closed_at >= moment) and (f.is_open or f.resolved_at is not None)]


def by_priority(facts: Iterable[TicketFacts]) -> dict[str, int]:
    counts = Counter(f.priority for f in facts)
    return {p: counts.get(p, 0) for p in PRIORITIES}


@dataclass(frozen=True)
class _Rates:
    first_response: list[float]
    resolution_hours: list[float]
    csat: float | None
    sla: float | None
    deflection: float | None
    escalation: float | None
    per_agent_day: float | None


def _rates(facts: Sequence[TicketFacts], period: Period, calendars: Mapping[str, Calendar]) -> _Rates:
    created, resolved = created_in(facts, period), resolved_in(facts, period)
    first = [m for f in created if (m := first_response_minutes(f, calendars)) is not None]
    hours = [m / 60 for f in resolved if (m := resolution_minutes(f, calendars)) is not None]
    ratings = [f.csat for f in resolved if f.csat is not None]
    known = [f for f in created if f.sla_breached or f.resolved_at is not None]
    agents = {f.assignee for f in resolved if f.assignee}
    per_agent_day = len([f for f in resolved if f.assignee]) / len(agents) / period.days if agents else None
    return _Rates(
        first, hours, _percent(sum(r >= 4 for r in ratings), len(ratings)),
        _percent(sum(not f.sla_breached for f in known), len(known)),
        _percent(sum(f.deflected for f in created), len(created)),
        _percent(sum(f.escalation_level >= 1 for f in created), len(created)),
        per_agent_day,
    )


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def build_summary(facts: Sequence[TicketFacts], period: Period, calendars: Mapping[str, Calendar]) -> Summary:
    now, before = _rates(facts, period, calendars), _rates(facts, period.previous(), calendars)
    return Summary(
        open_by_priority=by_priority(f for f in facts if f.is_open and f.created_at < period.end),
        open_previous_by_priority=by_priority(open_at(facts, period.start)),
        first_response=_figure(_mean(now.first_response), FIRST_RESPONSE_TARGET_MINUTES,
                               _mean(before.first_response), "min", Better.LOWER),
        first_response_spread=spread(now.first_response),
        resolution=_figure(_mean(now.resolution_hours), RESOLUTION_TARGET_HOURS, _mean(before.resolution_hours),
                           "h", Better.LOWER),
        resolution_spread=spread(now.resolution_hours),
        csat=_figure(now.csat, CSAT_TARGET_PERCENT, before.csat, "%", Better.HIGHER),
        sla_compliance=_figure(now.sla, SLA_TARGET_PERCENT, before.sla, "%", Better.HIGHER),
        deflection=_figure(now.deflection, DEFLECTION_TARGET_PERCENT, before.deflection, "%", Better.HIGHER),
        escalation_rate=_figure(now.escalation, ESCALATION_TARGET_PERCENT, before.escalation, "%", Better.LOWER),
        resolved_per_agent_day=_figure(now.per_agent_day, RESOLVED_PER_AGENT_DAY_TARGET, before.per_agent_day,
                                       "tickets", Better.HIGHER),
    )


# -- tables and charts -------------------------------------------------------------------------------------


def _days(period: Period) -> list[date]:
    first, last = period.start.date(), (period.end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def build_daily(facts: Sequence[TicketFacts], period: Period, calendars: Mapping[str, Calendar]) -> list[DailyRow]:
    """The notes' daily report: per UTC day of creation, newest first."""
    by_day: dict[date, list[TicketFacts]] = defaultdict(list)
    for f in created_in(facts, period):
        by_day[f.created_at.date()].append(f)
    rows = []
    for day in reversed(_days(period)):
        group = by_day.get(day, [])
        first = [m for f in group if (m := first_response_minutes(f, calendars)) is not None]
        hours = [m / 60 for f in group if (m := resolution_minutes(f, calendars)) is not None]
        resolved = sum(f.resolved_at is not None for f in group)
        rows.append(DailyRow(day, len(group), sum(f.priority == "critical" for f in group), resolved,
                             _mean(first), _mean(hours), sum(f.sla_breached for f in group),
                             _percent(resolved, len(group))))
    return rows


def build_volume(facts: Sequence[TicketFacts], period: Period) -> list[VolumePoint]:
    created = Counter(f.created_at.date() for f in created_in(facts, period))
    resolved = Counter(f.resolved_at.date() for f in resolved_in(facts, period) if f.resolved_at)
    return [VolumePoint(day, created.get(day, 0), resolved.get(day, 0)) for day in _days(period)]


def build_categories(facts: Sequence[TicketFacts], period: Period) -> list[CategoryCount]:
    counts = Counter(f.category for f in created_in(facts, period))
    return [CategoryCount(c, n) for c, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def build_agents(facts: Sequence[TicketFacts], period: Period, calendars: Mapping[str, Calendar]) -> list[AgentRow]:
    """Per assignee: tickets created in the period assigned to them, those they resolved in it, and theirs."""
    created, resolved = created_in(facts, period), resolved_in(facts, period)
    agents = sorted({f.assignee for f in (*created, *resolved) if f.assignee})
    rows = []
    for agent in agents:
        mine = [f for f in created if f.assignee == agent]
        done = [f for f in resolved if f.assignee == agent]
        first = [m for f in mine if (m := first_response_minutes(f, calendars)) is not None]
        known = [f for f in mine if f.sla_breached or f.resolved_at is not None]
        ratings = [f.csat for f in done if f.csat is not None]
        rows.append(AgentRow(agent, len(mine), len(done), percentile(first, 0.5),
                             _percent(sum(not f.sla_breached for f in known), len(known)),
                             _percent(sum(r >= 4 for r in ratings), len(ratings))))
    return rows


def build_trends(facts: Sequence[TicketFacts], now: datetime) -> list[Trend]:
    """Categories and tags whose count in the last 7 days is >= TREND_FACTOR x their mean over the
    TREND_WEEKS weeks before, and at least TREND_MINIMUM tickets."""
    week, history = trend_periods(now)
    current: dict[str, list[str]] = defaultdict(list)
    usual: Counter[str] = Counter()
    for f in facts:
        for key in trend_keys(f.category, f.tags):
            if f.created_at in week:
                current[key].append(f.id)
            elif f.created_at in history:
                usual[key] += 1
    return trends_of(current, usual)


def trend_periods(now: datetime) -> tuple[Period, Period]:
    """The trends' last 7 days, and the TREND_WEEKS weeks before them (their usual)."""
    week = Period(now - timedelta(days=7), now)
    return week, Period(week.start - timedelta(days=7 * TREND_WEEKS), week.start)


def trend_keys(category: str, tags: Iterable[str]) -> list[str]:
    """What a ticket counts towards in the trends: its category and each of its tags."""
    return [f"category:{category}", *(f"tag:{t}" for t in tags)]


def trends_of(current: Mapping[str, Sequence[str]], usual: Mapping[str, int]) -> list[Trend]:
    """The trends from the ids of this week's tickets per key and the count per key over the weeks before."""
    trends = [Trend(key, len(ids), usual.get(key, 0) / TREND_WEEKS, tuple(sorted(ids)))
              for key, ids in current.items()
              if len(ids) >= TREND_MINIMUM and len(ids) >= TREND_FACTOR * usual.get(key, 0) / TREND_WEEKS]
    return sorted(trends, key=lambda t: (-(t.this_week - t.usual), t.key))


def build_backlog(facts: Sequence[TicketFacts], now: datetime) -> list[BacklogBucket]:
    """Open tickets by age (wall-clock time since they were created)."""
    counts = Counter[str]()
    for f in facts:
        if f.is_open and f.created_at < now:
            age = now - f.created_at
            counts[next(label for label, limit in BACKLOG_BUCKETS if age < limit)] += 1
    return [BacklogBucket(label, counts.get(label, 0)) for label, _ in BACKLOG_BUCKETS]


def build_dashboard(facts: Sequence[TicketFacts], now: datetime, days: int, team: str | None,
                    calendars: Mapping[str, Calendar], trend_facts: Sequence[TicketFacts] | None = None, *,
                    trends: Sequence[Trend] | None = None) -> Dashboard:
    """Everything the dashboard shows for the last `days` days before `now`. `facts` must cover the period,
    the one before it and every ticket open now; the trends are `trends` when given (already worked out, e.g.
    by the database), else built from `trend_facts` when given (only ids, categories, tags and created times
    are read from them), else from `facts`."""
    period = Period.last_days(now, days)
    mine = counted(facts, team)
    if trends is None:
        trends = build_trends(mine if trend_facts is None else counted(trend_facts, team), now)
    start, end = period.start, period.end
    # What the period's tables and charts read: the tickets created or resolved in it (one pass, not one each).
    active = [f for f in mine if start <= f.created_at < end
              or (f.resolved_at is not None and start <= f.resolved_at < end)]
    return Dashboard(
        period, team, build_summary(mine, period, calendars), tuple(build_volume(active, period)),
        tuple(build_categories(active, period)), tuple(build_agents(active, period, calendars)),
        tuple(trends), tuple(build_backlog(mine, now)), tuple(build_daily(active, period, calendars)),
    )


def trend_window(now: datetime) -> Period:
    """The weeks the trends compare: this one and the TREND_WEEKS before it."""
    return Period(now - timedelta(days=7 * (TREND_WEEKS + 1)), now)


def facts_window(now: datetime, days: int) -> Period:
    """The facts build_dashboard needs when the trends come from the same facts: the period, the one before,
    and the trends' five weeks."""
    return Period(now - timedelta(days=max(2 * days, 7 * (TREND_WEEKS + 1))), now)


def summary_window(now: datetime, days: int) -> Period:
    """The facts build_dashboard needs besides the trends' (given apart, as `trend_facts`): the period and the
    one before it."""
    return Period(now - timedelta(days=2 * days), now)
