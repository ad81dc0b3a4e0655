"""No mail lost at the inbox (issue 13 points 1, 2, 4; issue 12 point 1): whatever the bytes are they are
committed first and end as a ticket, a message, ignored with a reason or quarantined with its error; noise is
recognised before the sender is asked for. On SQLite and PostgreSQL, through the real migrations."""

from __future__ import annotations

import logging

import pytest

from bot.desk import Desk
from bot.inbox import Inbox
from db import mail as mail_store
from db import tickets as ticket_store
from db.mail import Inbound, InboundStatus

BOUNCE_NO_FROM = (
    b"To: support@wedsync.com\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n"
    b"Message-ID: <b1@mx.example.net>\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system.\r\n"
    b"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
    b"Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n--b1--\r\n")
AUTO_NO_FROM = (b"To: support@wedsync.com\r\nSubject: Your message is held for review\r\n"
                b"Auto-Submitted: auto-replied\r\nMessage-ID: <held-1@lists.example.net>\r\n\r\n"
                b"Your message to the list is held until a moderator looks at it.\r\n")
REPLY_TO_ONLY = (b"To: support@wedsync.com\r\nReply-To: Nora Planner <nora@example.com>\r\n"
                 b"Subject: Seating chart export\r\nMessage-ID: <rt-1@example.com>\r\n\r\n"
                 b"The seating chart PDF export is blank since Monday.\r\n")


def a_mail(n: int, body: str = "Where do I change my billing address?") -> bytes:
    return (f"From: Ivy <ivy@example.com>\r\nTo: support@wedsync.com\r\nSubject: Question {n}\r\n"
            f"Message-ID: <same@example.com>\r\n\r\n{body}\r\n").encode()


async def stored_and_handled(desk: Desk, *raws: bytes) -> list[Inbound]:
    inbox = Inbox(desk)
    ids = [await inbox.store(raw, "test") for raw in raws]
    while await inbox.drain():
        pass
    async with desk.db.sessions() as session:
        found = [await mail_store.get_inbound(session, i) for i in ids]
    assert all(item is not None for item in found)
    return [item for item in found if item is not None]


@pytest.mark.parametrize("raw", [b"", b"\r\n", b"\x00\x01\x02\xff\xfe binary \x00", b"Hi, I cannot log in.\r\n"],
                         ids=["empty", "blank", "binary", "headerless"])
async def test_mail_that_cannot_be_parsed_is_committed_and_quarantined_as_unreadable(desk: Desk, raw: bytes) -> None:
    (item,) = await stored_and_handled(desk, raw)
    assert item.raw == raw
    assert item.status is InboundStatus.QUARANTINED and (item.reason or "").startswith("unreadable: ")
    assert item.message_id.endswith("@no-message-id.invalid")


async def test_a_bounce_with_no_from_is_handled_as_a_bounce_not_held_for_its_sender(desk: Desk) -> None:
    (item,) = await stored_and_handled(desk, BOUNCE_NO_FROM)
    assert (item.status, item.reason) == (InboundStatus.IGNORED, "bounce of no mail we know")


async def test_an_automatic_reply_with_no_from_is_ignored_as_an_auto_reply(desk: Desk) -> None:
    (item,) = await stored_and_handled(desk, AUTO_NO_FROM)
    assert (item.status, item.reason) == (InboundStatus.IGNORED, "auto-reply")


async def test_mail_with_no_from_but_a_reply_to_becomes_a_ticket_for_the_reply_to_address(desk: Desk) -> None:
    (item,) = await stored_and_handled(desk, REPLY_TO_ONLY)
    assert item.status is InboundStatus.PROCESSED and item.ticket_id is not None, item.reason
    async with desk.db.sessions() as session:
        ticket = await ticket_store.get_ticket(session, item.ticket_id)
    assert ticket.customer.email == "nora@example.com" and ticket.customer.name == "Nora Planner"


async def test_mail_with_no_sender_at_all_is_still_quarantined_for_it(desk: Desk) -> None:
    (item,) = await stored_and_handled(desk, REPLY_TO_ONLY.replace(b"Reply-To: Nora Planner <nora@example.com>\r\n",
                                                                   b""))
    assert (item.status, item.reason) == (InboundStatus.QUARANTINED, "no usable From address; nobody to answer")


async def test_other_content_under_a_reused_message_id_opens_its_own_ticket_and_is_marked(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.inbox"):
        first, second = await stored_and_handled(desk, a_mail(1), a_mail(2, "And how do I export invoices?"))
    assert first.status is second.status is InboundStatus.PROCESSED
    assert first.ticket_id != second.ticket_id and second.duplicate_of == first.id
    assert f"inbound {second.id} reuses the Message-ID of inbound {first.id}" in caplog.text


async def test_the_same_bytes_again_are_acknowledged_logged_and_handled_once(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.inbox"):
        first, again = await stored_and_handled(desk, a_mail(1), a_mail(1))
    assert first.id == again.id and again.deliveries == 2
    assert f"inbound {first.id} delivered again with the same content" in caplog.text
    async with desk.db.sessions() as session:
        assert await mail_store.count_by_status(session) == {"processed": 1}
        assert len(await ticket_store.list_tickets(session)) == 1


async def test_a_message_id_too_long_to_index_is_filed_under_a_digest_of_the_bytes(desk: Desk) -> None:
    raw = a_mail(1).replace(b"<same@example.com>", b"<" + b"x" * 990 + b"@example.com>")
    (item,) = await stored_and_handled(desk, raw)
    assert item.message_id.endswith("@no-message-id.invalid") and item.status is InboundStatus.PROCESSED
