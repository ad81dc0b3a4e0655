"""Done when: `serve` (in-process) pointed at the Slack and Twilio stand-ins; an enterprise customer and two
critical tickets created three hours ago brought in by the CLI (`customers import`, `tickets import`, another
process on the same database). Both are marked breached within seconds of start; one climbs the ladder on
schedule (tiny SLA minutes and follow-up fraction in support.yml), texts the manager through Twilio and DMs the
founder at level 3; the other is acknowledged in Slack by the senior and stays where it is. Real clock, polled
with deadlines."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.serve import Running, start
from bot.settings import Settings
from db import sla as sla_store
from db import tickets as ticket_store
from tests.bot.slack_helpers import SIGNING_SECRET, SlackSender, button
from tests.bot.test_sla_ticker import support_data, write_support
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from tests.fakes.twilio_api import TwilioApi, twilio_api_fixture  # noqa: F401
from tests.waiting import eventually
from ticketing.model import Priority, Ticket, Tier

T = TypeVar("T")
FOUNDER, MANAGER, SENIOR = "UFOUNDER01", "UMANAGER01", "UBILLSEN01"
FOUNDER_PHONE, MANAGER_PHONE = "+447700900001", "+447700900002"
BILLING_CHANNEL = "CBILLING01"
FOLLOW_UP = 0.1  # of the 1-minute first-response clock: each step waits 6 seconds for an answer
STEP = timedelta(minutes=1) * FOLLOW_UP
CLI = Path(sys.executable).parent / "wedsync-support"




@pytest.fixture
def settings(database_url: str, tmp_path: Path, slack_api: SlackApi, twilio_api: TwilioApi) -> Settings:
    data = support_data(sla={"critical": {"enterprise": [1, 2]}}, sla_policy={"follow_up": FOLLOW_UP})
    return Settings(
        _env_file=None, database_url=database_url, support_config=write_support(tmp_path / "support.yml", data),
        smtp_listen_port=0, http_port=0, sla_tick_seconds=0.2,
        slack_bot_token=slack_api.token, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack_api.url,
        slack_channel_interval=0,
        twilio_account_sid=twilio_api.account_sid, twilio_auth_token=twilio_api.auth_token,
        twilio_from_number=twilio_api.from_number, twilio_api_url=twilio_api.url,
    )


@pytest.fixture
async def running(settings: Settings, slack_api: SlackApi) -> AsyncIterator[Running]:
    served = await start(settings, say=lambda _line: None)
    yield served
    await served.stop()
    slack_api.assert_no_invalid()


async def cli(settings: Settings, folder: Path, *args: str) -> str:
    """The command line in its own process, on the same database and configuration as `serve`."""
    assert settings.slack_bot_token is not None and settings.twilio_auth_token is not None
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_", "SUPPORT_", "SLACK_", "TWILIO_", "SMTP_", "IMAP_"))}
    env.update(DATABASE_URL=settings.database_url, SUPPORT_CONFIG=str(settings.support_config),
               SLACK_BOT_TOKEN=settings.slack_bot_token.get_secret_value(), SLACK_SIGNING_SECRET=SIGNING_SECRET,
               SLACK_API_URL=settings.slack_api_url, TWILIO_ACCOUNT_SID=settings.twilio_account_sid or "",
               TWILIO_AUTH_TOKEN=settings.twilio_auth_token.get_secret_value(),
               TWILIO_FROM_NUMBER=settings.twilio_from_number or "", COLUMNS="200")
    process = await asyncio.create_subprocess_exec(str(CLI), *args, cwd=folder, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def import_tickets(settings: Settings, folder: Path, count: int) -> None:
    (folder / "customers.csv").write_text("email,name,type,tier,created_at,language\n"
                                          "venues@example.com,Grand Venues Ltd,supplier,enterprise,,en\n")
    assert "1" in await cli(settings, folder, "customers", "import", "customers.csv")
    created = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    lines = [json.dumps({"customer_email": "venues@example.com", "subject": f"Payment failed for venue {n}",
                         "description": "Our card payment failed twice and we cannot access the account.",
                         "created_at": created}) for n in range(count)]
    (folder / "old-desk.jsonl").write_text("\n".join(lines) + "\n")
    assert f"imported {count} ticket(s)" in await cli(settings, folder, "tickets", "import", "--notify",
                                                        "old-desk.jsonl")


async def all_tickets(running: Running) -> list[Ticket]:
    async with running.desk.db.sessions() as session:
        return list(await ticket_store.list_tickets(session))


async def one(running: Running, ticket_id: str) -> Ticket:
    async with running.desk.db.sessions() as session:
        return await ticket_store.get_ticket(session, ticket_id)


async def fired(running: Running, ticket_id: str) -> dict[str, datetime]:
    async with running.desk.db.sessions() as session:
        return await sla_store.fired(session, ticket_id)


def ack_value(message: dict[str, Any]) -> str | None:
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == "acknowledge":
                return str(element["value"])
    return None


@pytest.mark.slow
async def test_an_old_critical_ticket_is_breached_climbs_to_the_founder_and_an_acknowledgement_stops_another(
    running: Running, settings: Settings, tmp_path: Path, slack_api: SlackApi, twilio_api: TwilioApi
) -> None:
    started = time.monotonic()
    await import_tickets(settings, tmp_path, 2)
    tickets = await all_tickets(running)
    assert len(tickets) == 2
    for ticket in tickets:
        assert ticket.customer.tier is Tier.ENTERPRISE and ticket.priority is Priority.CRITICAL
        assert ticket.team == "billing_team" and ticket.sla.first_response_minutes == 1
    climbing, acked = sorted(t.id for t in tickets)

    async def breached() -> list[Ticket] | None:
        found = [await one(running, t.id) for t in tickets]
        return found if all(t.sla.breached and t.escalation.level >= 1 for t in found) else None

    await eventually(breached, 10, "both tickets breached")
    assert time.monotonic() - started < 30

    # The senior acknowledges the second ticket from the escalation message the thread broadcast to the channel.
    async def escalation_of_acked() -> dict[str, Any] | None:
        found = [m for m in slack_api.messages(BILLING_CHANNEL) if (ack_value(m) or "").startswith(acked)]
        return found[-1] if found else None

    message = await eventually(escalation_of_acked, 10, "the escalation message with its button")
    value = ack_value(message)
    assert value is not None
    level = int(value.rsplit(":", 1)[1])
    who = SENIOR if level == 1 else "UBILLLEAD1"
    assert running.slack is not None and running.slack.http is not None
    status, _ = await SlackSender(running.slack.http.port).interaction(
        button(who, "acknowledge", value, BILLING_CHANNEL, slack_api.new_trigger_id(), block_id=f"ack:{value}"))
    assert status == 200

    async def acknowledged() -> tuple[str, datetime] | None:
        async with running.desk.db.sessions() as session:
            return await sla_store.acknowledgement(session, acked, level)

    assert (await eventually(acknowledged, 10, "the acknowledgement recorded"))[0] == who

    # The other climbs: level 2 one follow-up after the breach, level 3 (the founder) one after that.
    async def at_level_3() -> Ticket | None:
        ticket = await one(running, climbing)
        return ticket if ticket.escalation.level == 3 else None

    top = await eventually(at_level_3, 30, "level 3")
    moments = await fired(running, climbing)
    assert {"first_response:breach", "resolution:breach", "ladder:1:followed", "ladder:2:followed"} <= set(moments)
    assert moments["ladder:1:followed"] - moments["first_response:breach"] >= STEP
    assert moments["ladder:2:followed"] - moments["ladder:1:followed"] >= STEP
    assert moments["ladder:2:followed"] - moments["first_response:breach"] < 2 * STEP + timedelta(seconds=10)
    assert top.sla.breached and top.priority is Priority.CRITICAL

    # The founder: a DM with the ticket and its buttons, and a text (the ticket is critical).
    founder_channel = slack_api.dm_channel(FOUNDER)

    async def founder_dm() -> dict[str, Any] | None:
        found = [m for m in slack_api.messages(founder_channel) if climbing in m.get("text", "")]
        return found[0] if found else None

    dm = await eventually(founder_dm, 10, "the founder's DM")
    actions = [e["action_id"] for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["acknowledge", "founder_assign_me", "open_thread"]

    async def texted(number: str, ticket_id: str) -> list[str] | None:
        found = [sms.body for sms in twilio_api.sms if sms.to == number and ticket_id in sms.body]
        return found or None

    assert len(await eventually(lambda: texted(FOUNDER_PHONE, climbing), 10, "the founder's SMS")) == 1
    manager = await eventually(lambda: texted(MANAGER_PHONE, climbing), 10, "the manager's SMS")
    assert len(manager) == 1 and "breached" in manager[0]  # levels 2 and 3 wait out the 15 minutes

    # The founder acknowledges from the DM: recorded for level 3.
    status, _ = await SlackSender(running.slack.http.port).interaction(
        button(FOUNDER, "acknowledge", climbing, founder_channel, slack_api.new_trigger_id(),
               block_id="founder_actions"))
    assert status == 200

    async def founder_acknowledged() -> tuple[str, datetime] | None:
        async with running.desk.db.sessions() as session:
            return await sla_store.acknowledgement(session, climbing, 3)

    assert (await eventually(founder_acknowledged, 10, "the founder's acknowledgement"))[0] == FOUNDER

    # The acknowledged ticket stayed at its level although its follow-up time has long passed.
    escalated_at = (await one(running, acked)).escalation.at
    assert escalated_at is not None

    async def past_its_follow_up() -> bool:
        return datetime.now(UTC) - escalated_at > STEP + timedelta(seconds=1)

    await eventually(past_its_follow_up, 20, "the acknowledged step's follow-up time")
    assert running.ticker is not None
    ticks = running.ticker.ticks

    async def ticked_again() -> bool:  # a few whole ticks after that time: a climb would have happened by now
        return running.ticker is not None and running.ticker.ticks >= ticks + 3

    await eventually(ticked_again, 10, "three more ticks")
    assert (await one(running, acked)).escalation.level == level
    assert f"ladder:{level}:followed" not in await fired(running, acked)
    assert (await one(running, climbing)).escalation.level == 3  # and the founder is the top
