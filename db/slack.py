"""Slack's side of tickets: card locations, handled event ids, replies waiting out their undo window."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.mail import insert_for
from db.tables import PendingReplyRow, SlackEventRow, SlackThreadRow
from ticketing.model import Attachment


async def save_thread(session: AsyncSession, ticket_id: str, channel: str, ts: str, now: datetime) -> None:
    session.add(SlackThreadRow(ticket_id=ticket_id, channel=channel, ts=ts, created_at=now))
    await session.flush()


async def find_thread(session: AsyncSession, ticket_id: str) -> tuple[str, str] | None:
    row = await session.get(SlackThreadRow, ticket_id)
    return None if row is None else (row.channel, row.ts)


async def ticket_for_thread(session: AsyncSession, channel: str, ts: str) -> str | None:
    query = select(SlackThreadRow.ticket_id).where(SlackThreadRow.channel == channel, SlackThreadRow.ts == ts)
    found: str | None = (await session.execute(query)).scalar()
    return found


async def first_sight(session: AsyncSession, event_id: str, now: datetime) -> bool:
    """True the first time an event id is seen; Slack's retries of it get False."""
    statement = insert_for(session)(SlackEventRow).values(event_id=event_id, received_at=now)
    statement = statement.on_conflict_do_nothing(index_elements=["event_id"]).returning(SlackEventRow.event_id)
    return (await session.execute(statement)).scalar() is not None


@dataclass(frozen=True)
class PendingReply:
    id: str
    ticket_id: str
    agent_id: str
    text: str
    channel: str
    message_ts: str
    prompt_ts: str | None
    send_at: datetime
    status: str
    attachments: tuple[Attachment, ...] = ()  # files shared with the answer, kept as blobs


def _pending(row: PendingReplyRow) -> PendingReply:
    return PendingReply(row.id, row.ticket_id, row.agent_id, row.text, row.channel, row.message_ts, row.prompt_ts,
                        row.send_at, row.status, tuple(Attachment(**a) for a in row.attachments or []))


async def add_pending(session: AsyncSession, reply: PendingReply, now: datetime) -> None:
    session.add(PendingReplyRow(id=reply.id, ticket_id=reply.ticket_id, agent_id=reply.agent_id, text=reply.text,
                                channel=reply.channel, message_ts=reply.message_ts, prompt_ts=reply.prompt_ts,
                                send_at=reply.send_at, status=reply.status, created_at=now,
                                attachments=[asdict(a) for a in reply.attachments]))
    await session.flush()


async def claim_pending(session: AsyncSession, reply_id: str) -> PendingReply | None:
    """The reply if it is still waiting, locked for this transaction."""
    query = select(PendingReplyRow).where(PendingReplyRow.id == reply_id, PendingReplyRow.status == "pending")
    row = (await session.execute(query.with_for_update())).scalar()
    return None if row is None else _pending(row)


async def pending_by_message(session: AsyncSession, channel: str, message_ts: str) -> PendingReply | None:
    query = select(PendingReplyRow).where(PendingReplyRow.channel == channel,
                                          PendingReplyRow.message_ts == message_ts,
                                          PendingReplyRow.status == "pending")
    row = (await session.execute(query.with_for_update())).scalar()
    return None if row is None else _pending(row)


async def due_pending(session: AsyncSession, now: datetime, limit: int = 20) -> list[str]:
    query = (select(PendingReplyRow.id).where(PendingReplyRow.status == "pending", PendingReplyRow.send_at <= now)
             .order_by(PendingReplyRow.send_at).limit(limit))
    return list((await session.execute(query)).scalars())


async def set_pending(session: AsyncSession, reply_id: str, **values: object) -> None:
    await session.execute(update(PendingReplyRow).where(PendingReplyRow.id == reply_id).values(**values))


async def find_pending(session: AsyncSession, reply_id: str) -> PendingReply | None:
    row = await session.get(PendingReplyRow, reply_id)
    return None if row is None else _pending(row)
