"""Issue 12.11: `serve` warns at start when its SLA matrix answers a lower priority sooner than a higher one
(WedSync's defaults do, for the free tier: low in 24 h, medium in 48 h) and is quiet when the order holds."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from bot.serve import start
from bot.settings import Settings


async def started_and_stopped(database_url: str, support: Path, caplog: pytest.LogCaptureFixture) -> str:
    settings = Settings(_env_file=None, database_url=database_url, support_config=support, smtp_listen_port=0,
                        http_port=0)
    with caplog.at_level(logging.WARNING, logger="bot.serve"):
        running = await start(settings, say=lambda _line: None)
        await running.stop()
    return caplog.text


async def test_serve_warns_that_the_default_matrix_answers_free_low_before_free_medium(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = await started_and_stopped(database_url, tmp_path / "no-support.yml", caplog)
    assert ("SLA matrix: sla.low.free: a low ticket's first response is due in 1440 min, sooner than a medium "
            "one's (2880 min, sla.medium.free); keep it if meant, or change `sla:` in support.yml") in text
    assert text.count("SLA matrix:") == 1


async def test_serve_says_nothing_about_a_matrix_in_priority_order(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    support = tmp_path / "support.yml"
    support.write_text(yaml.safe_dump({"sla": {"low": {"free": [2880, 7200]}}}))
    assert "SLA matrix" not in await started_and_stopped(database_url, support, caplog)
