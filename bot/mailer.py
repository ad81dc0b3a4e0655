"""Mail out: the outbox's email rows, delivered over SMTP with backoff, threaded under the customer's mail."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import Desk
from bot.workers import Worker
from channels.email.outbound import OutgoingAttachment, build_reply, make_message_id
from channels.errors import HeaderInjectionError, PermanentDeliveryError, TransientDeliveryError
from db import mail as mail_store
from db import outbox
from db import tickets as ticket_store
from db.outbox import OutboxItem
from ticketing.lifecycle import add_note
from ticketing.model import Author, Message, Status, Visibility

log = logging.getLogger(__name__)

SendFn = Callable[[EmailMessage], Awaitable[None]]
MAX_ATTEMPTS = 12  # with the backoff below: about 1 s, 2 s, 4 s ... 30 min, then every 30 min; ~3.5 hours
MAX_BACKOFF = timedelta(minutes=30)


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential with full jitter between half and all of the step, capped."""
    step = min(MAX_BACKOFF.total_seconds(), 2.0 ** attempts)
    return timedelta(seconds=step * (0.5 + rng.random() / 2))


class Mailer(Worker):
    """Sends due email rows. A Message-ID is fixed (and committed) before the first try, so a resend after
    a crash carries the same id and the customer's mail program shows it once."""

    def __init__(self, desk: Desk, send: SendFn) -> None:
        super().__init__()
        self.desk = desk
        self.send = send
        self.sent = 0

    async def run(self) -> None:
        while not self.stopping:
            try:
                handled = await self.deliver_due()
            except Exception:
                log.exception("the mailer could not reach the store; trying again shortly")
                handled = 0
            if handled == 0:
                await self.idle(1.0)

    async def deliver_due(self, limit: int = 20) -> int:
        async with self.desk.db.transaction() as session:
            items = await outbox.claim_due(session, ("email",), self.desk.clock.now(), limit)
            items = [await self._prepare(session, item) for item in items]
        for item in items:
            if self.stopping:
                break  # the rest stay leased and go out after the lease, from this process or another
            await self.deliver(item)
        return len(items)

    async def _prepare(self, session: AsyncSession, item: OutboxItem) -> OutboxItem:
        """Fix the Message-ID and threading headers in the row before the first attempt."""
        if "message_id" in item.payload:
            return item
        ticket_id = item.payload["ticket_id"]
        if item.payload.get("internal"):  # an alert to our own people: no customer threading
            payload = {**item.payload, "message_id": make_message_id(self.desk.settings.own_domain),
                       "in_reply_to": None, "references": []}
            await outbox.set_payload(session, item.id, payload)
            return OutboxItem(item.id, item.kind, item.ticket_id, payload, item.attempts, item.created_at)
        inbound = await mail_store.mail_ids_of(session, ticket_id, "in")
        payload = {
            **item.payload,
            "message_id": make_message_id(self.desk.settings.own_domain),
            "in_reply_to": inbound[-1] if inbound else None,
            "references": await mail_store.mail_ids_of(session, ticket_id),
        }
        await outbox.set_payload(session, item.id, payload)
        await mail_store.record_mail_id(session, payload["message_id"], ticket_id, "out", self.desk.clock.now())
        return OutboxItem(item.id, item.kind, item.ticket_id, payload, item.attempts, item.created_at)

    def build(self, item: OutboxItem, now: datetime, files: Sequence[OutgoingAttachment] = ()) -> EmailMessage:
        p, settings = item.payload, self.desk.settings
        return build_reply(
            from_address=settings.support_address[0], from_name=settings.mail_from_name, to=p["to"],
            subject=p["subject"], ticket_id=p["ticket_id"], body_text=p["body"], message_id=p["message_id"],
            in_reply_to=p.get("in_reply_to"), references=p.get("references", []), auto_submitted=bool(p.get("auto")),
            now=now, attachments=files,
        )

    async def files(self, item: OutboxItem) -> list[OutgoingAttachment]:
        """The row's attachments, read from the kept blobs; one that is gone cannot be sent (PermanentDeliveryError)."""
        found = []
        for entry in item.payload.get("attachments") or []:
            async with self.desk.db.sessions() as session:
                content = await mail_store.load_blob(session, entry["sha256"])
            if content is None:
                raise PermanentDeliveryError(f"the attachment {entry['filename']!r} is no longer kept")
            found.append(OutgoingAttachment(entry["filename"], entry["content_type"], content))
        return found

    async def deliver(self, item: OutboxItem) -> None:
        now = self.desk.clock.now()
        try:
            await self.send(self.build(item, now, await self.files(item)))
        except TransientDeliveryError as error:
            await self._retry_or_give_up(item, str(error))
        except (PermanentDeliveryError, HeaderInjectionError) as error:
            await self._give_up(item, str(error))
        else:
            async with self.desk.db.transaction() as session:
                await outbox.mark_sent(session, item.id, now, {"message_id": item.payload["message_id"]})
            self.sent += 1
            log.info("mail sent for ticket %s (outbox #%d, Message-ID <%s>)", item.ticket_id or "-", item.id,
                     item.payload["message_id"])

    async def _retry_or_give_up(self, item: OutboxItem, error: str) -> None:
        if item.attempts + 1 >= MAX_ATTEMPTS:
            await self._give_up(item, f"gave up after {MAX_ATTEMPTS} attempts: {error}")
            return
        later = self.desk.clock.now() + backoff(item.attempts, self.desk.rng)
        log.warning("mail %s not delivered (%s); next try at %s", item.id, error, later.isoformat())
        async with self.desk.db.transaction() as session:
            await outbox.mark_retry(session, item.id, error, later)

    async def _give_up(self, item: OutboxItem, error: str) -> None:
        """Kept as dead with its error, and said on the ticket so an agent sees the customer was not told."""
        log.error("mail %s cannot be delivered: %s", item.id, error)
        async with self.desk.db.transaction() as session:
            await outbox.mark_dead(session, item.id, error)
            ticket = await ticket_store.find_ticket(session, item.ticket_id, True) if item.ticket_id else None
            if ticket is not None and ticket.status is not Status.CLOSED:
                note = Message(str(uuid.uuid4()), Author.SYSTEM, f"An email to the customer could not be "
                               f"delivered: {error}", self.desk.clock.now(), Visibility.INTERNAL)
                await ticket_store.update_ticket(session, add_note(ticket, note))
