"""A customer's attachments in the ticket's Slack thread (issue 12, point 5): uploaded with files.uploadV2 through
the outbox, once even when an answer is lost; too big or dangerous ones named in the thread, not uploaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.serve import Running, start
from db.tables import OutboxRow
from tests.bot.slack_desk import desk_settings
from tests.bot.test_email_flow import a_mail, eventually, handled, send
from tests.bot.test_slack_flow import TECH, card_of, thread_texts
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401
from tests.smtp_sink import SmtpSink

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"  # 10 KB, every byte value
LIMIT = 60_000


@pytest.fixture
async def running(database_url: str, support_yml: Path, sink: SmtpSink, slack_api: SlackApi
                  ) -> AsyncIterator[Running]:
    settings = desk_settings(database_url, support_yml, sink, slack_api, slack_file_max_bytes=LIMIT)
    desk = await start(settings, say=lambda _line: None)
    yield desk
    await desk.stop()
    slack_api.assert_no_invalid()


def with_files(*files: tuple[str, str, bytes], **mail: Any) -> EmailMessage:
    message = a_mail(**mail)
    for name, content_type, content in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


async def files_shown(slack_api: SlackApi, card: dict[str, Any], count: int) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        found = slack_api.files_in(TECH, card["ts"])
        return found if len(found) >= count else None

    return await eventually(check, within=15)


async def test_a_customers_pdf_is_uploaded_into_the_tickets_thread_with_its_bytes(
    running: Running, sink: SmtpSink, slack_api: SlackApi
) -> None:
    message = with_files(("seating plan.pdf", "application/pdf", PDF))
    await send(running, message)
    await handled(running, message)
    card = await card_of(slack_api)
    (shown,) = await files_shown(slack_api, card, 1)
    assert shown["name"] == "seating plan.pdf" and shown["content"] == PDF
    assert slack_api.calls("files.getUploadURLExternal") and slack_api.calls("files.completeUploadExternal")
    assert [r.raw for r in slack_api.requests if r.path.startswith("/upload/v1/")] == [PDF]
    texts = [m.get("text", "") for m in slack_api.thread(TECH, card["ts"])]
    customer = next(i for i, t in enumerate(texts) if "RSVP form" in t)
    upload = next(i for i, m in enumerate(slack_api.thread(TECH, card["ts"])) if m.get("files"))
    assert customer < upload  # the message first, then its attachment


async def test_a_dangerous_type_and_one_over_the_limit_are_named_in_the_thread_not_uploaded(
    running: Running, sink: SmtpSink, slack_api: SlackApi
) -> None:
    big = b"x" * (LIMIT + 1)
    message = with_files(("invoice.exe", "application/octet-stream", b"MZ\x90\x00" * 100),
                         ("<!channel>.html", "text/html", b"<script>alert(1)</script>"),
                         ("video.mov", "video/quicktime", big), ("ok.pdf", "application/pdf", PDF))
    await send(running, message)
    await handled(running, message)
    card = await card_of(slack_api)
    await thread_texts(slack_api, card, "video.mov")
    await files_shown(slack_api, card, 1)
    texts = [m.get("text", "") for m in slack_api.thread(TECH, card["ts"])]
    exe = next(t for t in texts if "invoice.exe" in t)
    assert "program, script or web page" in exe
    html = next(t for t in texts if ".html" in t)
    assert "&lt;!channel&gt;.html" in html and "<!channel>" not in html  # the customer's name pings nobody
    assert "over the" in next(t for t in texts if "video.mov" in t)
    assert [f["name"] for f in slack_api.files_in(TECH, card["ts"])] == ["ok.pdf"]


async def test_a_lost_answer_to_complete_upload_is_not_shared_twice_on_the_retry(
    running: Running, sink: SmtpSink, slack_api: SlackApi
) -> None:
    slack_api.lose_answer_next("files.completeUploadExternal", times=3)  # slack_sdk's own retries lose theirs too
    message = with_files(("contract.pdf", "application/pdf", PDF))
    await send(running, message)
    await handled(running, message)
    card = await card_of(slack_api)
    await eventually(lambda: _row_sent(running), within=20)
    assert len(slack_api.calls("files.completeUploadExternal")) >= 3
    assert slack_api.calls("files.info")  # the retry asked whether the share had happened
    assert len(slack_api.calls("files.getUploadURLExternal")) == 1  # and uploaded nothing again
    assert [f["name"] for f in slack_api.files_in(TECH, card["ts"])] == ["contract.pdf"]


async def _row_sent(running: Running) -> bool:
    """Every "file" row of the outbox is sent."""
    async with running.desk.db.sessions() as session:
        rows = list(await session.execute(select(OutboxRow.status, OutboxRow.payload)))
    files = [status for status, payload in rows if payload.get("op") == "file"]
    return bool(files) and all(status == "sent" for status in files)
