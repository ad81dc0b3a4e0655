"""The dashboard's fast read (plain report columns through one covering index, trends counted by the
database) gives exactly what the pure builder gives from every ticket's facts, on SQLite and PostgreSQL, on
the seeded history of tests/bot/test_reports.py."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from bot.desk import Desk
from db import reports as report_store
from tests.bot.test_reports import NOW, desk, seed  # noqa: F401  (desk is the fixture)
from tests.clocks import FakeClock
from ticketing import reports
from ticketing.report_model import TicketFacts


@pytest.mark.parametrize("days", [1, 7, 30, 90])
@pytest.mark.parametrize("team", [None, "billing_team"])
async def test_the_dashboard_equals_the_pure_builder_over_all_facts(desk: Desk, clock: FakeClock, days: int,  # noqa: F811
                                                                     team: str | None) -> None:
    await seed(desk, clock)
    window = reports.facts_window(NOW, days)
    async with desk.db.sessions() as session:
        facts = await report_store.load_facts(session, since=window.start, until=NOW)
        fast = await report_store.build_dashboard(session, now=NOW, days=days, team=team,
                                                  calendars=desk.config.calendars)
    assert fast == reports.build_dashboard(facts, NOW, days, team, desk.config.calendars)


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
