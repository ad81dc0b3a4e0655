"""The accounting of every mail the desk accepted: where each one is now.

Every delivery that SMTP answered 250 (or IMAP marked) is counted once in `inbound_emails.deliveries` of the
row holding its content, so

    accepted = sum(deliveries) = rows + redeliveries

and each row is in exactly one of these states:

* a ticket created: processed, and the ticket message it became exists (`ticket_message_id`);
* a message threaded into a ticket: the same, for a reply to an existing ticket;
* ignored, with its reason (auto-reply, bounce, loop, ...; discarded from quarantine);
* quarantined, with its reason (unreadable, no sender, rate limit, an error while handling);
* pending: stored, not handled yet.

A row that is none of these is *unaccounted*: a processed row whose ticket message does not exist, an ignored
or quarantined row with no reason, or a status the desk does not know. A healthy desk shows 0.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.mail import INBOUND, InboundStatus
from db.tables import MessageRow

MESSAGES = cast(Table, MessageRow.__table__)
NEW_TICKET_PREFIX = "new ticket"  # the reason the inbox gives a processed message that opened a ticket


@dataclass(frozen=True)
class InboxAudit:
    accepted: int = 0  # deliveries acknowledged (250 or \\Seen), redeliveries included
    stored: int = 0  # rows
    redeliveries: int = 0  # the same content again: ignored, counted on the row it repeats
    id_collisions: int = 0  # rows kept as new messages although their Message-ID was already stored
    tickets_created: int = 0
    messages_threaded: int = 0
    ignored: Counter[str] = field(default_factory=Counter)  # reason -> rows
    quarantined: Counter[str] = field(default_factory=Counter)
    pending: int = 0
    unaccounted: tuple[int, ...] = ()  # row ids

    @property
    def accounted(self) -> int:
        return (self.tickets_created + self.messages_threaded + sum(self.ignored.values())
                + sum(self.quarantined.values()) + self.pending + self.redeliveries)


def reason_kind(reason: str) -> str:
    """A reason without its particulars (the exception text, the ticket id): what the audit groups by."""
    head = reason.split(":", 1)[0] if not reason.startswith("discarded from quarantine") else "discarded"
    return head.split(" (", 1)[0].strip() or reason


async def audit_inbox(session: AsyncSession) -> InboxAudit:
    known_message = select(MESSAGES.c.id).where(MESSAGES.c.id == INBOUND.c.ticket_message_id).exists()
    rows = await session.execute(
        select(INBOUND.c.id, INBOUND.c.status, INBOUND.c.reason, INBOUND.c.deliveries,
               INBOUND.c.duplicate_of.is_not(None), known_message)
    )
    created = threaded = pending = stored = accepted = collisions = 0
    ignored: Counter[str] = Counter()
    quarantined: Counter[str] = Counter()
    unaccounted: list[int] = []
    for row_id, status, reason, deliveries, collided, has_message in rows:
        stored += 1
        accepted += int(deliveries)
        collisions += bool(collided)
        if status == InboundStatus.PENDING.value:
            pending += 1
        elif status == InboundStatus.PROCESSED.value and has_message:
            if (reason or "").startswith(NEW_TICKET_PREFIX):
                created += 1
            else:
                threaded += 1
        elif status == InboundStatus.IGNORED.value and reason:
            ignored[reason_kind(reason)] += 1
        elif status == InboundStatus.QUARANTINED.value and reason:
            quarantined[reason_kind(reason)] += 1
        else:
            unaccounted.append(int(row_id))
    return InboxAudit(accepted, stored, accepted - stored, collisions, created, threaded, ignored, quarantined,
                      pending, tuple(unaccounted))


async def oldest_pending(session: AsyncSession) -> datetime | None:
    """When the oldest message still pending arrived (None when nothing waits)."""
    query = select(func.min(INBOUND.c.received_at)).where(INBOUND.c.status == InboundStatus.PENDING.value)
    found: datetime | None = (await session.execute(query)).scalar()
    return found
