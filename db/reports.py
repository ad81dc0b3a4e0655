"""Report facts read from the tickets table in one statement per report (no per-ticket reads), and the reports
built from them by ticketing.reports.

One row per ticket: its columns, the SLA clocks' business minutes (pauses left out) and the few metadata
flags (reopened, deflected, imported) picked out of the JSON by the database itself, and the merge link by
an outer join. Timestamps and the picked JSON values come back as plain values, so 100,000 rows cost one
scan of the index range and no JSON parsing in Python but the tags.

The dashboard (`build_dashboard`) makes no facts: the database counts (flag bits per ticket, sums of the
previous period, trends) and per ticket only what percentiles and exact means need comes back (a day, an
assignee, a category, the clocks' minutes; the calendar counts in Python the few times no clock gave). The
pure builder over the facts stays the definition: tests/bot/test_reports_fast.py checks the two are equal.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import DateTime, String, Table, Text, and_, case, false, func, literal_column, or_, select, type_coerce
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db import report_days
from db.related import MERGED_INTO
from db.tables import TicketLinkRow
from db.tickets import OPEN_STATUSES, TICKETS
from ticketing import reports
from ticketing.calendar import Calendar
from ticketing.reports import DailyRow, Dashboard, Period, TicketFacts, Trend

LINKS = cast(Table, TicketLinkRow.__table__)
_OPEN = [s.value for s in OPEN_STATUSES]
_NO_CALENDARS: Mapping[str, Calendar] = {}
_SAME_MOMENT = timedelta(seconds=1)
_DAYS_READ_AT_ONCE = 7
_new = object.__new__


def _moment(column: Any) -> Any:
    """A stored moment as the driver gives it: SQLite's text, PostgreSQL's datetime (see `_at`). SQLAlchemy's
    per-value processing of SQLite datetimes was about a third of the load time at 50,000 rows."""
    return type_coerce(column, String)


def _at(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value + "+00:00")  # naive UTC text; 5x faster than .replace(tzinfo=UTC)


def _maybe_at(value: Any) -> datetime | None:
    return None if value is None else _at(value)


def _columns() -> list[Any]:
    """What the facts read: all of it in ix_tickets_report_facts (db/tables.py), so no row is visited. The JSON
    values (metadata's flags, the SLA clocks) are their plain copies, kept on every write."""
    t = TICKETS.c
    return [
        t.id, t.team, t.category, t.priority, t.user_tier, t.status, _moment(t.created_at),
        _moment(t.first_response_at), _moment(t.resolved_at), _moment(t.closed_at), t.assigned_to,
        t.escalation_level, t.sla_breach, t.satisfaction_rating, type_coerce(t.tags, String), LINKS.c.related_id,
        t.report_reopened, t.report_deflected, t.report_imported,
        t.first_clock_used, t.first_clock_stopped_at, t.resolution_clock_used, t.resolution_clock_stopped_at,
    ]


def _query(condition: ColumnElement[bool], team: str | None) -> Any:
    merged = and_(LINKS.c.ticket_id == TICKETS.c.id, LINKS.c.kind == MERGED_INTO)
    query = select(*_columns()).select_from(TICKETS.outerjoin(LINKS, merged)).where(condition)
    return query if team is None else query.where(TICKETS.c.team == team)


@functools.lru_cache(maxsize=4096)
def _parsed_tags(stored: str) -> tuple[str, ...]:
    found = json.loads(stored)
    return tuple(str(tag) for tag in found) if isinstance(found, list) else ()


def _tags(stored: Any) -> tuple[str, ...]:
    """A ticket's tags: JSON text on SQLite (the same few lists over and over: each parsed once), a list from
    PostgreSQL's driver."""
    if isinstance(stored, str):
        return _parsed_tags(stored)
    return tuple(str(tag) for tag in stored or ())


def _clocked(used: Any, stopped: str | None, moment: Any) -> float | None:
    """The clock's business minutes when it stopped at the moment itself (the reply, the final resolve); else
    None, and the calendar counts (e.g. a first-response clock stopped by a resolve before anyone replied)."""
    if used is None or not stopped or moment is None:
        return None
    if isinstance(moment, str):  # SQLite's "YYYY-MM-DD HH:MM:SS.ffffff" against the clock's ISO text: same second
        same = stopped[:10] == moment[:10] and stopped[11:19] == moment[11:19]
    else:
        same = abs(datetime.fromisoformat(stopped) - moment) <= _SAME_MOMENT
    return float(used) if same else None


def _facts(row: Any) -> TicketFacts:
    (ticket_id, team, category, priority, tier, status, created, first, resolved, closed, assignee, level, breach,
     rating, tags, merged_into, reopened, deflected, imported, first_used, first_stop, res_used, res_stop) = row
    # Every field set at once in the new object's __dict__: the frozen dataclass's __init__ sets its 21 fields
    # one object.__setattr__ at a time, which was a third of this function at 100,000 tickets. The object is
    # the same (tests/bot/test_reports.py checks each one equals `dataclasses.replace` of it).
    facts = _new(TicketFacts)
    facts.__dict__.update(
        id=ticket_id, team=team, category=category, priority=priority, tier=tier, status=status,
        created_at=_at(created), first_response_at=None if first is None else _at(first),
        resolved_at=None if resolved is None else _at(resolved), closed_at=None if closed is None else _at(closed),
        assignee=assignee, reopened=int(reopened or 0), merged_into=merged_into, escalation_level=int(level or 0),
        sla_breached=bool(breach), csat=rating, deflected=bool(deflected), imported=bool(imported),
        tags=_tags(tags),
        first_response_clock_minutes=_clocked(first_used, first_stop, first),
        resolution_clock_minutes=_clocked(res_used, res_stop, resolved),
    )
    return facts


async def load_facts(session: AsyncSession, *, since: datetime, until: datetime,
                     team: str | None = None) -> list[TicketFacts]:
    """Every ticket that was open at some moment of [since, until): created in it, resolved in it, or open now
    and created before it. Three reads, each through its own index (created_at, resolved_at, status): one
    statement with OR would walk every older ticket on SQLite."""
    t = TICKETS.c
    found: dict[str, TicketFacts] = {}
    # Open tickets are few: one status at a time, and the created_at test done here, so that SQLite takes the
    # status index even when ANALYZE says most tickets share a status (IN over four of them scans the table).
    for condition in (and_(t.created_at >= since, t.created_at < until),
                      and_(t.resolved_at >= since, t.created_at < since), *(t.status == s for s in _OPEN)):
        for row in await session.execute(_query(condition, team)):
            facts = _facts(row)
            if facts.created_at < until:
                found.setdefault(facts.id, facts)
    return list(found.values())


async def ticket_export(session: AsyncSession, *, since: datetime, until: datetime,
                        team: str | None = None) -> AsyncIterator[TicketFacts]:
    """The facts of each ticket created in [since, until), oldest first, streamed."""
    t = TICKETS.c
    query = _query(and_(t.created_at >= since, t.created_at < until), team).order_by(t.created_at, t.id)
    async for row in await session.stream(query.execution_options(yield_per=1000)):
        yield _facts(row)


async def build_dashboard(session: AsyncSession, *, now: datetime, days: int, team: str | None = None,
                          calendars: Mapping[str, Calendar] = _NO_CALENDARS) -> Dashboard:
    """The dashboard's data, with the database doing the counting: what `reports.build_dashboard` gives from
    the facts of the period and the one before (tests/bot/test_reports_fast.py checks they are equal), without
    one Python object per ticket. The span (the period, the one before, the trends' weeks) is cut into pieces
    that never cross a midnight (`report_days.stretches`); each piece's `Tallies` hold, per team and
    assignee, the few values a figure needs one by one (flag bits, the SLA clocks' minutes: percentiles and
    means need every time). A closed day's tallies are kept in memory while its fingerprint holds
    (db/report_days.py), with its rows (for the pieces a cut makes of it, and this week's trend ids); the rest
    is read live. The open tickets are read live."""
    period = Period.last_days(now, days)
    previous = period.previous()
    week, history = reports.trend_periods(now)
    pieces = report_days.stretches(Period(min(previous.start, history.start), now),
                                   (previous.start, period.start, history.start, week.start))
    read = await _tallies_of(session, pieces, now, team, calendars)

    def within(part: Period) -> list[tuple[date, Tallies]]:
        return [(piece.start.date(), tallies) for piece, (tallies, _) in zip(pieces, read, strict=True)
                if part.start <= piece.start and piece.end <= part.end]

    this_week: dict[str, list[str]] = defaultdict(list)  # the trends' ids, from the rows of the week's pieces
    for piece, (_, rows) in zip(pieces, read, strict=True):
        if week.start <= piece.start and piece.end <= week.end:
            for _created, team_name, _agent, category, _bits, _first, _hours, tags, ticket_id in rows.created:
                if team is None or team_name == team:
                    for key in reports.trend_keys(category, tags):
                        this_week[key].append(ticket_id)

    now_in = _merged(within(period), team, in_detail=True)
    before = _merged(within(previous), team, in_detail=False)
    usual: Counter[str] = Counter()
    for _, found in within(history):
        for (team_name, key), count in found.trends.items():
            if team is None or team_name == team:
                usual[key] += count
    open_now, open_before, open_since = await _open_counts(session, now, period.start, team)
    trends = reports.trends_of(this_week, usual)
    per_day = {day: tally.count for day, tally in now_in.by_day.items()}
    summary = reports.summary_of(reports.priority_counts(open_now), reports.priority_counts(open_before),
                                 now_in.everything, now_in.resolved,
                                 reports.totals(before.everything, before.resolved), period)
    return Dashboard(
        period, team, summary, tuple(reports.volume_of(per_day, now_in.resolved_per_day, period)),
        tuple(reports.categories_of(now_in.categories)), tuple(reports.agents_of(now_in.by_agent, now_in.resolved)),
        tuple(trends), tuple(reports.backlog_of(open_since, now)), tuple(reports.daily_of(now_in.by_day, period)),
    )


_TeamKey = tuple[str, str | None]  # team, assignee


@dataclass
class Tallies:
    """What the dashboard reads of the tickets of one piece of time (a closed day, or part of a day), by team:
    of those created in it, a tally per assignee, the count per category and per trend key; of those resolved
    in it, a tally per assignee. Kept by db/report_days.py and shared between pages: never changed once made
    (`_merged` merges them into new tallies)."""

    created: defaultdict[_TeamKey, reports.CreatedTally] = field(
        default_factory=lambda: defaultdict(reports.CreatedTally))
    categories: Counter[tuple[str, str]] = field(default_factory=Counter)
    trends: Counter[tuple[str, str]] = field(default_factory=Counter)
    resolved: defaultdict[_TeamKey, reports.ResolvedTally] = field(
        default_factory=lambda: defaultdict(reports.ResolvedTally))
    _teams: dict[str, reports.CreatedTally] | None = field(default=None, compare=False, repr=False)

    def created_by_team(self) -> dict[str, reports.CreatedTally]:
        """The created tallies merged per team (made once: a kept day's are used by every page)."""
        if self._teams is None:
            teams: dict[str, reports.CreatedTally] = defaultdict(reports.CreatedTally)
            for (team_name, _agent), tally in self.created.items():
                teams[team_name].merge(tally)
            self._teams = dict(teams)
        return self._teams


@dataclass
class _Merged:
    """Pieces' tallies of one team (or all) merged into new ones: the tickets created per day, per assignee and
    in all; per category; the resolved per assignee, and how many were resolved each day."""

    by_day: defaultdict[date, reports.CreatedTally] = field(default_factory=lambda: defaultdict(reports.CreatedTally))
    by_agent: defaultdict[str | None, reports.CreatedTally] = field(
        default_factory=lambda: defaultdict(reports.CreatedTally))
    everything: reports.CreatedTally = field(default_factory=reports.CreatedTally)
    categories: Counter[str] = field(default_factory=Counter)
    resolved: defaultdict[str | None, reports.ResolvedTally] = field(
        default_factory=lambda: defaultdict(reports.ResolvedTally))
    resolved_per_day: Counter[date] = field(default_factory=Counter)


def _merged(parts: list[tuple[date, Tallies]], team: str | None, *, in_detail: bool) -> _Merged:
    """The tallies of `parts` of `team` (all teams for None): per day and per assignee when `in_detail`, else
    only in all (the previous period's totals)."""
    found = _Merged()
    for day, tallies in parts:
        for team_name, tally in tallies.created_by_team().items():
            if team is None or team_name == team:
                (found.by_day[day] if in_detail else found.everything).merge(tally)
        if in_detail:
            for (team_name, agent), tally in tallies.created.items():
                if team is None or team_name == team:
                    found.by_agent[agent].merge(tally)
        for (team_name, category), count in tallies.categories.items():
            if team is None or team_name == team:
                found.categories[category] += count
        for (team_name, agent), done in tallies.resolved.items():
            if team is None or team_name == team:
                found.resolved[agent].merge(done)
                found.resolved_per_day[day] += done.count
    if in_detail:
        for tally in found.by_day.values():
            found.everything.merge(tally)
    return found


_Created = tuple[datetime, str, str | None, str, int, float | None, float | None, tuple[str, ...], str]
_Resolved = tuple[datetime, str, str | None, int | None, float | None]


@dataclass(frozen=True)
class _Rows:
    """What the tallies take of each ticket of a span: of those created in it, (created, team, assignee,
    category, flag bits, first-response minutes, resolution minutes, tags, id); of those resolved in it (resolved,
    team, assignee, rating, resolution minutes). The minutes are the clocks', else the calendar's."""

    created: list[_Created]
    resolved: list[_Resolved]

    def within(self, piece: Period) -> _Rows:
        return _Rows([r for r in self.created if piece.start <= r[0] < piece.end],
                     [r for r in self.resolved if piece.start <= r[0] < piece.end])

    def by_piece(self, pieces: list[Period]) -> list[_Rows]:
        """The rows of each of adjacent `pieces` (that cover the rows' span), in one pass."""
        starts = [piece.start for piece in pieces]
        found = [_Rows([], []) for _ in pieces]
        for row in self.created:
            found[report_days.piece_of(starts, row[0])].created.append(row)
        for other in self.resolved:
            found[report_days.piece_of(starts, other[0])].resolved.append(other)
        return found


@dataclass(frozen=True)
class _Day:
    """A closed day as kept: its rows (for the pieces a cut splits it into) and its whole-day tallies."""

    rows: _Rows
    tallies: Tallies


def _tallied(rows: _Rows) -> Tallies:
    """The tallies of one piece from its rows."""
    found = Tallies()
    for _created, team_name, agent, category, bits, minutes, hours_minutes, tags, _id in rows.created:
        found.created[(team_name, agent)].add(bits, minutes, hours_minutes)
        found.categories[(team_name, category)] += 1
        for key in reports.trend_keys(category, tags):
            found.trends[(team_name, key)] += 1
    for _resolved, team_name, agent, rating, minutes in rows.resolved:
        found.resolved[(team_name, agent)].add(rating, minutes)
    return found


def _sorted(tallies: Tallies) -> Tallies:
    """`tallies` with each list of times in order (the order means nothing to a figure), so that sorting a
    period's merged lists for its percentiles finds runs already in order."""
    for tally in tallies.created.values():
        tally.first_response.sort()
        tally.resolution_hours.sort()
    for done in tallies.resolved.values():
        done.resolution_hours.sort()
    return tallies


async def _tallies_of(session: AsyncSession, pieces: list[Period], now: datetime, team: str | None,
                      calendars: Mapping[str, Calendar]) -> list[tuple[Tallies, _Rows]]:
    """Each piece's tallies. A piece of a closed day takes the day as kept while its fingerprint holds, else
    as read again (all teams, one statement per side for each run of such days): a whole day its tallies, a
    part of a day (cut at the period's start) its rows in that part. The pieces of today are read live, of
    `team` only. With each piece's tallies its rows (of every team where kept, of `team` where read live)."""
    found: list[tuple[Tallies, _Rows] | None] = [None] * len(pieces)
    today = report_days.midnight(now)
    closed = {i: piece.start.date() for i, piece in enumerate(pieces) if piece.end <= today}
    if closed:
        prints = await report_days.fingerprints(session, min(closed.values()), max(closed.values()))
        kept: dict[date, _Day] = report_days.kept(session, closed.values(), prints, calendars)
        for day in set(closed.values()) - set(kept):
            if day not in prints:  # no ticket created or resolved on it: nothing to read
                kept[day] = _Day(_Rows([], []), Tallies())
                report_days.keep(session, day, report_days.NOTHING, calendars, kept[day])
        missing = [Period(start, start + report_days.DAY)
                   for start in sorted({report_days.midnight(pieces[i].start) for i, day in closed.items()
                                        if day not in kept})]
        for chunk, run in enumerate(report_days.runs(missing, most=_DAYS_READ_AT_ONCE)):
            if chunk:
                await asyncio.sleep(0)  # a cold page reads for a while: let mail and Slack go on in between
            for whole, mine in zip(run, (await _read_rows(session, Period(run[0].start, run[-1].end), None,
                                                          calendars)).by_piece(run), strict=True):
                day = whole.start.date()
                kept[day] = _Day(mine, _sorted(_tallied(mine)))
                report_days.keep(session, day, prints.get(day, report_days.NOTHING), calendars, kept[day])
        for i, day in closed.items():
            piece, entry = pieces[i], kept[day]
            if report_days.closed_day(piece, now) is not None:
                found[i] = (entry.tallies, entry.rows)
            else:
                part = entry.rows.within(piece)
                found[i] = (_tallied(part), part)
    index = {piece.start: i for i, piece in enumerate(pieces)}
    for run in report_days.runs([piece for i, piece in enumerate(pieces) if i not in closed]):
        rows = await _read_rows(session, Period(run[0].start, run[-1].end), team, calendars)
        for piece, part in zip(run, rows.by_piece(run), strict=True):
            found[index[piece.start]] = (_tallied(part), part)
    return [pair if pair is not None else (Tallies(), _Rows([], [])) for pair in found]


async def _read_rows(session: AsyncSession, span: Period, team: str | None,
                     calendars: Mapping[str, Calendar]) -> _Rows:
    """The rows of the tickets (that count, of `team` if given) created in `span`, and of those resolved in it:
    one statement each."""
    t = TICKETS.c
    first, first_at = _first_response(session)
    resolution, resolved_at = _resolution(session)
    created_rows: list[_Created] = []
    for (created, agent, category, bits, minutes, hours_minutes, team_name, first_moment, resolve_moment, tags,
         ticket_id) in await session.execute(
                select(_moment(t.created_at), t.assigned_to, t.category, _flags(), first, resolution, t.team,
                       first_at, resolved_at, type_coerce(t.tags, String), t.id)
                .where(t.created_at >= span.start, t.created_at < span.end, *_counting(team))):
        if first_moment is not None or resolve_moment is not None:
            by_calendar = _by_calendar(team_name, created, first_moment, resolve_moment, calendars)
            minutes = minutes if first_moment is None else by_calendar[0]
            hours_minutes = hours_minutes if resolve_moment is None else by_calendar[1]
        created_rows.append((_at(created), team_name, agent, category, bits, minutes, hours_minutes, _tags(tags),
                             ticket_id))
    resolved_rows: list[_Resolved] = []
    clock, unclocked = _resolution(session)
    for resolved, agent, rating, minutes, resolve_moment, team_name, created in await session.execute(
            select(_moment(t.resolved_at), t.assigned_to, t.satisfaction_rating, clock, unclocked, t.team,
                   _moment(t.created_at))
            .where(t.resolved_at >= span.start, t.resolved_at < span.end, *_counting(team))):
        if resolve_moment is not None:
            minutes = _by_calendar(team_name, created, None, resolve_moment, calendars)[1]
        resolved_rows.append((_at(resolved), team_name, agent, rating, minutes))
    return _Rows(created_rows, resolved_rows)


# -- the dashboard's reads ---------------------------------------------------------------------------------


def _counting(team: str | None) -> list[ColumnElement[bool]]:
    """The tickets that count (not merged into another, as `reports.counted`), of `team` if given."""
    t = TICKETS.c
    merged = select(LINKS.c.ticket_id).where(LINKS.c.ticket_id == t.id, LINKS.c.kind == MERGED_INTO).exists()
    return [~merged] if team is None else [~merged, t.team == team]


def _at_its_moment(session: AsyncSession, used: Any, stopped: Any, moment: Any) -> ColumnElement[bool]:
    """`_clocked` in the database: the clock has minutes and stopped at the moment itself. Never NULL."""
    if session.get_bind().dialect.name == "sqlite":
        text_moment = _moment(moment)
        return and_(used.is_not(None), stopped.is_not(None), stopped != "", moment.is_not(None),
                    func.substr(stopped, 1, 10) == func.substr(text_moment, 1, 10),
                    func.substr(stopped, 12, 8) == func.substr(text_moment, 12, 8))
    second: ColumnElement[Any] = literal_column("interval '1 second'")
    stopped_at, at = sql_cast(stopped, DateTime(timezone=True)), type_coerce(moment, DateTime(timezone=True))
    return case((or_(used.is_(None), stopped.is_(None), stopped == "", moment.is_(None)), false()),
                else_=stopped_at.between(at - second, at + second))


def _clock_minutes(session: AsyncSession, used: Any, stopped: Any, moment: Any) -> tuple[Any, Any]:
    """The clock's minutes when it stopped at `moment`, and else `moment` itself (when there is one): for the
    calendar to count, in Python, from the creation."""
    clocked = _at_its_moment(session, used, stopped, moment)
    return case((clocked, used), else_=None), case((and_(moment.is_not(None), ~clocked), _moment(moment)))


def _first_response(session: AsyncSession) -> tuple[Any, Any]:
    t = TICKETS.c
    return _clock_minutes(session, t.first_clock_used, t.first_clock_stopped_at, t.first_response_at)


def _resolution(session: AsyncSession) -> tuple[Any, Any]:
    t = TICKETS.c
    return _clock_minutes(session, t.resolution_clock_used, t.resolution_clock_stopped_at, t.resolved_at)


def _by_calendar(team: str, created: Any, first_at: Any, resolved_at: Any,
                 calendars: Mapping[str, Calendar]) -> tuple[float | None, float | None]:
    """The minutes the clocks did not give, counted by the team's calendar as `reports` counts them."""
    facts = TicketFacts(id="", team=team, category="", priority="", tier="", status="", created_at=_at(created),
                        first_response_at=_maybe_at(first_at), resolved_at=_maybe_at(resolved_at))
    return reports.first_response_minutes(facts, calendars), reports.resolution_minutes(facts, calendars)


def _flags() -> Any:
    """`reports.flags` in the database."""
    t = TICKETS.c
    return (case((t.priority == "critical", reports.CRITICAL), else_=0)
            + case((t.resolved_at.is_not(None), reports.RESOLVED), else_=0)
            + case((t.sla_breach, reports.BREACHED), else_=0)
            + case((t.report_deflected, reports.DEFLECTED), else_=0)
            + case((t.escalation_level >= 1, reports.ESCALATED), else_=0))


async def _open_counts(session: AsyncSession, now: datetime, moment: datetime,
                       team: str | None) -> tuple[Counter[str], Counter[str], list[datetime]]:
    """Per priority, the tickets open now and those open at `moment` (as `reports.open_at` has it), and when
    each ticket open now was created. The open ones are read one status at a time (see `load_facts`); of the
    others only those resolved after `moment` can have been open then (through ix_tickets_report_resolved)."""
    t = TICKETS.c
    open_now: Counter[str] = Counter()
    open_before: Counter[str] = Counter()
    open_since: list[datetime] = []
    for status in _OPEN:
        for priority, created, resolved, closed in await session.execute(
                select(t.priority, _moment(t.created_at), _moment(t.resolved_at), _moment(t.closed_at))
                .where(t.status == status, *_counting(team))):
            created_at = _at(created)
            if created_at < now:
                open_now[priority] += 1
                open_since.append(created_at)
            if reports.was_open(created_at, _maybe_at(resolved), _maybe_at(closed), True, moment):
                open_before[priority] += 1
    # Counted here, not by GROUP BY: SQLite would walk the priority index over every ticket to group them.
    open_before.update(await session.scalars(
        select(t.priority).where(t.resolved_at >= moment, t.created_at < moment, t.status.not_in(_OPEN),
                                 or_(t.closed_at.is_(None), t.closed_at >= moment), *_counting(team))))
    return open_now, open_before, open_since


def _counted_created(period: Period, team: str | None) -> ColumnElement[bool]:
    """Created in `period`, not merged into another ticket, of `team` if given (as `reports.counted`)."""
    t = TICKETS.c
    merged = select(LINKS.c.ticket_id).where(LINKS.c.ticket_id == t.id, LINKS.c.kind == MERGED_INTO).exists()
    condition = and_(t.created_at >= period.start, t.created_at < period.end, ~merged)
    return condition if team is None else and_(condition, t.team == team)


async def load_trends(session: AsyncSession, now: datetime, team: str | None = None) -> list[Trend]:
    """`reports.build_trends` of the tickets that count, with the database doing the counting: this week's
    tickets are read with only their id, category and tags, and the weeks before come counted per category
    and list of tags (a few dozen rows whatever the number of tickets)."""
    t = TICKETS.c
    week, history = reports.trend_periods(now)
    usual: Counter[str] = Counter()
    stored_tags = sql_cast(t.tags, Text)
    for category, tags, count in await session.execute(
            select(t.category, stored_tags, func.count()).where(_counted_created(history, team))
            .group_by(t.category, stored_tags)):
        for key in reports.trend_keys(category, _tags(tags)):
            usual[key] += count
    return reports.trends_of(await _trend_ids(session, week, team), usual)


async def _trend_ids(session: AsyncSession, week: Period, team: str | None) -> dict[str, list[str]]:
    """The ids of the tickets that count created in `week`, per trend key."""
    t = TICKETS.c
    current: dict[str, list[str]] = defaultdict(list)
    for ticket_id, category, tags in await session.execute(
            select(t.id, t.category, sql_cast(t.tags, Text)).where(_counted_created(week, team))):
        for key in reports.trend_keys(category, _tags(tags)):
            current[key].append(ticket_id)
    return current


async def load_trend_facts(session: AsyncSession, weeks: Period, team: str | None = None) -> list[TicketFacts]:
    """The tickets created in `weeks` with only what trends read (id, team, category, tags, merge; the other
    fields are placeholders): no JSON picked out of the row, one light object each."""
    t = TICKETS.c
    merged = and_(LINKS.c.ticket_id == t.id, LINKS.c.kind == MERGED_INTO)
    query = (select(t.id, t.team, t.category, _moment(t.created_at), type_coerce(t.tags, String), LINKS.c.related_id)
             .select_from(TICKETS.outerjoin(LINKS, merged))
             .where(t.created_at >= weeks.start, t.created_at < weeks.end))
    if team is not None:
        query = query.where(t.team == team)
    return [TicketFacts(id=ticket_id, team=team_name, category=category, priority="", tier="", status="",
                        created_at=_at(created), tags=_tags(tags), merged_into=merged_into)
            for ticket_id, team_name, category, created, tags, merged_into in await session.execute(query)]


def report_period(now: datetime, days: int) -> Period:
    """Today (UTC, up to `now`) and the `days - 1` whole days before it."""
    if days < 1:
        raise ValueError(f"days must be 1 or more, got {days}")
    midnight = datetime.combine(now.astimezone(UTC).date(), time(0), UTC)
    return Period(midnight - timedelta(days=days - 1), now)


async def daily_report(session: AsyncSession, *, now: datetime, days: int = 30, team: str | None = None,
                       calendars: Mapping[str, Calendar] = _NO_CALENDARS) -> list[DailyRow]:
    """The notes' daily report: per day of creation, newest first (merged tickets count once, as their survivor)."""
    period = report_period(now, days)
    t = TICKETS.c
    rows = await session.execute(_query(and_(t.created_at >= period.start, t.created_at < period.end), team))
    facts = reports.counted(_facts(row) for row in rows)
    return reports.build_daily(facts, period, calendars)
