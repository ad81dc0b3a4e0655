"""One message a second per channel, without one busy channel holding up the others."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import start_desk
from bot.serve import Running, start
from bot.settings import Settings
from bot.slack.client import build_client
from bot.slack.poster import SlackPoster
from db import outbox
from db.tables import OutboxRow
from tests.bot.slack_helpers import SIGNING_SECRET
from tests.bot.test_email_flow import a_mail, eventually, send
from tests.bot.test_sla_ticker import a_ticket, desk_settings
from tests.clocks import FakeClock
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from ticketing.model import Priority, Tier


@contextlib.asynccontextmanager
async def desk_with_pace(tmp_path: Path, support_yml: Path, slack_api: SlackApi, interval: float
                         ) -> AsyncIterator[Running]:
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}",
                        support_config=support_yml, smtp_listen_port=0, http_port=0,
                        slack_bot_token=slack_api.token, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack_api.url, slack_channel_interval=interval)
    running = await start(settings, say=lambda _line: None)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def paced_desk(tmp_path: Path, support_yml: Path, slack_api: SlackApi) -> AsyncIterator[Running]:
    async with desk_with_pace(tmp_path, support_yml, slack_api, 1.0) as running:
        yield running


async def test_posts_to_one_channel_are_a_second_apart_and_another_channel_is_not_held_up(
    paced_desk: Running, slack_api: SlackApi
) -> None:
    for number in range(3):
        await send(paced_desk, a_mail(subject=f"My form won't save ({number})"))  # technical_team
    await send(paced_desk, a_mail(sender="bea@example.com", subject="Card declined", body="My card was declined"))

    async def billing_card() -> bool:
        return bool(slack_api.messages("CBILLING01"))

    async def all_tech_cards() -> bool:
        return len([m for m in slack_api.messages("CTECHNIC01") if m.get("thread_ts", m["ts"]) == m["ts"]]) == 3

    await eventually(billing_card, within=4)  # not behind the technical channel's queue
    await eventually(all_tech_cards, within=30)
    def tech_posts() -> list[Any]:
        return [r for r in slack_api.requests if r.path.endswith("chat.postMessage")
                and (r.body or {}).get("channel") == "CTECHNIC01"]

    async def six_posts() -> list[Any] | None:  # three cards and three customer messages, at least
        found = tech_posts()
        return found if len(found) >= 6 else None

    posts = await eventually(six_posts, within=30)
    times = sorted(r.time for r in posts)
    assert all(later - earlier >= 0.95 for earlier, later in itertools.pairwise(times))


@pytest.fixture
async def unpaced_desk(tmp_path: Path, support_yml: Path, slack_api: SlackApi) -> AsyncIterator[Running]:
    async with desk_with_pace(tmp_path, support_yml, slack_api, 0.0) as running:
        yield running


async def test_card_refreshes_queued_together_become_one_chat_update(
    unpaced_desk: Running, slack_api: SlackApi
) -> None:
    await send(unpaced_desk, a_mail(subject="My form won't save"))

    async def card_ticket() -> str | None:
        async with unpaced_desk.desk.db.sessions() as session:
            rows = (await session.execute(select(OutboxRow).where(OutboxRow.kind == "slack"))).scalars().all()
        done = [r for r in rows if r.status == "sent" and r.payload["op"] == "card"]
        return done[0].ticket_id if done and all(r.status == "sent" for r in rows) else None

    ticket_id = await eventually(card_ticket, within=10)
    updates_before = len(slack_api.calls("chat.update"))
    async with unpaced_desk.desk.db.transaction() as session:  # three changes' refreshes, committed together
        ids = [await unpaced_desk.desk.enqueue_slack(session, "card", ticket_id) for _ in range(3)]
    unpaced_desk.desk.outbox_written()

    async def all_sent() -> list[OutboxRow] | None:
        async with unpaced_desk.desk.db.sessions() as session:
            rows = list((await session.execute(select(OutboxRow).where(OutboxRow.id.in_(ids)))).scalars())
        return rows if all(r.status == "sent" for r in rows) else None

    rows = sorted(await eventually(all_sent, within=10), key=lambda r: r.id)
    assert len(slack_api.calls("chat.update")) == updates_before + 1
    assert [r.result.get("coalesced_into") for r in rows] == [None, rows[0].id, rows[0].id]


async def test_a_thread_message_waits_for_its_paced_card_without_using_up_its_attempts(
    tmp_path: Path, support_yml: Path, clock: FakeClock, slack_api: SlackApi
) -> None:
    """In a burst, a busy channel posts one card a second; the thread messages of a card still waiting its turn
    must wait with it (they used to run out of attempts after 15 s and end dead)."""
    settings = desk_settings(f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}", support_yml, slack=slack_api,
                             slack_channel_interval=3600.0)  # one post an hour: the second card stays paced
    desk = await start_desk(settings, clock)
    poster = SlackPoster(desk, build_client(settings))
    try:
        first = await a_ticket(desk, Priority.HIGH, Tier.FREE, assignee=None)
        await poster.deliver_due()
        second = await a_ticket(desk, Priority.HIGH, Tier.FREE, assignee=None)  # same channel: its card waits
        for _ in range(30):  # a minute and a half of retries
            clock.advance(seconds=3)
            await poster.deliver_due()
        async with desk.db.sessions() as session:
            waiting = [(op, status) for _kind, status, payload in await outbox.items_for(session, second)
                       for op in [payload["op"]]]
        assert waiting and all(status == "pending" for _op, status in waiting), waiting
        for _ in range(15):  # then the channel's turns come, one message each (ticket 1's thread goes too)
            clock.advance(seconds=3700)
            poster._last_post.clear()
            await poster.deliver_due()
        async with desk.db.sessions() as session:
            statuses = {status for kind, status, _payload in await outbox.items_for(session, second) if kind == "slack"}
        assert statuses == {"sent"}
        assert first != second
    finally:
        await desk.db.close()
