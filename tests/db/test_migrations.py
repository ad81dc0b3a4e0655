"""Migrations go down and up again without losing data."""

from __future__ import annotations

from sqlalchemy import func, select

from db.migrate import downgrade, upgrade
from db.session import Database
from db.tables import MessageRow
from tests.db.test_store import a_stored_ticket


async def test_downgrading_the_sla_migration_keeps_every_ticket_message(database: Database) -> None:
    await a_stored_ticket(database)
    await downgrade(database, "0003")
    async with database.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(MessageRow))).scalar_one() == 1
    await upgrade(database)
