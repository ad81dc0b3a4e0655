"""The daily digest's store: one claim per channel and local day, and the open tickets it lists as at risk."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.mail import insert_for
from db.tables import CustomerRow, DigestRunRow, SlaFiringRow, TicketRow
from db.tickets import _customer, _ticket
from ticketing.model import Status, Ticket

AT_RISK_READ = 200  # the most urgent this many are read; the digest shows ten and counts the rest
WARNINGS = ("first_response:warning", "resolution:warning")


async def is_claimed(session: AsyncSession, channel: str, day: date) -> bool:
    query = select(DigestRunRow.id).where(DigestRunRow.channel == channel, DigestRunRow.day == day.isoformat())
    return (await session.execute(query)).first() is not None


async def claim(session: AsyncSession, channel: str, day: date, team: str | None, now: datetime) -> int | None:
    """The run's id if this transaction claimed the channel's digest of `day`; None when another did. On
    PostgreSQL a second desk inserting at the same moment waits for the first to commit, then gets nothing."""
    statement = (insert_for(session)(DigestRunRow)
                 .values(channel=channel, day=day.isoformat(), team=team, claimed_at=now)
                 .on_conflict_do_nothing(index_elements=["channel", "day"]).returning(DigestRunRow.id))
    found = (await session.execute(statement)).scalar()
    return None if found is None else int(found)


async def set_outbox(session: AsyncSession, run_id: int, outbox_id: int) -> None:
    await session.execute(update(DigestRunRow).where(DigestRunRow.id == run_id).values(outbox_id=outbox_id))


async def runs(session: AsyncSession, channel: str | None = None) -> list[tuple[str, str, int | None]]:
    """(channel, day, outbox id) of the digests claimed, oldest first."""
    query = select(DigestRunRow.channel, DigestRunRow.day, DigestRunRow.outbox_id).order_by(DigestRunRow.id)
    if channel is not None:
        query = query.where(DigestRunRow.channel == channel)
    return [(c, d, o) for c, d, o in await session.execute(query)]


async def at_risk_candidates(session: AsyncSession, team: str | None, statuses: Iterable[Status], now: datetime,
                             within: timedelta, limit: int = AT_RISK_READ) -> tuple[list[Ticket], set[str], int]:
    """Open tickets (of `team`, in `statuses`: those whose clocks run) that breached, were warned, or whose next
    deadline is within `within` (the `limit` most urgent); the ids among them whose warning fired for the
    clock that runs now; and how many more there are beyond those read (counted only when the read was full).
    Ranking is ticketing.digest's; this read only narrows it down through the indexed status column."""
    t = TicketRow
    soon = now + within
    warned_first = select(SlaFiringRow.ticket_id).where(SlaFiringRow.ticket_id == t.id,
                                                        SlaFiringRow.key == WARNINGS[0]).exists()
    warned_resolution = select(SlaFiringRow.ticket_id).where(SlaFiringRow.ticket_id == t.id,
                                                             SlaFiringRow.key == WARNINGS[1]).exists()
    waiting_first = t.first_response_at.is_(None)
    warned = or_(and_(waiting_first, warned_first), and_(~waiting_first, warned_resolution))
    near = or_(and_(waiting_first, t.sla_first_response_due <= soon),
               and_(~waiting_first, t.sla_resolution_due <= soon))
    conditions = [t.status.in_([s.value for s in statuses]), or_(t.sla_breach.is_(True), warned, near)]
    if team is not None:
        conditions.append(t.team == team)
    query = (select(t, CustomerRow, warned.label("warned")).join(CustomerRow, CustomerRow.id == t.user_id)
             .where(*conditions).order_by(t.sla_breach.desc(), t.sla_resolution_due).limit(limit))
    tickets: list[Ticket] = []
    flagged: set[str] = set()
    for row, customer, was_warned in await session.execute(query):
        tickets.append(_ticket(row, _customer(customer), (), ()))
        if was_warned:
            flagged.add(row.id)
    beyond = 0
    if len(tickets) == limit:
        total = (await session.execute(select(func.count()).select_from(t).where(*conditions))).scalar_one()
        beyond = int(total) - len(tickets)
    return tickets, flagged, beyond
