"""The mailer: outbox rows out over real SMTP (a sink), waiting and retrying while SMTP is down."""

from __future__ import annotations

import email
from email.policy import default as default_policy

import pytest

from bot.desk import Desk
from bot.mailer import MAX_ATTEMPTS, Mailer
from bot.serve import smtp_sender
from db import outbox
from db import tickets as ticket_store
from tests.clocks import FakeClock
from tests.smtp_sink import SmtpSink
from ticketing.create import NewTicket
from ticketing.model import Author, Visibility


@pytest.fixture
def mailer(desk: Desk, sink: SmtpSink) -> Mailer:
    settings = desk.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": sink.port,
                                                "smtp_starttls": False})
    return Mailer(desk, smtp_sender(settings).send)


async def a_ticket_with_a_confirmation(desk: Desk) -> str:
    async with desk.db.transaction() as session:
        customer = await ticket_store.ensure_customer(session, "anna@example.com", "Anna", desk.clock.now())
    created = await desk.open_ticket(NewTicket(customer, "Card declined", "My card was declined"))
    return created.ticket.id


async def rows(desk: Desk, ticket_id: str) -> list[tuple[str, str]]:
    async with desk.db.sessions() as session:
        return [(kind, status) for kind, status, _ in await outbox.items_for(session, ticket_id)]


async def test_a_confirmation_goes_out_once_with_our_message_id_and_the_ticket_tag(
    desk: Desk, mailer: Mailer, sink: SmtpSink
) -> None:
    ticket_id = await a_ticket_with_a_confirmation(desk)
    assert await mailer.deliver_due() == 1
    assert await mailer.deliver_due() == 0
    (sent,) = sink.messages
    parsed = email.message_from_bytes(sent.raw, policy=default_policy)
    assert parsed["Subject"] == f"Re: Card declined [{ticket_id}]" and sent.rcpt_tos == ["anna@example.com"]
    assert parsed["From"] == "WedSync Support <support@wedsync.com>"
    assert await rows(desk, ticket_id) == [("email", "sent")]
    assert parsed["Message-ID"].strip("<>") in await desk.mail_ids(ticket_id)


async def test_while_smtp_refuses_for_now_the_mail_waits_and_is_retried_with_backoff(
    desk: Desk, mailer: Mailer, sink: SmtpSink, clock: FakeClock
) -> None:
    ticket_id = await a_ticket_with_a_confirmation(desk)
    sink.fail_next("451 4.3.0 try again later", times=3)
    for _ in range(3):
        await mailer.deliver_due()
        assert await mailer.deliver_due() == 0  # not due again before its backoff
        clock.advance(minutes=1)
    assert sink.messages == [] and await rows(desk, ticket_id) == [("email", "pending")]
    await mailer.deliver_due()
    assert len(sink.messages) == 1 and await rows(desk, ticket_id) == [("email", "sent")]


async def test_the_same_message_id_is_kept_across_retries(
    desk: Desk, mailer: Mailer, sink: SmtpSink, clock: FakeClock
) -> None:
    ticket_id = await a_ticket_with_a_confirmation(desk)
    sink.fail_next("451 4.3.0 later")
    await mailer.deliver_due()
    first_id = (await desk.mail_ids(ticket_id))[-1]
    clock.advance(minutes=5)
    await mailer.deliver_due()
    assert email.message_from_bytes(sink.messages[0].raw)["Message-ID"] == f"<{first_id}>"
    assert (await desk.mail_ids(ticket_id))[-1] == first_id


async def test_a_permanent_refusal_is_kept_as_dead_and_noted_on_the_ticket(
    desk: Desk, mailer: Mailer, sink: SmtpSink
) -> None:
    ticket_id = await a_ticket_with_a_confirmation(desk)
    sink.fail_next("550 5.1.1 no such user", stage="rcpt")
    await mailer.deliver_due()
    assert await rows(desk, ticket_id) == [("email", "dead")]
    ticket = await desk.find_ticket(ticket_id)
    assert ticket is not None
    note = ticket.messages[-1]
    assert (note.author, note.visibility) == (Author.SYSTEM, Visibility.INTERNAL)
    assert "could not be delivered" in note.body


async def test_with_smtp_down_for_good_the_mailer_gives_up_after_its_attempts(
    desk: Desk, clock: FakeClock
) -> None:
    settings = desk.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_starttls": False})
    mailer = Mailer(desk, smtp_sender(settings).send)
    ticket_id = await a_ticket_with_a_confirmation(desk)
    for _ in range(MAX_ATTEMPTS):
        await mailer.deliver_due()
        clock.advance(hours=1)
    assert await rows(desk, ticket_id) == [("email", "dead")]
