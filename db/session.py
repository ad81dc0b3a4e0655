"""Engines and sessions. Nothing connects at import; `open_database` is called by the composition root."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
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
    """A URL the desk can use: one of its two drivers, and for SQLite a folder that exists (refused, not
    created: a typo in the path would otherwise make a new, empty desk somewhere, as whoever runs it)."""
    try:
        parsed = make_url(url)
    except Exception as error:
        raise StoreError(f"DATABASE_URL is not a database URL ({error}); use sqlite+aiosqlite:///path/to/file.db "
                         "or postgresql+asyncpg://user@host/db") from None
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise StoreError(
            f"DATABASE_URL uses driver {parsed.drivername!r}; use sqlite+aiosqlite:///path/to/file.db "
            "or postgresql+asyncpg://user@host/db"
        )
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().parent
        if not folder.is_dir():
            raise StoreError(f"DATABASE_URL points at {parsed.database}, but the folder {folder} does not exist; "
                             f"create it (mkdir -p {folder}) or point DATABASE_URL at an existing folder")
    return url


def shown_url(url: URL) -> str:
    """The URL as it may appear in a message or a log: the password masked."""
    return url.render_as_string(hide_password=True)


async def check_connection(database: Database) -> None:
    """Connect once; a failure becomes one line that says what failed, names DATABASE_URL (password masked)
    and the fix, instead of the driver's traceback."""
    try:
        async with database.engine.connect():
            return
    except (DBAPIError, OSError) as error:
        raise StoreError(f"cannot connect to the database in DATABASE_URL ({shown_url(database.engine.url)}): "
                         f"{_connect_problem(error, database.engine.url)}") from None


def _connect_problem(error: BaseException, url: URL) -> str:
    user, name = url.username or "(the login name)", url.database or "(none)"
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    if isinstance(error, socket.gaierror):
        return f"unknown host {url.host!r}; fix the host in DATABASE_URL"
    if isinstance(error, ConnectionRefusedError):
        return f"nothing answers on {where}; start PostgreSQL there, or fix the host and port in DATABASE_URL"
    if isinstance(error, TimeoutError):
        return f"no answer from {where} in time; check the host, the port and any firewall"
    if isinstance(error, OSError):
        return f"{error.strerror or error} ({where}); check the host and port in DATABASE_URL"
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    said = str(getattr(error, "orig", error)).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    fixes = {
        "28000": f"role {user!r} may not log in (it does not exist, or pg_hba.conf does not let it in); "
                 f"create it (createuser {user}) or put an existing role in DATABASE_URL",
        "28P01": f"the password for role {user!r} is wrong; fix it in DATABASE_URL (%-encode special characters)",
        "3D000": f"database {name!r} does not exist; create it (createdb -O {user} {name}) or name an existing "
                 "one in DATABASE_URL",
        "53300": "PostgreSQL has no free connections; raise max_connections or run fewer processes",
        "57P03": "PostgreSQL is starting or shutting down; try again in a moment",
    }
    return fixes.get(str(code), f"{said}; check DATABASE_URL")


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
