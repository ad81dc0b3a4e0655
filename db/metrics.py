"""Hourly ticket metrics without a hot row.

A change appends its contribution (`bump`) to `ticket_metric_deltas` in the transaction that makes the change:
an INSERT, no read and no lock, so changes of several desks never queue (nor deadlock) on an hour's row.
`fold` (a periodic job) moves the deltas of past hours into the `ticket_metrics` rows of the notes; readers
(`metrics_between`) add the deltas not folded yet, so a reader sees the same numbers before and after a fold.

The dashboard and the daily report do not read these rows: they compute from the tickets themselves
(db/reports.py), so they stay right after an import, a merge or a reopen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.mail import insert_for
from db.tables import TicketMetricDeltaRow, TicketMetricsRow

METRICS = cast(Table, TicketMetricsRow.__table__)
DELTAS = cast(Table, TicketMetricDeltaRow.__table__)


@dataclass(frozen=True)
class Bump:
    created: int = 0
    resolved: int = 0
    closed: int = 0
    first_response_minutes: float | None = None
    resolution_minutes: float | None = None
    breaches: int = 0
    escalations: int = 0
    rating: int | None = None


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


_COUNTERS = ("tickets_created", "tickets_resolved", "tickets_closed", "first_response_count",
             "first_response_minutes_sum", "resolution_count", "resolution_minutes_sum", "sla_breaches", "escalations",
             "satisfaction_responses", "satisfaction_sum")
_COUNTED = ("created", "resolved", "closed", "breaches", "escalations")  # also counted by category, priority, agent
_MAPS = ("by_category", "by_priority", "by_agent")


async def bump(
    session: AsyncSession, moment: datetime, change: Bump, category: str, priority: str, agent: str | None
) -> None:
    """Append `change` to its hour's deltas: one INSERT, nothing read, nothing locked."""
    await session.execute(DELTAS.insert().values(
        hour=hour_of(moment), created=change.created, resolved=change.resolved, closed=change.closed,
        first_response_minutes=change.first_response_minutes, resolution_minutes=change.resolution_minutes,
        breaches=change.breaches, escalations=change.escalations, rating=change.rating, category=category,
        priority=priority, agent=agent))


def _empty() -> dict[str, Any]:
    return {**{name: 0 for name in _COUNTERS}, **{name: {} for name in _MAPS}}


def _count(counts: dict[str, Any], key: str | None, field: str, n: int) -> None:
    if key is not None and n:
        bucket = counts.setdefault(key, {})
        bucket[field] = bucket.get(field, 0) + n


def _add(row: dict[str, Any], delta: Mapping[str, Any]) -> None:
    """Add one delta (or a grouped sum of deltas, `n` of them) to an hour's row values, in place."""
    row["tickets_created"] += delta["created"]
    row["tickets_resolved"] += delta["resolved"]
    row["tickets_closed"] += delta["closed"]
    row["sla_breaches"] += delta["breaches"]
    row["escalations"] += delta["escalations"]
    row["first_response_count"] += delta["first_response_count"]
    row["first_response_minutes_sum"] += delta["first_response_minutes"] or 0.0
    row["resolution_count"] += delta["resolution_count"]
    row["resolution_minutes_sum"] += delta["resolution_minutes"] or 0.0
    row["satisfaction_responses"] += delta["satisfaction_responses"]
    row["satisfaction_sum"] += delta["rating"] or 0
    for field in _COUNTED:
        for name, key in (("by_category", "category"), ("by_priority", "priority"), ("by_agent", "agent")):
            _count(row[name], delta[key], field, delta[field])


def _one(delta: Mapping[str, Any]) -> dict[str, Any]:
    """A single delta row in the grouped shape `_add` takes."""
    return {**delta, "first_response_count": int(delta["first_response_minutes"] is not None),
            "resolution_count": int(delta["resolution_minutes"] is not None),
            "satisfaction_responses": int(delta["rating"] is not None)}


def _by_hour(deltas: Iterable[Mapping[str, Any]]) -> dict[datetime, dict[str, Any]]:
    rows: dict[datetime, dict[str, Any]] = defaultdict(_empty)
    for delta in deltas:
        _add(rows[delta["hour"]], delta)
    return rows


async def fold(session: AsyncSession, before: datetime) -> int:
    """Move the deltas of the hours before `before` into their `ticket_metrics` rows; returns how many moved.

    The deltas are claimed by deleting them (DELETE ... RETURNING; on PostgreSQL skipping rows another fold is
    claiming), so two desks folding at once never count one twice nor wait for each other's deltas; the hours'
    rows are then locked one by one in hour order (only folds take those locks, briefly)."""
    free = (select(DELTAS.c.id).where(DELTAS.c.hour < hour_of(before)).with_for_update(skip_locked=True)
            .scalar_subquery())
    claimed = await session.execute(delete(DELTAS).where(DELTAS.c.id.in_(free)).returning(*DELTAS.c))
    deltas = [_one(dict(d)) for d in claimed.mappings()]
    for hour, added in sorted(_by_hour(deltas).items()):
        await session.execute(insert_for(session)(METRICS).values(hour=hour, **_empty())
                              .on_conflict_do_nothing(index_elements=["hour"]))
        locked = select(METRICS).where(METRICS.c.hour == hour).with_for_update()
        row = dict((await session.execute(locked)).mappings().one())
        for name in _COUNTERS:
            row[name] += added[name]
        for name in _MAPS:
            row[name] = _merged(row[name], added[name])
        await session.execute(update(METRICS).where(METRICS.c.hour == hour)
                              .values(**{name: row[name] for name in (*_COUNTERS, *_MAPS)}))
    return len(deltas)


def _merged(stored: Mapping[str, Any], added: Mapping[str, Any]) -> dict[str, Any]:
    merged = {key: dict(value) for key, value in stored.items()}
    for key, counts in added.items():
        bucket = merged.setdefault(key, {})
        for field, n in counts.items():
            bucket[field] = bucket.get(field, 0) + n
    return merged


def _pending(start: datetime, end: datetime) -> Any:
    """The deltas not folded yet, summed per hour and key (few rows, whatever the number of changes)."""
    c = DELTAS.c
    sums = [func.sum(getattr(c, f)).label(f) for f in (*_COUNTED, "first_response_minutes", "resolution_minutes",
                                                          "rating")]
    counts = [func.count(c.first_response_minutes).label("first_response_count"),
              func.count(c.resolution_minutes).label("resolution_count"),
              func.count(c.rating).label("satisfaction_responses")]
    return (select(c.hour, c.category, c.priority, c.agent, *sums, *counts)
            .where(c.hour >= hour_of(start), c.hour < end).group_by(c.hour, c.category, c.priority, c.agent))


async def metrics_between(session: AsyncSession, start: datetime, end: datetime) -> list[TicketMetricsRow]:
    """The hours' rows (not attached to the session), folded rows and pending deltas added together."""
    query = select(METRICS).where(METRICS.c.hour >= hour_of(start), METRICS.c.hour < end)
    rows: dict[datetime, dict[str, Any]] = {r["hour"]: dict(r) for r in (await session.execute(query)).mappings()}
    pending = [dict(d) for d in (await session.execute(_pending(start, end))).mappings()]
    for hour, added in _by_hour(pending).items():
        row = rows.setdefault(hour, {"hour": hour, **_empty()})
        for name in _COUNTERS:
            row[name] += added[name]
        for name in _MAPS:
            row[name] = _merged(row[name], added[name])
    return [TicketMetricsRow(**rows[hour]) for hour in sorted(rows)]
