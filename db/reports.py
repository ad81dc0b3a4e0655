"""Report facts read from the tickets table in one statement per report (no per-ticket reads), and the reports
built from them by ticketing.reports.

One row per ticket: its columns, the SLA clocks' business minutes (pauses left out) and the few metadata
flags (reopened, deflected, imported) picked out of the JSON by the database itself, and the merge link by
an outer join. Timestamps and the picked JSON values come back as plain values, so 100,000 rows cost one
scan of the index range and no JSON parsing in Python but the tags.
"""

from __future__ import annotations

import functools
import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import String, Table, Text, and_, func, select, type_coerce
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

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
    """The dashboard's data: the facts of the period and the one before (`load_facts`), and for the trends'
    five weeks, when they reach further back, only what trends read (`load_trend_facts`: a narrower read)."""
    window = reports.summary_window(now, days)
    facts = await load_facts(session, since=window.start, until=now, team=team)
    trends = await load_trends(session, now, team)
    return reports.build_dashboard(facts, now, days, team, calendars, trends=trends)


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
    current: dict[str, list[str]] = defaultdict(list)
    for ticket_id, category, tags in await session.execute(
            select(t.id, t.category, sql_cast(t.tags, Text)).where(_counted_created(week, team))):
        for key in reports.trend_keys(category, _tags(tags)):
            current[key].append(ticket_id)
    usual: Counter[str] = Counter()
    stored_tags = sql_cast(t.tags, Text)
    for category, tags, count in await session.execute(
            select(t.category, stored_tags, func.count()).where(_counted_created(history, team))
            .group_by(t.category, stored_tags)):
        for key in reports.trend_keys(category, _tags(tags)):
            usual[key] += count
    return reports.trends_of(current, usual)


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
