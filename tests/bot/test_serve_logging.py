"""What `serve` says while it works (issue 12, point 8), read from a real `wedsync-support serve` process: one
INFO line for each ticket created or threaded, card posted and mail sent, with ids and no customer address;
which support.yml it loaded and whether the model classifier is on; the customer pages' line with Slack on;
and no "token will be unused" warning from Bolt."""

from __future__ import annotations

import logging
import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.desk import Desk
from db import tickets as ticket_store
from tests.bot.slack_helpers import SIGNING_SECRET
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from tests.smtp_sink import SmtpSink
from ticketing.create import NewTicket
from ticketing.model import Source

CUSTOMER = "anna.bride@example.com"


class Served:
    """A `wedsync-support serve` subprocess whose output (stdout and stderr) is collected line by line."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "serve"],
                                        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, within: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"serve never said {pattern!r}; it said:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def served(tmp_path: Path, support_yml: Path, sink: SmtpSink, slack_api: SlackApi) -> Iterator[Served]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SMTP_", "SLACK_", "IMAP_", "TWILIO_", "OPENAI_", "DATABASE_", "SUPPORT_"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}", SUPPORT_CONFIG=str(support_yml),
               SMTP_LISTEN_PORT="0", HTTP_PORT="0", SMTP_HOST="127.0.0.1", SMTP_PORT=str(sink.port),
               SMTP_STARTTLS="false", SLACK_BOT_TOKEN=slack_api.token, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               SLACK_API_URL=slack_api.url, SLACK_CHANNEL_INTERVAL="0", LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
    running = Served(env, tmp_path)
    try:
        yield running
    finally:
        running.stop()


def _send(port: int, subject: str, body: str, message_id: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Anna Bride <{CUSTOMER}>", "support@wedsync.com", subject
    message["Message-ID"] = message_id
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


def test_serve_logs_each_ticket_card_and_mail_with_ids_and_no_customer_address(served: Served) -> None:
    port = int(served.wait_for(r"SMTP listener on 127\.0\.0\.1:(\d+)").group(1))
    served.wait_for(r"ready; Ctrl-C stops")
    _send(port, "My form won't save", "Hi, my RSVP form won't save since this morning.", "<first@example.com>")
    ticket = served.wait_for(r"INFO bot\.inbox: ticket (\S+) created from mail #\d+").group(1)
    served.wait_for(rf"card of ticket {re.escape(ticket)} posted in C\w+ \(ts [\d.]+\)")
    served.wait_for(rf"mail sent for ticket {re.escape(ticket)} \(outbox #\d+, Message-ID <[^>]+>\)")
    _send(port, f"Re: My form won't save [{ticket}]", "Still broken, sorry!", "<second@example.com>")
    served.wait_for(rf"mail #\d+ threaded into ticket {re.escape(ticket)}")
    served.stop()
    assert CUSTOMER not in served.output


def test_serve_says_which_support_yml_it_loaded_and_that_the_model_is_off(served: Served, support_yml: Path
                                                                           ) -> None:
    served.wait_for(r"ready; Ctrl-C stops")
    served.wait_for(rf"configuration: {re.escape(str(support_yml.resolve()))} \(\d+ teams, \d+ agents\)")
    served.wait_for(r"model classifier: off")


def test_serve_with_slack_on_names_the_customer_pages_and_bolt_warns_of_no_unused_token(served: Served) -> None:
    served.wait_for(r"ready; Ctrl-C stops")
    served.wait_for(r"customer pages \(rating and self-service links\) on http://127\.0\.0\.1:\d+")
    served.stop()
    assert "will be unused" not in served.output
    assert "Slack: events, interactivity" in served.output


def test_the_model_line_names_the_model_and_host_but_no_key_or_password_in_the_url() -> None:
    from bot.serve import model_line
    from bot.settings import Settings

    settings = Settings(_env_file=None, openai_api_key="sk-test-key-123", openai_model="gpt-4o-mini",
                        openai_base_url="https://user:hunter2@llm.example.com/v1")
    line = model_line(settings)
    assert line == "model classifier: on, gpt-4o-mini at https://llm.example.com/v1"
    assert "hunter2" not in line and "sk-test" not in line


async def test_a_ticket_opened_outside_email_is_logged_with_its_id_and_source(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    async with desk.db.transaction() as session:
        customer = await ticket_store.ensure_customer(session, CUSTOMER, "Anna", desk.clock.now())
    with caplog.at_level(logging.INFO, logger="bot.desk"):
        created = await desk.open_ticket(NewTicket(customer, "Call about a refund", "Phoned", Source.PHONE))
    assert f"ticket {created.ticket.id} created (phone)" in caplog.messages
    assert not any(CUSTOMER in m for m in caplog.messages)
