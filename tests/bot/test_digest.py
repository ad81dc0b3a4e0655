"""The morning digest (issue 10) through the whole desk: `serve` with the Slack stand-in, the real outbox and
migrations, on SQLite and PostgreSQL, on a fake clock.

The history, made through the desk's own workflows. billing_team's digest goes to CBILLING01 at 08:30 UTC, the
managers' (all teams) to CMANAGERS1. "Now" is Friday 2026-11-20 09:00 UTC; "yesterday" is Thursday the 19th and
"last week" Thursday the 12th.

    T4  billing low, free       Thu 12th 09:00, reply 09:30 (30 min), resolved 13:00 (4.0 h)      Bea
    T1  billing high, free      Thu 19th 10:00, reply 10:20 (20 min), resolved 12:00 (2.0 h), rated 5   Bea
    T2  billing medium, free    Thu 19th 11:00, reply 11:40 (40 min), open                        Bea
    T3  billing critical, ent.  Thu 19th 15:00, never answered: 15 min to answer, breached (the ticker runs at
                                Fri 09:00) and climbed to level 1
    T5  billing high, ent.      Fri 20th 08:30 (today: not in yesterday's numbers), 60 min to answer: due 09:30

Yesterday against last week, worked out by hand: 3 tickets (1), 1 resolved (1), 2 still open of which 1
critical (0); first response (20 + 40) / 2 = 30 min (30); resolution 2.0 h (4.0 h); SLA compliance: T1 met, T3
breached: 50% (T4 met: 100%); CSAT 100% (no ratings); escalation 1 of 3 = 33% (0%); deflection 0% (0%);
resolved per agent per day 1.0 (1.0). At risk, most urgent first: T3 (breached), then T5 (due within two hours).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot import actions, csat
from bot.bootstrap import start_desk
from bot.desk import Desk
from bot.digest import DigestScheduler
from bot.serve import Running, start
from bot.settings import Settings
from bot.sla import Ticker
from bot.slack.client import build_client
from bot.slack.poster import SlackPoster
from db import digest as digest_store
from db import tickets as ticket_store
from db.tables import DigestRunRow, OutboxRow
from db.tickets import OPEN_STATUSES
from tests.bot.slack_desk import desk_settings
from tests.bot.slack_helpers import SlackSender, button
from tests.bot.test_sla_ticker import support_data, write_support
from tests.clocks import FakeClock
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from tests.smtp_sink import SmtpSink
from tests.waiting import eventually
from ticketing.create import NewTicket
from ticketing.digest import AT_RISK_WITHIN
from ticketing.model import Category, Customer, Priority, Tier

BEA = "UBILLAGNT1"
BILLING, MANAGERS = "CBILLING01", "CMANAGERS1"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def digest_yml(tmp_path: Path) -> Path:
    data = support_data(digest={"every_team": False, "teams": {"billing_team": {}},
                                "managers": {"channel": MANAGERS}})
    return write_support(tmp_path / "support.yml", data)


@pytest.fixture
def settings(database_url: str, digest_yml: Path, sink: SmtpSink, slack_api: SlackApi) -> Settings:
    return desk_settings(database_url, digest_yml, sink, slack_api)


# -- the history -------------------------------------------------------------------------------------------


async def customer(desk: Desk, email: str, tier: Tier = Tier.FREE) -> Customer:
    async with desk.db.transaction() as session:
        return await ticket_store.save_customer(session, Customer(id="", email=email, tier=tier), desk.clock.now())


async def opened(desk: Desk, clock: FakeClock, when: datetime, who: Customer, priority: Priority,
                 subject: str = "Invoice question", assignee: str | None = BEA) -> str:
    clock.current = when
    request = NewTicket(who, subject, "Please help with this.", category=Category.BILLING, priority=priority,
                        assignee=assignee)
    return (await desk.open_ticket(request, confirm=False)).ticket.id


async def replied(desk: Desk, clock: FakeClock, when: datetime, ticket_id: str) -> None:
    clock.current = when
    await actions.reply(desk, ticket_id, BEA, "Looking into it.")


async def resolved(desk: Desk, clock: FakeClock, when: datetime, ticket_id: str) -> None:
    clock.current = when
    await actions.resolve(desk, ticket_id, BEA)


async def seed(settings: Settings, clock: FakeClock) -> dict[str, str]:
    """The module docstring's history, written by a desk that is then closed; the clock left at NOW. Slack is off
    for it, so the stand-in sees nothing but the digests (no cards: the failures a test queues are the digests')."""
    desk = await start_desk(settings.model_copy(update={"slack_bot_token": None}), clock)
    try:
        amelia, ben = await customer(desk, "amelia@example.com"), await customer(desk, "ben@example.com")
        venue = await customer(desk, "ops@bigvenue.example", Tier.ENTERPRISE)
        ids = {"T4": await opened(desk, clock, at(12, 9), amelia, Priority.LOW)}
        await replied(desk, clock, at(12, 9, 30), ids["T4"])
        await resolved(desk, clock, at(12, 13), ids["T4"])
        ids["T1"] = await opened(desk, clock, at(19, 10), amelia, Priority.HIGH)
        await replied(desk, clock, at(19, 10, 20), ids["T1"])
        ids["T2"] = await opened(desk, clock, at(19, 11), ben, Priority.MEDIUM)
        await replied(desk, clock, at(19, 11, 40), ids["T2"])
        await resolved(desk, clock, at(19, 12), ids["T1"])
        clock.current = at(19, 12, 5)
        await csat.record_rating(desk, ids["T1"], 5)
        ids["T3"] = await opened(desk, clock, at(19, 15), venue, Priority.CRITICAL,
                                 subject="<!channel> Venue *down* & <@UMANAGER01>", assignee=None)
        ids["T5"] = await opened(desk, clock, at(20, 8, 30), venue, Priority.HIGH, subject="Refund for the venue")
        clock.current = NOW
        await Ticker(desk).tick()
        return ids
    finally:
        await desk.db.close()


async def serving(settings: Settings, clock: FakeClock) -> Running:
    return await start(settings, say=lambda _line: None, desk=await start_desk(settings, clock))


@pytest.fixture
async def running(settings: Settings, clock: FakeClock) -> AsyncIterator[tuple[Running, dict[str, str]]]:
    ids = await seed(settings, clock)
    desk = await serving(settings, clock)
    yield desk, ids
    await desk.stop()


# -- reading the stand-in ------------------------------------------------------------------------------------


def digests_in(slack_api: SlackApi, channel: str) -> list[dict[str, Any]]:
    return [m for m in slack_api.messages(channel) if (m.get("metadata") or {}).get("event_type") == "wedsync_digest"]


async def digest_with_chart(slack_api: SlackApi, channel: str, within: float = 20) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = digests_in(slack_api, channel)
        return found[0] if found and slack_api.files_in(channel, found[0]["ts"]) else None

    return await eventually(check, within=within, what=f"the digest with its chart in {channel}")


def fields(message: dict[str, Any]) -> list[str]:
    section = next(b for b in message["blocks"] if b["type"] == "section" and b.get("fields"))
    return [f["text"] for f in section["fields"]]


def at_risk_ids(message: dict[str, Any]) -> list[str]:
    return [b["block_id"].split(":", 1)[1] for b in message["blocks"]
            if b["type"] == "actions" and b.get("block_id", "").startswith("card_actions:")]


async def outbox_settled(running: Running) -> None:
    """No digest row waiting any more."""
    async def check() -> bool:
        async with running.desk.db.sessions() as session:
            waiting = await session.execute(select(func.count()).select_from(OutboxRow).where(
                OutboxRow.status == "pending", OutboxRow.payload["op"].as_string() == "digest"))
            return waiting.scalar_one() == 0

    await eventually(check, within=20, what="the digest rows delivered")


# -- the tests ---------------------------------------------------------------------------------------------


async def test_each_channel_gets_one_digest_with_the_png_chart_and_yesterdays_numbers(
    running: tuple[Running, dict[str, str]], slack_api: SlackApi, clock: FakeClock
) -> None:
    desk, ids = running
    message = await digest_with_chart(slack_api, BILLING)
    (chart,) = slack_api.files_in(BILLING, message["ts"])
    assert chart["content"].startswith(PNG) and chart["name"] == "tickets-2026-11-19.png"
    assert fields(message) == [
        "*Tickets*\n3\n▲ 2 vs last week",
        "*Resolved*\n1\nsame as last week",
        "*Still open*\n2 (1 critical)\n▲ 2 vs last week 👎",
        "*First response (avg)*\n✅ 30 min · target 30 min\nsame as last week",
        "*Resolution (avg)*\n✅ 2.0 h · target 8.0 h\n▼ 2.0 h vs last week 👍",
        "*SLA compliance*\n⚠️ 50% · target 95%\n▼ 50 pts vs last week 👎",
        "*CSAT*\n✅ 100% · target 90%\nno data to compare last week",
        "*Escalation rate*\n⚠️ 33% · target 10%\n▲ 33 pts vs last week 👎",
        "*Deflection*\n⚠️ 0% · target 30%\nsame as last week",
        "*Resolved per agent*\n⚠️ 1.0 · target 20.0\nsame as last week",
    ]
    assert at_risk_ids(message) == [ids["T3"], ids["T5"]]
    assert "Thu 19 Nov 2026" in message["blocks"][1]["elements"][0]["text"]
    managers = await digest_with_chart(slack_api, MANAGERS)
    assert fields(managers)[0] == "*Tickets*\n3\n▲ 2 vs last week"  # every ticket is billing's
    assert message["blocks"][0]["text"]["text"] == "📊 Daily digest · Billing team"
    assert managers["blocks"][0]["text"]["text"] == "📊 Daily digest · All teams"

    assert desk.digest is not None and await desk.digest.check() == []  # claimed: nothing more today
    clock.advance(hours=10)
    assert await desk.digest.check() == []
    clock.current = at(21, 8, 29)
    assert await desk.digest.check() == []  # tomorrow's is not due yet
    clock.current = at(21, 8, 31)
    assert len(await desk.digest.check()) == 2
    await eventually(lambda: _count(slack_api, BILLING, 2), within=20, what="Saturday's digest")
    await outbox_settled(desk)
    assert len(digests_in(slack_api, BILLING)) == 2 and len(digests_in(slack_api, MANAGERS)) == 2
    slack_api.assert_no_invalid()


async def _count(slack_api: SlackApi, channel: str, count: int) -> bool:
    found = digests_in(slack_api, channel)
    return len(found) == count and all(slack_api.files_in(channel, m["ts"]) for m in found)


async def test_customer_text_is_escaped_and_the_buttons_work_as_on_the_card(
    running: tuple[Running, dict[str, str]], slack_api: SlackApi
) -> None:
    desk, ids = running
    message = await digest_with_chart(slack_api, BILLING)
    line = next(b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and ids["T3"] in
                b.get("text", {}).get("text", ""))
    assert "&lt;!channel&gt;" in line and "&lt;@UMANAGER01&gt;" in line and "&amp;" in line
    assert "<!channel>" not in str(message["blocks"]) and "<@UMANAGER01>" not in str(message["blocks"])
    assert "🚨 *SLA breached*" in line
    assert desk.slack is not None and desk.slack.http is not None
    block_id = f"card_actions:{ids['T3']}"
    status, _ = await SlackSender(desk.slack.http.port).interaction(
        button(BEA, "assign_me", ids["T3"], BILLING, "trigger-1", block_id=block_id))
    assert status == 200

    async def assigned() -> bool:
        async with desk.desk.db.sessions() as session:
            return (await ticket_store.get_ticket(session, ids["T3"])).assignee == BEA

    await eventually(assigned, what="T3 assigned from the digest's button")


async def test_a_restart_after_the_claim_still_delivers_it_once(
    settings: Settings, clock: FakeClock, slack_api: SlackApi
) -> None:
    await seed(settings, clock)
    desk = await start_desk(settings, clock)  # claims and writes, then stops before any Slack call
    try:
        written = await DigestScheduler(desk).check()
    finally:
        await desk.db.close()
    assert len(written) == 2 and not digests_in(slack_api, BILLING)
    clock.advance(minutes=20)
    restarted = await serving(settings, clock)
    try:
        await digest_with_chart(slack_api, BILLING)
        await digest_with_chart(slack_api, MANAGERS)
        await outbox_settled(restarted)
        assert restarted.digest is not None and await restarted.digest.check() == []
    finally:
        await restarted.stop()
    assert len(digests_in(slack_api, BILLING)) == 1 and len(digests_in(slack_api, MANAGERS)) == 1
    assert len(slack_api.files_in(BILLING, digests_in(slack_api, BILLING)[0]["ts"])) == 1


async def test_rate_limits_server_errors_and_a_lost_answer_neither_lose_nor_double_it(
    settings: Settings, clock: FakeClock, slack_api: SlackApi
) -> None:
    """The desk's own poster and outbox, driven by hand so that the stand-in's failures meet the digests' calls
    and nothing else's: a 429 (retried by the client), a post whose answer is lost (done, but the desk hears a
    500: the next try finds it in the channel's history), and 503s on the upload's last step."""
    await seed(settings, clock)
    slack_api.fail_next(429, times=1, path="chat.postMessage")
    slack_api.lose_answer_next("chat.postMessage")
    slack_api.fail_next(503, times=3, path="files.completeUploadExternal", retry_after=None)
    desk = await start_desk(settings, clock)
    try:
        assert len(await DigestScheduler(desk).check()) == 2
        async with aiohttp.ClientSession() as http:
            poster = SlackPoster(desk, build_client(settings, http))
            for _ in range(30):
                await poster.deliver_due()
                if await _digest_rows(desk, "pending") == []:
                    break
                clock.advance(minutes=5)  # the outbox's backoff runs on the desk's clock
        assert [status for status, _ in await _digest_rows(desk)] == ["sent", "sent"]
        assert max(attempts for _, attempts in await _digest_rows(desk)) > 1
    finally:
        await desk.db.close()
    for channel in (BILLING, MANAGERS):
        (message,) = digests_in(slack_api, channel)
        (chart,) = slack_api.files_in(channel, message["ts"])
        assert chart["content"].startswith(PNG)
    assert slack_api.calls("conversations.history")  # the lost answer was looked for, not posted again


async def _digest_rows(desk: Desk, status: str | None = None) -> list[tuple[str, int]]:
    query = select(OutboxRow.status, OutboxRow.attempts).where(OutboxRow.payload["op"].as_string() == "digest")
    if status is not None:
        query = query.where(OutboxRow.status == status)
    async with desk.db.sessions() as session:
        return [(s, a) for s, a in await session.execute(query.order_by(OutboxRow.id))]


@pytest.mark.postgres
async def test_two_desks_on_one_postgresql_post_each_digest_once(
    postgres_url: str, digest_yml: Path, sink: SmtpSink, slack_api: SlackApi, clock: FakeClock
) -> None:
    settings = desk_settings(postgres_url, digest_yml, sink, slack_api)
    await seed(settings, clock)
    first = await serving(settings, clock)
    second = await serving(settings, clock)
    try:
        assert first.digest is not None and second.digest is not None
        for _ in range(3):  # besides the checks each ran at start, side by side
            await asyncio.gather(first.digest.check(), second.digest.check())
        await digest_with_chart(slack_api, BILLING)
        await digest_with_chart(slack_api, MANAGERS)
        await outbox_settled(first)
    finally:
        await first.stop()
        await second.stop()
    assert len(digests_in(slack_api, BILLING)) == 1 and len(digests_in(slack_api, MANAGERS)) == 1
    assert len(slack_api.calls("files.completeUploadExternal")) == 2
    db = await start_desk(settings, clock)
    try:
        async with db.db.sessions() as session:
            assert (await session.execute(select(func.count()).select_from(DigestRunRow))).scalar_one() == 2
            assert sorted(c for c, _, _ in await digest_store.runs(session)) == [BILLING, MANAGERS]
    finally:
        await db.db.close()


async def test_a_desk_started_after_the_time_catches_up_the_same_day_but_not_a_day_gone_by(
    settings: Settings, clock: FakeClock, slack_api: SlackApi
) -> None:
    clock.current = at(20, 23, 50)  # late, the same day: still sent
    desk = await start_desk(settings, clock)
    try:
        scheduler = DigestScheduler(desk)
        assert len(await scheduler.check()) == 2
        clock.current = at(22, 7, 0)  # the desk was down all Saturday: Saturday's is not sent on Sunday
        assert await scheduler.check() == []
        async with desk.db.sessions() as session:
            assert sorted(d for _, d, _ in await digest_store.runs(session)) == ["2026-11-20", "2026-11-20"]
    finally:
        await desk.db.close()



async def test_at_risk_beyond_the_read_are_counted(settings: Settings) -> None:
    """The digest reads only the most urgent at-risk tickets; the rest are counted, so "and N more" is true."""
    clock = FakeClock(NOW)
    await seed(settings, clock)
    desk = await start_desk(settings.model_copy(update={"slack_bot_token": None}), clock)
    try:
        paused = desk.config.sla_policy.pausing_statuses
        running = [s for s in OPEN_STATUSES if s not in paused]
        async with desk.db.sessions() as session:
            every, _, none_beyond = await digest_store.at_risk_candidates(session, None, running, NOW,
                                                                          AT_RISK_WITHIN)
            first, _, beyond = await digest_store.at_risk_candidates(session, None, running, NOW, AT_RISK_WITHIN,
                                                                     limit=1)
        assert len(every) >= 2 and none_beyond == 0
        assert [t.id for t in first] == [every[0].id] and beyond == len(every) - 1
    finally:
        await desk.db.close()
