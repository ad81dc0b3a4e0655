"""The inbox worker handles pending mail in batches, one transaction a batch and a savepoint a message: a message
that fails is rolled back alone (nothing it wrote survives) and quarantined with its error; the rest commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.bootstrap import start_desk
from bot.desk import Desk
from bot.inbox import Inbox
from bot.settings import Settings
from db import mail as mail_store
from db import tickets as ticket_store
from db.mail import InboundStatus
from db.tables import OutboxRow, TicketRow
from ticketing.model import Classification


def mail(sender: str, subject: str, number: int) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "support@wedsync.com", subject
    message["Message-ID"] = f"<batch-{number}@example.com>"
    message.set_content("Hello, a question about our account.\n")
    return bytes(message)


async def drain_all(inbox: Inbox) -> int:
    """Batches until nothing is pending (a batch may end early on its time budget)."""
    total = 0
    while handled := await inbox.drain(batch=10):
        total += handled
    return total


@pytest.fixture
async def desk(database_url: str, support_yml: Path) -> AsyncIterator[Desk]:
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml,  # type: ignore[call-arg]
                        smtp_listen_port=0, http_port=0, sender_rate_per_hour=100)
    running = await start_desk(settings)

    async def classifier(subject: str, _description: str) -> Classification | None:
        if "explode" in subject:  # the model client failing in a way nobody caught
            raise RuntimeError("the classifier fell over")
        return None

    running.classifier = classifier
    yield running
    await running.db.close()


async def test_a_failing_message_is_quarantined_alone_and_the_rest_of_its_batch_commits(desk: Desk) -> None:
    inbox = Inbox(desk)
    ids = [await inbox.store(mail(sender, subject, n), "test") for sender, subject, n in [
        ("ann@example.com", "Question about invoices", 1),
        ("bob@example.com", "Please explode quietly", 2),
        ("cat@example.com", "Another question", 3),
    ]]

    assert await drain_all(inbox) == 3

    async with desk.db.sessions() as session:
        found = [await mail_store.get_inbound(session, i) for i in ids]
        statuses = [item.status if item else None for item in found]
        assert statuses == [InboundStatus.PROCESSED, InboundStatus.QUARANTINED, InboundStatus.PROCESSED]
        assert found[1] is not None and found[1].reason == "RuntimeError: the classifier fell over"
        # The failed message's savepoint took everything it wrote with it: no customer, ticket or outbox row.
        assert await ticket_store.find_customer_by_email(session, "bob@example.com") is None
        assert await ticket_store.find_customer_by_email(session, "ann@example.com") is not None
        assert (await session.execute(select(func.count()).select_from(TicketRow))).scalar_one() == 2
        tickets = {found[0].ticket_id, found[2].ticket_id}  # type: ignore[union-attr]
        outbox_tickets = set((await session.execute(select(OutboxRow.ticket_id))).scalars())
        assert outbox_tickets == tickets
    assert await inbox.drain() == 0  # nothing left pending


async def test_a_batch_handles_at_most_its_size_and_leaves_the_rest_pending(desk: Desk) -> None:
    inbox = Inbox(desk, batch_seconds=60)  # the size ends this batch, not the time budget (however slow the machine)
    for n in range(5):
        await inbox.store(mail(f"p{n}@example.com", f"Question {n}", 10 + n), "test")
    assert await inbox.drain(batch=2) == 2
    async with desk.db.sessions() as session:
        counts = await mail_store.count_by_status(session)
    assert counts == {"processed": 2, "pending": 3}
    assert await drain_all(inbox) == 3


async def test_a_batch_stops_at_its_time_budget_and_leaves_the_claimed_rest_pending(desk: Desk) -> None:
    inbox = Inbox(desk, batch_seconds=0)  # the budget is spent after the first message, whatever the machine
    for n in range(3):
        await inbox.store(mail(f"t{n}@example.com", f"Question {n}", 30 + n), "test")
    assert await inbox.drain(batch=3) == 1
    async with desk.db.sessions() as session:
        assert await mail_store.count_by_status(session) == {"processed": 1, "pending": 2}
    assert await drain_all(inbox) == 2


async def test_the_classifier_is_asked_before_the_batch_takes_the_write_lock(desk: Desk) -> None:
    """A model may take seconds to answer; meanwhile mail must still be committed (and SMTP answer 250)."""
    release, asked = asyncio.Event(), asyncio.Event()

    async def thinking(subject: str, _description: str) -> Classification | None:
        asked.set()
        await release.wait()
        return None

    desk.classifier = thinking
    inbox = Inbox(desk)
    first = await inbox.store(mail("ann@example.com", "A question about our account", 21), "test")
    draining = asyncio.create_task(inbox.drain())
    await asyncio.wait_for(asked.wait(), 5)
    await asyncio.wait_for(inbox.store(mail("bob@example.com", "Something else", 22), "test"), 5)
    release.set()
    assert await asyncio.wait_for(draining, 10) + await drain_all(inbox) == 2
    async with desk.db.sessions() as session:
        handled = await mail_store.get_inbound(session, first)
    assert handled is not None and handled.status is InboundStatus.PROCESSED and handled.ticket_id
