"""The outbox: effects written in the transaction that causes them, delivered later with retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.tables import OutboxRow

LEASE = timedelta(minutes=2)
PATIENCE = timedelta(minutes=5)
OUTBOX = cast(Table, OutboxRow.__table__)  # every effect passes here: the table directly (see db.tickets)


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    ticket_id: str | None
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


async def enqueue(
    session: AsyncSession, kind: str, payload: dict[str, Any], now: datetime, ticket_id: str | None = None
) -> int:
    statement = insert(OUTBOX).values(kind=kind, ticket_id=ticket_id, payload=payload, status="pending", attempts=0,
                                      next_attempt_at=now, created_at=now).returning(OUTBOX.c.id)
    return int((await session.execute(statement)).scalar_one())


async def claim_due(
    session: AsyncSession, kinds: tuple[str, ...], now: datetime, limit: int, lease: timedelta = LEASE,
    first_ops: tuple[str, ...] = (), patience: timedelta = PATIENCE,
) -> list[OutboxItem]:
    """Due items of these kinds, oldest first, locked for this worker (SKIP LOCKED on PostgreSQL) and leased:
    they are not due again for `lease`, so another worker leaves them alone while this one delivers them. A
    worker that dies mid-delivery leaves them to be tried again when the lease ends.

    Items whose payload's "op" is in `first_ops` go before the others (the Slack poster puts cards first: a new
    ticket's card matters more than thread chatter during a burst); an item due for longer than `patience` goes
    first too, so nothing waits behind a long run of preferred items."""
    order: list[Any] = [OUTBOX.c.next_attempt_at, OUTBOX.c.id]
    if first_ops:
        preferred = or_(OUTBOX.c.payload["op"].as_string().in_(first_ops), OUTBOX.c.next_attempt_at <= now - patience)
        order.insert(0, case((preferred, 0), else_=1))
    query = (
        select(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.ticket_id, OUTBOX.c.payload, OUTBOX.c.attempts, OUTBOX.c.created_at)
        .where(OUTBOX.c.status == "pending", OUTBOX.c.kind.in_(kinds), OUTBOX.c.next_attempt_at <= now)
        .order_by(*order)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(await session.execute(query))
    if rows:
        await session.execute(update(OUTBOX).where(OUTBOX.c.id.in_([r.id for r in rows]))
                              .values(next_attempt_at=now + lease))
    return [OutboxItem(r.id, r.kind, r.ticket_id, dict(r.payload), r.attempts, r.created_at) for r in rows]


async def pending_op_due(session: AsyncSession, ticket_id: str, op: str) -> datetime | None:
    """When the ticket's pending row of this operation ("card", ...) is next due; None when there is none."""
    query = select(func.min(OUTBOX.c.next_attempt_at)).where(
        OUTBOX.c.ticket_id == ticket_id, OUTBOX.c.status == "pending", OUTBOX.c.payload["op"].as_string() == op)
    due: datetime | None = (await session.execute(query)).scalar()
    return due


async def set_payload(session: AsyncSession, item_id: int, payload: dict[str, Any]) -> None:
    await session.execute(update(OutboxRow).where(OutboxRow.id == item_id).values(payload=payload))


async def mark_sent(session: AsyncSession, item_id: int, now: datetime, result: dict[str, Any]) -> None:
    await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == item_id)
        .values(status="sent", sent_at=now, result=result, attempts=OUTBOX.c.attempts + 1, last_error=None)
    )


async def mark_retry(session: AsyncSession, item_id: int, error: str, next_attempt_at: datetime) -> None:
    await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == item_id)
        .values(attempts=OUTBOX.c.attempts + 1, last_error=error[:2000], next_attempt_at=next_attempt_at)
    )


async def postpone(session: AsyncSession, item_id: int, until: datetime) -> None:
    """Later, without counting an attempt (e.g. a channel's pace)."""
    await session.execute(update(OUTBOX).where(OUTBOX.c.id == item_id).values(next_attempt_at=until))


async def mark_dead(session: AsyncSession, item_id: int, error: str) -> None:
    """Given up on: kept with its error for a person to look at (`outbox list`), never deleted."""
    await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == item_id)
        .values(status="dead", attempts=OUTBOX.c.attempts + 1, last_error=error[:2000])
    )


async def next_due(session: AsyncSession, kinds: tuple[str, ...]) -> datetime | None:
    query = select(func.min(OutboxRow.next_attempt_at)).where(
        OutboxRow.status == "pending", OutboxRow.kind.in_(kinds)
    )
    value: datetime | None = (await session.execute(query)).scalar()
    return value


async def items_for(session: AsyncSession, ticket_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, status, payload) of a ticket's outbox rows, oldest first."""
    rows = await session.execute(
        select(OutboxRow.kind, OutboxRow.status, OutboxRow.payload)
        .where(OutboxRow.ticket_id == ticket_id)
        .order_by(OutboxRow.id)
    )
    return [(k, s, dict(p)) for k, s, p in rows]


# -- what waits, for people (`outbox list|show|retry`) ---------------------------------------------------------

@dataclass(frozen=True)
class OutboxEntry:
    id: int
    kind: str
    ticket_id: str | None
    payload: dict[str, Any]
    status: str  # pending | sent | dead
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


_ENTRY = (OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.ticket_id, OUTBOX.c.payload, OUTBOX.c.status, OUTBOX.c.attempts,
          OUTBOX.c.next_attempt_at, OUTBOX.c.last_error, OUTBOX.c.created_at, OUTBOX.c.sent_at)


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(row.id, row.kind, row.ticket_id, dict(row.payload), row.status, row.attempts,
                       row.next_attempt_at, row.last_error, row.created_at, row.sent_at)


async def list_entries(session: AsyncSession, statuses: tuple[str, ...] = ("pending", "dead"), limit: int = 50
                       ) -> tuple[list[OutboxEntry], int]:
    """Rows in these statuses, the next due first (given-up rows last), and how many there are in all."""
    where = OUTBOX.c.status.in_(statuses)
    total = int((await session.execute(select(func.count()).select_from(OUTBOX).where(where))).scalar_one())
    query = (select(*_ENTRY).where(where)
             .order_by(case((OUTBOX.c.status == "pending", 0), else_=1), OUTBOX.c.next_attempt_at, OUTBOX.c.id)
             .limit(limit))
    return [_entry(r) for r in await session.execute(query)], total


async def find_entry(session: AsyncSession, item_id: int) -> OutboxEntry | None:
    row = (await session.execute(select(*_ENTRY).where(OUTBOX.c.id == item_id))).one_or_none()
    return None if row is None else _entry(row)


async def retry_now(session: AsyncSession, item_ids: list[int], now: datetime) -> list[int]:
    """Waiting and given-up rows among `item_ids` become due now (a given-up row gets its attempts back);
    sent rows stay sent. Returns the ids made due."""
    query = (select(OUTBOX.c.id).where(OUTBOX.c.id.in_(item_ids), OUTBOX.c.status.in_(("pending", "dead")))
             .with_for_update())
    ids = list((await session.execute(query)).scalars())
    if ids:
        await session.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(
            next_attempt_at=now, attempts=case((OUTBOX.c.status == "dead", 0), else_=OUTBOX.c.attempts),
            status="pending"))
    return sorted(ids)
