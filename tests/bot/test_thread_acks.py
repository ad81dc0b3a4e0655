"""What the ticket thread says after an agent writes in it: one confirmation for an answer that was emailed,
and a 🔒 on a note that stayed internal (issue 12, point 7)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.serve import Running
from tests.bot.slack_desk import running_fixture, sender_fixture  # noqa: F401
from tests.bot.slack_helpers import SlackSender, button
from tests.bot.test_email_flow import eventually
from tests.bot.test_slack_flow import AGENT, OTHER_AGENT, TECH, _prompts, a_ticket, card_of, thread_texts
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from tests.smtp_sink import SmtpSink


async def _answer_in_thread(slack_api: SlackApi, slack: SlackSender, card: dict[str, Any], text: str) -> str:
    ts = slack_api.post_as_user(TECH, AGENT, text, thread_ts=card["ts"])
    await slack.event({"type": "message", "channel": TECH, "user": AGENT, "text": text, "ts": ts,
                       "thread_ts": card["ts"]})
    return ts


def _reactions(slack_api: SlackApi, ts: str) -> list[str]:
    return [r["name"] for r in (slack_api.message(TECH, ts) or {}).get("reactions", [])]


async def test_a_thread_answer_sent_after_its_window_says_emailed_to_the_customer_once(
    running: Running, sink: SmtpSink, slack_api: SlackApi, sender: SlackSender
) -> None:
    await a_ticket(running, sink)
    card = await card_of(slack_api)
    await thread_texts(slack_api, card, "RSVP")
    await _answer_in_thread(slack_api, sender, card, "Clear your browser cache and try again")
    await eventually(lambda: _mail_with(sink, b"Clear your browser cache"), within=10)
    await thread_texts(slack_api, card, "Emailed to the customer")
    await asyncio.sleep(1.0)  # anything else the send queued has reached Slack by now
    texts = [m.get("text", "") for m in slack_api.thread(TECH, card["ts"])[1:]]
    assert len([t for t in texts if "Emailed to the customer" in t]) == 1, texts


async def test_send_now_also_confirms_once(
    running: Running, sink: SmtpSink, slack_api: SlackApi, sender: SlackSender
) -> None:
    await a_ticket(running, sink)
    card = await card_of(slack_api)
    await thread_texts(slack_api, card, "RSVP")
    await _answer_in_thread(slack_api, sender, card, "Sending this one straight away")
    (prompt,) = await eventually(lambda: _prompts(slack_api, card, 1))
    await sender.interaction(button(AGENT, "send_now", prompt, TECH, "t"))
    await eventually(lambda: _mail_with(sink, b"straight away"), within=10)
    await thread_texts(slack_api, card, "Emailed to the customer")
    await asyncio.sleep(1.0)
    texts = [m.get("text", "") for m in slack_api.thread(TECH, card["ts"])[1:]]
    assert len([t for t in texts if "Emailed to the customer" in t]) == 1, texts


async def test_a_note_in_the_thread_gets_a_lock_reaction_and_no_other_message(
    running: Running, sink: SmtpSink, slack_api: SlackApi, sender: SlackSender
) -> None:
    await a_ticket(running, sink)
    card = await card_of(slack_api)
    await thread_texts(slack_api, card, "RSVP")
    await thread_texts(slack_api, card, "Routed to")  # everything the new ticket posts is in
    note = await _answer_in_thread(slack_api, sender, card, "note: looks like the Safari bug")
    mention = await _answer_in_thread(slack_api, sender, card, f"<@{OTHER_AGENT}> have you seen this?")

    async def locked() -> bool:
        return _reactions(slack_api, note) == ["lock"] and _reactions(slack_api, mention) == ["lock"]

    await eventually(locked)
    await asyncio.sleep(0.5)
    after = [m.get("text", "") for m in slack_api.thread(TECH, card["ts"]) if m["ts"] > note and "bot_id" in m]
    assert not [t for t in after if "note" in t.lower()]  # the lock is the acknowledgement, not a message
    assert slack_api.calls("reactions.add")


async def test_keep_as_note_marks_the_agents_message_with_a_lock(
    running: Running, sink: SmtpSink, slack_api: SlackApi, sender: SlackSender
) -> None:
    await a_ticket(running, sink)
    card = await card_of(slack_api)
    await thread_texts(slack_api, card, "RSVP")
    ts = await _answer_in_thread(slack_api, sender, card, "Maybe better kept among us")
    (prompt,) = await eventually(lambda: _prompts(slack_api, card, 1))
    await sender.interaction(button(AGENT, "keep_note", prompt, TECH, "t"))

    async def locked() -> bool:
        return _reactions(slack_api, ts) == ["lock"]

    await eventually(locked)
    await thread_texts(slack_api, card, "Kept as an internal note")


async def _mail_with(sink: SmtpSink, needle: bytes) -> bool:
    return any(needle in m.raw for m in sink.messages)
