"""Every figure of the dashboard and the daily report against numbers worked out by hand, from a small history
made through the desk's own workflows (create, import, reply, wait on the customer, resolve, reopen, rate,
escalate by hand and by the SLA ticker, merge, self-service answer) on a fake clock, on SQLite and PostgreSQL.

The billing team works 09:00-17:00 Europe/London, Monday to Friday (GMT in November: UTC); every other team
is open around the clock. "Now" is Monday 2026-11-16 16:00 UTC; the period is the 7 days before it.

    G  feature_help  Tue 11-03 10:00, reply 11:00 (60), resolved 12:00 (120)       previous period
    A  billing high  Fri 11-13 16:30, reply Mon 09:15 (30 Fri + 15 = 45 business min), resolved Mon 10:00
                     (90), rated 5                                                     Bea
    E  billing crit  imported Mon 09:00, created Sun 11-15 20:00, enterprise: 15 business minutes to answer,
                     breached at 09:15 (the ticker runs at 09:20), climbs to level 1   Bea, open
    B  billing med   Mon 10:00, reply 10:20 asking the customer (20), customer answers 12:00 (pause not counted),
                     resolved 13:00 (80), customer writes again 14:00 (reopened), resolved 15:00 (140), rated 4
    C  bug critical  Mon 11:00, reply 11:10 (10), escalated by hand 11:30, open        Tom
    D  bug low       Mon 12:00, same customer as C, merged into C 12:30: counts nowhere
    F  feature_help  Mon 13:00, resolved 13:30 by its self-service answer (deflected, 30)
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot import actions, csat, deflection, related
from bot.bootstrap import start_desk
from bot.desk import Desk
from bot.imports import ImportedTicket
from bot.sla import Ticker
from bot.workflows import import_ticket
from db import reports as report_store
from db import tickets as ticket_store
from tests.bot.test_sla_ticker import desk_settings, support_data, with_team, write_support
from tests.clocks import FakeClock
from ticketing import lifecycle
from ticketing import report_model as reports_model
from ticketing.create import NewTicket
from ticketing.model import Author, Category, Customer, Message, Priority, Ticket, Tier, Visibility
from ticketing.reports import AgentRow, BacklogBucket, CategoryCount, DailyRow, Dashboard, Trend, VolumePoint

BEA, TOM, LEAD = "UBILLAGNT1", "UTECHAGNT1", "UTECHLEAD1"
NOW = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
async def desk(database_url: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Desk]:
    data = with_team(support_data(), "billing_team", hours="09:00-17:00", timezone="Europe/London")
    desk = await start_desk(desk_settings(database_url, write_support(tmp_path / "office.yml", data)), clock)
    yield desk
    await desk.db.close()


async def customer(desk: Desk, email: str, tier: Tier = Tier.FREE) -> Customer:
    async with desk.db.transaction() as session:
        return await ticket_store.save_customer(session, Customer(id="", email=email, tier=tier), desk.clock.now())


async def new_ticket(desk: Desk, clock: FakeClock, when: datetime, who: Customer, category: Category,
                     priority: Priority, assignee: str | None = None) -> str:
    clock.current = when
    request = NewTicket(who, f"{category} question", "Please help with this.", category=category, priority=priority,
                        assignee=assignee)
    return (await desk.open_ticket(request, confirm=False)).ticket.id


async def customer_writes(desk: Desk, clock: FakeClock, when: datetime, ticket_id: str) -> None:
    clock.current = when

    async def change(_session: AsyncSession, ticket: Ticket) -> Ticket:
        message = Message(str(uuid.uuid4()), Author.CUSTOMER, "Here is more.", when, Visibility.PUBLIC,
                          ticket.customer.email)
        return lifecycle.add_customer_reply(ticket, message)

    await actions.change_ticket(desk, ticket_id, change)


async def reply(desk: Desk, clock: FakeClock, when: datetime, ticket_id: str, agent: str,
                after: actions.AfterSend = actions.AfterSend.KEEP_OPEN) -> None:
    clock.current = when
    await actions.reply(desk, ticket_id, agent, "Looking into it.", after)


async def resolve(desk: Desk, clock: FakeClock, when: datetime, ticket_id: str) -> None:
    clock.current = when
    await actions.resolve(desk, ticket_id, BEA)


async def offer_self_service(desk: Desk, ticket_id: str) -> None:
    async def change(_session: AsyncSession, ticket: Ticket) -> Ticket:
        extra = {**ticket.metadata.extra, "deflection": {"name": "reset_password"}}
        return replace(ticket, metadata=replace(ticket.metadata, extra=extra))

    await actions.change_ticket(desk, ticket_id, change)


async def seed(desk: Desk, clock: FakeClock) -> dict[str, str]:
    amelia, ben, chloe = [await customer(desk, f"{n}@example.com") for n in ("amelia", "ben", "chloe")]
    big = await customer(desk, "ops@bigvenue.example", Tier.ENTERPRISE)
    ids: dict[str, str] = {}
    ids["G"] = await new_ticket(desk, clock, at(3, 10), amelia, Category.FEATURE_HELP, Priority.LOW)
    await reply(desk, clock, at(3, 11), ids["G"], BEA)
    await resolve(desk, clock, at(3, 12), ids["G"])

    ids["A"] = await new_ticket(desk, clock, at(13, 16, 30), amelia, Category.BILLING, Priority.HIGH, BEA)
    clock.current = at(16, 9)
    ids["E"] = await import_ticket(desk, ImportedTicket(big.email, "Invoices", "All invoices are wrong", at(15, 20),
                                                        lifecycle.S.OPEN, Priority.CRITICAL, Category.BILLING, BEA))
    await reply(desk, clock, at(16, 9, 15), ids["A"], BEA)
    clock.current = at(16, 9, 20)
    await Ticker(desk).tick()
    await resolve(desk, clock, at(16, 10), ids["A"])
    ids["B"] = await new_ticket(desk, clock, at(16, 10), ben, Category.BILLING, Priority.MEDIUM, BEA)
    clock.current = at(16, 10, 5)
    await csat.record_rating(desk, ids["A"], 5)
    await reply(desk, clock, at(16, 10, 20), ids["B"], BEA, actions.AfterSend.WAIT_CUSTOMER)
    ids["C"] = await new_ticket(desk, clock, at(16, 11), chloe, Category.BUG, Priority.CRITICAL, TOM)
    await reply(desk, clock, at(16, 11, 10), ids["C"], TOM)
    clock.current = at(16, 11, 30)
    await actions.escalate_ticket(desk, ids["C"], "the whole venue is down", LEAD)
    await customer_writes(desk, clock, at(16, 12), ids["B"])
    ids["D"] = await new_ticket(desk, clock, at(16, 12), chloe, Category.BUG, Priority.LOW, TOM)
    clock.current = at(16, 12, 30)
    await related.merge(desk, ids["D"], ids["C"], TOM)
    await resolve(desk, clock, at(16, 13), ids["B"])
    ids["F"] = await new_ticket(desk, clock, at(16, 13), ben, Category.FEATURE_HELP, Priority.LOW)
    await offer_self_service(desk, ids["F"])
    clock.current = at(16, 13, 30)
    await deflection.answer(desk, ids["F"], helped=True)
    await customer_writes(desk, clock, at(16, 14), ids["B"])  # reopens it
    await resolve(desk, clock, at(16, 15), ids["B"])
    clock.current = at(16, 15, 5)
    await csat.record_rating(desk, ids["B"], 4)
    clock.current = NOW
    return ids


async def dashboard(desk: Desk, days: int = 7, team: str | None = None) -> Dashboard:
    async with desk.db.sessions() as session:
        return await report_store.build_dashboard(session, now=NOW, days=days, team=team,
                                                  calendars=desk.config.calendars)


async def test_the_facts_carry_business_minutes_pauses_reopens_merges_imports_and_deflection(
    desk: Desk, clock: FakeClock
) -> None:
    ids = await seed(desk, clock)
    async with desk.db.sessions() as session:
        facts = {f.id: f for f in await report_store.load_facts(session, since=at(1, 0), until=NOW)}
    assert set(facts) == set(ids.values())
    a, b, c, d, e, f = (facts[ids[k]] for k in "ABCDEF")
    assert (a.first_response_clock_minutes, a.resolution_clock_minutes) == (pytest.approx(45), pytest.approx(90))
    assert (b.first_response_clock_minutes, b.resolution_clock_minutes) == (pytest.approx(20), pytest.approx(140))
    assert b.reopened == 1 and a.reopened == 0
    assert d.merged_into == ids["C"] and c.merged_into is None
    assert e.imported and e.sla_breached and e.escalation_level >= 1 and not a.imported
    assert f.deflected and f.resolved_at == at(16, 13, 30)
    assert c.escalation_level == 1 and (a.csat, b.csat) == (5, 4)


async def test_the_summary_cards_match_the_hand_computed_figures(desk: Desk, clock: FakeClock) -> None:
    await seed(desk, clock)
    s = (await dashboard(desk)).summary
    assert s.open_by_priority == {"critical": 2, "high": 0, "medium": 0, "low": 0}  # C and E; D merged
    assert s.open_total == 2 and s.open_change == 2  # nothing was open on 11-09 16:00
    # first response of the period's tickets: A 45, B 20, C 10 (E unanswered, F deflected without a reply)
    assert (s.first_response.value, s.first_response.previous, s.first_response.met) == (pytest.approx(25), 60, True)
    spread = s.first_response_spread
    assert (spread.count, spread.p50, spread.p90) == (3, pytest.approx(20), pytest.approx(40))  # 20 + 0.8 * 25
    # resolution (hours) of the tickets resolved in the period: A 1.5, B 140/60, F 0.5; G (previous) 2
    assert s.resolution.value == pytest.approx((1.5 + 140 / 60 + 0.5) / 3)
    assert (s.resolution.previous, s.resolution.met, s.resolution.target) == (pytest.approx(2), True, 8)
    assert s.resolution_spread.p50 == pytest.approx(1.5)
    assert (s.csat.value, s.csat.previous, s.csat.met) == (100, None, True)  # 5 and 4
    assert (s.sla_compliance.value, s.sla_compliance.previous, s.sla_compliance.met) == (75, 100, False)  # E of 4
    assert (s.deflection.value, s.deflection.previous, s.deflection.met) == (20, 0, False)  # F of A B C E F
    assert (s.escalation_rate.value, s.escalation_rate.met) == (40, False)  # C and E
    assert s.resolved_per_agent_day.value == pytest.approx(2 / 1 / 7)  # Bea resolved A and B in 7 days
    assert not s.resolved_per_agent_day.met


async def test_the_tables_and_charts_match_the_hand_computed_history(desk: Desk, clock: FakeClock) -> None:
    ids = await seed(desk, clock)
    board = await dashboard(desk)
    volume = {p.day: p for p in board.volume}
    assert len(board.volume) == 8  # 11-09 (from 16:00) to 11-16
    assert volume[date(2026, 11, 13)] == VolumePoint(date(2026, 11, 13), 1, 0)
    assert volume[date(2026, 11, 15)] == VolumePoint(date(2026, 11, 15), 1, 0)
    assert volume[date(2026, 11, 16)] == VolumePoint(date(2026, 11, 16), 3, 3)  # B C F created; A B F resolved
    assert board.categories == (CategoryCount("billing", 3), CategoryCount("bug", 1), CategoryCount("feature_help", 1))
    bea = next(row for row in board.agents if row.agent == BEA)
    assert bea == AgentRow(BEA, 3, 2, pytest.approx(32.5), pytest.approx(200 / 3), 100)  # A B E; E breached
    assert next(row for row in board.agents if row.agent == TOM) == AgentRow(TOM, 1, 0, 10, None, None)
    categories = [t for t in board.trends if t.key.startswith("category:")]
    assert categories == [Trend("category:billing", 3, 0.0, tuple(sorted((ids["A"], ids["B"], ids["E"]))))]
    assert board.backlog == (BacklogBucket("< 4 h", 0), BacklogBucket("4-24 h", 2), BacklogBucket("1-3 days", 0),
                             BacklogBucket("3-7 days", 0), BacklogBucket("> 7 days", 0))


async def test_the_team_filter_keeps_only_that_teams_tickets(desk: Desk, clock: FakeClock) -> None:
    await seed(desk, clock)
    board = await dashboard(desk, team="technical_team")
    assert board.summary.open_by_priority["critical"] == 1 and board.categories == (CategoryCount("bug", 1),)
    assert board.summary.first_response.value == 10


async def test_the_daily_report_matches_the_notes_query_by_hand(desk: Desk, clock: FakeClock) -> None:
    await seed(desk, clock)
    async with desk.db.sessions() as session:
        rows = await report_store.daily_report(session, now=NOW, days=7, calendars=desk.config.calendars)
    assert [r.day for r in rows] == [date(2026, 11, 16) - timedelta(days=n) for n in range(7)]
    by_day = {r.day: r for r in rows}
    assert by_day[date(2026, 11, 16)] == DailyRow(date(2026, 11, 16), 3, 1, 2, pytest.approx(15),
                                                  pytest.approx((140 / 60 + 0.5) / 2), 0, pytest.approx(200 / 3))
    assert by_day[date(2026, 11, 15)] == DailyRow(date(2026, 11, 15), 1, 1, 0, None, None, 1, 0)
    assert by_day[date(2026, 11, 13)] == DailyRow(date(2026, 11, 13), 1, 0, 1, 45, 1.5, 0, 100)
    assert by_day[date(2026, 11, 14)] == DailyRow(date(2026, 11, 14), 0, 0, 0, None, None, 0, None)


async def test_the_export_lists_every_ticket_created_in_the_days_once(desk: Desk, clock: FakeClock) -> None:
    ids = await seed(desk, clock)
    async with desk.db.sessions() as session:
        exported = [f async for f in report_store.ticket_export(session, since=at(13, 0), until=NOW)]
    assert [f.id for f in exported] == [ids[k] for k in "AEBCDF"]  # by creation time; D is there, merged


async def test_the_metrics_job_folds_the_hours_that_are_over_and_leaves_the_current_one(
    desk: Desk, clock: FakeClock
) -> None:
    from bot.metrics_job import MetricsFolder
    from db import metrics

    await seed(desk, clock)  # every change of the history appended its delta
    async with desk.db.sessions() as session:
        before = await metrics.metrics_between(session, at(1, 0), NOW + timedelta(hours=1))
    clock.current = NOW + timedelta(minutes=30)
    async with desk.db.transaction() as session:
        await metrics.bump(session, clock.now(), metrics.Bump(created=1), "bug", "low", None)  # this hour
    folder = MetricsFolder(desk)
    assert await folder.fold() > 0 and await folder.fold() == 0
    async with desk.db.sessions() as session:
        after = await metrics.metrics_between(session, at(1, 0), NOW + timedelta(hours=1))
    assert [(r.hour, r.tickets_created, r.tickets_resolved) for r in after] == [
        *((r.hour, r.tickets_created, r.tickets_resolved) for r in before), (NOW, 1, 0)]


async def test_the_trends_weeks_are_read_apart_with_what_trends_need(desk: Desk, clock: FakeClock) -> None:
    ids = await seed(desk, clock)
    weeks = reports_model.Period(NOW - timedelta(days=35), NOW)
    async with desk.db.sessions() as session:
        found = {f.id: f for f in await report_store.load_trend_facts(session, weeks)}
        billing = {f.id for f in await report_store.load_trend_facts(session, weeks, team="billing_team")}
    assert set(found) == set(ids.values()) and billing == {ids["A"], ids["B"], ids["E"]}
    assert found[ids["D"]].merged_into == ids["C"] and found[ids["G"]].category == "feature_help"
    assert found[ids["A"]].created_at == at(13, 16, 30)
    assert found[ids["C"]].tags == await stored_tags(desk, ids["C"])


async def stored_tags(desk: Desk, ticket_id: str) -> tuple[str, ...]:
    async with desk.db.sessions() as session:
        return (await ticket_store.get_ticket(session, ticket_id)).tags
