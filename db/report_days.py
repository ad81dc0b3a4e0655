"""The dashboard's tallies of closed days, kept in memory and checked against the database on every page.

A 90-day dashboard reads 180 days of tickets (the period and the one before) and five weeks of trends. Most of
those days are over: their tallies (db.reports.Tallies) change only when one of their tickets does, so each
closed UTC day's tallies are kept here, per database engine, and used again while the day's fingerprint holds:
per day, the number of tickets created on it and resolved on it, and the sums of their `report_seq`, a counter
the database's own triggers bump on every change of a ticket or of its links (migration 0016). One GROUP BY per
side over a two-column index answers it for every day of the page; a day whose fingerprint moved (a reply, a
reopen, a merge, an import, a CSAT rating arriving days later) is read again, and so is a day read under other
calendars.

The fingerprint is read before the tickets, so a change that lands between the two reads leaves tallies newer
than their fingerprint: the next page sees the moved fingerprint and reads the day again. The other order could
keep a stale day for ever.

Parts of days (the period's first and last day, the cuts between the period and the one before, the trends'
weeks) are always read live: `stretches` cuts the span at each boundary and at each midnight.
"""

from __future__ import annotations

import itertools
import weakref
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Date, String, func, literal_column, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from db.tickets import TICKETS
from ticketing.calendar import Calendar
from ticketing.report_model import Period

DAY = timedelta(days=1)
KEPT_DAYS = 1000  # per engine; the oldest go first (a 90-day page with its trends reads 180)

Fingerprint = tuple[int, int, int, int]  # created on the day: count, sum of report_seq; resolved on it: the same
NOTHING: Fingerprint = (0, 0, 0, 0)  # a day with no ticket either side
T = TypeVar("T")


@dataclass(frozen=True)
class _Kept(Generic[T]):
    fingerprint: Fingerprint
    calendars: Mapping[str, Calendar]
    tallies: T


_kept: weakref.WeakKeyDictionary[Engine, dict[date, _Kept[Any]]] = weakref.WeakKeyDictionary()


def midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(0), UTC)


def stretches(span: Period, cuts: Iterable[datetime]) -> list[Period]:
    """`span` cut at each of `cuts` inside it and at each UTC midnight: pieces that never cross a midnight,
    and that each lie wholly inside or wholly outside any period that starts or ends at a cut."""
    points = {span.start, span.end, *(c for c in cuts if span.start < c < span.end)}
    day = midnight(span.start) + DAY
    while day < span.end:
        points.add(day)
        day += DAY
    ordered = sorted(points)
    return [Period(a, b) for a, b in itertools.pairwise(ordered)]


def closed_day(piece: Period, now: datetime) -> date | None:
    """The UTC day `piece` is, when it is a whole day that ended before today; else None (read it live)."""
    if piece.start == midnight(piece.start) and piece.end - piece.start == DAY and piece.end <= midnight(now):
        return piece.start.date()
    return None


def runs(pieces: Sequence[Period], most: int | None = None) -> list[list[Period]]:
    """Adjacent pieces in runs (of at most `most` pieces): each run is read with one statement per side."""
    found: list[list[Period]] = []
    for piece in pieces:
        if found and found[-1][-1].end == piece.start and (most is None or len(found[-1]) < most):
            found[-1].append(piece)
        else:
            found.append([piece])
    return found


def piece_of(starts: Sequence[datetime], moment: datetime) -> int:
    """The index of the piece (given by their sorted starts) that holds `moment`."""
    return bisect_right(starts, moment) - 1


def _engine(session: AsyncSession) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _day_of(sqlite: bool, name: str) -> Any:
    """The UTC day of a stored moment, written exactly as migration 0016's index has it (so the database reads
    that index): SQLite's text prefix YYYY-MM-DD, PostgreSQL's date at UTC."""
    if sqlite:
        return literal_column(f"substr(tickets.{name}, 1, 10)", String)
    return literal_column(f"((tickets.{name} AT TIME ZONE 'UTC')::date)", Date)


async def fingerprints(session: AsyncSession, first: date, last: date) -> dict[date, Fingerprint]:
    """Each day's fingerprint from `first` to `last` (both included): two ordered ranges of two indexes,
    counted by the database (a day with no ticket either side is NOTHING and left out)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    bounds: tuple[Any, Any] = (first.isoformat(), last.isoformat()) if sqlite else (first, last)
    found: dict[date, list[int]] = {}
    for side, name in ((0, "created_at"), (2, "resolved_at")):
        day = _day_of(sqlite, name)
        rows = await session.execute(
            select(day, func.count(), func.coalesce(func.sum(TICKETS.c.report_seq), 0))
            .where(day >= bounds[0], day <= bounds[1]).group_by(day))
        for when, count, seq in rows:
            moment = date.fromisoformat(when) if isinstance(when, str) else when
            found.setdefault(moment, [0, 0, 0, 0])[side:side + 2] = [int(count), int(seq)]
    return {day: (a, b, c, d) for day, (a, b, c, d) in found.items()}


def kept(session: AsyncSession, days: Iterable[date], prints: Mapping[date, Fingerprint],
         calendars: Mapping[str, Calendar]) -> dict[date, Any]:
    """The tallies kept for `days` that still hold (same fingerprint, same calendars)."""
    mine = _kept.get(_engine(session), {})
    found = {}
    for day in days:
        entry = mine.get(day)
        if entry is not None and entry.fingerprint == prints.get(day, NOTHING) and entry.calendars == calendars:
            found[day] = entry.tallies
    return found


def keep(session: AsyncSession, day: date, fingerprint: Fingerprint, calendars: Mapping[str, Calendar],
         tallies: T) -> None:
    """Keep `tallies` of `day`, read after `fingerprint` was (never before it: see the module's docstring)."""
    mine = _kept.setdefault(_engine(session), {})
    mine[day] = _Kept(fingerprint, dict(calendars), tallies)
    if len(mine) > KEPT_DAYS:
        for old in sorted(mine)[:len(mine) - KEPT_DAYS]:
            del mine[old]


def forget(session: AsyncSession) -> None:
    """Drop every day kept for this session's database (the bench's cold runs)."""
    _kept.pop(_engine(session), None)
