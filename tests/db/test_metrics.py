"""Hourly metrics without a hot row: changes append deltas (no lock), a fold moves past hours into the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from db import metrics
from db.session import Database, open_database
from db.tables import TicketMetricDeltaRow, TicketMetricsRow

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _totals(rows: list[TicketMetricsRow]) -> list[tuple[object, ...]]:
    return [(r.hour, r.tickets_created, r.tickets_resolved, r.first_response_count, r.first_response_minutes_sum,
             r.resolution_count, r.resolution_minutes_sum, r.satisfaction_responses, r.satisfaction_sum,
             r.by_category, r.by_priority, r.by_agent) for r in rows]


async def _bump_some(database: Database) -> None:
    async with database.transaction() as session:
        await metrics.bump(session, T0 + timedelta(minutes=5), metrics.Bump(created=1), "billing", "high", None)
        await metrics.bump(session, T0 + timedelta(minutes=10), metrics.Bump(first_response_minutes=5.0), "billing",
                           "high", "UBILLAGNT1")
        await metrics.bump(session, T0 + timedelta(minutes=50), metrics.Bump(resolved=1, resolution_minutes=45.0),
                           "billing", "high", "UBILLAGNT1")
        await metrics.bump(session, T0 + timedelta(minutes=70), metrics.Bump(created=1), "bug", "low", None)
        await metrics.bump(session, T0 + timedelta(minutes=80), metrics.Bump(rating=4), "bug", "low", "UTECHAGNT1")


async def test_a_fold_moves_past_hours_into_their_rows_and_readers_see_the_same_numbers(database: Database) -> None:
    await _bump_some(database)
    async with database.sessions() as session:
        before = await metrics.metrics_between(session, T0, T0 + timedelta(hours=2))
    assert _totals(before)[0] == (T0, 1, 1, 1, 5.0, 1, 45.0, 0, 0, {"billing": {"created": 1, "resolved": 1}},
                                  {"high": {"created": 1, "resolved": 1}}, {"UBILLAGNT1": {"resolved": 1}})
    assert (before[1].tickets_created, before[1].satisfaction_responses, before[1].satisfaction_sum) == (1, 1, 4)
    async with database.transaction() as session:
        assert await metrics.fold(session, T0 + timedelta(hours=1, minutes=30)) == 3  # the 09:00 hour only
    async with database.transaction() as session:
        assert await metrics.fold(session, T0 + timedelta(hours=1, minutes=30)) == 0  # nothing counted twice
    async with database.sessions() as session:
        after = await metrics.metrics_between(session, T0, T0 + timedelta(hours=2))
        left = (await session.execute(select(func.count()).select_from(TicketMetricDeltaRow))).scalar_one()
        folded = (await session.execute(select(TicketMetricsRow.hour))).scalars().all()
    assert _totals(after) == _totals(before)
    assert left == 2 and folded == [T0]


async def test_a_second_fold_of_the_same_hour_adds_to_its_row(database: Database) -> None:
    await _bump_some(database)
    async with database.transaction() as session:
        await metrics.fold(session, T0 + timedelta(hours=3))
    await _bump_some(database)
    async with database.transaction() as session:
        await metrics.fold(session, T0 + timedelta(hours=3))
    async with database.sessions() as session:
        first, second = await metrics.metrics_between(session, T0, T0 + timedelta(hours=3))
    assert (first.tickets_created, first.resolution_minutes_sum, first.by_agent) == (2, 90.0, {"UBILLAGNT1":
                                                                                              {"resolved": 2}})
    assert (second.satisfaction_sum, second.by_category) == (8, {"bug": {"created": 2}})


@pytest.mark.postgres
async def test_two_desks_changing_tickets_in_the_same_hours_never_wait_on_each_other(postgres_url: str) -> None:
    """Two transactions open at once, each counting changes in two hours in the opposite order: with a lock per
    hour the second waits for the first (and the crossed order deadlocks). Each waits at most 2 s for a lock
    here, so any waiting fails the test with LockNotAvailable instead of hanging."""
    from db.migrate import upgrade

    database = open_database(postgres_url)
    await upgrade(database)
    try:
        one_hour, next_hour = T0, T0 + timedelta(hours=1)
        async with database.transaction() as desk_a, database.transaction() as desk_b:
            for session in (desk_a, desk_b):
                await session.execute(text("SET LOCAL lock_timeout = '2s'"))
            await metrics.bump(desk_a, one_hour, metrics.Bump(created=1), "billing", "high", "UBILLAGNT1")
            await metrics.bump(desk_b, next_hour, metrics.Bump(created=1), "bug", "low", "UTECHAGNT1")
            await metrics.bump(desk_a, next_hour, metrics.Bump(resolved=1, resolution_minutes=30.0), "bug", "low",
                               "UTECHAGNT1")
            await metrics.bump(desk_b, one_hour, metrics.Bump(resolved=1, resolution_minutes=60.0), "billing",
                               "high", "UBILLAGNT1")
        async with database.sessions() as session:
            rows = await metrics.metrics_between(session, one_hour, next_hour + timedelta(hours=1))
        assert [(r.tickets_created, r.tickets_resolved, r.resolution_minutes_sum) for r in rows] == [
            (1, 1, 60.0), (1, 1, 30.0)]
    finally:
        await database.close()


@pytest.mark.postgres
async def test_two_desks_folding_at_once_count_every_change_once(postgres_url: str) -> None:
    from db.migrate import upgrade

    database = open_database(postgres_url)
    await upgrade(database)
    try:
        await _bump_some(database)
        async with database.transaction() as desk_a:
            moved_a = await metrics.fold(desk_a, T0 + timedelta(hours=3))
            async with database.transaction() as desk_b:  # claims nothing: desk A's delete holds those rows
                await desk_b.execute(text("SET LOCAL lock_timeout = '2s'"))
                moved_b = await metrics.fold(desk_b, T0 + timedelta(hours=1))
        assert (moved_a, moved_b) == (5, 0)
        async with database.sessions() as session:
            rows = await metrics.metrics_between(session, T0, T0 + timedelta(hours=3))
        assert [r.tickets_created for r in rows] == [1, 1]
    finally:
        await database.close()
