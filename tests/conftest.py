"""Shared fixtures: databases on both backends through the real migrations, a fake clock, a desk."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from hypothesis import settings as hypothesis_settings

from bot.bootstrap import start_desk
from bot.desk import Desk
from bot.settings import Settings
from db.migrate import upgrade
from db.session import Database, open_database
from tests.clocks import FakeClock
from tests.smtp_sink import SmtpSink

hypothesis_settings.register_profile("ci", max_examples=200, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"

TEST_SUPPORT_YML = """
company: WedSync
founder: {name: Maya Founder, slack_id: UFOUNDER01, email: maya@wedsync.com, phone: "+447700900001"}
managers:
  - {name: Sam Manager, slack_id: UMANAGER01, email: sam@wedsync.com, phone: "+447700900002"}
teams:
  billing_team: {channel: CBILLING01, lead: UBILLLEAD1}
  technical_team: {channel: CTECHNIC01, lead: UTECHLEAD1}
  customer_success: {channel: CSUCCESS01}
  security_team: {channel: CSECURIT01}
  general_support: {channel: CGENERAL01}
agents:
  - {slack_id: UBILLAGNT1, name: Bea Billing, email: bea@wedsync.com, team: billing_team, skills: [billing, refund],
     languages: [en], timezone: Europe/London, working_hours: "00:00-24:00",
     working_days: [mon, tue, wed, thu, fri, sat, sun], expertise: 2}
  - {slack_id: UBILLLEAD1, name: Lee Lead, email: lee@wedsync.com, team: billing_team, role: lead, expertise: 3}
  - {slack_id: UBILLSEN01, name: Sid Senior, email: sid@wedsync.com, team: billing_team, role: senior}
  - {slack_id: UTECHAGNT1, name: Tom Tech, email: tom@wedsync.com, team: technical_team, skills: [bug, form_builder]}
"""


def _postgres_reachable() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _learned_classifier_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_settings turns the learned classifier on by default (./classifier, trained at the first start): tests
    and the subprocesses they start with os.environ keep it off unless they set CLASSIFIER_DIR themselves."""
    monkeypatch.setenv("CLASSIFIER_DIR", "off")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))


def _admin(sql: str) -> None:
    """One statement on the admin database, from sync code (fixtures run inside and outside event loops)."""

    async def go() -> None:
        connection = await asyncpg.connect(POSTGRES_DSN)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, go()).result()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if not _postgres_reachable():
        if REQUIRE_POSTGRES:
            pytest.fail("REQUIRE_POSTGRES=1 but nothing listens on 127.0.0.1:5432")
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    name = f"wss_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    base = POSTGRES_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on an SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = open_database(database_url)
    await upgrade(db)
    yield db
    await db.close()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A real SMTP server on a free port that records what it receives."""
    with SmtpSink() as running:
        yield running


@pytest.fixture
def support_yml(tmp_path: Path) -> Path:
    path = tmp_path / "support.yml"
    path.write_text(TEST_SUPPORT_YML, encoding="utf-8")
    return path


@pytest.fixture
def settings(database_url: str, support_yml: Path) -> Settings:
    return Settings(_env_file=None, database_url=database_url, support_config=support_yml)


@pytest.fixture
async def desk(settings: Settings, clock: FakeClock) -> AsyncIterator[Desk]:
    desk = await start_desk(settings, clock)
    yield desk
    await desk.db.close()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run in an empty directory with no desk settings in the environment (as a new user would)."""
    for name in list(os.environ):
        if name.startswith(("DATABASE_URL", "SUPPORT_", "SMTP_", "IMAP_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
