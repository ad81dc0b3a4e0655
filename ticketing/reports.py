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

import bisect
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
    "AgentRow", "BacklogBucket", "Better", "CategoryCount", "CreatedTally", "DailyRow", "Dashboard", "Figure",
    "Period", "ResolvedTally", "Spread", "Summary", "TicketFacts", "Totals", "Trend", "VolumePoint", "agents_of",
    "backlog_of", "build_agents", "build_backlog", "build_categories", "build_daily", "build_dashboard",
    "build_summary", "build_trends", "build_volume", "categories_of", "counted", "created_in", "created_tally",
    "daily_of", "facts_window", "first_response_minutes", "flags", "open_at", "percentile", "period_totals",
    "priority_counts", "resolution_minutes", "resolved_in", "resolved_tallies", "spread", "summary_of",
    "summary_window", "totals", "trend_keys", "trend_periods", "trend_window", "trends_of", "volume_of", "was_open",
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


def percentile(values: Sequence[float], fraction: float, *, ordered: bool = False) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values. `ordered`: the
    values are sorted already."""
    if not values:
        return None
    if not ordered:
        values = sorted(values)
    rank = fraction * (len(values) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return values[low] + (values[high] - values[low]) * (rank - low)


def spread(values: Sequence[float]) -> Spread:
    if not values:
        return Spread()
    ordered = sorted(values)
    return Spread(len(values), statistics.fmean(values), percentile(ordered, 0.5, ordered=True),
                  percentile(ordered, 0.9, ordered=True))


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
    return [f for f in facts if was_open(f.created_at, f.resolved_at, f.closed_at, f.is_open, moment)]


def was_open(created_at: datetime, resolved_at: datetime | None, closed_at: datetime | None, is_open: bool,
             moment: datetime) -> bool:
    """`open_at` for one ticket, from the four things it reads (the store reads only those)."""
    return (created_at < moment and (resolved_at is None or resolved_at >= moment)
            and (closed_at is None or closed_at >= moment) and (is_open or resolved_at is not None))


def by_priority(facts: Iterable[TicketFacts]) -> dict[str, int]:
    return priority_counts(Counter(f.priority for f in facts))


def priority_counts(counts: Mapping[str, int]) -> dict[str, int]:
    return {p: counts.get(p, 0) for p in PRIORITIES}


# What a ticket created in a period adds to the counts, as bits of one number: the store works them out in
# the database (db/reports.py), the pure builder from the facts (`flags`).
CRITICAL, RESOLVED, BREACHED, DEFLECTED, ESCALATED = 1, 2, 4, 8, 16


def flags(facts: TicketFacts) -> int:
    return ((CRITICAL if facts.priority == "critical" else 0) | (RESOLVED if facts.resolved_at is not None else 0)
            | (BREACHED if facts.sla_breached else 0) | (DEFLECTED if facts.deflected else 0)
            | (ESCALATED if facts.escalation_level >= 1 else 0))


@dataclass
class CreatedTally:
    """What the figures read of some tickets created in a period (all of them, one day's, one agent's): each
    combination of `flags` with its number of tickets, and the times of those answered and resolved."""

    flags: Counter[int] = field(default_factory=Counter)
    first_response: list[float] = field(default_factory=list)  # business minutes
    resolution_hours: list[float] = field(default_factory=list)  # business hours

    def add(self, bits: int, first: float | None, minutes: float | None) -> None:
        self.flags[bits] += 1
        if first is not None:
            self.first_response.append(first)
        if minutes is not None:
            self.resolution_hours.append(minutes / 60)

    def merge(self, other: CreatedTally) -> None:
        flags = self.flags  # Counter.update's own loop over a mapping, without its checks (merged very often)
        for bits, n in other.flags.items():
            flags[bits] = flags.get(bits, 0) + n
        self.first_response.extend(other.first_response)
        self.resolution_hours.extend(other.resolution_hours)

    def having(self, bit: int) -> int:
        return sum(n for bits, n in self.flags.items() if bits & bit)

    @property
    def count(self) -> int:
        return sum(self.flags.values())

    @property
    def met(self) -> int:
        """Resolved without a breach: with the breached ones, the tickets whose SLA outcome is known."""
        return sum(n for bits, n in self.flags.items() if bits & RESOLVED and not bits & BREACHED)


@dataclass
class ResolvedTally:
    """What the figures read of some tickets resolved in a period (all of them, or one agent's)."""

    count: int = 0
    resolution_hours: list[float] = field(default_factory=list)
    ratings: int = 0
    good_ratings: int = 0  # 4 or 5

    def add(self, rating: int | None, minutes: float | None) -> None:
        self.count += 1
        if rating is not None:
            self.ratings += 1
            self.good_ratings += rating >= 4
        if minutes is not None:
            self.resolution_hours.append(minutes / 60)

    def merge(self, other: ResolvedTally) -> None:
        self.count += other.count
        self.resolution_hours.extend(other.resolution_hours)
        self.ratings += other.ratings
        self.good_ratings += other.good_ratings


@dataclass(frozen=True)
class Totals:
    """A period's figures before they are percentages and means: the previous period's, summed by the
    database (db/reports.py), or `totals` of the tallies."""

    created: int
    deflected: int
    escalated: int
    breached: int
    met: int
    first_response_sum: float
    first_responses: int
    resolution_hours_sum: float
    resolutions: int
    ratings: int
    good_ratings: int
    resolved_assigned: int  # resolved tickets with an assignee
    agents: int  # their assignees


def totals(created: CreatedTally, resolved: Mapping[str | None, ResolvedTally]) -> Totals:
    """The totals of the tickets created in a period and of those resolved in it, by assignee (None or "" for
    none). Sums are math.fsum's: a mean is then exactly statistics.fmean's."""
    everything = ResolvedTally()
    for tally in resolved.values():
        everything.merge(tally)
    assigned = [tally.count for agent, tally in resolved.items() if agent]
    return Totals(created.count, created.having(DEFLECTED), created.having(ESCALATED), created.having(BREACHED),
                  created.met, math.fsum(created.first_response), len(created.first_response),
                  math.fsum(everything.resolution_hours), len(everything.resolution_hours), everything.ratings,
                  everything.good_ratings, sum(assigned), len(assigned))


@dataclass(frozen=True)
class _Rates:
    first_response: float | None  # mean minutes
    resolution_hours: float | None  # mean hours
    csat: float | None
    sla: float | None
    deflection: float | None
    escalation: float | None
    per_agent_day: float | None


def _rates(found: Totals, period: Period) -> _Rates:
    per_agent_day = found.resolved_assigned / found.agents / period.days if found.agents else None
    return _Rates(
        found.first_response_sum / found.first_responses if found.first_responses else None,
        found.resolution_hours_sum / found.resolutions if found.resolutions else None,
        _percent(found.good_ratings, found.ratings), _percent(found.met, found.breached + found.met),
        _percent(found.deflected, found.created), _percent(found.escalated, found.created), per_agent_day,
    )


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def created_tally(facts: Iterable[TicketFacts], calendars: Mapping[str, Calendar]) -> CreatedTally:
    tally = CreatedTally()
    for f in facts:
        tally.add(flags(f), first_response_minutes(f, calendars), resolution_minutes(f, calendars))
    return tally


def resolved_tallies(facts: Iterable[TicketFacts],
                     calendars: Mapping[str, Calendar]) -> dict[str | None, ResolvedTally]:
    """Per assignee (None for none)."""
    tallies: dict[str | None, ResolvedTally] = defaultdict(ResolvedTally)
    for f in facts:
        tallies[f.assignee].add(f.csat, resolution_minutes(f, calendars))
    return dict(tallies)


def period_totals(facts: Sequence[TicketFacts], period: Period, calendars: Mapping[str, Calendar]) -> Totals:
    return totals(created_tally(created_in(facts, period), calendars),
                  resolved_tallies(resolved_in(facts, period), calendars))


def build_summary(facts: Sequence[TicketFacts], period: Period, calendars: Mapping[str, Calendar]) -> Summary:
    created = created_tally(created_in(facts, period), calendars)
    resolved = resolved_tallies(resolved_in(facts, period), calendars)
    return summary_of(by_priority(f for f in facts if f.is_open and f.created_at < period.end),
                      by_priority(open_at(facts, period.start)), created, resolved,
                      period_totals(facts, period.previous(), calendars), period)


def summary_of(open_now: Mapping[str, int], open_before: Mapping[str, int], created: CreatedTally,
               resolved: Mapping[str | None, ResolvedTally], previous: Totals, period: Period) -> Summary:
    """The summary cards from the period's tallies and the previous period's totals."""
    now, before = _rates(totals(created, resolved), period), _rates(previous, period.previous())
    hours = [h for tally in resolved.values() for h in tally.resolution_hours]
    return Summary(
        open_by_priority=dict(open_now),
        open_previous_by_priority=dict(open_before),
        first_response=_figure(now.first_response, FIRST_RESPONSE_TARGET_MINUTES, before.first_response, "min",
                               Better.LOWER),
        first_response_spread=spread(created.first_response),
        resolution=_figure(now.resolution_hours, RESOLUTION_TARGET_HOURS, before.resolution_hours, "h",
                           Better.LOWER),
        resolution_spread=spread(hours),
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
    by_day: dict[date, CreatedTally] = defaultdict(CreatedTally)
    for f in created_in(facts, period):
        by_day[f.created_at.date()].add(flags(f), first_response_minutes(f, calendars),
                                        resolution_minutes(f, calendars))
    return daily_of(by_day, period)


def daily_of(by_day: Mapping[date, CreatedTally], period: Period) -> list[DailyRow]:
    """The daily report's rows from the tally of each UTC day of creation."""
    rows = []
    for day in reversed(_days(period)):
        tally = by_day.get(day) or CreatedTally()
        resolved, count = tally.having(RESOLVED), tally.count
        rows.append(DailyRow(day, count, tally.having(CRITICAL), resolved, _mean(tally.first_response),
                             _mean(tally.resolution_hours), tally.having(BREACHED), _percent(resolved, count)))
    return rows


def build_volume(facts: Sequence[TicketFacts], period: Period) -> list[VolumePoint]:
    return volume_of(Counter(f.created_at.date() for f in created_in(facts, period)),
                     Counter(f.resolved_at.date() for f in resolved_in(facts, period) if f.resolved_at), period)


def volume_of(created: Mapping[date, int], resolved: Mapping[date, int], period: Period) -> list[VolumePoint]:
    return [VolumePoint(day, created.get(day, 0), resolved.get(day, 0)) for day in _days(period)]


def build_categories(facts: Sequence[TicketFacts], period: Period) -> list[CategoryCount]:
    return categories_of(Counter(f.category for f in created_in(facts, period)))


def categories_of(counts: Mapping[str, int]) -> list[CategoryCount]:
    return [CategoryCount(c, n) for c, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def build_agents(facts: Sequence[TicketFacts], period: Period, calendars: Mapping[str, Calendar]) -> list[AgentRow]:
    """Per assignee: tickets created in the period assigned to them, those they resolved in it, and theirs."""
    created: dict[str | None, CreatedTally] = defaultdict(CreatedTally)
    for f in created_in(facts, period):
        created[f.assignee].add(flags(f), first_response_minutes(f, calendars), None)
    return agents_of(created, resolved_tallies(resolved_in(facts, period), calendars))


def agents_of(created: Mapping[str | None, CreatedTally],
              resolved: Mapping[str | None, ResolvedTally]) -> list[AgentRow]:
    """The agents' table from the tallies per assignee of the tickets created and resolved in the period."""
    rows = []
    for agent in sorted({a for a in (*created, *resolved) if a}):
        mine, done = created.get(agent) or CreatedTally(), resolved.get(agent) or ResolvedTally()
        breached, met = mine.having(BREACHED), mine.met
        rows.append(AgentRow(agent, mine.count, done.count, percentile(mine.first_response, 0.5),
                             _percent(met, breached + met), _percent(done.good_ratings, done.ratings)))
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
    return backlog_of((f.created_at for f in facts if f.is_open), now)


def backlog_of(open_since: Iterable[datetime], now: datetime) -> list[BacklogBucket]:
    """The backlog from the creation times of the open tickets."""
    # A ticket is in the first bucket whose limit its age is under: created after now - limit. The last bucket
    # has no limit; the others' moments, oldest first, are searched by bisection (thousands of open tickets).
    oldest_first = [now - limit for _, limit in reversed(BACKLOG_BUCKETS[:-1])]
    counts = [0] * len(BACKLOG_BUCKETS)
    last = len(oldest_first)
    for created_at in open_since:
        if created_at < now:
            counts[last - bisect.bisect_left(oldest_first, created_at)] += 1
    return [BacklogBucket(label, counts[n]) for n, (label, _) in enumerate(BACKLOG_BUCKETS)]


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
