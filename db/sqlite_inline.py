"""SQLite on the event loop's own thread, behind SQLAlchemy's aiosqlite dialect.

aiosqlite runs every call (cursor, execute, fetch, close) on a worker thread and hands the result back through
the event loop: on this kind of machine one hand-off costs 150-250 us, and one ORM statement makes two or three
of them, while the statement itself takes a few microseconds in SQLite. The desk's statements are all short
(indexed lookups and single-row writes), so running them where they are awaited is an order of magnitude
faster than shipping them to a thread, and the event loop is blocked for no longer than the statement.

What would block for long is waiting for another process's write lock (SQLite's busy handler sleeps in the
calling thread). So the connection's own busy timeout is zero, and a statement that finds the database locked
is retried here after an ``asyncio.sleep``, with backoff, for up to ``busy_seconds``; then SQLite's
"database is locked" error is raised as before. A statement that failed with SQLITE_BUSY changed nothing, so
running it again is safe.

A statement that may take long (a full-text search over the whole history) starts with the OFFLOAD comment; it
runs on a worker thread instead (SQLite releases the GIL while it works), so the loop goes on meanwhile. The
connection is used by one statement at a time either way.

The objects below are what SQLAlchemy's aiosqlite adapter calls on an aiosqlite connection and cursor (it is
given them through ``create_async_engine(async_creator=...)``); errors are sqlite3's own, as with aiosqlite.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

BUSY_SECONDS = 30.0
OFFLOAD = "/* offload */"  # the first thing in a statement that should run on a worker thread
YIELD_SECONDS = 0.004  # the longest a run of statements keeps the event loop to itself


class _Turn:
    """A statement that finishes at once never gives the event loop a turn, so a long run of them (a batch of
    mail, a sweep of due tickets) would hold up everything else: SMTP answers, Slack acknowledgements. After
    YIELD_SECONDS of statements without a pause, the next one first lets the loop run what is waiting."""

    last = time.monotonic()

    @classmethod
    async def take(cls) -> None:
        now = time.monotonic()
        if now - cls.last >= YIELD_SECONDS:
            await asyncio.sleep(0)
            cls.last = time.monotonic()


def _locked(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED))
    return "locked" in str(error) or "busy" in str(error)


async def _retry_locked(call: Callable[[], Any], busy_seconds: float) -> Any:
    await _Turn.take()
    deadline, pause = time.monotonic() + busy_seconds, 0.001
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _locked(error) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(pause)
        _Turn.last = time.monotonic()
        pause = min(pause * 2, 0.05)


class InlineCursor:
    """An aiosqlite-shaped cursor whose coroutines run the sqlite3 call at once."""

    def __init__(self, cursor: sqlite3.Cursor, busy_seconds: float) -> None:
        self._cursor = cursor
        self._busy_seconds = busy_seconds

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    def __aiter__(self) -> InlineCursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        if sql.startswith(OFFLOAD):
            await asyncio.to_thread(self._cursor.execute, sql, parameters)  # a read: no lock to wait for
            return self
        await _retry_locked(lambda: self._cursor.execute(sql, parameters), self._busy_seconds)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> InlineCursor:
        rows = list(parameters)
        await _retry_locked(lambda: self._cursor.executemany(sql, rows), self._busy_seconds)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _CursorOpener:
    """What ``connection.cursor()`` returns: entered (awaited) by the adapter to get the cursor."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection

    async def __aenter__(self) -> InlineCursor:
        return InlineCursor(self._connection._conn.cursor(), self._connection.busy_seconds)

    async def __aexit__(self, *_exc: object) -> None:
        return None


class _Immediate:
    """Stands in for aiosqlite's request queue, which the adapter's isolation_level setter writes to."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except Exception as error:
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection:
    """An aiosqlite-shaped connection that runs sqlite3 on the calling (event loop) thread."""

    def __init__(self, connection: sqlite3.Connection, busy_seconds: float = BUSY_SECONDS) -> None:
        self._connection: sqlite3.Connection | None = connection
        self.busy_seconds = busy_seconds
        self._tx = _Immediate()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _CursorOpener:
        return _CursorOpener(self)

    async def commit(self) -> None:
        await _retry_locked(self._conn.commit, self.busy_seconds)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        """Terminate (the adapter calls it on an invalidated connection): close without waiting."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def creator(path: str, busy_seconds: float = BUSY_SECONDS) -> Callable[[], Any]:
    """For ``create_async_engine(async_creator=...)``: open `path` with SQLite's own busy wait off."""

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False,
                                     uri=path.startswith("file:"))
        return InlineConnection(connection, busy_seconds)

    return connect
