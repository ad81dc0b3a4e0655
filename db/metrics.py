"""Hourly ticket metrics, bumped in the same transaction as the change they count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.mail import insert_for
from db.tables import TicketMetricsRow

METRICS = cast(Table, TicketMetricsRow.__table__)


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


def _add(counts: dict[str, Any], key: str | None, field: str) -> dict[str, Any]:
    if key is None:
        return counts
    bucket = dict(counts.get(key, {}))
    bucket[field] = bucket.get(field, 0) + 1
    return {**counts, key: bucket}


_COUNTERS = ("tickets_created", "tickets_resolved", "tickets_closed", "first_response_count",
             "first_response_minutes_sum", "resolution_count", "resolution_minutes_sum", "sla_breaches", "escalations",
             "satisfaction_responses", "satisfaction_sum")


async def bump(
    session: AsyncSession, moment: datetime, change: Bump, category: str, priority: str, agent: str | None
) -> None:
    """Add `change` to its hour's row (made on first use), read and written under the row's lock."""
    hour = hour_of(moment)
    locked = select(METRICS).where(METRICS.c.hour == hour).with_for_update()
    found = (await session.execute(locked)).mappings().first()
    if found is None:  # the hour's first change: make its row, unless another transaction just did
        empty = {**{name: 0 for name in _COUNTERS}, "by_category": {}, "by_priority": {}, "by_agent": {}}
        await session.execute(insert_for(session)(METRICS).values(hour=hour, **empty)
                              .on_conflict_do_nothing(index_elements=["hour"]))
        found = (await session.execute(locked)).mappings().one()
    row: dict[str, Any] = dict(found)
    row["tickets_created"] += change.created
    row["tickets_resolved"] += change.resolved
    row["tickets_closed"] += change.closed
    row["sla_breaches"] += change.breaches
    row["escalations"] += change.escalations
    if change.first_response_minutes is not None:
        row["first_response_count"] += 1
        row["first_response_minutes_sum"] += change.first_response_minutes
    if change.resolution_minutes is not None:
        row["resolution_count"] += 1
        row["resolution_minutes_sum"] += change.resolution_minutes
    if change.rating is not None:
        row["satisfaction_responses"] += 1
        row["satisfaction_sum"] += change.rating
    for field in ("created", "resolved", "closed", "breaches", "escalations"):
        if getattr(change, field):
            row["by_category"] = _add(row["by_category"], category, field)
            row["by_priority"] = _add(row["by_priority"], priority, field)
            row["by_agent"] = _add(row["by_agent"], agent, field)
    values = {name: row[name] for name in (*_COUNTERS, "by_category", "by_priority", "by_agent")}
    await session.execute(update(METRICS).where(METRICS.c.hour == hour).values(**values))


async def metrics_between(session: AsyncSession, start: datetime, end: datetime) -> list[TicketMetricsRow]:
    query = select(TicketMetricsRow).where(
        TicketMetricsRow.hour >= hour_of(start), TicketMetricsRow.hour < end
    )
    return list((await session.execute(query.order_by(TicketMetricsRow.hour))).scalars())
