"""The Slack app end to end: signed requests into the running app over HTTP, the local Slack stand-in for
the Web API, real SMTP in and out. The card, its buttons, replies from modals and from the thread."""

from __future__ import annotations

import asyncio
import email
import time
from collections.abc import AsyncIterator
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from blocks.ids import card_actions_block_id
from bot.serve import Running, start
from bot.settings import Settings
from db import tickets as ticket_store
from tests.bot.slack_helpers import (
    SIGNING_SECRET,
    SlackSender,
    button,
    select_value,
    submission,
    text_value,
    users_select,
)
from tests.bot.test_email_flow import a_mail, eventually, handled, mails_to, not_self_service, send
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from tests.smtp_sink import SmtpSink
from ticketing.model import Status, Ticket, Visibility

TECH = "CTECHNIC01"  # technical_team's channel in the test support.yml
AGENT, OTHER_AGENT, STRANGER, FOUNDER = "UTECHAGNT1", "UBILLAGNT1", "UNOTAGENT1", "UFOUNDER01"


@pytest.fixture
async def desk_running(database_url: str, support_yml: Path, sink: SmtpSink, slack_api: SlackApi
                       ) -> AsyncIterator[Running]:
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml, smtp_listen_port=0,
                        smtp_host="127.0.0.1", smtp_port=sink.port, smtp_starttls=False,
                        slack_bot_token=slack_api.token, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack_api.url, http_port=0, reply_undo_seconds=2,
                        slack_channel_interval=0)
    running = await start(settings, say=lambda _line: None)
    yield running
    await running.stop()
    slack_api.assert_no_invalid()


@pytest.fixture
def slack(desk_running: Running) -> SlackSender:
    assert desk_running.slack is not None and desk_running.slack.http is not None
    return SlackSender(desk_running.slack.http.port)


async def card_of(slack_api: SlackApi, channel: str = TECH) -> dict[str, Any]:
    async def posted() -> dict[str, Any] | None:
        found = [m for m in slack_api.messages(channel) if "bot_id" in m and m.get("thread_ts", m["ts"]) == m["ts"]]
        return found[-1] if found else None

    return await eventually(posted)


async def thread_texts(slack_api: SlackApi, card: dict[str, Any], contains: str, channel: str = TECH) -> list[str]:
    async def check() -> list[str] | None:
        texts = [m.get("text", "") for m in slack_api.thread(channel, card["ts"])[1:]]
        return texts if any(contains in t for t in texts) else None

    return await eventually(check)


async def a_ticket(running: Running, sink: SmtpSink, **mail: Any) -> Ticket:
    message = a_mail(**mail)
    await send(running, message)
    item = await handled(running, message)
    assert item.ticket_id
    return await ticket(running, item.ticket_id)


async def ticket(running: Running, ticket_id: str) -> Ticket:
    async with running.desk.db.sessions() as session:
        return await ticket_store.get_ticket(session, ticket_id)


def card_json(card: dict[str, Any]) -> str:
    import json

    return json.dumps(card.get("blocks", []))


async def test_an_email_becomes_a_card_in_the_team_channel_with_the_message_in_its_thread(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi
) -> None:
    found = await a_ticket(desk_running, sink)
    card = await card_of(slack_api)
    assert found.id in card["text"] + card_json(card)
    assert "<!date^" in card_json(card)  # SLA deadlines in each reader's own time zone
    texts = await thread_texts(slack_api, card, "RSVP form")
    assert any("RSVP form won't save" in t for t in texts)


async def test_customer_text_is_escaped_so_it_pings_nobody(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi
) -> None:
    await a_ticket(desk_running, sink, subject="<!channel> my form won't save <@U0BOSS>",
                   body="<!here> please <https://evil.example|click> & see")
    card = await card_of(slack_api)
    await thread_texts(slack_api, card, "please")
    everything = card_json(card) + card["text"] + str(slack_api.thread(TECH, card["ts"]))
    assert "<!channel>" not in everything and "<!here>" not in everything and "<@U0BOSS>" not in everything
    assert "&lt;!channel&gt;" in everything and "&lt;!here&gt;" in everything


async def test_assign_reply_from_the_modal_and_a_customer_reply_round_trip(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi, slack: SlackSender
) -> None:
    first_mail = a_mail()
    await send(desk_running, first_mail)
    found = await ticket(desk_running, (await handled(desk_running, first_mail)).ticket_id or "")
    card = await card_of(slack_api)
    assert found.assignee == AGENT  # routed to Tom Tech (form_builder skill) on arrival
    status, _ = await slack.interaction(button(OTHER_AGENT, "assign_me", found.id, TECH, slack_api.new_trigger_id()))
    assert status == 200
    await eventually(lambda: _assigned(desk_running, found.id, OTHER_AGENT))
    await eventually(lambda: _card_mentions(slack_api, card, OTHER_AGENT))

    await slack.interaction(button(AGENT, "reply", found.id, TECH, slack_api.new_trigger_id()))
    view = await eventually(lambda: _first_view(slack_api))
    assert view["callback_id"] == "reply_modal" and view["private_metadata"] == found.id
    values = {**select_value("canned", "form_save_troubleshooting"), **text_value("body", ""),
              **select_value("after_send", "wait_customer", "radio_buttons")}
    status, _ = await slack.interaction(submission(AGENT, view, values))
    assert status == 200

    async def reply_mail() -> Any:
        mails = [m for m in sink.messages if b"required field" in m.raw]
        return mails[-1] if mails else None

    sent = email.message_from_bytes((await eventually(reply_mail)).raw, policy=default_policy)
    assert sent["Subject"] == f"Re: My form won't save [{found.id}]"
    assert sent["In-Reply-To"] == first_mail["Message-ID"]
    assert first_mail["Message-ID"] in sent["References"]
    await thread_texts(slack_api, card, f"Emailed to the customer by <@{AGENT}>")
    after = await ticket(desk_running, found.id)
    assert after.status is Status.WAITING_CUSTOMER and after.timeline.first_response is not None

    answer = a_mail(subject=sent["Subject"], body="Thanks, that fixed it!", In_Reply_To=sent["Message-ID"])
    await send(desk_running, answer)
    await thread_texts(slack_api, card, "that fixed it")
    assert (await ticket(desk_running, found.id)).status is Status.IN_PROGRESS


async def _assigned(running: Running, ticket_id: str, agent: str) -> bool:
    return (await ticket(running, ticket_id)).assignee == agent


async def _card_mentions(slack_api: SlackApi, card: dict[str, Any], user: str) -> bool:
    current = slack_api.message(TECH, card["ts"]) or {}
    return f"<@{user}>" in card_json(current)


async def _first_view(slack_api: SlackApi) -> dict[str, Any] | None:
    return slack_api.views[-1] if slack_api.views else None


async def test_a_thread_answer_is_emailed_after_the_undo_window_one_undone_and_one_kept_as_note(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi, slack: SlackSender
) -> None:
    found = await a_ticket(desk_running, sink)
    card = await card_of(slack_api)
    await thread_texts(slack_api, card, "RSVP")
    for number, text in enumerate(("Sent after the window", "Undo me please", "Keep me as a note"), start=1):
        ts = slack_api.post_as_user(TECH, AGENT, text, thread_ts=card["ts"])
        await slack.event({"type": "message", "channel": TECH, "user": AGENT, "text": text, "ts": ts,
                           "thread_ts": card["ts"]})
        prompts = await eventually(lambda n=number: _prompts(slack_api, card, n))  # type: ignore[misc]
    await slack.interaction(button(AGENT, "undo_send", prompts[1], TECH, "t"))
    await slack.interaction(button(AGENT, "keep_note", prompts[2], TECH, "t"))

    async def sent() -> list[bytes] | None:
        mails = [m.raw for m in sink.messages if b"Sent after the window" in m.raw]
        return mails or None

    await eventually(sent, within=10)
    await asyncio.sleep(2.5)  # past every window: the undone and noted answers must still not go out
    assert not any(b"Undo me" in m.raw or b"Keep me as a note" in m.raw for m in sink.messages)
    after = await ticket(desk_running, found.id)
    notes = [m.body for m in after.messages if m.visibility is Visibility.INTERNAL]
    assert notes == ["Keep me as a note"]


async def _prompts(slack_api: SlackApi, card: dict[str, Any], count: int) -> list[str] | None:
    values = []
    for message in slack_api.thread(TECH, card["ts"]):
        for block in message.get("blocks", []):
            for element in block.get("elements", []):
                if element.get("action_id") == "undo_send":
                    values.append(element["value"])
    return values if len(values) >= count else None


async def test_a_note_or_a_mention_in_the_thread_stays_internal(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi, slack: SlackSender
) -> None:
    found = await a_ticket(desk_running, sink)
    card = await card_of(slack_api)
    await thread_texts(slack_api, card, "RSVP")
    for text in ("note: looks like the Safari bug", f"<@{OTHER_AGENT}> have you seen this?"):
        ts = slack_api.post_as_user(TECH, AGENT, text, thread_ts=card["ts"])
        await slack.event({"type": "message", "channel": TECH, "user": AGENT, "text": text, "ts": ts,
                           "thread_ts": card["ts"]})

    async def noted() -> list[str] | None:
        notes = [m.body for m in (await ticket(desk_running, found.id)).internal_notes]
        return notes if len(notes) == 2 else None

    assert (await eventually(noted))[0] == "looks like the Safari bug"
    await asyncio.sleep(1.5)
    assert len(not_self_service(mails_to(sink, "anna@example.com"))) == 1  # the confirmation only


async def test_an_event_delivered_three_times_has_one_effect(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi, slack: SlackSender
) -> None:
    found = await a_ticket(desk_running, sink)
    card = await card_of(slack_api)
    await thread_texts(slack_api, card, "RSVP")
    ts = slack_api.post_as_user(TECH, AGENT, "note: only once", thread_ts=card["ts"])
    event = {"type": "message", "channel": TECH, "user": AGENT, "text": "note: only once", "ts": ts,
             "thread_ts": card["ts"]}
    for retry in (None, 1, 2):
        assert (await slack.event(event, event_id="Ev0SAMEEVENT", retry=retry))[0] == 200
    await eventually(lambda: _has_notes(desk_running, found.id))
    await asyncio.sleep(0.5)
    assert [m.body for m in (await ticket(desk_running, found.id)).internal_notes] == ["only once"]


async def _has_notes(running: Running, ticket_id: str) -> bool:
    return bool((await ticket(running, ticket_id)).internal_notes)


async def test_a_forged_or_stale_signature_gets_401_and_changes_nothing(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi, slack: SlackSender
) -> None:
    found = await a_ticket(desk_running, sink)
    forged = await slack.interaction(button(AGENT, "resolve", found.id, TECH, "t"), secret="not-the-secret")
    stale = await slack.interaction(button(AGENT, "resolve", found.id, TECH, "t"),
                                    timestamp=int(time.time()) - 60 * 10)
    assert forged[0] == 401 and stale[0] == 401
    await asyncio.sleep(0.3)
    assert (await ticket(desk_running, found.id)).status is Status.OPEN


async def test_a_non_agents_click_is_politely_refused_and_changes_nothing(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi, slack: SlackSender
) -> None:
    found = await a_ticket(desk_running, sink)
    assert (await slack.interaction(button(STRANGER, "resolve", found.id, TECH, "t")))[0] == 200
    assert (await slack.interaction(users_select(STRANGER, STRANGER, TECH, card_actions_block_id(found.id))))[0] == 200

    async def refused() -> list[dict[str, Any]] | None:
        found_ephemerals = slack_api.ephemerals(TECH, STRANGER)
        return found_ephemerals if len(found_ephemerals) == 2 else None

    assert "only support agents" in (await eventually(refused))[0]["text"]
    after = await ticket(desk_running, found.id)
    assert after.status is Status.OPEN and after.assignee == found.assignee == AGENT  # as routed, unchanged


async def test_escalating_three_times_direct_messages_the_founder_with_buttons(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi, slack: SlackSender
) -> None:
    found = await a_ticket(desk_running, sink)
    await card_of(slack_api)
    for level in (1, 2, 3):
        await slack.interaction(button(AGENT, "escalate", found.id, TECH, slack_api.new_trigger_id()))
        view = await eventually(lambda n=level: _view_of(slack_api, "escalate_modal", n))  # type: ignore[misc]
        await slack.interaction(submission(AGENT, view, text_value("reason", f"customer waiting, round {level}")))
        await eventually(lambda n=level: _level(desk_running, found.id, n))  # type: ignore[misc]
    dm = slack_api.dm_channel(FOUNDER)

    async def founder_dm() -> list[dict[str, Any]] | None:
        return slack_api.messages(dm) or None

    (message,) = await eventually(founder_dm)
    actions = [e.get("action_id") for b in message["blocks"] for e in b.get("elements", [])]
    assert {"acknowledge", "founder_assign_me"} <= set(actions)
    assert found.id in message["text"] + card_json(message)
    assert (await ticket(desk_running, found.id)).priority.value == "critical"  # medium -> high -> critical


async def _view_of(slack_api: SlackApi, callback: str, count: int) -> dict[str, Any] | None:
    found = [v for v in slack_api.views if v.get("callback_id") == callback]
    return found[-1] if len(found) >= count else None


async def _level(running: Running, ticket_id: str, level: int) -> bool:
    return (await ticket(running, ticket_id)).escalation.level == level


async def test_a_rate_limited_slack_is_retried_and_the_card_still_arrives(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi
) -> None:
    slack_api.fail_next(status=429, times=2, retry_after=1, path="chat.postMessage")
    await a_ticket(desk_running, sink)
    card = await eventually(lambda: _any_card(slack_api), within=15)
    assert card["text"]
    assert len([r for r in slack_api.requests if r.path.endswith("chat.postMessage")]) >= 3


async def _any_card(slack_api: SlackApi) -> dict[str, Any] | None:
    found = [m for m in slack_api.messages(TECH) if m.get("thread_ts", m["ts"]) == m["ts"]]
    return found[0] if found else None


async def test_the_ticket_command_shows_a_ticket_and_opens_a_new_one_for_a_phone_request(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi, slack: SlackSender
) -> None:
    found = await a_ticket(desk_running, sink)
    await slack.command(AGENT, found.id.lower(), TECH, slack_api.new_trigger_id())
    await eventually(lambda: _ephemeral_with(slack_api, found.id))
    await slack.command(AGENT, "new", TECH, slack_api.new_trigger_id())
    view = await eventually(lambda: _view_of(slack_api, "new_ticket_modal", 1))
    bad = {**text_value("customer_email", "not an email"), **text_value("subject", "Call about refund"),
           **text_value("description", "Phoned about a refund"), **select_value("source", "phone")}
    status, answer = await slack.interaction(submission(AGENT, view, bad))
    assert status == 200 and "customer_email" in answer and "errors" in answer
    good = {**bad, **text_value("customer_email", "dan@example.com")}
    assert (await slack.interaction(submission(AGENT, view, good)))[0] == 200

    async def phoned() -> list[Ticket] | None:
        async with desk_running.desk.db.sessions() as session:
            tickets = [t for t in await ticket_store.list_tickets(session) if t.customer.email == "dan@example.com"]
        return tickets or None

    (made,) = await eventually(phoned)
    assert made.metadata.source.value == "phone"


async def _ephemeral_with(slack_api: SlackApi, text: str) -> bool:
    return any(text in str(e) for e in slack_api.ephemerals(TECH, AGENT))


async def test_the_app_home_shows_the_agents_tickets_and_the_numbers(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi, slack: SlackSender
) -> None:
    found = await a_ticket(desk_running, sink)
    await slack.interaction(button(AGENT, "assign_me", found.id, TECH, "t"))
    await eventually(lambda: _assigned(desk_running, found.id, AGENT))
    await slack.event({"type": "app_home_opened", "user": AGENT, "channel": "D0HOME0001", "tab": "home"})

    async def home() -> dict[str, Any] | None:
        return slack_api.home(AGENT)

    view = await eventually(home)
    assert found.id in str(view["blocks"])
