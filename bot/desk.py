"""The composition root's core object: settings, configuration, store and clock, and the ticket workflows
every channel calls (email, Slack, the CLI, timers)."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SupportConfig
from bot.settings import Settings
from db import mail as mail_store
from db import metrics, outbox, tickets
from db import sla as sla_store
from db.session import Database
from ticketing.canned import render, template_values
from ticketing.classify import FALLBACK_CLASSIFICATION, decide, find_pattern
from ticketing.create import Created, NewTicket, Routing, apply_given_category, create_ticket
from ticketing.ids import build_ticket_id
from ticketing.model import Attachment, Classification, Message, Ticket

log = logging.getLogger(__name__)
AsyncClassifier = Callable[[str, str], Awaitable[Classification | None]]
LearnedClassifier = Callable[[str, str], Classification | None]  # fast, local: called on the loop
LanguageDetect = Callable[[str, str], str | None]  # (subject, description) -> ISO 639-1 code or None


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Desk:
    settings: Settings
    config: SupportConfig
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.SystemRandom)
    classifier: AsyncClassifier | None = None
    learned: LearnedClassifier | None = None
    learner: Any = None  # the channels.learned LearnedClassifier behind `learned` (status, retraining), or None
    detect_language: LanguageDetect | None = None
    drafter: Callable[[str, str, str], Awaitable[str | None]] | None = None  # (subject, description, company)
    on_outbox: list[Callable[[], None]] = field(default_factory=list)  # workers to wake after a commit
    _secret: bytes | None = field(default=None, repr=False)
    # Followers of ticket changes inside the changing transaction (the SLA clocks): (session, ticket) on
    # creation, (session, before, after) on every change.
    after_create: list[Callable[[AsyncSession, Ticket], Awaitable[None]]] = field(default_factory=list)
    after_change: list[Callable[[AsyncSession, Ticket, Ticket], Awaitable[None]]] = field(default_factory=list)

    async def changed(self, session: AsyncSession, before: Ticket, after: Ticket) -> None:
        for follower in self.after_change:
            await follower(session, before, after)

    @property
    def secret_known(self) -> bool:
        return self._secret is not None

    def remember_secret(self, secret: bytes) -> None:
        self._secret = secret

    async def secret(self) -> bytes:
        """The secret that signs customer links (ratings, self-service answers); stable across restarts.
        Read once (at start), then kept: it may be asked for inside another transaction."""
        if self._secret is None:
            async with self.db.transaction() as session:
                self._secret = await sla_store.app_secret(session)
        return self._secret

    def outbox_written(self) -> None:
        for wake in self.on_outbox:
            wake()

    async def enqueue_slack(self, session: AsyncSession, op: str, ticket_id: str, **payload: Any) -> int | None:
        """A Slack effect (card, thread message, DM) in the outbox; nothing when Slack is not configured."""
        if not self.settings.slack_enabled:
            return None
        return await outbox.enqueue(session, "slack", {"op": op, "ticket_id": ticket_id, **payload},
                                    self.clock.now(), ticket_id)

    async def enqueue_customer_message(self, session: AsyncSession, ticket_id: str, message: Message) -> None:
        """The customer's message in the ticket's thread, then one row per attachment (uploaded or named)."""
        await self.enqueue_slack(session, "customer_message", ticket_id, message_id=message.id)
        for index in range(len(message.attachments)):
            await self.enqueue_slack(session, "file", ticket_id, message_id=message.id, index=index)

    async def classify(self, subject: str, description: str) -> Classification:
        """By confidence (`ticketing.classify.decide`): strict patterns, a confident learned answer, weak
        patterns; the injected (model) classifier only when both are unsure; then the documented fallback."""
        hit = find_pattern(subject, description, self.config.patterns)
        decision = decide(hit, self.learned(subject, description) if self.learned is not None else None)
        if decision.unsure and self.classifier is not None:
            found = await self.classifier(subject, description)
            if found is not None:
                return found
        return decision.classification or FALLBACK_CLASSIFICATION

    async def new_ticket_id(self, session: AsyncSession, classification: Classification) -> str:
        for _ in range(20):
            candidate = build_ticket_id(classification.category, self.clock.now(), self.rng)
            if not await tickets.ticket_exists(session, candidate):
                return candidate
        raise RuntimeError("no free ticket id after 20 attempts")

    async def create(self, session: AsyncSession, request: NewTicket, classification: Classification) -> Created:
        """The whole creation path inside the caller's transaction: id, priority, SLA, routing, metrics,
        and the confirmation mail in the outbox."""
        now = self.clock.now()
        language = None
        if request.language is None and self.detect_language is not None:
            language = self.detect_language(request.subject, request.description)
            request = replace(request, language=language)
        agents = self.config.agents
        loads = await tickets.agent_loads(session, (a.slack_id for a in agents), request.customer.id) if agents else {}
        ticket_id = await self.new_ticket_id(session, classification)
        created = create_ticket(request, classification, ticket_id, now, Routing(agents, loads), self.config.sla)
        await tickets.insert_ticket(session, created.ticket)
        ticket = created.ticket
        if language is not None and language != request.customer.language and request.customer.id:
            await tickets.set_customer_language(session, request.customer.id, language)
        await metrics.bump(session, ticket.timeline.created, metrics.Bump(created=1), ticket.category.value,
                           ticket.priority.value, ticket.assignee)
        for follower in self.after_create:
            await follower(session, ticket)
        await self.enqueue_slack(session, "card", ticket.id)
        await self.enqueue_customer_message(session, ticket.id, ticket.messages[0])
        if ticket.assignee:
            await self.enqueue_slack(session, "thread", ticket.id, text=f"Routed to <@{ticket.assignee}>.")
        return created

    async def open_ticket(self, request: NewTicket, confirm: bool = True) -> Created:
        """A ticket from outside email (CLI, phone, chat, import): classify, create, confirm by email."""
        classification = apply_given_category(request, await self.classify(request.subject, request.description))
        async with self.db.transaction() as session:
            created = await self.create(session, request, classification)
            if confirm:
                await self.enqueue_customer_mail(session, created.ticket, "ticket_received", auto=True)
                from bot.deflection import enqueue_self_service  # here: bot.deflection imports bot.desk

                await enqueue_self_service(self, session, created.ticket)
        self.outbox_written()
        log.info("ticket %s created (%s)", created.ticket.id, request.source.value)
        return created

    async def enqueue_customer_mail(
        self, session: AsyncSession, ticket: Ticket, template: str, auto: bool, agent_name: str = ""
    ) -> int | None:
        """A canned response to the ticket's customer, through the outbox; None when there is no template."""
        canned = self.config.canned_response(template)
        if canned is None:
            return None
        canned = canned.in_language(ticket.language)
        body = render(canned, template_values(ticket, agent_name or f"{self.config.company} support",
                                              self.config.company))
        return await self.enqueue_email(session, ticket, body, auto)

    async def enqueue_email(self, session: AsyncSession, ticket: Ticket, body: str, auto: bool,
                            attachments: Sequence[Attachment] = ()) -> int:
        """One outbox row; the sender fills in threading headers from the ticket's mail ids when it sends.
        `attachments` are kept blobs (by sha256) that go with the mail as MIME attachments."""
        payload: dict[str, Any] = {"to": ticket.customer.email, "subject": ticket.subject, "ticket_id": ticket.id,
                                   "body": body, "auto": auto}
        if attachments:
            payload["attachments"] = [{"filename": a.filename, "content_type": a.content_type, "sha256": a.sha256,
                                       "size": a.size} for a in attachments]
        return await outbox.enqueue(session, "email", payload, self.clock.now(), ticket.id)

    async def find_ticket(self, ticket_id: str) -> Ticket | None:
        async with self.db.sessions() as session:
            return await tickets.find_ticket(session, ticket_id)

    async def mail_ids(self, ticket_id: str) -> list[str]:
        async with self.db.sessions() as session:
            return await mail_store.mail_ids_of(session, ticket_id)
