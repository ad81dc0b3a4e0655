"""The dashboard's kept tallies of closed days (db/report_days.py): used again while a day's fingerprint holds,
read again as soon as any ticket of the day changes, by whatever path (our workflows, a merge, an import, a
bare SQL UPDATE that no code of ours made), on SQLite and PostgreSQL. After each change the page still equals
the pure builder over every ticket's facts, and only the days that changed were read again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, select, update

from bot import csat, dashboard, related
from bot.desk import Desk
from bot.imports import ImportedTicket
from bot.workflows import import_ticket
from db import report_days
from db import reports as report_store
from db.reports import LINKS
from db.tickets import TICKETS
from tests.bot.test_reports import BEA, NOW, TOM, customer, desk, reply, resolve, seed  # noqa: F401
from tests.bot.test_reports_fast import TEAMS, longer_history
from tests.clocks import FakeClock
from ticketing import lifecycle, reports
from ticketing.calendar import Calendar
from ticketing.model import Category, Priority
from ticketing.report_model import Period, TicketFacts

TODAY = report_days.midnight(NOW)


def test_the_span_is_cut_at_every_midnight_and_every_cut_and_only_whole_past_days_are_kept() -> None:
    now = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)
    span = Period(now - timedelta(days=3), now)
    pieces = report_days.stretches(span, (now - timedelta(days=2), now - timedelta(days=9)))
    assert [(p.start.isoformat(), p.end.isoformat()) for p in pieces] == [
        ("2026-11-13T16:00:00+00:00", "2026-11-14T00:00:00+00:00"),
        ("2026-11-14T00:00:00+00:00", "2026-11-14T16:00:00+00:00"),  # cut at now - 2 days
        ("2026-11-14T16:00:00+00:00", "2026-11-15T00:00:00+00:00"),
        ("2026-11-15T00:00:00+00:00", "2026-11-16T00:00:00+00:00"),
        ("2026-11-16T00:00:00+00:00", "2026-11-16T16:00:00+00:00"),
    ]
    assert [report_days.closed_day(p, now) for p in pieces] == [None, None, None, date(2026, 11, 15), None]
    midnight_now = datetime(2026, 11, 16, tzinfo=UTC)  # at midnight yesterday is over, today has not begun
    assert report_days.closed_day(Period(midnight_now - timedelta(days=1), midnight_now), midnight_now) == date(
        2026, 11, 15)
    assert [len(run) for run in report_days.runs([pieces[0], pieces[1], pieces[3]])] == [2, 1]


async def facts_of(desk: Desk, days: int) -> list[TicketFacts]:  # noqa: F811
    window = reports.facts_window(NOW, days)
    async with desk.db.sessions() as session:
        return await report_store.load_facts(session, since=window.start, until=NOW)


async def assert_pages_equal_the_pure_builder(desk: Desk,  # noqa: F811
                                              calendars: dict[str, Calendar] | None = None) -> None:
    chosen = desk.config.calendars if calendars is None else calendars
    for days in (7, 30, 90):
        facts = await facts_of(desk, days)
        for team in TEAMS:
            async with desk.db.sessions() as session:
                fast = await report_store.build_dashboard(session, now=NOW, days=days, team=team, calendars=chosen)
            assert fast == reports.build_dashboard(facts, NOW, days, team, chosen), (days, team)


def kept_entries(desk: Desk) -> dict[date, object]:  # noqa: F811
    """Each day's kept entry (held, so that its identity is not reused): a day read again gets a new one."""
    return dict(report_days._kept[desk.db.engine.sync_engine])


async def changed_days(desk: Desk, before: dict[date, object]) -> set[date]:  # noqa: F811
    await assert_pages_equal_the_pure_builder(desk)
    after = kept_entries(desk)
    return {day for day, entry in after.items() if before.get(day) is not entry}


async def seq_of(desk: Desk, ticket_id: str) -> int:  # noqa: F811
    async with desk.db.sessions() as session:
        return int((await session.execute(select(TICKETS.c.report_seq).where(TICKETS.c.id == ticket_id))).scalar_one())


def day_of(moment: datetime | None) -> date:
    assert moment is not None
    return moment.astimezone(UTC).date()


async def test_a_closed_day_is_read_again_after_any_change_of_its_tickets_and_only_it(
    desk: Desk, clock: FakeClock  # noqa: F811
) -> None:
    ids = await seed(desk, clock)
    await longer_history(desk, clock)
    await assert_pages_equal_the_pure_builder(desk)
    entries = kept_entries(desk)
    assert len(entries) >= 170 and max(entries) == TODAY.date() - timedelta(days=1)  # every closed day, not today
    assert await changed_days(desk, entries) == set()  # nothing changed: every day used again

    facts = {f.id: f for f in await facts_of(desk, 90)}
    old_open = sorted((f for f in facts.values() if f.is_open and f.created_at < TODAY - timedelta(days=20)),
                      key=lambda f: f.created_at)
    assert len(old_open) >= 2
    first, second = old_open[0], old_open[1]

    # An agent answers an old ticket today: its day of creation changes (first response), nothing else.
    entries = kept_entries(desk)
    await reply(desk, clock, NOW - timedelta(hours=1), first.id, BEA)
    assert await changed_days(desk, entries) == {day_of(first.created_at)}

    # A CSAT rating arrives for a ticket resolved days ago: the day it was resolved on changes.
    g = facts[ids["G"]]
    entries = kept_entries(desk)
    clock.current = NOW - timedelta(minutes=30)
    await csat.record_rating(desk, g.id, 2)
    assert day_of(g.resolved_at) in await changed_days(desk, entries)

    # A merge of two old tickets (a link row, and the source closed).
    entries = kept_entries(desk)
    clock.current = NOW - timedelta(minutes=20)
    await related.merge(desk, second.id, first.id, TOM)
    assert day_of(second.created_at) in await changed_days(desk, entries)

    # A bare UPDATE of one column, made by no code of ours: the database's trigger bumps the counter.
    entries = kept_entries(desk)
    seq = await seq_of(desk, g.id)
    async with desk.db.transaction() as session:
        await session.execute(update(TICKETS).where(TICKETS.c.id == g.id).values(category="bug"))
    assert await seq_of(desk, g.id) == seq + 1
    assert await changed_days(desk, entries) >= {day_of(g.created_at)}

    # An imported ticket lands on a closed day; a ticket is deleted from another.
    entries = kept_entries(desk)
    created = NOW - timedelta(days=40, hours=3)
    clock.current = NOW - timedelta(minutes=10)
    who = await customer(desk, "late@example.com")
    await import_ticket(desk, ImportedTicket(who.email, "From the old desk", "Still broken", created,
                                             lifecycle.S.OPEN, Priority.HIGH, Category.BUG, TOM))
    gone = next(f for f in facts.values() if f.resolved_at is not None and f.created_at < TODAY - timedelta(days=60))
    async with desk.db.transaction() as session:
        await session.execute(delete(TICKETS).where(TICKETS.c.id == gone.id))
    assert await changed_days(desk, entries) >= {day_of(created), day_of(gone.created_at), day_of(gone.resolved_at)}
    clock.current = NOW

    # The old ticket resolved today: the day it was created on changes; today is read live anyway.
    entries = kept_entries(desk)
    await resolve(desk, clock, NOW - timedelta(minutes=5), first.id)
    assert await changed_days(desk, entries) == {day_of(first.created_at)}
    clock.current = NOW

    # Other calendars (support.yml reloaded with other hours): every day is read again under them.
    entries = kept_entries(desk)
    await assert_pages_equal_the_pure_builder(desk, calendars={})
    assert all(entry is not entries.get(day) for day, entry in kept_entries(desk).items())


async def test_the_triggers_bump_the_counter_of_a_ticket_and_of_both_ends_of_its_links(
    desk: Desk, clock: FakeClock  # noqa: F811
) -> None:
    ids = await seed(desk, clock)
    a, b = ids["A"], ids["G"]
    before = (await seq_of(desk, a), await seq_of(desk, b))
    async with desk.db.transaction() as session:
        await session.execute(insert(LINKS).values(ticket_id=a, related_id=b, kind="related", created_at=NOW))
    assert (await seq_of(desk, a), await seq_of(desk, b)) == (before[0] + 1, before[1])
    async with desk.db.transaction() as session:
        await session.execute(update(LINKS).where(LINKS.c.ticket_id == a, LINKS.c.related_id == b)
                              .values(ticket_id=b, related_id=a))
    assert (await seq_of(desk, a), await seq_of(desk, b)) == (before[0] + 2, before[1] + 1)
    async with desk.db.transaction() as session:
        await session.execute(delete(LINKS).where(LINKS.c.ticket_id == b, LINKS.c.related_id == a))
    assert (await seq_of(desk, a), await seq_of(desk, b)) == (before[0] + 2, before[1] + 2)
    async with desk.db.transaction() as session:  # an UPDATE that sets the counter itself still moves it
        await session.execute(update(TICKETS).where(TICKETS.c.id == a).values(report_seq=before[0] + 2))
    assert await seq_of(desk, a) != before[0] + 2


@pytest.fixture(autouse=True)
def _fresh_kept() -> None:
    report_days._kept.clear()


async def test_the_warm_up_at_start_reads_the_closed_days_so_the_first_page_reads_none(
    desk: Desk, clock: FakeClock  # noqa: F811
) -> None:
    await seed(desk, clock)
    await longer_history(desk, clock)
    await dashboard.warm_up(desk)
    entries = kept_entries(desk)
    assert len(entries) >= 170  # the 90-day page's period, the one before, the trends' weeks
    assert await changed_days(desk, entries) == set()
