"""End to end, no mail lost (issue 13, issue 12 point 1): 40 mails (Message-ID collisions, identical and relayed
redeliveries, 1,000- and 700,000-character lines, headerless, empty, binary, broken, bounces, auto-replies) sent
over real SMTP as an MTA sends (CRLF, dot-stuffed) and APPENDed to a real Dovecot that the desk polls. Every
mail acknowledged is then a ticket, a threaded message, ignored with its reason or quarantined with its error,
`wedsync-support inbox audit` says 0 unaccounted, and each mail is where it is expected. On SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import smtplib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.serve import Running, start
from bot.settings import Settings
from channels.email.digest import content_digest
from db.inbox_audit import InboxAudit, audit_inbox, reason_kind
from db.mail import InboundStatus
from db.tables import InboundEmailRow
from tests.imap_server import DovecotServer, dovecot_fixture  # noqa: F401
from tests.smtp_sink import SmtpSink
from tests.waiting import eventually

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"
SUPPORT = "support@wedsync.com"
TICKET, THREADED = "ticket", "threaded"
NO_SENDER = "quarantined: no usable From address; nobody to answer"
UNREADABLE = "quarantined: unreadable"


@dataclass(frozen=True)
class Mail:
    label: str
    raw: bytes
    expect: frozenset[str]  # acceptable end states (see `state_of`)
    redelivery_of: str | None = None  # the label of the mail it repeats


USED: set[str] = set()


def fixture(name: str) -> bytes:
    USED.add(f"lost_{name}.raw")
    return (FIXTURES / f"lost_{name}.raw").read_bytes()


def with_line(length: int) -> bytes:
    cell = ("<td>Table 7: the Moreno family, 10 seats, 2 high chairs, allergy: nuts</td>" * (length // 70 + 1))
    return fixture("outlook_long_line").replace(b"Message-ID: <AM0PR01MB1234@", f"Message-ID: <L{length}@".encode()) \
        .replace(b"</tr></table>", cell[:length].encode() + b"\r\n</tr></table>")


def one(state: str) -> frozenset[str]:
    return frozenset({state})


def corpus() -> list[Mail]:
    plain = fixture("question_plain")
    mails = [
        Mail("plain", plain, one(TICKET)),
        Mail("id reused by a template", fixture("id_reused_template"), one(TICKET)),
        Mail("id reused by Resent-*", fixture("id_reused_resent"), one(TICKET)),
        Mail("reply", fixture("reply_threaded"), one(THREADED)),
        Mail("plain again", plain, one("redelivery"), "plain"),
        Mail("plain relayed again", b"Received: from relay2.example.net by mx.wedsync.com;\r\n"
             b" Thu, 3 Dec 2026 08:01:09 +0000\r\n" + plain, one("redelivery"), "plain"),
        Mail("1,000-char line", fixture("outlook_long_line"), one(TICKET)),
        Mail("700,000-char line", with_line(700_000), one(TICKET)),
        Mail("700,000-char line again", with_line(700_000), one("redelivery"), "700,000-char line"),
        Mail("20,000-char line", with_line(20_000), one(TICKET)),
        Mail("headerless", fixture("headerless"), one(UNREADABLE)),
        Mail("headerless again", fixture("headerless"), one("redelivery"), "headerless"),
        Mail("empty", b"", one(UNREADABLE)),
        Mail("binary", fixture("binary_garbage"), one(UNREADABLE)),
        Mail("junk first line", fixture("junk_first_line"), one(TICKET)),
        Mail("broken From", fixture("broken_from"), one(NO_SENDER)),
        Mail("bounce without From", fixture("bounce_no_from"), one("ignored: bounce of no mail we know")),
        Mail("auto-reply without From", fixture("auto_reply_no_from"), one("ignored: auto-reply")),
        Mail("out of office", fixture("out_of_office"),
             one("ignored: out-of-office reply to no open ticket of this sender")),
        Mail("Reply-To only", fixture("reply_to_only"), one(TICKET)),
        Mail("Sender only", fixture("sender_only"), one(TICKET)),
        Mail("trailing-dot From", fixture("trailing_dot_from"), one(TICKET)),
        Mail("no Message-ID", fixture("no_message_id"), one(TICKET)),
        Mail("no Message-ID again", fixture("no_message_id"), one("redelivery"), "no Message-ID"),
        Mail("bulk", fixture("bulk_newsletter"), one("ignored: bulk mail")),
        Mail("NUL bytes", fixture("nul_in_body"), one(TICKET)),
        Mail("Latin-1 without charset", fixture("latin1_no_charset"), one(TICKET)),
        Mail("1,200-char Message-ID", fixture("long_message_id"), one(TICKET)),
    ]
    for n in range(12):  # ordinary customers around the odd ones
        mails.append(Mail(f"customer {n}", (
            f"From: Customer {n} <c{n}@example.com>\r\nTo: {SUPPORT}\r\nSubject: Question {n} about my plan\r\n"
            f"Message-ID: <c{n}-{n * 7}@example.com>\r\n\r\nHow do I move my booking {n} to another date?\r\n"
        ).encode(), one(TICKET)))
    return mails


def test_every_lost_fixture_is_in_the_corpus() -> None:
    corpus()
    assert {path.name for path in FIXTURES.glob("lost_*.raw")} == USED
    assert len(corpus()) == 40


def as_an_mta_sends(raw: bytes) -> bytes:
    """What the desk stores of `raw` sent over SMTP by an MTA: CRLF line ends, ending with CRLF."""
    normalized = re.sub(rb"\r?\n", b"\r\n", raw)
    return normalized if normalized.endswith(b"\r\n") else normalized + b"\r\n"


def send_all(port: int, mails: list[Mail]) -> list[tuple[int, bytes]]:
    replies = []
    with smtplib.SMTP("127.0.0.1", port, local_hostname="mx.example.net", timeout=30) as client:
        client.ehlo()
        for mail in mails:
            assert client.mail("relay@mx.example.net", options=["BODY=8BITMIME"])[0] == 250
            assert client.rcpt(SUPPORT)[0] == 250
            replies.append(client.data(as_an_mta_sends(mail.raw)))  # smtplib dot-stuffs
    return replies


async def rows_by_digest(running: Running) -> dict[str, InboundEmailRow]:
    async with running.desk.db.sessions() as session:
        return {row.content_sha256: row for row in (await session.execute(select(InboundEmailRow))).scalars()}


def state_of(row: InboundEmailRow) -> str:
    reason = row.reason or ""
    if row.status == InboundStatus.PROCESSED.value:
        return TICKET if reason.startswith("new ticket") else THREADED
    return f"{row.status}: {reason_kind(reason)}"


async def settled(running: Running, accepted: int) -> InboxAudit:
    async def check() -> InboxAudit | None:
        async with running.desk.db.sessions() as session:
            found = await audit_inbox(session)
        return found if found.accepted == accepted and found.pending == 0 else None

    return await eventually(check, within=60, what=f"{accepted} mails accepted and handled")


def check_each(mails: list[Mail], stored: dict[str, bytes], rows: dict[str, InboundEmailRow]) -> None:
    by_label = {m.label: m for m in mails}
    wrong = []
    for mail in mails:
        row = rows.get(content_digest(stored[mail.label]))
        if row is None:
            wrong.append(f"{mail.label}: no row")
            continue
        assert bytes(row.raw) in (stored[mail.label], stored.get(mail.redelivery_of or "", b"")), mail.label
        if mail.redelivery_of is not None:
            first = rows[content_digest(stored[mail.redelivery_of])]
            if row.id != first.id:
                wrong.append(f"{mail.label}: stored apart from {mail.redelivery_of}")
        elif state_of(row) not in mail.expect:
            wrong.append(f"{mail.label}: {state_of(row)} ({row.reason}), expected {sorted(mail.expect)}")
    assert not wrong, "\n".join(wrong)
    repeated = {by_label[m.redelivery_of].label for m in mails if m.redelivery_of}
    for label in repeated:
        row = rows[content_digest(stored[label])]
        assert row.deliveries == 1 + sum(m.redelivery_of == label for m in mails), label
    collided = [rows[content_digest(stored[label])] for label in ("id reused by a template", "id reused by Resent-*")]
    assert {row.duplicate_of for row in collided} == {rows[content_digest(stored["plain"])].id}


def settings_for(database_url: str, support_yml: Path, sink: SmtpSink, **more: object) -> Settings:
    return Settings(_env_file=None, database_url=database_url, support_config=support_yml,  # type: ignore[arg-type]
                    smtp_listen_port=0, http_port=0, smtp_host="127.0.0.1", smtp_port=sink.port,
                    smtp_starttls=False, sender_rate_per_hour=20, **more)


@pytest.fixture
async def running(database_url: str, support_yml: Path, sink: SmtpSink) -> AsyncIterator[Running]:
    desk = await start(settings_for(database_url, support_yml, sink), say=lambda _line: None)
    yield desk
    await desk.stop()


async def test_forty_mails_over_smtp_are_each_accounted_for_and_the_audit_says_none_is_missing(
    running: Running, database_url: str, support_yml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mails = corpus()
    replies = await asyncio.to_thread(send_all, running.listener.port, mails)
    assert [code for code, _text in replies] == [250] * len(mails), replies
    audit = await settled(running, accepted=len(mails))
    assert audit.unaccounted == () and audit.accounted == len(mails) == 40
    assert audit.redeliveries == 5 and audit.id_collisions == 2
    check_each(mails, {m.label: as_an_mta_sends(m.raw) for m in mails}, await rows_by_digest(running))

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SUPPORT_CONFIG", str(support_yml))
    printed = await asyncio.to_thread(CliRunner().invoke, app, ["inbox", "audit"])  # a second process would do
    assert printed.exit_code == 0, printed.output
    lines = [" ".join(line.split()) for line in printed.output.splitlines()]
    assert "accepted 40 (deliveries acknowledged; 35 stored, 5 redelivered with the same content)" in lines
    assert any(line.startswith("unaccounted 0") for line in lines)


async def test_forty_mails_appended_to_dovecot_are_each_marked_seen_and_accounted_for(
    dovecot: DovecotServer, database_url: str, support_yml: Path, sink: SmtpSink
) -> None:
    mails, refused = [], []
    for mail in corpus():
        try:
            await asyncio.to_thread(dovecot.append, "INBOX", mail.raw)
            mails.append(mail)
        except IMAPClientError as error:  # never reached the mailbox: nothing the desk could lose
            refused.append((mail.label, str(error)))
    assert [label for label, _error in refused] in ([], ["empty"]), refused  # Dovecot: "Can't save a zero byte message"
    running = await start(settings_for(database_url, support_yml, sink, imap_host=dovecot.host,
                                       imap_port=dovecot.port, imap_user=dovecot.user,
                                       imap_password=dovecot.password, imap_ssl=False), say=lambda _line: None)
    try:
        audit = await settled(running, accepted=len(mails))
        flags = await asyncio.to_thread(dovecot.flags, "INBOX")
        assert len(flags) == len(mails) and all(b"\\Seen" in f for f in flags.values())
        assert audit.unaccounted == () and audit.accounted == len(mails)
        with dovecot.client("INBOX") as imap:
            fetched = imap.fetch(sorted(flags), ["BODY.PEEK[]"])
        served = [bytes(fetched[uid][b"BODY[]"]) for uid in sorted(flags)]  # what Dovecot hands out, exactly
        check_each(mails, {m.label: raw for m, raw in zip(mails, served, strict=True)}, await rows_by_digest(running))
        assert running.poller is not None and running.poller.stats.store_failures == 0
    finally:
        await running.stop()
