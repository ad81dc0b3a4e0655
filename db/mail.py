"""The inbox (every accepted raw message), the threading index of Message-IDs, IMAP cursors, blobs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.tables import AttachmentBlobRow, ImapCursorRow, InboundEmailRow, MailIdRow

# Every message passes these statements, so they use the tables directly (see db.tickets).
INBOUND = cast(Table, InboundEmailRow.__table__)
MAIL_IDS = cast(Table, MailIdRow.__table__)


class InboundStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"


class Arrival(StrEnum):
    """What storing a raw message found."""

    NEW = "new"
    REDELIVERY = "redelivery"  # the same content again: counted on the row it repeats, nothing new stored
    ID_COLLISION = "id_collision"  # other content under a Message-ID already stored: kept as a new message


@dataclass(frozen=True)
class Stored:
    id: int
    arrival: Arrival
    duplicate_of: int | None = None  # for an id collision, the first row that had the Message-ID


@dataclass(frozen=True)
class Inbound:
    id: int
    message_id: str
    raw: bytes
    origin: str
    received_at: datetime
    status: InboundStatus
    reason: str | None
    ticket_id: str | None
    attempts: int
    deliveries: int = 1
    duplicate_of: int | None = None
    released: bool = False


def insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT, for ON CONFLICT DO NOTHING (both dialects spell it the same)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _inbound(row: Any) -> Inbound:
    return Inbound(
        row.id,
        row.message_id,
        row.raw,
        row.origin,
        row.received_at,
        InboundStatus(row.status),
        row.reason,
        row.ticket_id,
        row.attempts,
        row.deliveries,
        row.duplicate_of,
        row.released,
    )


async def store_inbound(
    session: AsyncSession, message_id: str, content_sha256: str, raw: bytes, origin: str, now: datetime
) -> Stored:
    """Keep the raw message, once per content (see channels/email/digest.py).

    The same content again is a redelivery: its row counts one more delivery and nothing else changes. Other
    content under a Message-ID already stored is a new message, stored with `duplicate_of` naming the first."""
    earlier = (await session.execute(
        select(func.min(INBOUND.c.id)).where(INBOUND.c.message_id == message_id))).scalar()
    statement = (
        insert_for(session)(INBOUND)
        .values(
            message_id=message_id,
            content_sha256=content_sha256,
            raw=raw,
            origin=origin,
            received_at=now,
            status=InboundStatus.PENDING.value,
            attempts=0,
            deliveries=1,
            duplicate_of=earlier,
            released=False,
        )
        .on_conflict_do_nothing(index_elements=["content_sha256"])
        .returning(INBOUND.c.id)
    )
    new_id = (await session.execute(statement)).scalar()
    if new_id is not None:
        return Stored(int(new_id), Arrival.NEW if earlier is None else Arrival.ID_COLLISION, earlier)
    repeated = await session.execute(
        update(INBOUND).where(INBOUND.c.content_sha256 == content_sha256)
        .values(deliveries=INBOUND.c.deliveries + 1).returning(INBOUND.c.id))
    return Stored(int(repeated.scalar_one()), Arrival.REDELIVERY)


async def claim_pending(session: AsyncSession, limit: int) -> list[Inbound]:
    """The oldest pending messages, locked for this worker (SKIP LOCKED where the database has it)."""
    query = (
        select(INBOUND)
        .where(INBOUND.c.status == InboundStatus.PENDING.value)
        .order_by(INBOUND.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_inbound(row) for row in await session.execute(query)]


async def peek_pending(
    session: AsyncSession, limit: int, exclude: Sequence[int] = ()
) -> list[tuple[int, bytes]]:
    """(id, raw) of the oldest pending messages, without locking them (to prepare them before claiming)."""
    query = select(INBOUND.c.id, INBOUND.c.raw).where(INBOUND.c.status == InboundStatus.PENDING.value)
    if exclude:
        query = query.where(INBOUND.c.id.not_in(list(exclude)))
    rows = await session.execute(query.order_by(INBOUND.c.id).limit(limit))
    return [(int(row_id), bytes(raw)) for row_id, raw in rows]


async def get_inbound(session: AsyncSession, inbound_id: int) -> Inbound | None:
    row = await session.get(InboundEmailRow, inbound_id)
    return None if row is None else _inbound(row)


async def finish_inbound(
    session: AsyncSession,
    inbound_id: int,
    status: InboundStatus,
    now: datetime,
    reason: str | None = None,
    ticket_id: str | None = None,
    ticket_message_id: str | None = None,
    sender_hash: str | None = None,
) -> None:
    await session.execute(
        update(INBOUND)
        .where(INBOUND.c.id == inbound_id)
        .values(
            status=status.value,
            reason=reason,
            ticket_id=ticket_id,
            ticket_message_id=ticket_message_id,
            sender_hash=sender_hash,
            handled_at=now,
            attempts=INBOUND.c.attempts + 1,
            released=False,  # a release lets the message past the rate limit once
        )
    )


async def count_recent_from(session: AsyncSession, sender_hash: str, since: datetime) -> int:
    """Messages from one sender handled since `since` (the per-sender rate limit)."""
    query = select(func.count()).where(
        INBOUND.c.sender_hash == sender_hash,
        INBOUND.c.received_at >= since,
        INBOUND.c.status != InboundStatus.PENDING.value,
    )
    return int((await session.execute(query)).scalar_one())


async def list_inbound(session: AsyncSession, status: InboundStatus, limit: int = 100) -> list[Inbound]:
    query = (
        select(InboundEmailRow)
        .where(InboundEmailRow.status == status.value)
        .order_by(InboundEmailRow.id.desc())
        .limit(limit)
    )
    return [_inbound(row) for row in (await session.execute(query)).scalars()]


async def _quarantined_among(session: AsyncSession, inbound_ids: Sequence[int]) -> list[int]:
    query = select(INBOUND.c.id).where(INBOUND.c.id.in_(list(inbound_ids)),
                                       INBOUND.c.status == InboundStatus.QUARANTINED.value)
    return sorted(int(i) for i in (await session.execute(query.with_for_update())).scalars())


async def existing_inbound(
    session: AsyncSession, inbound_ids: Sequence[int]
) -> dict[int, tuple[InboundStatus, str]]:
    """The status and reason of each of these ids that exists."""
    rows = await session.execute(
        select(INBOUND.c.id, INBOUND.c.status, INBOUND.c.reason).where(INBOUND.c.id.in_(list(inbound_ids))))
    return {int(i): (InboundStatus(status), reason or "") for i, status, reason in rows}


async def requeue(session: AsyncSession, inbound_ids: Sequence[int], release: bool = False) -> list[int]:
    """Quarantined messages back to pending, for `quarantine retry` (and, past the rate limit once, for
    `quarantine release`). Returns the ids it moved; ids not in quarantine are left alone."""
    found = await _quarantined_among(session, inbound_ids)
    if found:
        await session.execute(update(INBOUND).where(INBOUND.c.id.in_(found))
                              .values(status=InboundStatus.PENDING.value, released=release))
    return found


async def discard(session: AsyncSession, inbound_ids: Sequence[int], now: datetime) -> list[int]:
    """Quarantined messages an operator decided need nothing: ignored, the raw bytes kept. Returns the ids."""
    found = await _quarantined_among(session, inbound_ids)
    if found:
        await session.execute(
            update(INBOUND).where(INBOUND.c.id.in_(found))
            .values(status=InboundStatus.IGNORED.value, handled_at=now,
                    reason="discarded from quarantine: " + func.coalesce(INBOUND.c.reason, ""))
        )
    return found


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(InboundEmailRow.status, func.count()).group_by(InboundEmailRow.status)
    )
    return {status: int(count) for status, count in rows}


# -- threading index ---------------------------------------------------------------------------------------


async def record_mail_id(
    session: AsyncSession, message_id: str, ticket_id: str, direction: str, now: datetime
) -> None:
    statement = (
        insert_for(session)(MAIL_IDS)
        .values(message_id=message_id, ticket_id=ticket_id, direction=direction, created_at=now)
        .on_conflict_do_nothing(index_elements=["message_id"])
    )
    await session.execute(statement)


async def tickets_for_mail_ids(session: AsyncSession, message_ids: Iterable[str]) -> dict[str, str]:
    """Message-ID -> ticket id, for the ids we know."""
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(MAIL_IDS.c.message_id, MAIL_IDS.c.ticket_id).where(MAIL_IDS.c.message_id.in_(ids))
    )
    return {message_id: ticket_id for message_id, ticket_id in rows}


async def mail_ids_of(session: AsyncSession, ticket_id: str, direction: str | None = None) -> list[str]:
    """The ticket's Message-IDs, oldest first."""
    query = select(MailIdRow.message_id).where(MailIdRow.ticket_id == ticket_id)
    if direction is not None:
        query = query.where(MailIdRow.direction == direction)
    return list((await session.execute(query.order_by(MailIdRow.created_at))).scalars())


# -- IMAP cursors and attachment blobs ---------------------------------------------------------------------


async def load_cursor(session: AsyncSession, account: str) -> tuple[int, int] | None:
    row = await session.get(ImapCursorRow, account)
    return None if row is None else (int(row.uidvalidity), int(row.last_uid))


async def save_cursor(
    session: AsyncSession, account: str, uidvalidity: int, last_uid: int, now: datetime
) -> None:
    row = await session.get(ImapCursorRow, account)
    if row is None:
        session.add(
            ImapCursorRow(account=account, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=now)
        )
    else:
        row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, now


async def store_blob(session: AsyncSession, sha256: str, content_type: str, content: bytes) -> None:
    statement = (
        insert_for(session)(AttachmentBlobRow)
        .values(sha256=sha256, content_type=content_type, size=len(content), content=content)
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    await session.execute(statement)


async def load_blob(session: AsyncSession, sha256: str) -> bytes | None:
    """An attachment's content by its sha256; None when it was not kept (over ATTACHMENT_CAP_BYTES)."""
    content: bytes | None = (await session.execute(
        select(AttachmentBlobRow.content).where(AttachmentBlobRow.sha256 == sha256))).scalar()
    return content


async def blobs_kept(session: AsyncSession, hashes: list[str]) -> set[str]:
    """Which of these attachments' contents are kept."""
    if not hashes:
        return set()
    rows = await session.execute(select(AttachmentBlobRow.sha256).where(AttachmentBlobRow.sha256.in_(hashes)))
    return set(rows.scalars())
