"""The model in the running desk, through the OpenAI stand-in: a ticket no pattern matches is classified by the
model and its card says so; the Reply modal gains an AI draft after it opens, and the draft can be sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.serve import Running, start
from bot.settings import Settings
from tests.bot.slack_helpers import SIGNING_SECRET, SlackSender, button, select_value, submission, text_value
from tests.bot.test_email_flow import a_mail, eventually, handled, send
from tests.fakes.openai_api import OpenAIApi, openai_api_fixture  # noqa: F401
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from tests.smtp_sink import SmtpSink

AGENT, CHANNEL = "UTECHAGNT1", "CGENERAL01"
MODEL_ANSWER = {"reason": "the couple asks how to share the seating plan", "category": "feature_help",
                "type": "question", "tags": ["seating"], "urgency": 3, "sentiment": "neutral",
                "suggested_template": None, "confidence": 0.83}


@pytest.fixture
async def desk_running(database_url: str, support_yml: Path, sink: SmtpSink, slack_api: SlackApi,
                       openai_api: OpenAIApi) -> AsyncIterator[Running]:
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml,
                        smtp_listen_port=0, http_port=0, smtp_host="127.0.0.1", smtp_port=sink.port,
                        smtp_starttls=False, slack_bot_token=slack_api.token, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack_api.url, slack_channel_interval=0, openai_api_key=openai_api.api_key,
                        openai_base_url=openai_api.base_url, openai_timeout=2)
    running = await start(settings, say=lambda _line: None)
    yield running
    await running.stop()
    slack_api.assert_no_invalid()


async def test_a_ticket_no_pattern_matches_is_classified_by_the_model_and_the_card_says_so(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi, openai_api: OpenAIApi
) -> None:
    openai_api.answer_with(MODEL_ANSWER)
    mail = a_mail(subject="Sharing the table plan", body="Our aunt wants to see who sits next to whom. Ideas?")
    await send(desk_running, mail)
    item = await handled(desk_running, mail)
    ticket = await desk_running.desk.find_ticket(item.ticket_id or "")
    assert ticket is not None and ticket.classification.source == "model"
    assert ticket.category.value == "feature_help" and ticket.classification.confidence == 0.83

    async def card() -> dict[str, Any] | None:
        found = [m for m in slack_api.messages("CSUCCESS01") if "bot_id" in m]
        return found[0] if found else None

    shown = json.dumps((await eventually(card))["blocks"])
    assert "model" in shown and "83%" in shown


async def test_with_the_model_down_intake_carries_on_with_the_fallback(
    desk_running: Running, sink: SmtpSink, openai_api: OpenAIApi
) -> None:
    openai_api.fail_next(status=500, times=5)
    mail = a_mail(subject="Sharing the table plan", body="Our aunt wants to see who sits next to whom. Ideas?")
    await send(desk_running, mail)
    item = await handled(desk_running, mail)
    ticket = await desk_running.desk.find_ticket(item.ticket_id or "")
    assert ticket is not None and ticket.classification.source == "fallback"


async def test_the_reply_modal_gains_an_ai_draft_that_can_be_sent(
    desk_running: Running, sink: SmtpSink, slack_api: SlackApi, openai_api: OpenAIApi
) -> None:
    openai_api.answer_with(MODEL_ANSWER)
    mail = a_mail(subject="Sharing the table plan", body="Our aunt wants to see who sits next to whom. Ideas?")
    await send(desk_running, mail)
    ticket_id = (await handled(desk_running, mail)).ticket_id or ""
    openai_api.answer_with("You can share the seating plan from Guests > Tables > Share.")
    assert desk_running.slack is not None and desk_running.slack.http is not None
    slack = SlackSender(desk_running.slack.http.port)
    await slack.interaction(button(AGENT, "reply", ticket_id, CHANNEL, slack_api.new_trigger_id()))

    async def drafted() -> dict[str, Any] | None:
        views = [v for v in slack_api.views if "AI draft" in json.dumps(v)]
        return views[-1] if views else None

    view = await eventually(drafted)
    options = [o for b in view["blocks"] for group in (b.get("element") or {}).get("option_groups", [])
               for o in group["options"]]
    value = next(o["value"] for o in options if "AI draft" in o["text"]["text"])
    values = {**select_value("canned", value), **text_value("body", ""),
              **select_value("after_send", "keep_open", "radio_buttons")}
    await slack.interaction(submission(AGENT, view, values))

    async def sent() -> bool:
        return any(b"Guests > Tables > Share" in m.raw for m in sink.messages)

    assert await eventually(sent)
