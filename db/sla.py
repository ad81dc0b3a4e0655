"""SLA bookkeeping: the tickets whose next moment is due, moments fired once, acknowledgements, SMS log."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.mail import insert_for
from db.tables import AppSettingRow, EscalationAckRow, SlaFiringRow, SmsSentRow, TicketRow
from db.tickets import TICKETS


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[str]:
    """Tickets whose next SLA moment has come, through the indexed column; locked for this process (SKIP
    LOCKED on PostgreSQL, so several `serve` processes share the work without taking the same ticket)."""
    query = (select(TicketRow.id).where(TicketRow.sla_next_at <= now).order_by(TicketRow.sla_next_at)
             .limit(limit).with_for_update(skip_locked=True))
    return list((await session.execute(query)).scalars())


def report_clock_values(state: dict[str, Any] | None) -> dict[str, Any]:
    """The reports' plain copies of the first two clocks' used minutes and stop moments (db/tables.py, "Report
    facts"), as the JSON holds them: clocks[0] is the first-response clock, clocks[1] the resolution clock."""
    clocks = state.get("clocks") if isinstance(state, dict) else None
    found: list[Any] = clocks if isinstance(clocks, list) else []
    values: dict[str, Any] = {}
    for n, prefix in enumerate(("first_clock", "resolution_clock")):
        clock = found[n] if n < len(found) and isinstance(found[n], dict) else {}
        used, stopped = clock.get("used"), clock.get("stopped_at")
        values[f"{prefix}_used"] = None if used is None else float(used)
        values[f"{prefix}_stopped_at"] = None if stopped is None else str(stopped)
    return values


async def set_state(session: AsyncSession, ticket_id: str, state: dict[str, Any] | None,
                    next_at: datetime | None, first_due: datetime | None = None,
                    resolution_due: datetime | None = None) -> None:
    """The clocks and the next moment; a deadline given (a running clock's) replaces the stored one, a paused
    or stopped clock keeps its last."""
    values: dict[str, Any] = {"sla_state": state, "sla_next_at": next_at, **report_clock_values(state)}
    if first_due is not None:
        values["sla_first_response_due"] = first_due
    if resolution_due is not None:
        values["sla_resolution_due"] = resolution_due
    await session.execute(update(TICKETS).where(TICKETS.c.id == ticket_id).values(**values))


async def get_state(session: AsyncSession, ticket_id: str) -> tuple[dict[str, Any] | None, datetime | None]:
    row = (await session.execute(select(TICKETS.c.sla_state, TICKETS.c.sla_next_at)
                                 .where(TICKETS.c.id == ticket_id))).one_or_none()
    return (None, None) if row is None else (row[0], row[1])


async def fire_once(session: AsyncSession, ticket_id: str, key: str, now: datetime) -> bool:
    """True only the first time `key` fires for the ticket, whichever process asks."""
    statement = insert_for(session)(SlaFiringRow).values(ticket_id=ticket_id, key=key, fired_at=now)
    statement = statement.on_conflict_do_nothing(index_elements=["ticket_id", "key"]).returning(SlaFiringRow.key)
    return (await session.execute(statement)).scalar() is not None


async def fired(session: AsyncSession, ticket_id: str) -> dict[str, datetime]:
    rows = await session.execute(select(SlaFiringRow.key, SlaFiringRow.fired_at)
                                 .where(SlaFiringRow.ticket_id == ticket_id))
    return {key: at for key, at in rows}


async def acknowledge(session: AsyncSession, ticket_id: str, level: int, by: str, now: datetime) -> bool:
    statement = insert_for(session)(EscalationAckRow).values(ticket_id=ticket_id, level=level, acked_by=by,
                                                             acked_at=now)
    statement = statement.on_conflict_do_nothing(index_elements=["ticket_id", "level"]).returning(
        EscalationAckRow.level)
    return (await session.execute(statement)).scalar() is not None


async def acknowledgement(session: AsyncSession, ticket_id: str, level: int) -> tuple[str, datetime] | None:
    row = await session.get(EscalationAckRow, (ticket_id, level))
    return None if row is None else (row.acked_by, row.acked_at)


async def last_sms(session: AsyncSession, person: str, ticket_id: str) -> datetime | None:
    query = select(func.max(SmsSentRow.sent_at)).where(SmsSentRow.person == person,
                                                         SmsSentRow.ticket_id == ticket_id)
    found: datetime | None = (await session.execute(query)).scalar()
    return found


async def record_sms(session: AsyncSession, person: str, ticket_id: str, now: datetime) -> None:
    session.add(SmsSentRow(person=person, ticket_id=ticket_id, sent_at=now))
    await session.flush()


async def app_secret(session: AsyncSession, key: str = "signing_secret") -> bytes:
    """A stable random secret kept in the database, made on first use (the same for every process)."""
    statement = insert_for(session)(AppSettingRow).values(key=key, value=secrets.token_hex(32))
    await session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
    value = (await session.execute(select(AppSettingRow.value).where(AppSettingRow.key == key))).scalar_one()
    return bytes.fromhex(value)
