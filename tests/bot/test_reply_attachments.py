"""An agent's files reach the customer as MIME attachments (issue 12, point 5): shared in the ticket's thread with
the answer, or picked in the Reply modal's file input. Slack hands them over from url_private with the bot token."""

from __future__ import annotations

import asyncio
import email
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from bot.serve import Running
from bot.slack.files import allowed_host
from tests.bot.slack_desk import running_fixture, sender_fixture  # noqa: F401
from tests.bot.slack_helpers import SlackSender, button, select_value, submission, text_value
from tests.bot.test_email_flow import eventually
from tests.bot.test_slack_flow import AGENT, TECH, a_ticket, card_of, thread_texts, ticket
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from tests.smtp_sink import SmtpSink

GUIDE = b"%PDF-1.4\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"


async def _mail_with(sink: SmtpSink, needle: bytes) -> EmailMessage:
    async def found() -> EmailMessage | None:
        for m in sink.messages:
            if needle in m.raw:
                parsed = email.message_from_bytes(m.raw, policy=default_policy)
                assert isinstance(parsed, EmailMessage)
                return parsed
        return None

    return await eventually(found, within=10)


async def _share_in_thread(slack_api: SlackApi, sender: SlackSender, card: dict[str, Any], text: str,
                           file: dict[str, Any]) -> str:
    ts = slack_api.post_as_user(TECH, AGENT, text, thread_ts=card["ts"])
    await sender.event({"type": "message", "subtype": "file_share", "channel": TECH, "user": AGENT, "text": text,
                        "ts": ts, "thread_ts": card["ts"], "files": [file], "upload": True})
    return ts


async def test_a_file_shared_with_a_thread_answer_reaches_the_customer_as_an_attachment(
    running: Running, sink: SmtpSink, slack_api: SlackApi, sender: SlackSender
) -> None:
    found = await a_ticket(running, sink)
    card = await card_of(slack_api)
    await thread_texts(slack_api, card, "RSVP")
    file = slack_api.add_file(AGENT, "Form guide.pdf", GUIDE, "application/pdf")
    await _share_in_thread(slack_api, sender, card, "Here is our guide to the form builder", file)
    mail = await _mail_with(sink, b"guide to the form builder")
    (attached,) = list(mail.iter_attachments())
    assert attached.get_filename() == "Form guide.pdf" and attached.get_content() == GUIDE
    downloads = [r for r in slack_api.requests if r.path.startswith("/files-pri/")]
    assert downloads and all(r.header("authorization") == f"Bearer {slack_api.token}" for r in downloads)
    after = await ticket(running, found.id)
    assert [a.filename for a in after.messages[-1].attachments] == ["Form guide.pdf"]


async def test_a_file_picked_in_the_reply_modal_reaches_the_customer_as_an_attachment(
    running: Running, sink: SmtpSink, slack_api: SlackApi, sender: SlackSender
) -> None:
    found = await a_ticket(running, sink)
    await card_of(slack_api)
    await sender.interaction(button(AGENT, "reply", found.id, TECH, slack_api.new_trigger_id()))
    view = await eventually(lambda: _reply_view(slack_api))
    file = slack_api.add_file(AGENT, "invoice 2026.pdf", GUIDE, "application/pdf")
    values = {**text_value("body", "Your invoice is attached."),
              **select_value("after_send", "wait_customer", "radio_buttons"),
              "files": {"files": {"type": "file_input", "files": [file]}}}
    assert (await sender.interaction(submission(AGENT, view, values)))[0] == 200
    mail = await _mail_with(sink, b"Your invoice is attached.")
    (attached,) = list(mail.iter_attachments())
    assert attached.get_filename() == "invoice 2026.pdf" and attached.get_content() == GUIDE
    assert attached.get_content_type() == "application/pdf"


async def test_a_dangerous_file_in_the_thread_is_refused_to_the_agent_and_nothing_is_sent(
    running: Running, sink: SmtpSink, slack_api: SlackApi, sender: SlackSender
) -> None:
    await a_ticket(running, sink)
    card = await card_of(slack_api)
    await thread_texts(slack_api, card, "RSVP")
    file = slack_api.add_file(AGENT, "fix.exe", b"MZ" + b"\0" * 64, "application/x-msdownload")
    await _share_in_thread(slack_api, sender, card, "Run this to fix it", file)

    async def refused() -> list[dict[str, Any]] | None:
        return slack_api.ephemerals(TECH, AGENT) or None

    assert "not sent to customers" in (await eventually(refused))[0]["text"]
    await asyncio.sleep(2.5)  # past the undo window
    assert not any(b"Run this to fix it" in m.raw for m in sink.messages)


def test_the_bot_token_goes_only_to_slacks_file_host_or_the_configured_api_host(running: Running) -> None:
    desk = running.desk
    api = desk.settings.slack_api_url.split("/api/")[0]
    assert allowed_host(desk, "https://files.slack.com/files-pri/T1-F1/a.pdf")
    assert allowed_host(desk, f"{api}/files-pri/T1-F1/a.pdf")
    assert not allowed_host(desk, "http://files.slack.com/files-pri/T1-F1/a.pdf")  # not over plain HTTP
    assert not allowed_host(desk, "https://evil.example/files-pri/T1-F1/a.pdf")
    assert not allowed_host(desk, "https://files.slack.com.evil.example/a.pdf")


async def _reply_view(slack_api: SlackApi) -> dict[str, Any] | None:
    found = [v for v in slack_api.views if v.get("callback_id") == "reply_modal"]
    return found[-1] if found else None
