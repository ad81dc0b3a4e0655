"""`quarantine list|retry|discard|release` and `inbox audit` on a real desk database (issue 12 point 6,
issue 13): sender and subject listed, unknown ids named with a non-zero exit, a rate-limited message let through
once, and the accounting of every accepted mail."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from db import mail as mail_store
from db.mail import InboundStatus

runner = CliRunner()


def a_mail(n: int, sender: str = "Rita Rush <rita@example.com>", subject: str = "Question") -> bytes:
    return (f"From: {sender}\r\nTo: support@wedsync.com\r\nSubject: {subject} {n}\r\n"
            f"Message-ID: <cli-{n}@example.com>\r\n\r\nHow do I do thing {n}?\r\n").encode()


def deliver(*raws: bytes) -> list[int]:
    """Store the mails through the inbox's own store step and handle them, as `serve` would."""

    async def go() -> list[int]:
        from bot.bootstrap import start_desk
        from bot.inbox import Inbox
        from bot.settings import load_settings

        desk = await start_desk(load_settings(None))
        inbox = Inbox(desk)
        try:
            ids = [await inbox.store(raw, "test") for raw in raws]
            while await inbox.drain():
                pass
            return ids
        finally:
            await desk.db.close()

    return asyncio.run(go())


def status_of(inbound_id: int) -> tuple[InboundStatus, str | None]:
    async def go() -> tuple[InboundStatus, str | None]:
        from bot.bootstrap import start_desk
        from bot.settings import load_settings

        desk = await start_desk(load_settings(None))
        try:
            async with desk.db.sessions() as session:
                found = await mail_store.get_inbound(session, inbound_id)
        finally:
            await desk.db.close()
        assert found is not None
        return found.status, found.reason

    return asyncio.run(go())


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def limited(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SENDER_RATE_PER_HOUR", "1")
    return in_tmp


def test_quarantine_list_shows_each_messages_sender_and_subject(limited: Path) -> None:
    _first, held = deliver(a_mail(1), a_mail(2, subject="Second \x1b[31mquestion"))
    listing = cli("quarantine", "list").output
    row = next(line for line in listing.splitlines() if line.startswith(f"│ {held} "))
    assert "rita@example.com" in row and "question 2" in row
    assert "rate limit" in listing and "\x1b" not in listing  # a terminal escape in a subject is not printed


def test_discarding_a_known_and_an_unknown_id_discards_the_known_one_and_names_the_unknown_with_exit_1(
    limited: Path,
) -> None:
    _first, held = deliver(a_mail(1), a_mail(2))
    result = cli("quarantine", "discard", str(held), "999")
    assert result.exit_code == 1
    assert f"1 message(s) discarded (kept, marked ignored): {held}" in result.output
    assert "999 does not exist" in result.output
    assert status_of(held)[0] is InboundStatus.IGNORED


def test_retrying_an_unknown_id_says_it_does_not_exist_and_exits_1(limited: Path) -> None:
    result = cli("quarantine", "retry", "999")
    assert result.exit_code == 1 and "999 does not exist" in result.output


def test_a_released_message_gets_past_the_rate_limit_once(limited: Path) -> None:
    first, held, later = deliver(a_mail(1), a_mail(2), a_mail(3))
    assert [status_of(i)[0] for i in (first, held, later)] == [InboundStatus.PROCESSED, InboundStatus.QUARANTINED,
                                                              InboundStatus.QUARANTINED]
    result = cli("quarantine", "release", str(held))
    assert result.exit_code == 0 and f"1 message(s) released past the rate limit: {held}" in result.output
    deliver()  # the worker runs
    status, reason = status_of(held)
    assert status is InboundStatus.PROCESSED and (reason or "").startswith("new ticket")
    cli("quarantine", "retry", str(later))  # a plain retry is still held by the limit
    deliver()
    assert status_of(later)[0] is InboundStatus.QUARANTINED


def test_release_refuses_a_message_that_the_rate_limit_did_not_hold(limited: Path) -> None:
    (no_sender,) = deliver(b"To: support@wedsync.com\r\nSubject: who am I\r\nMessage-ID: <ns@x>\r\n\r\nhello\r\n")
    result = cli("quarantine", "release", str(no_sender))
    assert result.exit_code == 1
    assert "not by the rate limit" in result.output and f"quarantine retry {no_sender}" in result.output
    assert status_of(no_sender)[0] is InboundStatus.QUARANTINED


def test_inbox_audit_accounts_for_every_accepted_mail(limited: Path) -> None:
    reply_to = b"To: support@wedsync.com\r\nReply-To: Ola <ola@example.com>\r\nSubject: no from\r\n\r\nHi\r\n"
    ids = deliver(a_mail(1), a_mail(1), a_mail(2), b"", b"\x00\x01\xff garbage", reply_to,
                  a_mail(1).replace(b"thing 1", b"thing one"))
    shown = " ".join(cli("quarantine", "show", str(ids[6])).output.split())
    assert f"id collision reuses the Message-ID of inbound {ids[0]}" in shown
    assert "deliveries 2" in " ".join(cli("quarantine", "show", str(ids[0])).output.split())
    result = cli("inbox", "audit")
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert "accepted 7 (deliveries acknowledged; 6 stored, 1 redelivered with the same content)" in lines
    assert "tickets created 2" in lines  # rita's first, and ola's by its Reply-To
    assert "ignored 1" in lines and "1 redelivery (same content again; counted on the stored message)" in lines
    assert "quarantined 4" in lines and "2 rate limit" in lines and "2 unreadable" in lines
    assert "of these, 1 reused a Message-ID already stored (kept as new messages)" in lines
    assert any(line.startswith("unaccounted 0") for line in lines)


def test_inbox_audit_names_a_processed_mail_whose_ticket_message_is_missing_and_exits_1(limited: Path) -> None:
    (kept,) = deliver(a_mail(1))

    async def lose_its_message() -> None:
        from sqlalchemy import update

        from bot.bootstrap import start_desk
        from bot.settings import load_settings
        from db.tables import InboundEmailRow

        desk = await start_desk(load_settings(None))
        try:
            async with desk.db.transaction() as session:
                await session.execute(update(InboundEmailRow).where(InboundEmailRow.id == kept)
                                      .values(ticket_message_id="no-such-message"))
        finally:
            await desk.db.close()

    asyncio.run(lose_its_message())
    result = cli("inbox", "audit")
    assert result.exit_code == 1
    assert f"unaccounted  1  (inbound ids: {kept})" in result.output
