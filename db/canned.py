"""Canned responses: the configured ones synced into the store, counted as they are used."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.tables import CannedResponseRow
from ticketing.canned import CannedResponse, variables_in


def _value(row: CannedResponseRow) -> CannedResponse:
    return CannedResponse(row.name, row.content, row.category, row.self_service)


async def sync_canned(session: AsyncSession, responses: Iterable[CannedResponse], now: datetime) -> None:
    """Insert or update each configured response by name (usage counts are kept)."""
    existing = {r.name: r for r in (await session.execute(select(CannedResponseRow))).scalars()}
    for response in responses:
        row = existing.get(response.name)
        if row is None:
            row = CannedResponseRow(id=str(uuid.uuid4()), name=response.name, usage_count=0, created_at=now)
            session.add(row)
        if (row.content, row.category, row.self_service) != (
            response.content,
            response.category,
            response.self_service,
        ):
            row.updated_at = now
        row.content, row.category, row.self_service = (
            response.content,
            response.category,
            response.self_service,
        )
        row.variables = list(variables_in(response.content))
        row.updated_at = row.updated_at or now
    await session.flush()


async def list_canned(session: AsyncSession) -> list[CannedResponse]:
    rows = await session.execute(select(CannedResponseRow).order_by(CannedResponseRow.name))
    return [_value(r) for r in rows.scalars()]


async def find_canned(session: AsyncSession, name: str) -> CannedResponse | None:
    row = (await session.execute(select(CannedResponseRow).where(CannedResponseRow.name == name))).scalar()
    return None if row is None else _value(row)


async def count_use(session: AsyncSession, name: str) -> None:
    row = (await session.execute(select(CannedResponseRow).where(CannedResponseRow.name == name))).scalar()
    if row is not None:
        row.usage_count += 1
