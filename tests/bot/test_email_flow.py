"""Mail in and out end to end: smtplib -> the real listener -> the store -> the inbox worker -> the core,
and confirmations out through the real mailer to a real SMTP sink. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import email
import smtplib
from collections.abc import AsyncIterator
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.serve import Running, start
from bot.settings import Settings
from db import mail as mail_store
from db import tickets as ticket_store
from db.mail import InboundStatus
from tests.smtp_sink import SmtpSink
from tests.waiting import eventually
from ticketing.model import Author, Status, Ticket, Visibility

T = TypeVar("T")
SUPPORT = "support@wedsync.com"


@pytest.fixture
async def desk_running(database_url: str, support_yml: Path, sink: SmtpSink) -> AsyncIterator[Running]:
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml,
                        smtp_listen_port=0, http_port=0,
                        smtp_host="127.0.0.1", smtp_port=sink.port, smtp_starttls=False,
                        message_id_domain="support.wedsync.com", sender_rate_per_hour=5)
    running = await start(settings, say=lambda _line: None)
    yield running
    await running.stop()


def a_mail(sender: str = "Anna Bride <anna@example.com>", subject: str = "My form won't save",
           body: str = "Hi, my RSVP form won't save since this morning.\n\nAnna", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, SUPPORT, subject
    message["Message-ID"] = email.utils.make_msgid(domain="example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


async def send(running: Running, message: EmailMessage | bytes, sender: str = "anna@example.com") -> None:
    def go() -> None:
        with smtplib.SMTP("127.0.0.1", running.listener.port, timeout=10) as client:
            if isinstance(message, bytes):
                client.sendmail(sender, [SUPPORT], message)
            else:
                client.send_message(message)

    await asyncio.to_thread(go)




async def inbound_for(running: Running, message_id: str) -> mail_store.Inbound | None:
    async with running.desk.db.sessions() as session:
        for status in InboundStatus:
            for item in await mail_store.list_inbound(session, status, 1000):
                if item.message_id == message_id.strip("<>") and item.status is not InboundStatus.PENDING:
                    return item
    return None


async def handled(running: Running, message: EmailMessage) -> mail_store.Inbound:
    return await eventually(lambda: inbound_for(running, message["Message-ID"]))


async def ticket(running: Running, ticket_id: str) -> Ticket:
    async with running.desk.db.sessions() as session:
        return await ticket_store.get_ticket(session, ticket_id)


async def all_tickets(running: Running) -> list[Ticket]:
    async with running.desk.db.sessions() as session:
        return await ticket_store.list_tickets(session)


def mails_to(sink: SmtpSink, address: str) -> list[Message]:
    return [email.message_from_bytes(m.raw, policy=default_policy) for m in sink.messages if address in m.rcpt_tos]


def not_self_service(mails: list[Message]) -> list[Message]:
    """Without the self-service answer ("Did this solve it?") that a form-not-saving ticket also gets."""
    return [m for m in mails if "Did this solve it?" not in m.get_content()]


async def confirmation_for(sink: SmtpSink, address: str) -> Message:
    async def check() -> Message | None:
        found = not_self_service(mails_to(sink, address))
        return found[-1] if found else None

    return await eventually(check)


async def opened(running: Running, sink: SmtpSink, message: EmailMessage) -> tuple[Ticket, Message]:
    await send(running, message)
    item = await handled(running, message)
    assert item.status is InboundStatus.PROCESSED, item.reason
    assert item.ticket_id is not None
    return await ticket(running, item.ticket_id), await confirmation_for(sink, "anna@example.com")


async def test_an_email_becomes_a_ticket_and_the_customer_gets_a_threaded_confirmation(
    desk_running: Running, sink: SmtpSink
) -> None:
    mail = a_mail()
    found, confirmation = await opened(desk_running, sink, mail)
    assert found.id.startswith("FB-") and found.customer.email == "anna@example.com"
    assert found.customer.name == "Anna Bride" and found.customer.tier.value == "free"
    assert found.messages[0].body.startswith("Hi, my RSVP form won't save")
    assert confirmation["Subject"] == f"Re: My form won't save [{found.id}]"
    assert confirmation["In-Reply-To"] == mail["Message-ID"]
    assert confirmation["Auto-Submitted"] == "auto-replied"
    assert confirmation["X-Auto-Response-Suppress"] == "All"
    assert confirmation["Message-ID"].endswith("@support.wedsync.com>")
    assert found.id in confirmation.get_content()


async def test_a_reply_to_the_confirmation_lands_in_the_same_ticket(desk_running: Running, sink: SmtpSink) -> None:
    first, confirmation = await opened(desk_running, sink, a_mail())
    reply = a_mail(subject="Re: My form won't save", In_Reply_To=confirmation["Message-ID"],
                   References=confirmation["Message-ID"],
                   body="It still fails on Safari.\n\nOn Thu, support wrote:\n> Thanks for getting in touch")
    await send(desk_running, reply)
    item = await handled(desk_running, reply)
    assert (item.status, item.ticket_id) == (InboundStatus.PROCESSED, first.id)
    again = await ticket(desk_running, first.id)
    assert [m.author for m in again.messages] == [Author.CUSTOMER, Author.CUSTOMER]
    assert again.messages[-1].body == "It still fails on Safari."
    assert len(await all_tickets(desk_running)) == 1


async def test_the_ticket_tag_in_the_subject_threads_a_mail_without_references(
    desk_running: Running, sink: SmtpSink
) -> None:
    first, _ = await opened(desk_running, sink, a_mail())
    tagged = a_mail(subject=f"Another thing [{first.id.lower()}]", body="Also the logo is blurry.")
    await send(desk_running, tagged)
    assert (await handled(desk_running, tagged)).ticket_id == first.id


async def test_a_strangers_mail_referring_to_a_ticket_opens_a_new_linked_ticket(
    desk_running: Running, sink: SmtpSink
) -> None:
    first, confirmation = await opened(desk_running, sink, a_mail())
    stranger = a_mail(sender="mallory@example.net", subject=f"Re: [{first.id}]", body="Add me to this please",
                      In_Reply_To=confirmation["Message-ID"])
    await send(desk_running, stranger, "mallory@example.net")
    item = await handled(desk_running, stranger)
    assert item.status is InboundStatus.PROCESSED and item.ticket_id != first.id
    assert (await ticket(desk_running, first.id)).related == (item.ticket_id,)
    assert len((await ticket(desk_running, first.id)).messages) == 1  # nothing added to Anna's ticket


async def test_a_cc_participant_may_reply_into_the_ticket(desk_running: Running, sink: SmtpSink) -> None:
    mail = a_mail(Cc="Ben Groom <ben@example.com>")
    first, confirmation = await opened(desk_running, sink, mail)
    reply = a_mail(sender="ben@example.com", subject="Re: form", In_Reply_To=confirmation["Message-ID"],
                   body="Same for me")
    await send(desk_running, reply, "ben@example.com")
    assert (await handled(desk_running, reply)).ticket_id == first.id


async def test_a_reply_to_a_resolved_ticket_reopens_it_and_to_a_closed_one_opens_a_new_linked_ticket(
    desk_running: Running, sink: SmtpSink
) -> None:
    from ticketing.lifecycle import close, resolve

    first, confirmation = await opened(desk_running, sink, a_mail())
    now = desk_running.desk.clock.now()
    async with desk_running.desk.db.transaction() as session:
        await ticket_store.update_ticket(session, resolve(first, now))
    reopen = a_mail(subject=f"Re: [{first.id}]", body="It broke again")
    await send(desk_running, reopen)
    await handled(desk_running, reopen)
    assert (await ticket(desk_running, first.id)).status is Status.IN_PROGRESS
    async with desk_running.desk.db.transaction() as session:
        current = await ticket_store.get_ticket(session, first.id)
        await ticket_store.update_ticket(session, close(resolve(current, now), now))
    late = a_mail(subject=f"Re: [{first.id}]", body="One more thing", In_Reply_To=confirmation["Message-ID"])
    await send(desk_running, late)
    item = await handled(desk_running, late)
    assert item.ticket_id != first.id and (await ticket(desk_running, first.id)).related == (item.ticket_id,)


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"Auto_Submitted": "auto-generated"}, "anna@example.com", "auto-reply"),
        ({"Precedence": "bulk"}, "news@example.com", "bulk mail"),
        ({"List_Id": "<weddings.lists.example.com>"}, "list@example.com", "mailing-list"),
        ({"X_Autoreply": "yes"}, "anna@example.com", "auto-reply"),
        ({}, "MAILER-DAEMON@mx.example.com", "mailer daemon"),
        ({}, SUPPORT, "loop: sent from one of our own addresses"),
    ],
    ids=["auto-submitted", "precedence bulk", "list mail", "x-autoreply", "mailer daemon", "our own address"],
)
async def test_noise_creates_no_ticket_and_sends_nothing(
    desk_running: Running, sink: SmtpSink, headers: dict[str, str], sender: str, reason: str
) -> None:
    mail = a_mail(sender=sender, subject="Automatic message", body="I am a robot", **headers)
    await send(desk_running, mail, sender)
    item = await handled(desk_running, mail)
    assert item.status is InboundStatus.IGNORED and reason in (item.reason or "")
    assert await all_tickets(desk_running) == []
    await asyncio.sleep(0.2)
    assert sink.messages == []


async def test_an_out_of_office_reply_is_noted_on_the_ticket_without_changing_it(
    desk_running: Running, sink: SmtpSink
) -> None:
    first, confirmation = await opened(desk_running, sink, a_mail())
    away = a_mail(subject=f"Automatic reply: Re: My form won't save [{first.id}]", Auto_Submitted="auto-replied",
                  In_Reply_To=confirmation["Message-ID"], body="I am out of the office until Monday.")
    await send(desk_running, away)
    item = await handled(desk_running, away)
    assert item.status is InboundStatus.IGNORED and item.ticket_id == first.id
    after = await ticket(desk_running, first.id)
    assert after.status is Status.OPEN
    assert after.messages[-1].author is Author.SYSTEM and after.messages[-1].visibility is Visibility.INTERNAL
    assert "out of the office" in after.messages[-1].body
    assert len(not_self_service(mails_to(sink, "anna@example.com"))) == 1  # no confirmation for the auto-reply


def a_bounce(original: Message, failed: str = "anna@example.com") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: support@wedsync.com\r\nSubject: Undelivered Mail Returned to Sender"
        "\r\nMessage-ID: <bounce-1@mx.example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; "
        'report-type=delivery-status; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe mail could '
        "not be delivered.\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com"
        f"\r\n\r\nFinal-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b1\r\n"
        f"Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original['Message-ID']}\r\nSubject: "
        f"{original['Subject']}\r\n\r\n--b1--\r\n"
    ).encode()


async def test_a_bounce_is_recorded_on_its_ticket_and_marks_the_address_undeliverable(
    desk_running: Running, sink: SmtpSink
) -> None:
    first, confirmation = await opened(desk_running, sink, a_mail())
    await send(desk_running, a_bounce(confirmation), "MAILER-DAEMON@mx.example.com")
    item = await eventually(lambda: inbound_for(desk_running, "bounce-1@mx.example.com"))
    assert item.status is InboundStatus.IGNORED and item.ticket_id == first.id
    after = await ticket(desk_running, first.id)
    assert "Delivery to anna@example.com failed (5.1.1, permanent)" in after.messages[-1].body
    async with desk_running.desk.db.sessions() as session:
        assert await ticket_store.is_undeliverable(session, "anna@example.com")
    assert len(await all_tickets(desk_running)) == 1


async def test_a_message_without_a_sender_is_quarantined_and_serve_keeps_going(
    desk_running: Running, sink: SmtpSink
) -> None:
    broken = b"To: support@wedsync.com\r\nSubject: who am I\r\nMessage-ID: <nofrom-1@example.com>\r\n\r\nhello\r\n"
    await send(desk_running, broken)
    item = await eventually(lambda: inbound_for(desk_running, "nofrom-1@example.com"))
    assert item.status is InboundStatus.QUARANTINED and "no usable From" in (item.reason or "")
    assert item.raw == broken  # kept exactly as received
    later, _ = await opened(desk_running, sink, a_mail())
    assert later.id.startswith("FB-")


async def test_a_sender_over_the_hourly_limit_goes_to_quarantine(desk_running: Running, sink: SmtpSink) -> None:
    mails = [a_mail(subject=f"Question {n}", body=f"How do I do thing {n}?") for n in range(6)]
    for mail in mails:
        await send(desk_running, mail)
    results = [await handled(desk_running, mail) for mail in mails]
    assert [r.status for r in results] == [InboundStatus.PROCESSED] * 5 + [InboundStatus.QUARANTINED]
    assert "rate limit" in (results[-1].reason or "")


async def test_the_same_message_delivered_twice_is_stored_and_handled_once(
    desk_running: Running, sink: SmtpSink
) -> None:
    mail = a_mail()
    await send(desk_running, mail)
    await send(desk_running, mail)
    await handled(desk_running, mail)
    await asyncio.sleep(0.3)
    assert len(await all_tickets(desk_running)) == 1
    async with desk_running.desk.db.sessions() as session:
        counts: dict[str, Any] = await mail_store.count_by_status(session)
    assert counts == {"processed": 1}
