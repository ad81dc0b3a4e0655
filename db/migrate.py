"""Run the Alembic migrations from code (used by `db upgrade`, `serve` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from db.session import Database, check_connection

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Any constant: several processes starting together on one PostgreSQL database migrate one at a time.
_MIGRATION_LOCK = 7_365_001


def _upgrade_on(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` over the database's own engine; safe to call every start. A database that
    cannot be reached is one clear line (`StoreError`) naming DATABASE_URL and the fix."""
    await check_connection(database)
    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade_on, revision)


def _downgrade_on(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def downgrade(database: Database, revision: str) -> None:
    """Back to `revision` (for operators rolling back a release, and for the migration tests)."""
    async with database.engine.begin() as connection:
        await connection.run_sync(_downgrade_on, revision)
