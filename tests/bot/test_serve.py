"""`serve` as a whole: mail from a real IMAP mailbox becomes tickets; quarantine from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.serve import start
from bot.settings import Settings
from db import mail as mail_store
from db import tickets as ticket_store
from tests.bot.test_email_flow import eventually
from tests.imap_server import DovecotServer, dovecot_fixture  # noqa: F401

MAIL = (b"From: Cara Couple <cara@example.com>\r\nTo: support@wedsync.com\r\nSubject: CSV import fails\r\n"
        b"Message-ID: <imap-1@example.com>\r\n\r\nI cannot import csv of my guest list.\r\n")


async def test_mail_in_the_imap_mailbox_becomes_a_ticket_and_is_marked_seen(
    dovecot: DovecotServer, database_url: str, support_yml: Path
) -> None:
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml,
                        smtp_listen_port=0, http_port=0,
                        imap_host=dovecot.host, imap_port=dovecot.port, imap_user=dovecot.user,
                        imap_password=dovecot.password, imap_ssl=False)
    running = await start(settings, say=lambda _line: None)
    try:
        uid = await asyncio.to_thread(dovecot.append, "INBOX", MAIL)

        async def opened() -> list[str]:
            async with running.desk.db.sessions() as session:
                return [t.id for t in await ticket_store.list_tickets(session)]

        try:
            (ticket_id,) = await eventually(opened, within=15)
        except AssertionError:
            raise AssertionError(f"{running.poller.stats if running.poller else None}") from None
        assert ticket_id.startswith("TKT-")  # import_export has no prefix of its own
        flags = await asyncio.to_thread(dovecot.flags, "INBOX")
        assert b"\\Seen" in flags[uid]
        async with running.desk.db.sessions() as session:
            assert await mail_store.load_cursor(session, f"{dovecot.user}@{dovecot.host}:{dovecot.port}/INBOX")
    finally:
        await running.stop()


def test_quarantine_list_show_retry_and_discard(in_tmp: Path) -> None:
    runner = CliRunner()

    async def quarantine_two() -> list[int]:
        from bot.bootstrap import start_desk
        from bot.inbox import Inbox
        from bot.settings import load_settings

        desk = await start_desk(load_settings(None))
        inbox = Inbox(desk)
        ids = [await inbox.store(b"To: support@wedsync.com\r\nMessage-ID: <q%d@x>\r\n\r\nno sender" % n, "test")
               for n in (1, 2)]
        while await inbox.drain():  # a batch may end early on its time budget
            pass
        await desk.db.close()
        return ids

    first, second = asyncio.run(quarantine_two())
    listing = runner.invoke(app, ["quarantine", "list"]).output
    assert "no usable From address" in listing and str(first) in listing
    shown = runner.invoke(app, ["quarantine", "show", str(first), "--raw"]).output
    assert "q1@x" in shown and "no sender" in shown
    assert "1 message(s) queued again" in runner.invoke(app, ["quarantine", "retry", str(first)]).output
    assert "1 message(s) discarded" in runner.invoke(app, ["quarantine", "discard", str(second)]).output
    listing = runner.invoke(app, ["quarantine", "list"]).output
    assert "quarantine is empty" in listing
    retried_twice = runner.invoke(app, ["quarantine", "retry", str(second)])
    assert retried_twice.exit_code == 1
    assert f"not queued {second}: it is not in quarantine (it is ignored)" in retried_twice.output
