"""Mail in: keep the raw bytes first, then understand, guard, thread and turn each message into a ticket
or a reply. Every accepted message ends processed, ignored or quarantined; none is lost."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import related
from bot.deflection import enqueue_self_service
from bot.desk import Desk
from bot.inbox_keys import MAX_KEY_BYTES, store_keys
from bot.workers import Worker
from channels.email.parse import NoiseKind, ParsedEmail, classify_noise, parse_email
from channels.errors import EmailParseError
from db import mail as mail_store
from db import tickets as ticket_store
from db.mail import Arrival, Inbound, InboundStatus, Stored
from ticketing.create import NewTicket
from ticketing.lifecycle import add_customer_reply, add_note
from ticketing.model import Attachment, Author, Classification, Message, Source, Status, Ticket, Visibility
from ticketing.threading import ThreadAction, ThreadDecision, decide_thread, ticket_ids_in_subject

log = logging.getLogger(__name__)

IGNORED_NOISE = {
    NoiseKind.AUTO_REPLY: "auto-reply",
    NoiseKind.BULK: "bulk mail (Precedence)",
    NoiseKind.LIST: "mailing-list mail",
    NoiseKind.DAEMON: "mail from a mailer daemon",
    NoiseKind.OWN_ADDRESS: "loop: sent from one of our own addresses",
    NoiseKind.OWN_MESSAGE: "loop: carries one of our own Message-IDs",
}
HASH_ON_LOOP_BYTES = 256 * 1024
BATCH_SECONDS = 0.05  # the longest a batch of inbound messages holds the write lock (beyond one message)


@dataclass(frozen=True)
class Prepared:
    """What can be worked out about a pending message without the write lock: its parse (or why it has none),
    and for a message that looks like a new ticket, the classifier's answer (possibly a model's, over the
    network: never asked while the store's write lock is held)."""

    parsed: ParsedEmail | None
    error: EmailParseError | None = None
    classification: Classification | None = None


PREPARED_KEPT = 500  # prepared messages kept between batches (each is handled, and dropped, soon after)
MODEL_CALLS = 4  # classifier calls in flight at once while preparing


@dataclass(frozen=True)
class Outcome:
    status: InboundStatus
    reason: str | None = None
    ticket_id: str | None = None
    message_id: str | None = None
    sender_hash: str | None = None
    created: bool = False  # a new ticket (else a message threaded into `ticket_id`)


_ADDRESS_LIKE = re.compile(r"\S+@\S+")


def log_outcome(inbound_id: int, outcome: Outcome) -> None:
    """One INFO line a handled message, with ids only (never the customer's address)."""
    if outcome.status is InboundStatus.PROCESSED and outcome.created:
        log.info("ticket %s created from mail #%d", outcome.ticket_id, inbound_id)
    elif outcome.status is InboundStatus.PROCESSED:
        log.info("mail #%d threaded into ticket %s", inbound_id, outcome.ticket_id)
    else:
        reason = _ADDRESS_LIKE.sub("<address>", outcome.reason or "")
        log.info("mail #%d %s: %s", inbound_id, outcome.status.value, reason)


def sender_hash(address: str) -> str:
    """Rate limits count by a hash, so the inbox table's index holds no addresses in the clear."""
    return hashlib.sha256(address.lower().encode()).hexdigest()


@dataclass(frozen=True)
class _Queued:
    message_id: str
    digest: str
    raw: bytes
    origin: str
    done: asyncio.Future[int]


class Inbox(Worker):
    """The store step every channel calls, and the worker that handles what was stored."""

    def __init__(self, desk: Desk, batch_seconds: float = BATCH_SECONDS) -> None:
        super().__init__()
        self.desk = desk
        self.batch_seconds = batch_seconds
        self.handled = 0
        self._prepared: dict[int, Prepared] = {}
        self._to_store: list[_Queued] = []
        self._storing: asyncio.Task[None] | None = None

    async def store(self, raw: bytes, origin: str) -> int:
        """Commit the raw message (once per content, whatever the bytes are); only then may SMTP answer 250 or
        IMAP mark it. Only a store that cannot write raises (SMTP answers 451, IMAP leaves the mail unread).

        Messages that arrive while a commit is under way (or while the write lock is busy) are committed
        together in the next transaction: a group commit, so a burst pays for one transaction, not one each."""
        # Hashing a big message takes milliseconds (about 3 ms a MiB): off the loop, so other sessions go on.
        big = len(raw) > HASH_ON_LOOP_BYTES
        message_id, digest = await asyncio.to_thread(store_keys, raw) if big else store_keys(raw)
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._to_store.append(_Queued(message_id, digest, raw, origin, done))
        if self._storing is None:
            self._storing = asyncio.create_task(self._store_queued(), name="inbox-store")
        return await done

    async def _store_queued(self) -> None:
        try:
            while self._to_store:
                group, self._to_store = self._to_store, []
                try:
                    ids = await self._commit_raw(group)
                except Exception as error:
                    if len(group) == 1:
                        self._settle(group[0].done, error=error)  # SMTP answers 451; the sender tries again
                        continue
                    log.warning("storing %d messages together failed (%s); storing them one by one",
                                len(group), error)
                    for item in group:
                        try:
                            self._settle(item.done, (await self._commit_raw([item]))[0].id)
                        except Exception as single:
                            self._settle(item.done, error=single)
                    self.wake()
                    continue
                for item, stored in zip(group, ids, strict=True):
                    self._settle(item.done, stored.id)
                self.wake()
        finally:
            self._storing = None

    async def _commit_raw(self, group: list[_Queued]) -> list[Stored]:
        async with self.desk.db.transaction() as session:
            now = self.desk.clock.now()
            stored = [await mail_store.store_inbound(session, item.message_id, item.digest, item.raw, item.origin,
                                                     now) for item in group]
        for item, kept in zip(group, stored, strict=True):
            if kept.arrival is Arrival.REDELIVERY:
                log.info("inbound %d delivered again with the same content (over %s): counted, not stored twice",
                         kept.id, item.origin.split(":", 1)[0])
            elif kept.arrival is Arrival.ID_COLLISION:
                log.info("inbound %d reuses the Message-ID of inbound %s with other content: kept as a new message",
                         kept.id, kept.duplicate_of)
        return stored

    @staticmethod
    def _settle(done: asyncio.Future[int], row_id: int = 0, error: BaseException | None = None) -> None:
        if done.done():  # the SMTP session went away while waiting: the message is kept all the same
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(row_id)

    async def run(self, batch: int = 20) -> None:
        """Handle pending messages as they arrive, until stopped. Pending rows left by a crash go first."""
        failures = 0
        while not self.stopping:
            try:
                handled = await self.drain(batch)
                failures = 0
            except Exception:  # the store is unreachable: nothing was claimed, so nothing is lost; back off
                failures += 1
                log.exception("the inbox cannot reach the store; retrying")
                await self.idle(min(60.0, 2.0**failures))
                continue
            if handled == 0:
                await self.idle(5.0)

    async def drain(self, batch: int = 20) -> int:
        """Handle up to `batch` pending messages in one transaction; how many were handled.

        Each message runs inside its own savepoint: a message whose handling fails is rolled back alone and
        quarantined with the error, and the others commit (one commit a batch, not one a message). If the
        store itself fails, nothing commits and nothing was claimed: the caller backs off and retries.

        The batch also ends after BATCH_SECONDS of work, so the write lock it holds (SQLite has one writer)
        never keeps an SMTP 250 waiting for long; the messages claimed but not reached stay pending.
        """
        if self.stopping:
            return 0
        await self.prepare(batch)
        done, outcomes = 0, []
        async with self.desk.db.transaction() as session:
            claimed = await mail_store.claim_pending(session, batch)
            deadline = time.monotonic() + self.batch_seconds
            for inbound in claimed:
                outcome = await self._handle_one(session, inbound, self._prepared.get(inbound.id))
                await mail_store.finish_inbound(session, inbound.id, outcome.status, self.desk.clock.now(),
                                                outcome.reason, outcome.ticket_id, outcome.message_id,
                                                outcome.sender_hash)
                outcomes.append((inbound.id, outcome))
                done += 1
                if time.monotonic() >= deadline:
                    break
        for inbound_id, outcome in outcomes:  # committed: now it is true
            log_outcome(inbound_id, outcome)
        for inbound in claimed[:done]:
            self._prepared.pop(inbound.id, None)
        if done:
            self.desk.outbox_written()
        self.handled += done
        return done

    async def prepare(self, batch: int) -> None:
        """Before the batch's transaction, with no lock held: parse the next pending messages, and ask the
        classifier about the ones that look like new tickets (no ticket tag, no reference we know, not noise).
        A guess that turns out wrong costs nothing but time: the transaction classifies what it must itself."""
        async with self.desk.db.sessions() as session:
            pending = await mail_store.peek_pending(session, batch, exclude=list(self._prepared))
            ask: list[tuple[int, ParsedEmail]] = []
            for inbound_id, raw in pending:
                try:
                    parsed = parse_email(raw, attachment_cap=self.desk.settings.attachment_cap_bytes)
                except EmailParseError as error:
                    self._keep(inbound_id, Prepared(None, error))
                    continue
                self._keep(inbound_id, Prepared(parsed))
                if self.desk.classifier is not None and await self._looks_new(session, parsed):
                    ask.append((inbound_id, parsed))
        gate = asyncio.Semaphore(MODEL_CALLS)

        async def classify(inbound_id: int, parsed: ParsedEmail) -> None:
            async with gate:
                found = await self.desk.classify(parsed.subject or "(no subject)", parsed.new_text)
            self._keep(inbound_id, Prepared(parsed, classification=found))

        results = await asyncio.gather(*(classify(i, p) for i, p in ask), return_exceptions=True)
        for failure in (r for r in results if isinstance(r, BaseException)):
            log.warning("classifying ahead of the batch failed (%s); the batch will classify itself", failure)

    def _keep(self, inbound_id: int, prepared: Prepared) -> None:
        if inbound_id not in self._prepared and len(self._prepared) >= PREPARED_KEPT:
            del self._prepared[next(iter(self._prepared))]
        self._prepared[inbound_id] = prepared

    async def _looks_new(self, session: AsyncSession, parsed: ParsedEmail) -> bool:
        if parsed.from_address is None or ticket_ids_in_subject(parsed.subject):
            return False
        noise = classify_noise(parsed, own_addresses=self.desk.settings.support_address,
                               own_message_id_domain=self.desk.settings.own_domain)
        if noise is not NoiseKind.NONE:
            return False
        return not await mail_store.tickets_for_mail_ids(session, [*parsed.in_reply_to, *parsed.references])

    async def _handle_one(self, session: AsyncSession, inbound: Inbound, prepared: Prepared | None = None) -> Outcome:
        try:
            async with session.begin_nested():
                return await self.handle(session, inbound, prepared)
        except Exception as error:
            if not session.in_transaction():
                raise  # the connection itself is gone: the whole batch rolls back and is retried
            log.exception("inbound message %s failed; quarantining it", inbound.id)
            return Outcome(InboundStatus.QUARANTINED, f"{type(error).__name__}: {error}")

    async def handle(self, session: AsyncSession, inbound: Inbound, prepared: Prepared | None = None) -> Outcome:
        if prepared is None:
            try:
                prepared = Prepared(parse_email(inbound.raw, attachment_cap=self.desk.settings.attachment_cap_bytes))
            except EmailParseError as error:
                prepared = Prepared(None, error)
        parsed = prepared.parsed
        if parsed is None:
            return Outcome(InboundStatus.QUARANTINED, f"unreadable: {prepared.error}")
        sender = parsed.from_address  # the parser already fell back to a later From, Reply-To or Sender
        settings = self.desk.settings
        # Noise first: a bounce or a daemon's mail often has no From we could answer, and needs none.
        noise = classify_noise(parsed, own_addresses=settings.support_address,
                               own_message_id_domain=settings.own_domain)
        if noise is NoiseKind.BOUNCE:
            return await self._bounce(session, parsed)
        if noise in IGNORED_NOISE:
            return Outcome(InboundStatus.IGNORED, IGNORED_NOISE[noise])
        if sender is None:
            return Outcome(InboundStatus.QUARANTINED, "no usable From address; nobody to answer")
        hashed = sender_hash(sender)
        outcome = await self._decide(session, inbound, parsed, noise, hashed, prepared.classification)
        return replace(outcome, sender_hash=hashed)

    async def _decide(self, session: AsyncSession, inbound: Inbound, parsed: ParsedEmail, noise: NoiseKind,
                      hashed: str, classification: Classification | None = None) -> Outcome:
        settings = self.desk.settings
        since = inbound.received_at - timedelta(hours=1)
        over = await mail_store.count_recent_from(session, hashed, since) >= settings.sender_rate_per_hour
        if over and not inbound.released:  # `quarantine release` lets one message past the limit
            return Outcome(InboundStatus.QUARANTINED,
                           f"rate limit: more than {settings.sender_rate_per_hour} messages an hour from this sender")
        decision, found = await self.thread(session, parsed)
        if noise is NoiseKind.OUT_OF_OFFICE:
            return await self._out_of_office(session, parsed, decision, found)
        await self._keep_attachments(session, parsed)
        if decision.action is ThreadAction.APPEND and found is not None:
            return await self._append(session, parsed, found)
        return await self._open(session, parsed, decision, classification)

    async def thread(self, session: AsyncSession, parsed: ParsedEmail) -> tuple[ThreadDecision, Ticket | None]:
        """Subject tag first; then In-Reply-To and every References id against every mail we stored or sent."""
        found, how = None, ""
        for ticket_id in ticket_ids_in_subject(parsed.subject):
            found = await ticket_store.find_ticket(session, ticket_id, for_update=True)
            if found is not None:
                how = "the subject's ticket tag"
                break
        if found is None:
            ids = [*parsed.in_reply_to, *reversed(parsed.references)]
            known = await mail_store.tickets_for_mail_ids(session, ids)
            referred = next((known[i] for i in ids if i in known), None)
            if referred is not None:
                found = await ticket_store.find_ticket(session, referred, for_update=True)
                how = "In-Reply-To/References"
        found = await related.follow_merges(session, found)  # a merged ticket's mail goes where it was merged
        participants = await ticket_store.participants(session, found.id) if found else []
        return decide_thread(found, how, parsed.from_address or "", participants), found

    def _message(self, parsed: ParsedEmail, author: Author = Author.CUSTOMER,
                 visibility: Visibility = Visibility.PUBLIC, body: str | None = None) -> Message:
        attachments = tuple(Attachment(a.filename, a.content_type, a.size, a.sha256, a.inline)
                            for a in parsed.attachments)
        return Message(str(uuid.uuid4()), author, parsed.new_text if body is None else body, self.desk.clock.now(),
                       visibility, parsed.from_address, attachments)

    async def _append(self, session: AsyncSession, parsed: ParsedEmail, ticket: Ticket) -> Outcome:
        message = self._message(parsed)
        replied = add_customer_reply(ticket, message)
        await ticket_store.update_ticket(session, replied, stored=len(ticket.messages))
        await self.desk.changed(session, ticket, replied)
        await self._remember(session, parsed, ticket)
        await self.desk.enqueue_customer_message(session, ticket.id, message)
        await self.desk.enqueue_slack(session, "card", ticket.id)
        return Outcome(InboundStatus.PROCESSED, f"reply to {ticket.id}", ticket.id, message.id)

    async def _open(self, session: AsyncSession, parsed: ParsedEmail, decision: ThreadDecision,
                    classification: Classification | None = None) -> Outcome:
        desk, sender = self.desk, parsed.from_address or ""
        customer = await ticket_store.ensure_customer(session, sender, parsed.from_name, desk.clock.now())
        message = self._message(parsed)
        request = NewTicket(customer, parsed.subject or "(no subject)", message.body, Source.EMAIL,
                            message.attachments, message_id=message.id)
        if classification is None:  # not worked out ahead (see `prepare`): patterns, then the model, here
            classification = await desk.classify(request.subject, request.description)
        created = await desk.create(session, request, classification)
        ticket = created.ticket
        await self._remember(session, parsed, ticket)
        if decision.action is ThreadAction.NEW_LINKED and decision.ticket_id:
            await ticket_store.link_tickets(session, ticket.id, decision.ticket_id, "related", desk.clock.now())
        if not await ticket_store.is_undeliverable(session, sender):
            await desk.enqueue_customer_mail(session, ticket, "ticket_received", auto=True)
            await enqueue_self_service(desk, session, ticket)
        return Outcome(InboundStatus.PROCESSED, f"new ticket ({decision.reason})", ticket.id, message.id, created=True)

    async def _remember(self, session: AsyncSession, parsed: ParsedEmail, ticket: Ticket) -> None:
        """The mail's id for threading, and the people in cc as the ticket's participants."""
        if len(parsed.message_id.encode()) <= MAX_KEY_BYTES:  # longer ones cannot be indexed (nor threaded by)
            await mail_store.record_mail_id(session, parsed.message_id, ticket.id, "in", self.desk.clock.now())
        own = set(self.desk.settings.support_address)
        others = [a for a in (*parsed.cc, *parsed.to) if a not in own and a != ticket.customer.email]
        if others:
            await ticket_store.add_participants(session, ticket.id, others)

    async def _keep_attachments(self, session: AsyncSession, parsed: ParsedEmail) -> None:
        for attachment in parsed.attachments:
            if attachment.payload is not None:
                await mail_store.store_blob(session, attachment.sha256, attachment.content_type, attachment.payload)

    async def _out_of_office(
        self, session: AsyncSession, parsed: ParsedEmail, decision: ThreadDecision, ticket: Ticket | None
    ) -> Outcome:
        """Noted on the ticket it answers, without changing its status; nothing new is opened."""
        if decision.action is not ThreadAction.APPEND or ticket is None:
            return Outcome(InboundStatus.IGNORED, "out-of-office reply to no open ticket of this sender")
        note = self._message(parsed, Author.SYSTEM, Visibility.INTERNAL,
                             f"Out-of-office reply from the customer: {parsed.subject}\n\n{parsed.new_text[:2000]}")
        await ticket_store.update_ticket(session, add_note(ticket, note), stored=len(ticket.messages))
        return Outcome(InboundStatus.IGNORED, "out-of-office reply (noted on the ticket)", ticket.id, note.id)

    async def _bounce(self, session: AsyncSession, parsed: ParsedEmail) -> Outcome:
        """Matched to the mail that bounced, recorded on its ticket; a permanent failure marks the address."""
        info = parsed.bounce
        original = info.original_message_id if info else None
        known = await mail_store.tickets_for_mail_ids(session, [original] if original else [])
        ticket_id = known.get(original or "")
        if info and info.permanent:
            for address in info.failed_recipients:
                await ticket_store.mark_undeliverable(session, address, f"bounce {info.status or ''}".strip())
        if ticket_id is None:
            return Outcome(InboundStatus.IGNORED, "bounce of no mail we know")
        ticket = await ticket_store.get_ticket(session, ticket_id, for_update=True)
        if ticket.status is Status.CLOSED:
            return Outcome(InboundStatus.IGNORED, "bounce of a mail on a closed ticket", ticket_id)
        what = ", ".join(info.failed_recipients) if info and info.failed_recipients else "the customer"
        text = f"Delivery to {what} failed ({info.status if info and info.status else 'no status'}, " \
               f"{'permanent' if info and info.permanent else 'temporary'})."
        note = self._message(parsed, Author.SYSTEM, Visibility.INTERNAL, text)
        await ticket_store.update_ticket(session, add_note(ticket, note), stored=len(ticket.messages))
        return Outcome(InboundStatus.IGNORED, "bounce (recorded on the ticket)", ticket_id, note.id)
