"""SQLite runs on the event loop's thread; waiting for another process's write lock must not block the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from db.migrate import upgrade
from db.session import open_database
from db.sqlite_inline import OFFLOAD, InlineConnection


class Turns:
    """Counts the event loop's turns given to another task."""

    def __init__(self, pause: float) -> None:
        self.count = 0
        self.task = asyncio.create_task(self._run(pause))

    async def _run(self, pause: float) -> None:
        while True:
            self.count += 1
            await asyncio.sleep(pause)


async def test_a_write_waits_for_another_connections_lock_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    database = open_database(f"sqlite+aiosqlite:///{path}")
    await upgrade(database)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holding the write lock, as the CLI might

    async def write() -> None:
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO app_settings (key, value) VALUES ('k', 'v')"))

    turns = Turns(0.01)
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writing.done()  # still waiting for the lock ...
    assert turns.count >= 10  # ... while the loop went on running other work
    other.execute("COMMIT")
    await asyncio.wait_for(writing, 5)
    turns.task.cancel()
    async with database.sessions() as session:
        assert (await session.execute(text("SELECT value FROM app_settings WHERE key = 'k'"))).scalar() == "v"
    other.close()
    await database.close()


async def test_a_lock_held_past_the_busy_time_raises_sqlites_own_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    waiting = InlineConnection(sqlite3.connect(path, timeout=0, isolation_level=None), busy_seconds=0.2)
    async with waiting.cursor() as cursor:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await cursor.execute("BEGIN IMMEDIATE")
    holder.execute("ROLLBACK")
    async with waiting.cursor() as cursor:
        await cursor.execute("INSERT INTO t VALUES (1)")
        await cursor.execute("SELECT x FROM t")
        assert await cursor.fetchall() == [(1,)]
    await waiting.close()
    holder.close()


async def test_a_long_run_of_statements_lets_other_tasks_run_in_between(tmp_path: Path) -> None:
    database = open_database(f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}")
    await upgrade(database)
    turns = Turns(0)
    await asyncio.sleep(0)
    async with database.transaction() as session:  # each statement finishes at once, without suspending
        before = turns.count
        for n in range(3000):
            await session.execute(text("INSERT INTO app_settings (key, value) VALUES (:k, 'v')"), {"k": f"k{n}"})
        during = turns.count - before
    turns.task.cancel()
    assert during >= 3  # the other task was not starved while the statements ran
    await database.close()


async def test_a_statement_marked_for_offloading_runs_on_another_thread(tmp_path: Path) -> None:
    connection = InlineConnection(sqlite3.connect(tmp_path / "t.db", isolation_level=None, check_same_thread=False))
    connection._conn.create_function("runner", 0, threading.get_ident)
    async with connection.cursor() as cursor:
        await cursor.execute(f"{OFFLOAD} SELECT runner()")
        ((offloaded,),) = await cursor.fetchall()
        await cursor.execute("SELECT runner()")
        ((inline,),) = await cursor.fetchall()
    assert inline == threading.get_ident() != offloaded  # the marked one left the event loop's thread
    await connection.close()
