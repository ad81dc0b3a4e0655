"""A whole desk with Slack on (the stand-in), real SMTP in and out, for Slack flow tests in other modules:

    from tests.bot.slack_desk import running_fixture, sender_fixture  # noqa: F401

gives the fixtures `running` (a started desk) and `sender` (signed requests into its Bolt app)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.serve import Running, start
from bot.settings import Settings
from tests.bot.slack_helpers import SIGNING_SECRET, SlackSender
from tests.fakes.slack_api import SlackApi
from tests.smtp_sink import SmtpSink


def desk_settings(database_url: str, support_yml: Path, sink: SmtpSink, slack_api: SlackApi, **extra: Any
                  ) -> Settings:
    values: dict[str, Any] = dict(
        database_url=database_url, support_config=support_yml, smtp_listen_port=0, smtp_host="127.0.0.1",
        smtp_port=sink.port, smtp_starttls=False, slack_bot_token=slack_api.token,
        slack_signing_secret=SIGNING_SECRET, slack_api_url=slack_api.url, http_port=0, reply_undo_seconds=2,
        slack_channel_interval=0)
    return Settings(_env_file=None, **{**values, **extra})


@pytest.fixture(name="running")
async def running_fixture(database_url: str, support_yml: Path, sink: SmtpSink, slack_api: SlackApi
                          ) -> AsyncIterator[Running]:
    running = await start(desk_settings(database_url, support_yml, sink, slack_api), say=lambda _line: None)
    yield running
    await running.stop()
    slack_api.assert_no_invalid()


@pytest.fixture(name="sender")
def sender_fixture(running: Running) -> SlackSender:
    assert running.slack is not None and running.slack.http is not None
    return SlackSender(running.slack.http.port)
