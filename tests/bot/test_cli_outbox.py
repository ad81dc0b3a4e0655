"""Issue 12.6: state outside Slack from the command line. `outbox list|show|retry` say what waits, why and when
it is tried next; `tickets list` says how many it is not showing and refuses a team that does not exist; the
command line names agents instead of showing Slack ids. A real SQLite file (and PostgreSQL), Typer's runner."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from bot.cli import app
from bot.desk import Desk
from bot.serve import start
from bot.settings import Settings
from db import outbox as outbox_store
from db import tickets as ticket_store
from db.migrate import upgrade
from db.outbox import OutboxEntry
from db.session import open_database
from db.tables import TicketRow
from tests.smtp_sink import SmtpSink
from tests.waiting import eventually
from ticketing.create import NewTicket
from ticketing.model import Customer, Source

runner = CliRunner()


def cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={**env, "COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture
def desk_env(in_tmp: Path, database_url: str, support_yml: Path) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "SUPPORT_CONFIG": str(support_yml)}


def new_ticket(env: dict[str, str], sender: str = "anna@example.com", subject: str = "Payment failed") -> str:
    code, output = cli(env, "tickets", "new", "--from", sender, "--subject", subject, "--body", "card payment failed")
    assert code == 0, output
    return re.search(r"\b[A-Z]+-[0-9A-Z]+-[0-9A-Z]{3}\b", output).group(0)  # type: ignore[union-attr]


def on_store(url: str, work: str, item_id: int, error: str = "", later: timedelta = timedelta(0)) -> OutboxEntry:
    """Change one outbox row as a dispatcher would (a failed attempt, giving up), then read it back."""

    async def go() -> OutboxEntry:
        database = open_database(url)
        try:
            await upgrade(database)
            async with database.transaction() as session:
                if work == "fail":
                    await outbox_store.mark_retry(session, item_id, error, datetime.now(UTC) + later)
                elif work == "kill":
                    await outbox_store.mark_dead(session, item_id, error)
            async with database.sessions() as session:
                found = await outbox_store.find_entry(session, item_id)
            assert found is not None
            return found
        finally:
            await database.close()

    return asyncio.run(go())


def test_outbox_list_says_what_waits_why_and_when_it_is_tried_next(desk_env: dict[str, str]) -> None:
    ticket_id = new_ticket(desk_env)
    code, output = cli(desk_env, "outbox", "list")
    assert code == 0, output
    row = next(line for line in output.splitlines() if ticket_id in line)
    assert "pending" in row and "email to anna@example.com: Payment failed" in row
    assert "now" in row and "SMTP_HOST is not set: mail waits until it is" in row


def test_a_failed_row_shows_its_error_and_next_try_and_retry_makes_it_due_now(desk_env: dict[str, str]) -> None:
    new_ticket(desk_env)
    on_store(desk_env["DATABASE_URL"], "fail", 1, "SMTP 421 4.7.0 try again later", timedelta(minutes=30))
    _, listing = cli(desk_env, "outbox", "list")
    row = next(line for line in listing.splitlines() if line.strip("│ ").startswith("1 "))
    assert re.search(r"\bin 29m\b|\bin 30m\b", row) and "SMTP 421 4.7.0 try again later" in row, row
    code, shown = cli(desk_env, "outbox", "show", "1")
    assert code == 0 and "failed 1 time(s), last: SMTP 421 4.7.0 try again later" in shown
    assert '"to": "anna@example.com"' in shown

    before = datetime.now(UTC)
    code, output = cli(desk_env, "outbox", "retry", "1")
    assert code == 0 and "1 row(s) due now: 1" in output
    entry = on_store(desk_env["DATABASE_URL"], "read", 1)
    assert entry.status == "pending" and entry.next_attempt_at <= datetime.now(UTC)
    assert entry.next_attempt_at >= before - timedelta(seconds=1) and entry.attempts == 1


def test_a_given_up_row_is_listed_and_retry_gives_it_its_attempts_back(desk_env: dict[str, str]) -> None:
    new_ticket(desk_env)
    on_store(desk_env["DATABASE_URL"], "kill", 1, "gave up after 8 attempts: 550 5.1.1 no such user")
    _, listing = cli(desk_env, "outbox", "list")
    row = next(line for line in listing.splitlines() if line.strip("│ ").startswith("1 "))
    assert "dead" in row and "never (`outbox retry 1`)" in row and "gave up after 8 attempts" in row, listing
    assert "why       gave up after 8 attempts: 550 5.1.1 no such user" in cli(desk_env, "outbox", "show", "1")[1]
    assert cli(desk_env, "outbox", "retry", "1")[0] == 0
    entry = on_store(desk_env["DATABASE_URL"], "read", 1)
    assert (entry.status, entry.attempts) == ("pending", 0)


def test_retrying_an_unknown_id_names_it_and_exits_1_after_retrying_the_known_ones(desk_env: dict[str, str]) -> None:
    new_ticket(desk_env)
    on_store(desk_env["DATABASE_URL"], "fail", 1, "timeout", timedelta(hours=1))
    code, output = cli(desk_env, "outbox", "retry", "1", "999")
    assert code == 1
    assert "1 row(s) due now: 1" in output and "outbox row 999 does not exist" in output
    assert on_store(desk_env["DATABASE_URL"], "read", 1).next_attempt_at <= datetime.now(UTC)


def test_showing_an_unknown_outbox_row_says_so_and_exits_1(desk_env: dict[str, str]) -> None:
    code, output = cli(desk_env, "outbox", "show", "42")
    assert code == 1 and "no outbox row 42; `wedsync-support outbox list` shows the ids" in output


def test_an_empty_outbox_says_so(desk_env: dict[str, str]) -> None:
    code, output = cli(desk_env, "outbox", "list")
    assert code == 0 and "the outbox is empty" in output


def test_tickets_list_says_how_many_it_is_not_showing(desk_env: dict[str, str]) -> None:
    for n in range(3):
        new_ticket(desk_env, f"c{n}@example.com")
    _, limited = cli(desk_env, "tickets", "list", "--limit", "2")
    assert "showing 2 of 3" in limited
    _, everything = cli(desk_env, "tickets", "list")
    assert "showing" not in everything and everything.count("@example.com") == 3


def test_tickets_list_refuses_an_unknown_team_and_names_the_known_ones(desk_env: dict[str, str]) -> None:
    code, output = cli(desk_env, "tickets", "list", "--team", "billing")
    assert code == 1
    assert ("no team 'billing'; the teams are billing_team, customer_success, general_support, security_team, "
            "technical_team") in output


def test_the_command_line_shows_agents_by_name_not_slack_id(desk_env: dict[str, str]) -> None:
    ticket_id = new_ticket(desk_env)  # routed to Bea Billing (UBILLAGNT1), see tests/conftest.py
    _, listing = cli(desk_env, "tickets", "list")
    row = next(line for line in listing.splitlines() if ticket_id in line)
    assert "Bea Billing" in row and "UBILLAGNT1" not in row
    _, shown = cli(desk_env, "tickets", "show", ticket_id)
    assert re.search(r"assignee\s+Bea Billing \(UBILLAGNT1\)", shown)


async def test_a_mail_given_up_on_is_sent_by_the_running_serve_after_outbox_retry(
    in_tmp: Path, database_url: str, support_yml: Path, sink: SmtpSink
) -> None:
    """The whole way: a real SMTP server refuses the confirmation (550), the running `serve` gives up on it;
    `outbox list` in another thread says so and why; `outbox retry` makes it due and the same `serve` sends it."""
    sink.fail_next("550 5.1.1 No such user", stage="rcpt")
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml, smtp_listen_port=0,
                        http_port=0, smtp_host="127.0.0.1", smtp_port=sink.port, smtp_starttls=False)
    running = await start(settings, say=lambda _line: None)
    try:
        created = await running.desk.open_ticket(NewTicket(
            await a_customer(running.desk), "Payment failed", "My card payment failed twice", Source.EMAIL))

        async def given_up() -> OutboxEntry | None:
            async with running.desk.db.sessions() as session:
                found, _ = await outbox_store.list_entries(session, ("dead",))
            return found[0] if found else None

        dead = await eventually(given_up, 15, "the mailer gives up on the 550")
        assert dead.ticket_id == created.ticket.id
        env = {"DATABASE_URL": database_url, "SUPPORT_CONFIG": str(support_yml), "SMTP_HOST": "127.0.0.1",
               "SMTP_PORT": str(sink.port)}
        _, listing = await asyncio.to_thread(cli, env, "outbox", "list")
        row = next(line for line in listing.splitlines() if created.ticket.id in line)
        assert "dead" in row and "550" in row and f"never (`outbox retry {dead.id}`)" in row
        code, output = await asyncio.to_thread(cli, env, "outbox", "retry", str(dead.id))
        assert code == 0 and f"1 row(s) due now: {dead.id}" in output
        await eventually(lambda: _some(len(sink.messages) == 1), 15, "the retried mail is sent")
        assert sink.messages[0].rcpt_tos == ["anna@example.com"]
    finally:
        await running.stop()


async def _some(value: bool) -> bool:
    return value


async def a_customer(desk: Desk) -> Customer:
    async with desk.db.transaction() as session:
        return await ticket_store.ensure_customer(session, "anna@example.com", "Anna", desk.clock.now())


def test_a_team_that_only_old_tickets_are_in_can_still_be_listed(desk_env: dict[str, str]) -> None:
    """A team dropped from support.yml keeps its tickets: listing it is not refused."""
    ticket_id = new_ticket(desk_env)

    async def move() -> None:
        database = open_database(desk_env["DATABASE_URL"])
        try:
            async with database.transaction() as session:
                await session.execute(update(TicketRow).where(TicketRow.id == ticket_id).values(team="weddings_team"))
        finally:
            await database.close()

    asyncio.run(move())
    code, output = cli(desk_env, "tickets", "list", "--team", "weddings_team")
    assert code == 0 and ticket_id in output
    assert "weddings_team" in cli(desk_env, "tickets", "list", "--team", "nope")[1]
