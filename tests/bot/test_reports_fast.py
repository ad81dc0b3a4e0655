"""The dashboard's fast read (counts and sums by the database, per ticket only the few values percentiles and
means need, trends counted by the database) gives exactly what the pure builder gives from every ticket's
facts, on SQLite and PostgreSQL: on the seeded history of tests/bot/test_reports.py, and on a longer one with
times that are not whole minutes, tickets resolved across the periods' edges, and imported tickets answered
and resolved later (their times counted by the team's calendar, not by an SLA clock)."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.desk import Desk
from bot.imports import ImportedTicket
from bot.workflows import import_ticket
from db import reports as report_store
from db.tickets import TICKETS
from tests.bot.test_reports import BEA, NOW, TOM, customer, desk, new_ticket, reply, resolve, seed  # noqa: F401
from tests.clocks import FakeClock
from ticketing import lifecycle, reports
from ticketing.model import Category, Priority
from ticketing.report_model import TicketFacts

TEAMS = [None, "billing_team", "technical_team", "customer_success"]


async def longer_history(desk: Desk, clock: FakeClock) -> None:  # noqa: F811
    """Tickets over the 180 days before NOW: created at odd seconds, answered after 17 min 23 s and more,
    resolved hours or days later (some after the edge of a 7-, 30- or 90-day period), some still open,
    some imported and from before the SLA clocks (the calendar counts their times)."""
    who = await customer(desk, "history@example.com")
    kinds = [(Category.BILLING, Priority.HIGH, BEA), (Category.BUG, Priority.CRITICAL, TOM),
             (Category.FEATURE_HELP, Priority.LOW, None), (Category.BUG, Priority.MEDIUM, TOM)]
    for n in range(24):
        created = NOW - timedelta(days=2 + 7.4 * n, minutes=13 * n, seconds=7 * n + 3)
        category, priority, agent = kinds[n % len(kinds)]
        if n % 5 == 4:
            clock.current = created + timedelta(hours=1)
            ticket_id = await import_ticket(desk, ImportedTicket(who.email, "Old question", "From the old desk",
                                                                 created, lifecycle.S.OPEN, priority, category, agent))
        else:
            ticket_id = await new_ticket(desk, clock, created, who, category, priority, agent)
        if n % 7 == 6:
            continue  # never answered: still open
        await reply(desk, clock, created + timedelta(hours=1 + n % 3, minutes=17 + n, seconds=23), ticket_id,
                    agent or BEA)
        if n % 6 != 5:
            await resolve(desk, clock, created + timedelta(hours=3 + 11 * (n % 4), seconds=41 * n), ticket_id)
    async with desk.db.transaction() as session:  # the imported ones as tickets from before the SLA clocks
        await session.execute(update(TICKETS).where(TICKETS.c.subject == "Old question").values(
            sla_state=None, first_clock_used=None, first_clock_stopped_at=None, resolution_clock_used=None,
            resolution_clock_stopped_at=None))
    clock.current = NOW


@pytest.mark.parametrize("days", [1, 7, 30, 90])
@pytest.mark.parametrize("team", TEAMS)
async def test_the_dashboard_equals_the_pure_builder_over_all_facts(desk: Desk, clock: FakeClock, days: int,  # noqa: F811
                                                                     team: str | None) -> None:
    await seed(desk, clock)
    window = reports.facts_window(NOW, days)
    async with desk.db.sessions() as session:
        facts = await report_store.load_facts(session, since=window.start, until=NOW)
        fast = await report_store.build_dashboard(session, now=NOW, days=days, team=team,
                                                  calendars=desk.config.calendars)
    assert fast == reports.build_dashboard(facts, NOW, days, team, desk.config.calendars)


async def test_over_a_longer_history_with_calendar_times_every_period_and_team_is_the_same(
    desk: Desk, clock: FakeClock  # noqa: F811
) -> None:
    await seed(desk, clock)
    await longer_history(desk, clock)
    async with desk.db.sessions() as session:
        everything = await report_store.load_facts(session, since=NOW - timedelta(days=400), until=NOW)
        assert any(f.imported and f.first_response_at and f.first_response_clock_minutes is None
                   for f in everything)  # the calendar counts some times
        assert any(m % 1 for f in everything if (m := reports.first_response_minutes(f, desk.config.calendars)))
        for days in (7, 30, 90):
            window = reports.facts_window(NOW, days)
            facts = await report_store.load_facts(session, since=window.start, until=NOW)
            for team in TEAMS:
                fast = await report_store.build_dashboard(session, now=NOW, days=days, team=team,
                                                          calendars=desk.config.calendars)
                pure = reports.build_dashboard(facts, NOW, days, team, desk.config.calendars)
                assert fast == pure, (days, team)
                if team is None:
                    assert fast.summary.first_response.previous is not None  # the previous period has times
                    assert fast.summary.resolution_spread.count > 0


async def test_each_fact_equals_the_same_fact_made_by_the_dataclass(desk: Desk, clock: FakeClock) -> None:  # noqa: F811
    await seed(desk, clock)
    window = reports.facts_window(NOW, 30)
    async with desk.db.sessions() as session:
        facts = await report_store.load_facts(session, since=window.start, until=NOW)
    names = {f.name for f in fields(TicketFacts)}
    assert facts and all(set(vars(f)) == names and replace(f) == f and hash(replace(f)) == hash(f) for f in facts)
    assert any(f.reopened for f in facts) and any(f.deflected for f in facts) and any(f.imported for f in facts)
    assert any(f.first_response_clock_minutes is not None for f in facts)
    assert any(f.resolution_clock_minutes is not None for f in facts)
