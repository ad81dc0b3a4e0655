"""The SLA ticker at the desk level: a fake clock walked through every threshold, the Ticker driven by calling
`tick()`; what it fired is read from `sla_firings` and the outbox. Pauses, business hours and holidays, restarts,
two tickers on one database, SMS through the local Twilio stand-in, the founder's DM through the Slack stand-in,
and acknowledgements (direct, and through a signed Slack request)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import actions, deflection
from bot.actions import AfterSend
from bot.bootstrap import start_desk
from bot.desk import Desk
from bot.imports import ImportedTicket
from bot.serve import Running, start
from bot.settings import Settings
from bot.sla import Ticker, acknowledge
from bot.slack.client import build_client
from bot.slack.poster import SlackPoster
from bot.sms import SmsDispatcher
from bot.workflows import import_ticket
from channels.sms import SmsConfig, SmsSender
from db import outbox as outbox_store
from db import sla as sla_store
from db import tickets as ticket_store
from db.tables import EscalationAckRow, OutboxRow, SlaFiringRow, TicketRow
from tests.bot.slack_helpers import SIGNING_SECRET, SlackSender, button
from tests.clocks import FakeClock
from tests.conftest import TEST_SUPPORT_YML
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from tests.fakes.twilio_api import TwilioApi, twilio_api_fixture  # noqa: F401
from tests.waiting import eventually
from ticketing import lifecycle
from ticketing.escalation import step_up
from ticketing.model import Author, Category, Customer, Message, Priority, Status, Ticket, Tier, Visibility
from ticketing.sla import DEFAULT_SLA_MATRIX

FOUNDER, MANAGER = "UFOUNDER01", "UMANAGER01"
FOUNDER_PHONE, MANAGER_PHONE = "+447700900001", "+447700900002"
AGENT, SENIOR, LEAD = "UBILLAGNT1", "UBILLSEN01", "UBILLLEAD1"  # billing_team in the test support.yml
OTHER_TEAM_AGENT = "UTECHAGNT1"
BILLING_CHANNEL = "CBILLING01"
SECOND = timedelta(seconds=1)
FRIDAY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the `clock` fixture's start: a Friday, GMT in London


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


# -- building desks ----------------------------------------------------------------------------------------


def support_data(**changes: Any) -> dict[str, Any]:
    """The test support.yml (tests/conftest.py) as data, with top-level keys replaced or added."""
    data: dict[str, Any] = yaml.safe_load(TEST_SUPPORT_YML)
    data.update(changes)
    return data


def write_support(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def with_team(data: dict[str, Any], team: str, **settings: Any) -> dict[str, Any]:
    data["teams"][team] = {**data["teams"][team], **settings}
    return data


def with_manager(data: dict[str, Any], **settings: Any) -> dict[str, Any]:
    data["managers"] = [{**data["managers"][0], **settings}]
    return data


def desk_settings(database_url: str, support: Path, twilio: TwilioApi | None = None, slack: SlackApi | None = None,
                  **extra: Any) -> Settings:
    """Slack configured (so Slack effects are written to the outbox) and Twilio configured (SMS rows too);
    pointed at the stand-ins when given."""
    values: dict[str, Any] = dict(
        _env_file=None, database_url=database_url, support_config=support,
        slack_bot_token=slack.token if slack else "xoxb-test-token", slack_signing_secret=SIGNING_SECRET,
        slack_channel_interval=0,
        twilio_account_sid=twilio.account_sid if twilio else "AC" + "0" * 32,
        twilio_auth_token=twilio.auth_token if twilio else "test-auth-token",
        twilio_from_number=twilio.from_number if twilio else "+15005550006",
    )
    if slack is not None:
        values["slack_api_url"] = slack.url
    if twilio is not None:
        values["twilio_api_url"] = twilio.url
    values.update(extra)
    return Settings(**values)


def sqlite_url(folder: Path, name: str = "desk.db") -> str:
    return f"sqlite+aiosqlite:///{folder / name}"


@pytest.fixture
def sla_yml(tmp_path: Path) -> Path:
    return write_support(tmp_path / "support.yml", support_data())


@pytest.fixture
async def sla_desk(database_url: str, sla_yml: Path, clock: FakeClock) -> AsyncIterator[Desk]:
    desk = await start_desk(desk_settings(database_url, sla_yml), clock)
    yield desk
    await desk.db.close()


# -- tickets and what the store says about them -------------------------------------------------------------


async def a_customer(desk: Desk, tier: Tier, email: str | None = None) -> Customer:
    address = email or f"{tier.value}-{uuid.uuid4().hex[:8]}@example.com"
    async with desk.db.transaction() as session:
        return await ticket_store.save_customer(
            session, Customer(id="", email=address, name=f"{tier.value.title()} Customer", tier=tier),
            desk.clock.now())


async def a_ticket(desk: Desk, priority: Priority | None, tier: Tier, *, created_at: datetime | None = None,
                   category: Category = Category.BILLING, assignee: str | None = AGENT,
                   status: Status = Status.OPEN, subject: str = "Invoice shows the wrong amount",
                   description: str = "The invoice for November shows the wrong amount.", notify: bool = False
                   ) -> str:
    """An imported ticket (the desk's own import path): the customer with `tier`, the priority given."""
    customer = await a_customer(desk, tier)
    return await import_ticket(desk, ImportedTicket(
        customer_email=customer.email, subject=subject, description=description,
        created_at=created_at or desk.clock.now(), status=status, priority=priority, category=category,
        assignee=assignee), notify=notify)


async def get_ticket(desk: Desk, ticket_id: str) -> Ticket:
    async with desk.db.sessions() as session:
        return await ticket_store.get_ticket(session, ticket_id)


async def firings(desk: Desk, ticket_id: str) -> dict[str, datetime]:
    async with desk.db.sessions() as session:
        return await sla_store.fired(session, ticket_id)


async def sla_row(desk: Desk, ticket_id: str) -> tuple[dict[str, Any] | None, datetime | None]:
    async with desk.db.sessions() as session:
        return await sla_store.get_state(session, ticket_id)


async def outbox(desk: Desk, ticket_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    async with desk.db.sessions() as session:
        return await outbox_store.items_for(session, ticket_id)


async def thread_texts(desk: Desk, ticket_id: str) -> list[str]:
    rows = await outbox(desk, ticket_id)
    return [p.get("text", "") for kind, _, p in rows if kind == "slack" and p["op"] == "thread"]


async def count_rows(desk: Desk, table: Any) -> int:
    async with desk.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


def containing(texts: list[str], part: str) -> list[str]:
    return [t for t in texts if part in t]


async def tick_at(ticker: Ticker, clock: FakeClock, when: datetime) -> int:
    clock.current = when
    return await ticker.tick()


# -- 1. every threshold in every cell of the matrix ---------------------------------------------------------

CELLS = [(p, t) for p in Priority for t in Tier]


async def walk_every_threshold(desk: Desk, clock: FakeClock, priority: Priority, tier: Tier) -> None:
    t0 = clock.now()
    ticket_id = await a_ticket(desk, priority, tier)
    created = await get_ticket(desk, ticket_id)
    target = DEFAULT_SLA_MATRIX[priority][tier]
    first, resolution = target.first_response, target.resolution
    assert (created.sla.first_response_minutes, created.sla.resolution_minutes) == (first, resolution)
    assert created.priority is priority and created.customer.tier is tier
    assert 0.75 * resolution > first  # the resolution warning comes after the first-response breach in every cell
    _state, next_at = await sla_row(desk, ticket_id)
    assert next_at == t0 + minutes(0.75 * first)  # the indexed column the ticker reads
    ticker = Ticker(desk)
    rows = len(await outbox(desk, ticket_id))

    # First response: just before 75% nothing is even claimed; at 75% the warning, once.
    assert await tick_at(ticker, clock, t0 + minutes(0.75 * first) - SECOND) == 0
    assert await firings(desk, ticket_id) == {}
    assert len(await outbox(desk, ticket_id)) == rows
    assert await tick_at(ticker, clock, t0 + minutes(0.75 * first)) == 1
    assert set(await firings(desk, ticket_id)) == {"first_response:warning"}
    warnings = [p for kind, _, p in await outbox(desk, ticket_id)
                if kind == "slack" and "75% of the first response time" in p.get("text", "")]
    assert len(warnings) == 1
    assert ticket_id in warnings[0]["text"] and f"<@{AGENT}>" in json.dumps(warnings[0]["blocks"])
    assert await ticker.tick() == 0  # the same moment again: nothing due, nothing fired
    assert await tick_at(ticker, clock, t0 + minutes(first) - SECOND) == 0
    assert set(await firings(desk, ticket_id)) == {"first_response:warning"}

    # 100%: breached, level 1, priority one step up, the card refreshed, managers told.
    before_breach = len(await outbox(desk, ticket_id))
    assert await tick_at(ticker, clock, t0 + minutes(first)) == 1
    assert set(await firings(desk, ticket_id)) == {"first_response:warning", "first_response:breach"}
    breached = await get_ticket(desk, ticket_id)
    assert breached.sla.breached
    assert breached.escalation.level == 1
    assert breached.priority is step_up(priority)
    new = (await outbox(desk, ticket_id))[before_breach:]
    assert any(k == "slack" and p["op"] == "card" for k, _, p in new)
    escalation = [p for k, _, p in new if k == "slack" and p["op"] == "thread"]
    assert len(escalation) == 1 and "Escalated to level 1" in escalation[0]["text"]
    assert f"<@{SENIOR}>" in json.dumps(escalation[0]["blocks"])
    assert any(b.get("block_id") == f"ack:{ticket_id}:1" for b in escalation[0]["blocks"])
    assert [p["kind"] for k, _, p in new if k == "sms"] == ["sla_breach"]

    # The agent answers (the first-response clock stops, the climb too); then the resolution clock.
    await actions.reply(desk, ticket_id, AGENT, "Looking into it now.")
    assert await tick_at(ticker, clock, t0 + minutes(0.75 * resolution) - SECOND) == 0
    assert set(await firings(desk, ticket_id)) == {"first_response:warning", "first_response:breach"}
    assert (await get_ticket(desk, ticket_id)).escalation.level == 1
    assert await tick_at(ticker, clock, t0 + minutes(0.75 * resolution)) == 1
    assert "resolution:warning" in await firings(desk, ticket_id)
    assert len(containing(await thread_texts(desk, ticket_id), "75% of the resolution time")) == 1
    assert await tick_at(ticker, clock, t0 + minutes(resolution) - SECOND) == 0
    assert await tick_at(ticker, clock, t0 + minutes(resolution)) == 1
    assert set(await firings(desk, ticket_id)) == {"first_response:warning", "first_response:breach",
                                                   "resolution:warning", "resolution:breach"}
    done = await get_ticket(desk, ticket_id)
    assert done.sla.breached and done.escalation.level == 2
    assert done.priority is step_up(step_up(priority))
    texts = await thread_texts(desk, ticket_id)
    assert len(containing(texts, "75% of the first response time")) == 1
    assert len(containing(texts, "Escalated to level 1")) == 1
    assert len(containing(texts, "Escalated to level 2")) == 1


@pytest.mark.parametrize(("priority", "tier"), CELLS, ids=[f"{p}-{t}" for p, t in CELLS])
async def test_every_threshold_fires_once_in_each_cell_of_the_matrix(
    tmp_path: Path, sla_yml: Path, clock: FakeClock, priority: Priority, tier: Tier
) -> None:
    desk = await start_desk(desk_settings(sqlite_url(tmp_path), sla_yml), clock)
    try:
        await walk_every_threshold(desk, clock, priority, tier)
    finally:
        await desk.db.close()


@pytest.mark.postgres
@pytest.mark.parametrize(("priority", "tier"), [(Priority.CRITICAL, Tier.ENTERPRISE), (Priority.LOW, Tier.FREE)],
                         ids=["critical-enterprise", "low-free"])
async def test_every_threshold_fires_once_on_postgres(
    postgres_url: str, sla_yml: Path, clock: FakeClock, priority: Priority, tier: Tier
) -> None:
    desk = await start_desk(desk_settings(postgres_url, sla_yml), clock)
    try:
        await walk_every_threshold(desk, clock, priority, tier)
    finally:
        await desk.db.close()


async def test_a_ticket_imported_late_with_notify_fires_what_is_due_and_climbs_one_level(
    sla_desk: Desk, clock: FakeClock
) -> None:
    """Both clocks breached at once (an import three hours late, `--notify`): one step up the ladder, not two."""
    three_hours_ago = clock.now() - timedelta(hours=3)
    ticket_id = await a_ticket(sla_desk, Priority.CRITICAL, Tier.ENTERPRISE, created_at=three_hours_ago,
                               notify=True)
    assert await Ticker(sla_desk).tick() == 1
    assert set(await firings(sla_desk, ticket_id)) == {"first_response:warning", "first_response:breach",
                                                       "resolution:warning", "resolution:breach"}
    ticket = await get_ticket(sla_desk, ticket_id)
    assert ticket.sla.breached and ticket.escalation.level == 1
    texts = await thread_texts(sla_desk, ticket_id)
    assert len(containing(texts, "Escalated to level")) == 1
    state, next_at = await sla_row(sla_desk, ticket_id)
    assert state is not None and next_at == clock.now() + minutes(15 / 2)  # half the first-response clock


async def test_a_ticket_imported_late_records_its_past_breaches_and_tells_nobody(
    sla_desk: Desk, clock: FakeClock
) -> None:
    """Issue 12.2: 300 old tickets must not mail 300 customers nor page the managers. The moments that came
    before the import are recorded at the time each came; no customer mail, SMS, DM or escalation follows."""
    t0 = clock.now()
    ticket_id = await a_ticket(sla_desk, Priority.CRITICAL, Tier.ENTERPRISE, created_at=t0 - timedelta(hours=3))
    assert await Ticker(sla_desk).tick() == 0
    assert await firings(sla_desk, ticket_id) == {  # 15 / 120 minutes, the warning at 75%
        "first_response:warning": t0 - timedelta(hours=3) + minutes(11.25),
        "first_response:breach": t0 - timedelta(hours=3) + minutes(15),
        "resolution:warning": t0 - timedelta(hours=3) + minutes(90),
        "resolution:breach": t0 - timedelta(hours=3) + minutes(120)}
    ticket = await get_ticket(sla_desk, ticket_id)
    assert ticket.sla.breached and ticket.escalation.level == 0
    rows = await outbox(sla_desk, ticket_id)
    assert [r for r in rows if r[0] in ("email", "sms")] == []
    assert [p["op"] for kind, _, p in rows if kind == "slack" and p["op"] not in ("card", "customer_message",
                                                                                   "thread")] == []
    assert containing(await thread_texts(sla_desk, ticket_id), "Escalated") == []
    assert containing(await thread_texts(sla_desk, ticket_id), "SLA") == []
    assert await tick_at(Ticker(sla_desk), clock, t0 + timedelta(days=2)) == 0  # nothing left to announce


async def test_an_imported_ticket_announces_the_moments_still_ahead_of_it(sla_desk: Desk, clock: FakeClock) -> None:
    """Only the past is kept quiet: a resolution breach still to come is announced when it comes."""
    t0 = clock.now()
    ticket_id = await a_ticket(sla_desk, Priority.CRITICAL, Tier.ENTERPRISE, created_at=t0 - minutes(60))
    assert set(await firings(sla_desk, ticket_id)) == {"first_response:warning", "first_response:breach"}
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 0
    assert await tick_at(Ticker(sla_desk), clock, t0 + minutes(60)) == 1  # the resolution clock breaches now
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 1
    assert len(containing(await thread_texts(sla_desk, ticket_id), "Escalated to level")) == 1


@pytest.mark.parametrize("notify", [False, True])
async def test_an_imported_refund_request_mails_the_refund_policy_only_with_notify(
    sla_desk: Desk, clock: FakeClock, notify: bool
) -> None:
    """The default "refund request" rule sends the refund policy on creation: not to an imported customer
    (who heard from the old desk), unless the import asks for announcements."""
    ticket_id = await a_ticket(sla_desk, None, Tier.FREE, subject="Refund please",
                               description="I would like a refund for last month.", notify=notify)
    ticket = await get_ticket(sla_desk, ticket_id)
    assert "refund_request" in ticket.tags  # the rule's changes to the ticket happen either way
    mails = [p for kind, _, p in await outbox(sla_desk, ticket_id) if kind == "email"]
    assert len(mails) == (1 if notify else 0)


# -- 2. pause and resume -------------------------------------------------------------------------------------


async def customer_reply(desk: Desk, ticket_id: str, body: str = "Here is the screenshot you asked for.") -> Ticket:
    async def change(_session: AsyncSession, ticket: Ticket) -> Ticket:
        message = Message(str(uuid.uuid4()), Author.CUSTOMER, body, desk.clock.now(), Visibility.PUBLIC,
                          ticket.customer.email)
        return lifecycle.add_customer_reply(ticket, message)

    return await actions.change_ticket(desk, ticket_id, change)


async def test_waiting_on_the_customer_pauses_the_resolution_clock_and_a_reply_resumes_it_with_the_time_left(
    sla_desk: Desk, clock: FakeClock
) -> None:
    t0 = clock.now()
    ticket_id = await a_ticket(sla_desk, Priority.CRITICAL, Tier.ENTERPRISE)  # 15 / 120 minutes
    ticker = Ticker(sla_desk)
    clock.current = t0 + minutes(10)
    waiting = await actions.reply(sla_desk, ticket_id, AGENT, "Could you send a screenshot?", AfterSend.WAIT_CUSTOMER)
    assert waiting.status is Status.WAITING_CUSTOMER
    state, next_at = await sla_row(sla_desk, ticket_id)
    assert next_at is None  # both clocks stand still: nothing for the ticker to look at
    assert state is not None and state["clocks"][1]["used"] == pytest.approx(10)

    assert await tick_at(ticker, clock, t0 + minutes(200)) == 0  # way past 120 minutes of wall time
    assert await firings(sla_desk, ticket_id) == {}
    assert not (await get_ticket(sla_desk, ticket_id)).sla.breached

    resumed = await customer_reply(sla_desk, ticket_id)
    assert resumed.status is Status.IN_PROGRESS
    _state, next_at = await sla_row(sla_desk, ticket_id)
    assert next_at == t0 + minutes(200 + 80)  # 90 of 120 minutes: 80 more after the 10 used
    assert await tick_at(ticker, clock, t0 + minutes(280) - SECOND) == 0
    assert await tick_at(ticker, clock, t0 + minutes(280)) == 1
    assert set(await firings(sla_desk, ticket_id)) == {"resolution:warning"}
    assert await tick_at(ticker, clock, t0 + minutes(310) - SECOND) == 0
    assert not (await get_ticket(sla_desk, ticket_id)).sla.breached
    assert await tick_at(ticker, clock, t0 + minutes(310)) == 1  # 10 + 110 minutes of running time
    assert set(await firings(sla_desk, ticket_id)) == {"resolution:warning", "resolution:breach"}
    breached = await get_ticket(sla_desk, ticket_id)
    assert breached.sla.breached and breached.escalation.level == 1


async def test_a_second_pause_keeps_what_was_used_before(sla_desk: Desk, clock: FakeClock) -> None:
    t0 = clock.now()
    ticket_id = await a_ticket(sla_desk, Priority.HIGH, Tier.ENTERPRISE)  # 60 / 480
    ticker = Ticker(sla_desk)
    clock.current = t0 + minutes(30)
    await actions.reply(sla_desk, ticket_id, AGENT, "Which invoice?", AfterSend.WAIT_CUSTOMER)
    clock.current = t0 + minutes(600)
    await customer_reply(sla_desk, ticket_id)
    clock.current = t0 + minutes(900)  # 300 more used: 330
    await actions.reply(sla_desk, ticket_id, AGENT, "And the date?", AfterSend.WAIT_CUSTOMER)
    assert await tick_at(ticker, clock, t0 + minutes(5000)) == 0
    clock.current = t0 + minutes(6000)
    await customer_reply(sla_desk, ticket_id)
    _state, next_at = await sla_row(sla_desk, ticket_id)
    assert next_at == t0 + minutes(6000 + 360 - 330)  # the warning at 360 of 480
    assert await tick_at(ticker, clock, t0 + minutes(6000 + 150) - SECOND) == 1  # the warning only
    assert set(await firings(sla_desk, ticket_id)) == {"resolution:warning"}
    assert await tick_at(ticker, clock, t0 + minutes(6000 + 150)) == 1
    assert "resolution:breach" in await firings(sla_desk, ticket_id)


# -- 3. business hours, weekends and holidays ----------------------------------------------------------------


@pytest.fixture
def office_hours_yml(tmp_path: Path) -> Path:
    data = with_team(support_data(), "billing_team", hours="09:00-17:00", timezone="Europe/London", holidays="GB")
    return write_support(tmp_path / "office.yml", data)


async def test_a_breach_due_after_friday_closing_lands_on_monday_not_saturday(
    database_url: str, office_hours_yml: Path, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # Friday 16:00 in London (GMT)
    desk = await start_desk(desk_settings(database_url, office_hours_yml), clock)
    try:
        ticket_id = await a_ticket(desk, Priority.CRITICAL, Tier.STARTER)  # 120 business minutes to answer
        _state, next_at = await sla_row(desk, ticket_id)
        monday = datetime(2026, 11, 23, tzinfo=UTC)
        assert next_at == monday.replace(hour=9, minute=30)  # 60 minutes on Friday, 30 on Monday: 75%
        ticker = Ticker(desk)
        for when in (datetime(2026, 11, 20, 17, 0, tzinfo=UTC), datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
                     datetime(2026, 11, 22, 23, 59, tzinfo=UTC), monday.replace(hour=9, minute=29, second=59)):
            assert await tick_at(ticker, clock, when) == 0, when
        assert await firings(desk, ticket_id) == {}
        assert await tick_at(ticker, clock, monday.replace(hour=9, minute=30)) == 1
        assert await tick_at(ticker, clock, monday.replace(hour=9, minute=59, second=59)) == 0
        assert await tick_at(ticker, clock, monday.replace(hour=10)) == 1
        fired = await firings(desk, ticket_id)
        assert {k: v.astimezone(UTC) for k, v in fired.items()} == {
            "first_response:warning": monday.replace(hour=9, minute=30),
            "first_response:breach": monday.replace(hour=10)}
        assert fired["first_response:breach"].astimezone(UTC).strftime("%A") == "Monday"
        ticket = await get_ticket(desk, ticket_id)
        assert ticket.sla.breached and ticket.escalation.level == 1
        _state, next_at = await sla_row(desk, ticket_id)
        assert next_at == monday.replace(hour=11)  # the follow-up: 60 business minutes later
    finally:
        await desk.db.close()


async def test_a_bank_holiday_monday_moves_the_breach_to_tuesday(
    database_url: str, office_hours_yml: Path, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 5, 22, 15, 0, tzinfo=UTC)  # Friday 16:00 in London (BST); Monday is a holiday
    desk = await start_desk(desk_settings(database_url, office_hours_yml), clock)
    try:
        ticket_id = await a_ticket(desk, Priority.CRITICAL, Tier.STARTER)
        ticker = Ticker(desk)
        for when in (datetime(2026, 5, 23, 11, 0, tzinfo=UTC), datetime(2026, 5, 25, 8, 0, tzinfo=UTC),
                     datetime(2026, 5, 25, 12, 0, tzinfo=UTC), datetime(2026, 5, 26, 8, 29, 59, tzinfo=UTC)):
            assert await tick_at(ticker, clock, when) == 0, when
        assert await tick_at(ticker, clock, datetime(2026, 5, 26, 8, 30, tzinfo=UTC)) == 1  # 09:30 BST
        assert await tick_at(ticker, clock, datetime(2026, 5, 26, 8, 59, 59, tzinfo=UTC)) == 0
        assert await tick_at(ticker, clock, datetime(2026, 5, 26, 9, 0, tzinfo=UTC)) == 1  # 10:00 BST, Tuesday
        breach = (await firings(desk, ticket_id))["first_response:breach"].astimezone(UTC)
        assert breach == datetime(2026, 5, 26, 9, 0, tzinfo=UTC) and breach.strftime("%A") == "Tuesday"
        assert (await get_ticket(desk, ticket_id)).sla.breached
    finally:
        await desk.db.close()


async def test_the_warning_names_the_business_hours_deadline(
    database_url: str, office_hours_yml: Path, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    desk = await start_desk(desk_settings(database_url, office_hours_yml), clock)
    try:
        ticket_id = await a_ticket(desk, Priority.CRITICAL, Tier.STARTER)
        await tick_at(Ticker(desk), clock, datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
        warning = next(p for k, _, p in await outbox(desk, ticket_id)
                       if k == "slack" and "75% of the first response" in p.get("text", ""))
        monday_ten = int(datetime(2026, 11, 23, 10, 0, tzinfo=UTC).timestamp())
        assert f"<!date^{monday_ten}^" in json.dumps(warning["blocks"])  # not Friday 18:00, the wall-clock due
    finally:
        await desk.db.close()


# -- 4. exactly once across a restart ------------------------------------------------------------------------


async def test_nothing_fires_twice_across_a_restart(database_url: str, sla_yml: Path, clock: FakeClock) -> None:
    settings = desk_settings(database_url, sla_yml)
    t0 = clock.now()
    desk = await start_desk(settings, clock)
    ids = [await a_ticket(desk, Priority.CRITICAL, Tier.ENTERPRISE) for _ in range(3)]
    clock.current = t0 + minutes(15)
    assert await Ticker(desk).tick() == 3
    fired, rows = await count_rows(desk, SlaFiringRow), await count_rows(desk, OutboxRow)
    assert fired == 3 * 2
    await desk.db.close()

    again = await start_desk(settings, clock)  # a new process on the same database, at the same moment
    try:
        assert await Ticker(again).tick() == 0
        assert (await count_rows(again, SlaFiringRow), await count_rows(again, OutboxRow)) == (fired, rows)

        # Even if the ticker were sent back to the same moment with its memory of what fired gone, the
        # firing key in the store keeps every moment to once.
        async with again.db.transaction() as session:
            for ticket_id in ids:
                state, _ = await sla_store.get_state(session, ticket_id)
                assert state is not None
                await sla_store.set_state(session, ticket_id, {**state, "fired": [], "follow_up_at": None},
                                          t0 - minutes(1))
        assert await Ticker(again).tick() == 3
        assert (await count_rows(again, SlaFiringRow), await count_rows(again, OutboxRow)) == (fired, rows)
        for ticket_id in ids:
            assert (await get_ticket(again, ticket_id)).escalation.level == 1
    finally:
        await again.db.close()


# -- 5. two processes on one database ------------------------------------------------------------------------


async def test_two_tickers_on_one_database_fire_each_moment_once(
    database_url: str, sla_yml: Path, clock: FakeClock
) -> None:
    """Two desks (two engines, as two `serve` processes would have) ticking at the same moments over 50 due
    tickets: SKIP LOCKED shares the tickets out and the firing key keeps every moment to once."""
    settings = desk_settings(database_url, sla_yml)
    t0 = clock.now()
    one, two = await start_desk(settings, clock), await start_desk(settings, clock)
    try:
        ids = [await a_ticket(one, Priority.CRITICAL, Tier.ENTERPRISE) for _ in range(50)]
        first, second = Ticker(one), Ticker(two)
        # warning, breach (level 1), follow-up (level 2), follow-up (level 3)
        for at in (11.25, 15, 15 + 7.5, 15 + 15):
            clock.current = t0 + minutes(at)
            handled = 0
            for _ in range(3):
                a, b = await asyncio.gather(first.tick(), second.tick())
                handled += a + b
            assert handled == 50, at  # each ticket handled by exactly one of the two
        for ticket_id in ids:
            assert set(await firings(one, ticket_id)) == {"first_response:warning", "first_response:breach",
                                                          "ladder:1:followed", "ladder:2:followed"}
            ticket = await get_ticket(one, ticket_id)
            assert ticket.escalation.level == 3
            texts = await thread_texts(one, ticket_id)
            assert len(containing(texts, "75% of the first response time")) == 1
            for level in (1, 2, 3):
                assert len(containing(texts, f"Escalated to level {level}")) == 1, (ticket_id, level)
            founder_dms = [p for k, _, p in await outbox(one, ticket_id) if k == "slack" and p["op"] == "founder_dm"]
            assert len(founder_dms) == 1
        async with one.db.sessions() as session:
            breaches = (await session.execute(select(func.count()).select_from(SlaFiringRow)
                                              .where(SlaFiringRow.key == "first_response:breach"))).scalar_one()
        assert breaches == 50
    finally:
        await one.db.close()
        await two.db.close()


@pytest.mark.postgres
async def test_two_tickers_racing_on_postgres_over_many_rounds(
    postgres_url: str, sla_yml: Path, clock: FakeClock
) -> None:
    """The same race, harder: the tickets fall due one after another while both tickers tick in a tight loop."""
    settings = desk_settings(postgres_url, sla_yml)
    t0 = clock.now()
    one, two = await start_desk(settings, clock), await start_desk(settings, clock)
    try:
        ids = []
        for n in range(50):
            clock.current = t0 + timedelta(seconds=n)
            ids.append(await a_ticket(one, Priority.CRITICAL, Tier.ENTERPRISE))
        first, second = Ticker(one), Ticker(two)
        for step in range(0, 45 * 60, 20):  # 45 minutes in 20-second steps: warnings, breaches, the ladder
            clock.current = t0 + timedelta(seconds=step)
            await asyncio.gather(first.tick(), second.tick(), first.tick(), second.tick())
        async with one.db.sessions() as session:
            rows = (await session.execute(select(SlaFiringRow.ticket_id, SlaFiringRow.key))).all()
            levels = dict((await session.execute(select(TicketRow.id, TicketRow.escalation_level))).all())
        assert len(rows) == len(set(rows)) == 50 * 4
        assert all(levels[t] == 3 for t in ids)
        for ticket_id in ids:
            texts = await thread_texts(one, ticket_id)
            assert [len(containing(texts, f"Escalated to level {n}")) for n in (1, 2, 3)] == [1, 1, 1]
    finally:
        await one.db.close()
        await two.db.close()


# -- 6. SMS through the Twilio stand-in -----------------------------------------------------------------------


@pytest.fixture
async def sms_desk(database_url: str, tmp_path: Path, clock: FakeClock, twilio_api: TwilioApi
                   ) -> AsyncIterator[tuple[Desk, SmsDispatcher]]:
    data = with_manager(support_data(), quiet_hours="22:00-07:00", timezone="Europe/London")
    settings = desk_settings(database_url, write_support(tmp_path / "sms.yml", data), twilio=twilio_api)
    desk = await start_desk(settings, clock)
    assert settings.twilio_api_url == twilio_api.url
    sender = SmsSender(SmsConfig(account_sid=settings.twilio_account_sid or "",
                                 auth_token=twilio_api.auth_token, from_number=settings.twilio_from_number or "",
                                 api_url=settings.twilio_api_url))
    yield desk, SmsDispatcher(desk, sender)
    await sender.aclose()
    await desk.db.close()


def texts_to(twilio_api: TwilioApi, number: str) -> list[str]:
    return [sms.body for sms in twilio_api.sms if sms.to == number]


async def test_a_breach_texts_the_manager_once_and_later_alerts_wait_then_come_grouped(
    sms_desk: tuple[Desk, SmsDispatcher], clock: FakeClock, twilio_api: TwilioApi
) -> None:
    desk, dispatcher = sms_desk
    t0 = clock.now()  # Friday 09:00 in London: not quiet
    ticket_id = await a_ticket(desk, Priority.CRITICAL, Tier.ENTERPRISE)  # 15 minutes; follow-ups every 7.5
    ticker = Ticker(desk)
    await tick_at(ticker, clock, t0 + minutes(15))  # breach: level 1
    assert await dispatcher.deliver_due() == 1
    manager = texts_to(twilio_api, MANAGER_PHONE)
    assert len(manager) == 1 and ticket_id in manager[0] and "breached" in manager[0]
    assert texts_to(twilio_api, FOUNDER_PHONE) == []

    await tick_at(ticker, clock, t0 + minutes(22.5))  # nobody answered: level 2, the managers hear again
    assert (await get_ticket(desk, ticket_id)).escalation.level == 2
    await dispatcher.deliver_due()
    assert len(texts_to(twilio_api, MANAGER_PHONE)) == 1  # held: 7.5 minutes since the last text about it
    clock.current = t0 + minutes(29)
    assert await dispatcher.deliver_due() == 0  # still held until 15 minutes after the first text

    await tick_at(ticker, clock, t0 + minutes(30))  # level 3: the founder (critical: SMS) and the managers again
    assert (await get_ticket(desk, ticket_id)).escalation.level == 3
    await dispatcher.deliver_due()
    manager = texts_to(twilio_api, MANAGER_PHONE)
    assert len(manager) == 2
    assert manager[1].startswith("2 alerts: ") and manager[1].count(ticket_id) == 2  # level 2 and 3, one text
    assert "escalated to level 2" in manager[1] and "escalated to level 3" in manager[1]
    founder = texts_to(twilio_api, FOUNDER_PHONE)
    assert len(founder) == 1 and ticket_id in founder[0]
    async with desk.db.sessions() as session:
        pending = (await session.execute(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.kind == "sms", OutboxRow.status != "sent"))).scalar_one()
    assert pending == 0


async def test_quiet_hours_hold_a_non_critical_alert_and_let_a_critical_one_through(
    sms_desk: tuple[Desk, SmsDispatcher], clock: FakeClock, twilio_api: TwilioApi
) -> None:
    desk, dispatcher = sms_desk
    night = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)  # 23:00 in London: the manager's quiet hours
    clock.current = night - minutes(240)
    medium = await a_ticket(desk, Priority.MEDIUM, Tier.ENTERPRISE)  # 240 minutes: breaches at 23:00, becomes high
    ticker = Ticker(desk)
    await tick_at(ticker, clock, night)
    assert (await get_ticket(desk, medium)).priority is Priority.HIGH
    assert await dispatcher.deliver_due() == 1
    assert texts_to(twilio_api, MANAGER_PHONE) == []  # held till 07:00

    clock.current = night + minutes(30) - minutes(15)
    critical = await a_ticket(desk, Priority.CRITICAL, Tier.ENTERPRISE)  # breaches at 23:30
    await tick_at(ticker, clock, night + minutes(30))
    assert (await get_ticket(desk, critical)).sla.breached
    await dispatcher.deliver_due()
    manager = texts_to(twilio_api, MANAGER_PHONE)
    assert len(manager) == 1 and critical in manager[0] and medium not in manager[0]

    clock.current = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
    await dispatcher.deliver_due()
    manager = texts_to(twilio_api, MANAGER_PHONE)
    assert len(manager) == 2 and medium in manager[1]


async def test_in_quiet_hours_a_throttled_critical_alert_does_not_carry_a_non_critical_one_through(
    sms_desk: tuple[Desk, SmsDispatcher], clock: FakeClock, twilio_api: TwilioApi
) -> None:
    desk, dispatcher = sms_desk
    night = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    clock.current = night - minutes(15)
    critical = await a_ticket(desk, Priority.CRITICAL, Tier.ENTERPRISE)
    clock.current = night + minutes(7.5) - minutes(240)
    medium = await a_ticket(desk, Priority.MEDIUM, Tier.ENTERPRISE)  # breaches at 23:07:30
    ticker = Ticker(desk)
    await tick_at(ticker, clock, night)  # the critical one breaches and is texted at once
    await dispatcher.deliver_due()
    assert len(texts_to(twilio_api, MANAGER_PHONE)) == 1
    await tick_at(ticker, clock, night + minutes(7.5))  # critical: level 2 (held by the 15 minutes); medium: breach
    assert (await get_ticket(desk, medium)).sla.breached
    await dispatcher.deliver_due()
    assert len(texts_to(twilio_api, MANAGER_PHONE)) == 1  # nothing about the medium ticket in the night
    clock.current = night + minutes(15)
    await dispatcher.deliver_due()  # the critical ticket's level 2, alone
    manager = texts_to(twilio_api, MANAGER_PHONE)
    assert len(manager) == 2 and critical in manager[1] and medium not in manager[1]


async def test_sms_alerts_are_cut_to_one_twilio_message(
    sms_desk: tuple[Desk, SmsDispatcher], clock: FakeClock, twilio_api: TwilioApi
) -> None:
    desk, dispatcher = sms_desk
    t0 = clock.now()
    ids = [await a_ticket(desk, Priority.CRITICAL, Tier.ENTERPRISE) for _ in range(80)]
    await tick_at(Ticker(desk), clock, t0 + minutes(15))
    await dispatcher.deliver_due()
    manager = texts_to(twilio_api, MANAGER_PHONE)
    assert len(manager) == 1 and len(manager[0]) <= 1600
    assert manager[0].startswith("80 alerts: ") and "more" in manager[0]
    assert sum(ticket_id in manager[0] for ticket_id in ids) > 5


# -- 7. the founder's DM at level 3 ---------------------------------------------------------------------------


async def drain(poster: SlackPoster, clock: FakeClock) -> None:
    for _ in range(20):
        if await poster.deliver_due() == 0:
            async with poster.desk.db.sessions() as session:
                waiting = (await session.execute(select(func.count()).select_from(OutboxRow).where(
                    OutboxRow.kind == "slack", OutboxRow.status == "pending"))).scalar_one()
            if waiting == 0:
                return
            clock.advance(seconds=2)  # a row that waits for its card is tried again a second later
    raise AssertionError("the Slack rows were not all delivered")


async def test_level_3_sends_the_founder_a_dm_with_the_ticket_history_and_buttons(
    database_url: str, sla_yml: Path, clock: FakeClock, slack_api: SlackApi
) -> None:
    settings = desk_settings(database_url, sla_yml, slack=slack_api)
    desk = await start_desk(settings, clock)
    client = build_client(settings)
    try:
        t0 = clock.now()
        ticket_id = await a_ticket(desk, Priority.HIGH, Tier.ENTERPRISE)  # 60 minutes; follow-ups every 30
        poster, ticker = SlackPoster(desk, client), Ticker(desk)
        await drain(poster, clock)
        for at, level in ((60, 1), (90, 2)):
            await tick_at(ticker, clock, t0 + minutes(at))
            assert (await get_ticket(desk, ticket_id)).escalation.level == level
        await drain(poster, clock)
        assert slack_api.messages(slack_api.dm_channel(FOUNDER)) == []  # not before level 3
        card = next(m for m in slack_api.messages(BILLING_CHANNEL) if m.get("thread_ts", m["ts"]) == m["ts"])
        assert ticket_id in card["text"] + json.dumps(card["blocks"])
        assert "🚨 *SLA breached*" in json.dumps(card["blocks"], ensure_ascii=False)  # the card shows the breach
        manager_dms = slack_api.messages(slack_api.dm_channel(MANAGER))
        assert len(manager_dms) == 2  # the breach and level 2
        for dm in manager_dms:  # every escalation alert can be acknowledged where it is read
            assert "acknowledge" in [e.get("action_id") for b in dm.get("blocks", []) for e in b.get("elements", [])]

        await tick_at(ticker, clock, t0 + minutes(120))
        ticket = await get_ticket(desk, ticket_id)
        assert ticket.escalation.level == 3 and ticket.priority is Priority.CRITICAL
        await drain(poster, clock)
        dms = slack_api.messages(slack_api.dm_channel(FOUNDER))
        assert len(dms) == 1
        dm = dms[0]
        assert ticket_id in dm["text"]
        body = json.dumps(dm["blocks"])
        assert "Invoice shows the wrong amount" in body and "History" in body
        elements = [e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [e["action_id"] for e in elements] == ["acknowledge", "founder_assign_me", "open_thread"]
        assert elements[0]["value"] == ticket_id and elements[1]["value"] == ticket_id
        assert elements[2]["url"].startswith("http")
        slack_api.assert_no_invalid()
    finally:
        await desk.db.close()


# -- 8. acknowledgements and answers stop the climb -----------------------------------------------------------


async def breached_ticket(desk: Desk, clock: FakeClock) -> tuple[str, Ticker, datetime]:
    """A critical enterprise billing ticket breached at t0 + 15 minutes: level 1 (the senior); the follow-up
    is due 7.5 minutes later."""
    t0 = clock.now()
    ticket_id = await a_ticket(desk, Priority.CRITICAL, Tier.ENTERPRISE)
    ticker = Ticker(desk)
    await tick_at(ticker, clock, t0 + minutes(15))
    assert (await get_ticket(desk, ticket_id)).escalation.level == 1
    return ticket_id, ticker, t0 + minutes(15)


async def test_without_an_acknowledgement_the_ladder_climbs_at_each_follow_up_and_stops_at_the_founder(
    sla_desk: Desk, clock: FakeClock
) -> None:
    ticket_id, ticker, breach = await breached_ticket(sla_desk, clock)
    assert await tick_at(ticker, clock, breach + minutes(7.5) - SECOND) == 0
    assert await tick_at(ticker, clock, breach + minutes(7.5)) == 1
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 2
    assert await tick_at(ticker, clock, breach + minutes(15) - SECOND) == 0
    assert await tick_at(ticker, clock, breach + minutes(15)) == 1
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 3
    # The founder is the top of the ladder: no level 4, no more DMs, texts and mails every 7.5 minutes.
    for step in range(1, 20):
        await tick_at(ticker, clock, breach + minutes(15 + 7.5 * step))
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 3
    assert len([p for k, _, p in await outbox(sla_desk, ticket_id) if k == "slack" and p["op"] == "founder_dm"]) == 1
    # and the resolution clock's own breach later on does not climb past the founder either
    await tick_at(ticker, clock, breach + minutes(200))
    ticket = await get_ticket(sla_desk, ticket_id)
    assert ticket.escalation.level == 3 and "resolution:breach" in await firings(sla_desk, ticket_id)


async def test_the_managers_hear_level_2_as_an_escalation_not_as_another_breach(
    sla_desk: Desk, clock: FakeClock
) -> None:
    ticket_id, ticker, breach = await breached_ticket(sla_desk, clock)
    await tick_at(ticker, clock, breach + minutes(7.5))
    sms = [p for k, _, p in await outbox(sla_desk, ticket_id) if k == "sms" and p["person"] == MANAGER]
    assert [(p["kind"], p["summary"].split(" (")[0]) for p in sms] == [("sla_breach", "breached"),
                                                                       ("escalation", "escalated to level 2")]
    dms = [p["text"] for k, _, p in await outbox(sla_desk, ticket_id) if k == "slack" and p["op"] == "dm"]
    assert "breached its SLA" in dms[0] and "reached escalation level 2" in dms[1]


async def test_the_seniors_acknowledgement_stops_the_climb_and_is_recorded(sla_desk: Desk, clock: FakeClock) -> None:
    ticket_id, ticker, breach = await breached_ticket(sla_desk, clock)
    clock.current = breach + minutes(3)
    assert await acknowledge(sla_desk, ticket_id, 1, SENIOR)
    async with sla_desk.db.sessions() as session:
        assert await sla_store.acknowledgement(session, ticket_id, 1) == (SENIOR, breach + minutes(3))
    assert containing(await thread_texts(sla_desk, ticket_id), f"<@{SENIOR}> acknowledged the level 1 escalation")
    _state, next_at = await sla_row(sla_desk, ticket_id)
    assert next_at == breach - minutes(15) + minutes(90)  # only the resolution warning is left to look at
    for at in (7.5, 15, 30, 60):
        await tick_at(ticker, clock, breach + minutes(at))
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 1
    assert "ladder:1:followed" not in await firings(sla_desk, ticket_id)
    assert await acknowledge(sla_desk, ticket_id, 1, SENIOR)  # a second click changes nothing
    assert len(containing(await thread_texts(sla_desk, ticket_id), "acknowledged the level 1")) == 1


async def test_an_acknowledgement_by_someone_else_is_refused_and_recorded_nowhere(
    sla_desk: Desk, clock: FakeClock
) -> None:
    ticket_id, ticker, breach = await breached_ticket(sla_desk, clock)
    rows = len(await outbox(sla_desk, ticket_id))
    for stranger in (AGENT, OTHER_TEAM_AGENT, "UNOBODY001"):
        assert not await acknowledge(sla_desk, ticket_id, 1, stranger)
    assert await count_rows(sla_desk, EscalationAckRow) == 0
    assert len(await outbox(sla_desk, ticket_id)) == rows
    await tick_at(ticker, clock, breach + minutes(7.5))
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 2  # the climb went on
    # the lead's step is the lead's: a senior of the team cannot stop it
    assert not await acknowledge(sla_desk, ticket_id, 2, SENIOR)
    assert await count_rows(sla_desk, EscalationAckRow) == 0
    assert await acknowledge(sla_desk, ticket_id, 2, LEAD)
    await tick_at(ticker, clock, breach + minutes(15))
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 2


async def test_a_manager_or_the_founder_may_acknowledge_any_step(sla_desk: Desk, clock: FakeClock) -> None:
    ticket_id, ticker, breach = await breached_ticket(sla_desk, clock)
    assert await acknowledge(sla_desk, ticket_id, 1, MANAGER)
    await tick_at(ticker, clock, breach + minutes(7.5))
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 1


async def test_an_agents_public_reply_stops_the_climb(sla_desk: Desk, clock: FakeClock) -> None:
    ticket_id, ticker, breach = await breached_ticket(sla_desk, clock)
    clock.current = breach + minutes(2)
    await actions.add_note(sla_desk, ticket_id, AGENT, "internal: checking with finance")  # not an answer
    _state, next_at = await sla_row(sla_desk, ticket_id)
    assert next_at == breach + minutes(7.5)
    await actions.reply(sla_desk, ticket_id, AGENT, "We are on it and will fix the invoice today.")
    for at in (7.5, 15, 30):
        await tick_at(ticker, clock, breach + minutes(at))
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 1

    # Later the resolution clock breaches (level 2); a later reply (not the first) stops that step too.
    t0 = breach - minutes(15)
    await tick_at(ticker, clock, t0 + minutes(120))
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 2
    clock.current = t0 + minutes(121)
    await actions.reply(sla_desk, ticket_id, AGENT, "Still on it: finance has the corrected invoice.")
    await tick_at(ticker, clock, t0 + minutes(120 + 60 + 1))
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 2


async def test_resolving_stops_everything(sla_desk: Desk, clock: FakeClock) -> None:
    ticket_id, ticker, breach = await breached_ticket(sla_desk, clock)
    clock.current = breach + minutes(1)
    await actions.resolve(sla_desk, ticket_id, AGENT)
    _state, next_at = await sla_row(sla_desk, ticket_id)
    assert next_at is None
    assert await tick_at(ticker, clock, breach + minutes(500)) == 0
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 1


async def test_a_ticket_the_customer_resolved_by_self_service_gets_no_warnings(
    sla_desk: Desk, clock: FakeClock
) -> None:
    """The self-service "yes" resolves the ticket without `desk.changed` (bot/deflection.py): the ticker stops
    the clocks itself when it next looks, instead of warning and breaching a resolved ticket."""
    t0 = clock.now()
    ticket_id = await a_ticket(sla_desk, Priority.MEDIUM, Tier.FREE, category=Category.FORM_BUILDER,
                               subject="My RSVP form won't save", description="The RSVP form won't save.")
    async with sla_desk.db.transaction() as session:
        assert await deflection.enqueue_self_service(sla_desk, session, await get_ticket(sla_desk, ticket_id))
    clock.current = t0 + minutes(5)
    assert (await deflection.answer(sla_desk, ticket_id, helped=True)).result is deflection.Result.RESOLVED
    assert await tick_at(Ticker(sla_desk), clock, t0 + timedelta(days=10)) <= 1
    assert await firings(sla_desk, ticket_id) == {}
    assert not containing(await thread_texts(sla_desk, ticket_id), "75%")
    _state, next_at = await sla_row(sla_desk, ticket_id)
    assert next_at is None


async def test_an_escalation_by_hand_gets_the_same_follow_up(sla_desk: Desk, clock: FakeClock) -> None:
    t0 = clock.now()
    ticket_id = await a_ticket(sla_desk, Priority.CRITICAL, Tier.ENTERPRISE)
    clock.current = t0 + minutes(2)
    await actions.escalate_ticket(sla_desk, ticket_id, "the customer is a wedding venue chain", AGENT)
    ticker = Ticker(sla_desk)
    await tick_at(ticker, clock, t0 + minutes(2 + 7.5))
    assert (await get_ticket(sla_desk, ticket_id)).escalation.level == 2


# -- 8b. the acknowledgement through a signed Slack request ---------------------------------------------------


@pytest.fixture
async def slack_desk(database_url: str, sla_yml: Path, clock: FakeClock, slack_api: SlackApi
                     ) -> AsyncIterator[Running]:
    """`serve` with the fake clock's desk: the Slack app over HTTP and the poster, against the stand-in. Its own
    ticker idles (tests tick their own Ticker); either could tick, the firing key keeps moments to once."""
    settings = desk_settings(database_url, sla_yml, slack=slack_api, smtp_listen_port=0, http_port=0,
                             sla_tick_seconds=60, twilio_account_sid=None)
    desk = await start_desk(settings, clock)
    running = await start(settings, say=lambda _line: None, desk=desk)
    yield running
    await running.stop()
    slack_api.assert_no_invalid()




def ack_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks", []) if b.get("type") == "actions" for e in b.get("elements", [])
            if e.get("action_id") == "acknowledge"]


async def test_the_senior_clicks_acknowledge_in_slack_and_the_ladder_stops(
    slack_desk: Running, clock: FakeClock, slack_api: SlackApi
) -> None:
    desk = slack_desk.desk
    assert slack_desk.slack is not None and slack_desk.slack.http is not None
    slack = SlackSender(slack_desk.slack.http.port)
    ticket_id, ticker, breach = await breached_ticket(desk, clock)

    async def escalation_message() -> dict[str, Any] | None:
        found = [m for m in slack_api.messages(BILLING_CHANNEL) if "Escalated to level 1" in m.get("text", "")]
        return found[0] if found else None

    message = await eventually(escalation_message)  # broadcast from the thread to the channel
    (ack,) = ack_buttons(message)
    assert ack["value"] == f"{ticket_id}:1"

    # Someone who is not the step's target clicks first: refused, told so, nothing recorded.
    status, _ = await slack.interaction(button(AGENT, "acknowledge", ack["value"], BILLING_CHANNEL,
                                               slack_api.new_trigger_id(), block_id=f"ack:{ticket_id}:1"))
    assert status == 200
    await eventually(lambda: _ephemeral(slack_api, AGENT, "can acknowledge it"))
    assert await count_rows(desk, EscalationAckRow) == 0

    clock.current = breach + minutes(2)
    status, _ = await slack.interaction(button(SENIOR, "acknowledge", ack["value"], BILLING_CHANNEL,
                                               slack_api.new_trigger_id(), block_id=f"ack:{ticket_id}:1"))
    assert status == 200

    async def recorded() -> tuple[str, datetime] | None:
        async with desk.db.sessions() as session:
            return await sla_store.acknowledgement(session, ticket_id, 1)

    assert await eventually(recorded) == (SENIOR, breach + minutes(2))

    async def said() -> list[dict[str, Any]]:
        thread = slack_api.thread(BILLING_CHANNEL, message.get("thread_ts", message["ts"]))
        return [m for m in thread if f"<@{SENIOR}> acknowledged the level 1 escalation" in m.get("text", "")]

    await eventually(said)
    for at in (7.5, 15, 30):
        await tick_at(ticker, clock, breach + minutes(at))
    assert (await get_ticket(desk, ticket_id)).escalation.level == 1


async def _ephemeral(slack_api: SlackApi, user: str, part: str) -> bool:
    return any(part in e.get("text", "") for e in slack_api.ephemerals(user=user))


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_API_URL", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield

