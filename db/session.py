"""Engines and sessions. Nothing connects at import; `open_database` is called by the composition root."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from db import sqlite_inline
from db.errors import StoreError


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # SQLite has one writer at a time; queueing writers here, first come first served, replaces SQLite's
    # busy-wait (which lets a writer starve for seconds under load and delays the SMTP 250 with it).
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any error.

        On SQLite it starts with BEGIN IMMEDIATE, taking the write lock first: two transactions that read a
        ticket and then change it run one after the other instead of the second failing (or losing the
        first's change). PostgreSQL gets the same from the row locks the repositories take (FOR UPDATE).
        """
        if not self.is_sqlite:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self.write_lock, self.sessions() as session, session.begin():
            await session.connection(execution_options={"sqlite_immediate": True})
            yield session

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN is switched off; _sqlite_begin says BEGIN or BEGIN IMMEDIATE itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=0")  # lock waits are async retries in db.sqlite_inline, not sleeps
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get("sqlite_immediate")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def check_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except Exception as error:
        raise StoreError(f"DATABASE_URL {url!r} is not a database URL ({error})") from error
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise StoreError(
            f"DATABASE_URL uses driver {parsed.drivername!r}; use sqlite+aiosqlite:///path/to/file.db "
            "or postgresql+asyncpg://user@host/db"
        )
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return url


def open_database(url: str, echo: bool = False) -> Database:
    """The engine for `url`. SQLite runs on the event loop's thread (db.sqlite_inline explains why)."""
    parsed = make_url(check_url(url))
    if parsed.drivername.startswith("sqlite"):
        path = parsed.database or ":memory:"
        engine = create_async_engine(parsed, echo=echo, async_creator=sqlite_inline.creator(path))
    else:
        engine = create_async_engine(parsed, echo=echo, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return Database(engine, async_sessionmaker(engine, expire_on_commit=False))
