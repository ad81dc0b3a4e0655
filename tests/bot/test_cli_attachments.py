"""`tickets show` lists a ticket's attachments and `tickets attachment ID N --out FILE` writes one out
(issue 12, point 5)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.bot.test_email_flow import a_mail

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


def _ticket_with_attachments(cap: int | None = None) -> str:
    async def go() -> str:
        from bot.bootstrap import start_desk
        from bot.inbox import Inbox
        from bot.settings import load_settings

        settings = load_settings(None)
        if cap is not None:
            settings = settings.model_copy(update={"attachment_cap_bytes": cap})
        desk = await start_desk(settings)
        inbox = Inbox(desk)
        message = a_mail()
        message.add_attachment(PDF, maintype="application", subtype="pdf", filename="seating plan.pdf")
        message.add_attachment(b"MZ" + b"\0" * 50, maintype="application", subtype="octet-stream",
                               filename="setup.exe")
        await inbox.store(message.as_bytes(), "test")
        while await inbox.drain():
            pass
        async with desk.db.sessions() as session:
            from db import tickets as ticket_store

            (ticket,) = await ticket_store.list_tickets(session)
        await desk.db.close()
        return ticket.id

    return asyncio.run(go())


def test_tickets_show_lists_the_attachments_with_their_numbers(in_tmp: Path) -> None:
    ticket_id = _ticket_with_attachments()
    shown = CliRunner().invoke(app, ["tickets", "show", ticket_id])
    assert shown.exit_code == 0, shown.output
    assert "attachments" in shown.output and "seating plan.pdf" in shown.output and "setup.exe" in shown.output
    assert "dangerous type" in shown.output
    assert f"tickets attachment {ticket_id} N --out FILE" in shown.output


def test_tickets_attachment_writes_the_numbered_attachment_to_the_file(in_tmp: Path) -> None:
    ticket_id = _ticket_with_attachments()
    runner = CliRunner()
    written = runner.invoke(app, ["tickets", "attachment", ticket_id, "1", "--out", str(in_tmp / "plan.pdf")])
    assert written.exit_code == 0, written.output
    assert (in_tmp / "plan.pdf").read_bytes() == PDF
    assert "wrote seating plan.pdf" in written.output
    again = runner.invoke(app, ["tickets", "attachment", ticket_id, "1", "--out", str(in_tmp / "plan.pdf")])
    assert again.exit_code == 1 and "exists" in again.output  # nothing is overwritten without --force
    assert runner.invoke(app, ["tickets", "attachment", ticket_id, "2", "--out", str(in_tmp / "plan.pdf"),
                               "--force"]).exit_code == 0
    assert (in_tmp / "plan.pdf").read_bytes().startswith(b"MZ")


@pytest.mark.parametrize("number", ["0", "3"])
def test_a_number_that_is_not_an_attachment_says_which_numbers_there_are(in_tmp: Path, number: str) -> None:
    ticket_id = _ticket_with_attachments()
    answer = CliRunner().invoke(app, ["tickets", "attachment", ticket_id, number, "--out", str(in_tmp / "x")])
    assert answer.exit_code == 1
    assert "has 2 attachment(s): give a number from 1 to 2" in answer.output
    assert not (in_tmp / "x").exists()


def test_an_attachment_the_desk_did_not_keep_says_why(in_tmp: Path) -> None:
    ticket_id = _ticket_with_attachments(cap=100)  # the PDF is over the cap: its bytes were not kept
    answer = CliRunner().invoke(app, ["tickets", "attachment", ticket_id, "1", "--out", str(in_tmp / "x")])
    assert answer.exit_code == 1 and "over ATTACHMENT_CAP_BYTES" in answer.output
    assert "not kept" in CliRunner().invoke(app, ["tickets", "show", ticket_id]).output
