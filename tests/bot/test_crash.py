"""Crash tests: `wedsync-support serve` as a real process, killed with SIGKILL in the middle of a burst of
SMTP deliveries and in the middle of an IMAP sweep, then started again on the same store (an SQLite file
and PostgreSQL). Afterwards every message that got `250` (or was in the mailbox) is in the inbox exactly
once and was turned into exactly one ticket; nothing is left pending or quarantined."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, TypeVar

import pytest
from imapclient import SEEN
from sqlalchemy import func, select

from db.session import Database, open_database
from db.tables import CustomerRow, InboundEmailRow, MailIdRow, MessageRow, OutboxRow, TicketRow
from tests.imap_server import (
    PASSWORD,
    USER,
    DovecotServer,
    dovecot_fixture,  # noqa: F401
    free_port,
    make_message,
)
from tests.waiting import eventually

pytestmark = pytest.mark.slow

T = TypeVar("T")
SCRIPT = Path(sys.executable).parent / "wedsync-support"
SUPPORT = "support@wedsync.com"
START_TIMEOUT = 60.0  # migrations on a fresh store, then the listener opens
SETTLE_TIMEOUT = 120.0  # a restarted desk works through what the crash left
STOP_TIMEOUT = 20.0  # SIGTERM to exit: a clean stop lets the item in hand finish

BURST = 1000
CLIENTS = 8
KILL_AFTER_ACCEPTED = 400
MAILBOX = 400
KILL_AFTER_STORED = 120

# (subject, body): what wedding suppliers and couples actually write to support.
REQUESTS = [
    ("RSVP form won't save", "Hi,\n\nmy RSVP form won't save since this morning. I click Save and nothing "
     "happens, the guests' answers are gone when I reload.\n\nThanks,\n{name}"),
    ("CSV import of guest list fails", "Hello, I tried to import my guest list from a CSV export of "
     "Google Sheets and it stops at row 112 with 'invalid file'. Can you help?\n\n{name}"),
    ("Payment failed", "My card payment failed twice when upgrading to Professional, but my bank says the "
     "money is reserved. Please check.\n\n{name}"),
    ("Dashboard very slow", "Since Friday the client dashboard takes almost a minute to load; we have 40 "
     "weddings this season.\n\nBest,\n{name}"),
    ("How do I share the timeline with the couple?", "Is there a way to send the day-of timeline to the "
     "couple so they can comment on it? I couldn't find it in the help centre.\n\n{name}"),
    ("Refund for annual plan", "We closed the studio and would like a refund for the rest of the annual "
     "plan we paid in March.\n\nKind regards,\n{name}"),
]


# --- the process ------------------------------------------------------------------------------------------


class Serve:
    """`wedsync-support serve` as a child process; each run's stdout and stderr go to files in `logs`."""

    def __init__(self, env: dict[str, str], cwd: Path, smtp_port: int) -> None:
        self.env, self.cwd, self.smtp_port = env, cwd, smtp_port
        self.proc: subprocess.Popen[bytes] | None = None
        self.files: list[Path] = []

    def start(self) -> None:
        run = len(self.files) // 2 + 1
        out, err = self.cwd / f"serve-{run}.stdout", self.cwd / f"serve-{run}.stderr"
        self.files += [out, err]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            self.proc = subprocess.Popen([str(SCRIPT), "serve"], cwd=self.cwd, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode} while starting\n{self.logs()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not listen on {self.smtp_port} within {START_TIMEOUT}s\n{self.logs()}")
            time.sleep(0.05)  # waiting for the port to open, not timing anything

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or committed any more."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(STOP_TIMEOUT) == -signal.SIGKILL

    def stop(self) -> int | None:
        """SIGTERM; the exit code, or None when it did not exit within STOP_TIMEOUT (then it is killed)."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.close()
            return None
        finally:
            print(f"SIGTERM to exit: {time.monotonic() - started:.1f}s")

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)

    def logs(self) -> str:
        """Every run's output, less the one INFO line per stored SMTP message."""
        parts = []
        for path in self.files:
            lines = path.read_text(errors="replace").splitlines() if path.exists() else []
            kept = [line for line in lines if "smtp_listener: stored message" not in line]
            parts.append(f"----- {path} ({len(lines)} lines, {len(lines) - len(kept)} 'stored message' left out)")
            parts += kept
        return "\n".join(parts)


@contextlib.contextmanager
def serve_process(env: dict[str, str], cwd: Path, smtp_port: int) -> Iterator[Serve]:
    """A Serve whose output is printed when the test fails, and which never outlives the test."""
    serve = Serve(env, cwd, smtp_port)
    try:
        yield serve
    except BaseException:
        print(serve.logs())
        raise
    finally:
        serve.close()


def serve_env(database_url: str, support_yml: Path, smtp_port: int, **extra: str) -> dict[str, str]:
    """The environment of the test run without any desk setting, plus these."""
    base = {name: value for name, value in os.environ.items()
            if not name.startswith(("DATABASE_URL", "SUPPORT_", "SMTP_", "IMAP_", "SLACK_", "SENDER_", "LOG_"))}
    return {**base, "PYTHONUNBUFFERED": "1", "DATABASE_URL": database_url, "SUPPORT_CONFIG": str(support_yml),
            "SMTP_LISTEN_PORT": str(smtp_port), "HTTP_PORT": "0", "SENDER_RATE_PER_HOUR": "100000",
            "LOG_LEVEL": "INFO", **extra}


# --- the store, read from the test ------------------------------------------------------------------------




async def by_status(db: Database) -> Counter[str]:
    async with db.sessions() as session:
        rows = await session.execute(select(InboundEmailRow.status, func.count()).group_by(InboundEmailRow.status))
        return Counter({status: int(count) for status, count in rows})


@dataclass(frozen=True)
class Stored:
    """Everything the crash could have doubled or lost, read once the desk has stopped."""

    inbound: list[Any]  # (message_id, status, ticket_id, attempts, reason)
    tickets: dict[str, str]  # ticket id -> the customer's email
    messages: Counter[str]  # ticket id -> how many messages
    mail_ids: dict[str, tuple[str, str]]  # Message-ID -> (ticket id, direction)
    confirmations: Counter[str]  # ticket id -> outbox emails

    @classmethod
    async def read(cls, db: Database) -> Stored:
        async with db.sessions() as session:
            inbound = list(await session.execute(select(
                InboundEmailRow.message_id, InboundEmailRow.status, InboundEmailRow.ticket_id,
                InboundEmailRow.attempts, InboundEmailRow.reason).order_by(InboundEmailRow.id)))
            tickets = dict(list(await session.execute(
                select(TicketRow.id, CustomerRow.email).join(CustomerRow, CustomerRow.id == TicketRow.user_id))))
            messages = Counter(dict(list(await session.execute(
                select(MessageRow.ticket_id, func.count()).group_by(MessageRow.ticket_id)))))
            mail_ids = {m: (t, d) for m, t, d in await session.execute(
                select(MailIdRow.message_id, MailIdRow.ticket_id, MailIdRow.direction))}
            # The confirmation only: automation rules may add other mails (a refund policy, a welcome).
            confirmations = Counter(ticket_id for ticket_id, payload in await session.execute(
                select(OutboxRow.ticket_id, OutboxRow.payload).where(OutboxRow.kind == "email"))
                if "Thanks for getting in touch" in payload.get("body", ""))
        return cls(inbound, tickets, messages, mail_ids, confirmations)


def assert_each_message_once_with_one_ticket(stored: Stored, must_have: set[str], may_have: set[str],
                                             sender_of: Callable[[str], str]) -> None:
    """`must_have` are all stored, nothing outside `may_have` is, every row processed once into its own
    ticket (with its threading entry, one message and one confirmation), and no ticket is left over."""
    counts = Counter(row.message_id for row in stored.inbound)
    assert [m for m, n in counts.items() if n > 1] == [], "a Message-ID is stored more than once"
    missing = sorted(must_have - counts.keys())
    assert missing == [], f"{len(missing)} acknowledged message(s) are not in the inbox: {missing[:10]}"
    strangers = sorted(counts.keys() - may_have)
    assert strangers == [], f"stored message(s) nobody sent: {strangers[:10]}"
    unfinished = [tuple(row) for row in stored.inbound if row.status != "processed"]
    assert unfinished == [], f"{len(unfinished)} row(s) not processed: {unfinished[:10]}"
    again = [tuple(row) for row in stored.inbound if row.attempts != 1]
    assert again == [], f"row(s) handled more than once: {again[:10]}"
    without = [tuple(row) for row in stored.inbound if row.ticket_id is None]
    assert without == [], f"processed row(s) without a ticket: {without[:10]}"
    per_ticket = Counter(row.ticket_id for row in stored.inbound)
    shared = {t: n for t, n in per_ticket.items() if n > 1}
    assert shared == {}, f"ticket(s) given to more than one mail: {shared}"
    orphans = sorted(stored.tickets.keys() - per_ticket.keys())
    assert orphans == [], f"{len(orphans)} ticket(s) no inbox row points to (a mail handled twice?): {orphans[:10]}"
    assert len(stored.tickets) == len(stored.inbound)
    for row in stored.inbound:
        assert stored.mail_ids.get(row.message_id) == (row.ticket_id, "in"), f"threading entry of {row}"
        assert stored.tickets[row.ticket_id] == sender_of(row.message_id), f"customer of {row}"
    assert {t: n for t, n in stored.messages.items() if n != 1} == {}, "a ticket with other than one message"
    assert set(stored.messages) == set(stored.tickets)
    assert {t: n for t, n in stored.confirmations.items() if n != 1} == {}, "a confirmation queued twice"
    assert set(stored.confirmations) == set(stored.tickets), "a ticket without its confirmation"


# --- SMTP -------------------------------------------------------------------------------------------------


def burst_id(n: int) -> str:
    return f"burst-{n}.{os.getpid()}@example.com"


def burst_sender(message_id: str) -> str:
    return f"c{message_id.split('.', 1)[0].removeprefix('burst-')}@example.com"


def burst_message(n: int) -> EmailMessage:
    subject, body = REQUESTS[n % len(REQUESTS)]
    name = f"Customer {n}"
    message = EmailMessage()
    message["From"] = f"{name} <c{n}@example.com>"
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{burst_id(n)}>"
    message.set_content(body.format(name=name))
    return message


@dataclass
class Burst:
    """CLIENTS threads, each on its own SMTP connection (reconnecting after an error), sending messages
    0..total-1 between them; `enough` is set once `kill_after` have been acknowledged with 250."""

    port: int
    total: int = BURST
    kill_after: int = KILL_AFTER_ACCEPTED
    accepted: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)  # Message-ID -> what the client saw
    enough: threading.Event = field(default_factory=threading.Event)
    halt: threading.Event = field(default_factory=threading.Event)
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _next(self) -> int | None:
        with self._lock:
            n = next(self._numbers)
        return n if n < self.total and not self.halt.is_set() else None

    def _client(self) -> None:
        smtp: smtplib.SMTP | None = None
        while (n := self._next()) is not None:
            message = burst_message(n)
            try:
                if smtp is None:
                    smtp = smtplib.SMTP("127.0.0.1", self.port, timeout=30)
                smtp.sendmail(f"c{n}@example.com", [SUPPORT], message.as_bytes())
            except (OSError, smtplib.SMTPException) as error:  # refused, reset, 451: not acknowledged
                with self._lock:
                    self.refused[burst_id(n)] = f"{type(error).__name__}: {error}"
                if smtp is not None:
                    with contextlib.suppress(Exception):
                        smtp.close()
                smtp = None
                continue
            with self._lock:
                self.accepted.add(burst_id(n))
                if len(self.accepted) >= self.kill_after:
                    self.enough.set()
        if smtp is not None:
            with contextlib.suppress(Exception):
                smtp.quit()

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._client, name=f"smtp-client-{i}", daemon=True)
                   for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        return threads


async def test_a_kill_during_an_smtp_burst_loses_no_acknowledged_mail_and_doubles_none(
    database_url: str, support_yml: Path, tmp_path: Path
) -> None:
    port = free_port()
    db = open_database(database_url)
    try:
        with serve_process(serve_env(database_url, support_yml, port), tmp_path, port) as serve:
            serve.start()
            burst = Burst(port)
            threads = burst.start()
            reached = await asyncio.to_thread(burst.enough.wait, 60)
            serve.kill()
            burst.halt.set()
            for thread in threads:
                await asyncio.to_thread(thread.join, 60)
            assert reached, f"only {len(burst.accepted)} of {burst.total} acknowledged before the kill"
            assert not any(thread.is_alive() for thread in threads)
            with burst._lock:
                accepted, refused = set(burst.accepted), dict(burst.refused)
            assert len(accepted) < BURST, "the kill came after the whole burst: it interrupted nothing"
            at_kill = await by_status(db)
            print(f"at the kill: {len(accepted)} acknowledged, {len(refused)} not; inbox {dict(at_kill)}")
            print("what the clients saw:", Counter(error.split(":")[0] for error in refused.values()))

            serve.start()
            await eventually(lambda: no_pending(db), SETTLE_TIMEOUT, "the restarted desk handles every pending mail")
            assert serve.stop() == 0, "serve did not stop cleanly (exit 0) within 20 s of SIGTERM"
            stored = await Stored.read(db)
            print(f"after the restart: inbox {dict(await by_status(db))}, {len(stored.tickets)} tickets")

            sent = {burst_id(n) for n in range(BURST)}
            assert_each_message_once_with_one_ticket(stored, must_have=accepted, may_have=sent,
                                                     sender_of=burst_sender)
            late = {row.message_id for row in stored.inbound} - accepted
            assert late <= refused.keys()
            # Only a message whose DATA was committed but whose 250 the kill cut off may be stored unacknowledged.
            assert len(late) <= CLIENTS, f"{len(late)} unacknowledged messages stored: {sorted(late)}"
    finally:
        await db.close()


async def no_pending(db: Database) -> bool:
    statuses = await by_status(db)
    return bool(statuses) and statuses["pending"] == 0


# --- IMAP -------------------------------------------------------------------------------------------------


def mailbox_id(n: int) -> str:
    return f"msg-{n}@example.com"


def mailbox_sender(message_id: str) -> str:
    return f"customer{message_id.split('@')[0].removeprefix('msg-')}@example.com"


def seen_count(dovecot: DovecotServer) -> int:
    return sum(SEEN in flags for flags in dovecot.flags("INBOX").values())


async def test_a_kill_during_an_imap_sweep_stores_and_handles_every_mailbox_message_once(
    database_url: str, support_yml: Path, tmp_path: Path, dovecot: DovecotServer
) -> None:
    dovecot.append_many("INBOX", [make_message(n) for n in range(MAILBOX)])
    port = free_port()
    env = serve_env(database_url, support_yml, port, IMAP_HOST=dovecot.host, IMAP_PORT=str(dovecot.port),
                    IMAP_USER=USER, IMAP_PASSWORD=PASSWORD, IMAP_SSL="false")
    db = open_database(database_url)

    async def stored_at_least(count: int) -> bool:
        return sum((await by_status(db)).values()) >= count

    async def all_done() -> bool:
        statuses = await by_status(db)
        return sum(statuses.values()) == MAILBOX and statuses["pending"] == 0 and seen_count(dovecot) == MAILBOX

    try:
        with serve_process(env, tmp_path, port) as serve:
            serve.start()
            await eventually(lambda: stored_at_least(KILL_AFTER_STORED), 60, f"{KILL_AFTER_STORED} mails stored")
            serve.kill()
            at_kill, seen = await by_status(db), seen_count(dovecot)
            print(f"at the kill: inbox {dict(at_kill)}, {seen} of {MAILBOX} marked \\Seen")
            assert sum(at_kill.values()) < MAILBOX, "the kill came after the whole mailbox was stored"

            serve.start()
            await eventually(all_done, SETTLE_TIMEOUT, f"all {MAILBOX} stored, handled and marked \\Seen")
            assert serve.stop() == 0, "serve did not stop cleanly (exit 0) within 20 s of SIGTERM"
            stored = await Stored.read(db)

            everything = {mailbox_id(n) for n in range(MAILBOX)}
            assert_each_message_once_with_one_ticket(stored, must_have=everything, may_have=everything,
                                                     sender_of=mailbox_sender)
            flags = dovecot.flags("INBOX")
            assert len(flags) == MAILBOX
            assert [uid for uid, f in flags.items() if SEEN not in f] == []
    finally:
        await db.close()
