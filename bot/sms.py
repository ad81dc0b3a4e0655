"""SMS out: the outbox's SMS rows, held in quiet hours (unless critical), at most one per person per ticket per
15 minutes, and everything pending for one person grouped into one message."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, time, timedelta

from bot.desk import Desk
from bot.workers import Worker
from channels.errors import PermanentDeliveryError, TransientDeliveryError
from channels.sms import SmsSender
from channels.sms_policy import Alert, AlertKind, QuietHours, SmsThrottle, group_alerts, should_send_now
from db import outbox
from db import sla as sla_store
from db.outbox import OutboxItem
from ticketing.model import Priority

log = logging.getLogger(__name__)
THROTTLE = SmsThrottle()


class SmsDispatcher(Worker):
    def __init__(self, desk: Desk, sender: SmsSender) -> None:
        super().__init__()
        self.desk = desk
        self.sender = sender
        self.sent = 0

    async def run(self) -> None:
        try:
            while not self.stopping:
                try:
                    await self.deliver_due()
                except Exception:
                    log.exception("SMS: could not reach the store; trying again shortly")
                await self.idle(2.0)
        finally:  # the sender's HTTP session belongs to this loop; nobody else closes it when `serve` stops
            await self.sender.aclose()

    async def deliver_due(self) -> int:
        async with self.desk.db.transaction() as session:
            items = await outbox.claim_due(session, ("sms",), self.desk.clock.now(), 200)
        by_person: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_person[item.payload["person"]].append(item)
        for person, pending in by_person.items():
            await self.deliver_to(person, pending)
        return len(items)

    def quiet_hours(self, person: str) -> QuietHours | None:
        people = [*self.desk.config.managers, *([self.desk.config.founder] if self.desk.config.founder else [])]
        for someone in people:
            if (someone.slack_id or someone.name) == person and someone.quiet_hours:
                start, end = someone.quiet_hours.split("-")
                return QuietHours(time.fromisoformat(start), time.fromisoformat(end), someone.timezone)
        return None

    async def deliver_to(self, person: str, pending: list[OutboxItem]) -> None:
        now = self.desk.clock.now()
        ready: list[tuple[OutboxItem, datetime | None]] = []
        held: list[tuple[OutboxItem, datetime | None]] = []
        async with self.desk.db.sessions() as session:
            for item in pending:
                last = await sla_store.last_sms(session, person, item.payload["ticket_id"])
                (ready if THROTTLE.may_send(person, item.payload["ticket_id"], now, last) else held).append(
                    (item, last))
        for item, last in held:  # grouped into a later message once the 15 minutes are over
            await self._later([item], THROTTLE.next_allowed(last) if last else now + timedelta(minutes=15))
        items = [item for item, _ in ready]
        if not items:
            return
        # Quiet hours are decided on what would be sent now: a critical alert held by the throttle must not
        # carry a non-critical one through the night.
        quiet = self.quiet_hours(person)
        if quiet is not None and not should_send_now(quiet, now, any(i.payload.get("critical") for i in items)):
            await self._later(items, quiet.next_allowed(now))
            return
        await self.send(person, items)

    async def send(self, person: str, items: list[OutboxItem]) -> None:
        alerts = [Alert(i.payload["ticket_id"], AlertKind(i.payload["kind"]), Priority(i.payload["priority"]),
                        i.payload["summary"], i.created_at) for i in items]
        now = self.desk.clock.now()
        try:
            sid = await self.sender.send(items[0].payload["to"], group_alerts(alerts))
        except TransientDeliveryError as error:
            await self._later(items, now + timedelta(minutes=1), str(error))
            return
        except PermanentDeliveryError as error:
            async with self.desk.db.transaction() as session:
                for item in items:
                    await outbox.mark_dead(session, item.id, str(error))
            return
        async with self.desk.db.transaction() as session:
            for item in items:
                await outbox.mark_sent(session, item.id, now, {"sid": sid, "grouped": len(items)})
            for ticket_id in {i.payload["ticket_id"] for i in items}:
                await sla_store.record_sms(session, person, ticket_id, now)
        self.sent += 1

    async def _later(self, items: list[OutboxItem], when: datetime, error: str = "held") -> None:
        async with self.desk.db.transaction() as session:
            for item in items:
                await outbox.mark_retry(session, item.id, error, when)

