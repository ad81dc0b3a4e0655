"""IMAP poller: pulls customer mail from a mailbox into the desk's inbox through `store`.

imapclient is synchronous, so every IMAP command runs on one dedicated worker thread (a
single-thread executor: commands on the one connection never overlap, and a command still
running when the caller is cancelled finishes before the logout queued behind it). The public
API is async.

Delivery rules:
- UIDs only. A persisted cursor (UIDVALIDITY, last UID) says what is done. Every sweep
  re-SELECTs the folder; a UIDVALIDITY other than the cursor's resets the cursor to 0 and the
  whole folder is swept again (`store` is idempotent by content, so nothing doubles).
- `UID SEARCH UID last+1:*` (UIDs <= last dropped: `N:*` always matches the newest message),
  then `BODY.PEEK[]` in batches of `batch_size`, so \\Seen is never set by reading.
- Only after `store` returned: mark \\Seen, or (with `processed_folder`) \\Seen + MOVE there
  (COPY + \\Deleted + UID EXPUNGE without MOVE; plain EXPUNGE without UIDPLUS either). Then the
  cursor advances and is saved, batch by batch.

Cursor on failure: when `store` raises for a message it stays unseen and unmoved and the cursor
stops just below it (lowest failed UID - 1) so the next sweep retries it; the later messages of
that sweep are still stored and marked. The poller remembers in memory which UIDs above the
cursor it has finished, so the following sweeps fetch only the failed ones; after a restart
those later messages are fetched and stored once more, which the idempotent store absorbs.

The run loop: connect, catch-up sweep, then IDLE (re-issued every `idle_seconds`, a sweep after
every IDLE response or timeout) or poll every `poll_seconds`. Any error drops the connection and
reconnects with exponential backoff and jitter, capped at `max_backoff` and reset once a
connection has completed its catch-up sweep. Only cancellation ends it, with a logout.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from channels.email.imap_session import ImapConfig, ImapPollError, ImapSession, ServerInfo

__all__ = ["ImapConfig", "ImapPollError", "ImapPoller", "PollerStats", "backoff_delay"]

log = logging.getLogger(__name__)

T = TypeVar("T")
StoreFn = Callable[[bytes, str], Awaitable[object]]
LoadCursorFn = Callable[[str], Awaitable[tuple[int, int] | None]]
SaveCursorFn = Callable[[str, int, int], Awaitable[None]]


def backoff_delay(
    failures: int, initial: float, cap: float, uniform: Callable[[float, float], float] = random.uniform
) -> float:
    """Seconds to wait after `failures` failed attempts in a row: exponential, capped, jittered.

    The ceiling doubles from `initial` up to `cap`; the delay is drawn from its upper half, so
    pollers that lost the same server do not all come back at the same moment.
    """
    ceiling = min(cap, initial * 2 ** min(failures, 30))
    return uniform(ceiling / 2, ceiling)


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


@dataclass(frozen=True)
class PollerStats:
    connected: bool = False
    idle_supported: bool = False
    last_error: str | None = None
    reconnects: int = 0
    connect_failures: int = 0
    sweeps: int = 0
    stored: int = 0
    store_failures: int = 0
    uidvalidity: int | None = None
    last_uid: int = 0


class ImapPoller:
    """Turns one IMAP folder into calls of `store`, forever (`run`) or once (`sweep_once`)."""

    def __init__(
        self,
        config: ImapConfig,
        *,
        store: StoreFn,
        load_cursor: LoadCursorFn,
        save_cursor: SaveCursorFn,
    ) -> None:
        self._config = config
        self._store = store
        self._load_cursor = load_cursor
        self._save_cursor = save_cursor
        self._session = ImapSession(config)
        self._executor: ThreadPoolExecutor | None = None
        self._info: ServerInfo | None = None
        self._cursor: tuple[int, int] | None = None  # (uidvalidity, last_uid) as loaded/saved
        self._done: set[int] = set()  # UIDs above the cursor already stored and marked
        self._ever_connected = False
        self._stop = threading.Event()
        self._stats = PollerStats()
        self._changed = asyncio.Event()

    # --- observation -----------------------------------------------------------------------

    @property
    def stats(self) -> PollerStats:
        return self._stats

    @property
    def sweeps(self) -> int:
        return self._stats.sweeps

    async def wait_until(self, predicate: Callable[[PollerStats], bool], within: float) -> PollerStats:
        """Wait until `predicate(stats)` holds; TimeoutError after `within` seconds."""
        async with asyncio.timeout(within):
            while not predicate(self._stats):
                await self._changed.wait()
        return self._stats

    async def wait_for_sweep(self, n: int, within: float) -> PollerStats:
        """Wait until at least `n` sweeps have completed since this poller was made."""
        return await self.wait_until(lambda stats: stats.sweeps >= n, within)

    def _set(self, stats: PollerStats) -> None:
        self._stats = stats
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # --- public driving --------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, sweep, then IDLE or poll, reconnecting on errors; ends only when cancelled."""
        failures = 0
        try:
            while True:
                try:
                    await self._connect()
                    await self._sweep()  # catch-up after every (re)connect
                    failures = 0
                    await self._watch()
                except Exception as exc:
                    await self._drop(exc)
                    delay = backoff_delay(failures, self._config.initial_backoff, self._config.max_backoff)
                    failures += 1
                    log.warning(
                        "IMAP %s: %s; reconnecting in %.1fs",
                        self._config.account_key,
                        type(exc).__name__,
                        delay,
                    )
                    await asyncio.sleep(delay)
        finally:
            await self.aclose()

    async def sweep_once(self) -> int:
        """Connect if needed and sweep everything past the cursor; return how many were stored."""
        try:
            if self._info is None:
                await self._connect()
            return await self._sweep()
        except Exception as exc:
            await self._drop(exc)
            raise ImapPollError(f"IMAP sweep of {self._config.account_key} failed: {_describe(exc)}") from exc

    async def aclose(self) -> None:
        """Log out (after any command still running on the worker thread) and stop the thread."""
        self._stop.set()
        executor, self._executor = self._executor, None
        if executor is not None:
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(executor, self._session.logout)
            executor.shutdown(wait=False)
        self._info = None
        if self._stats.connected:
            self._set(replace(self._stats, connected=False))

    async def __aenter__(self) -> ImapPoller:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- connection ------------------------------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap-poller")
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args))

    async def _connect(self) -> None:
        self._stop.clear()
        try:
            info = await self._call(self._session.open)
        except Exception:
            self._set(replace(self._stats, connect_failures=self._stats.connect_failures + 1))
            raise
        self._info = info
        reconnects = self._stats.reconnects + (1 if self._ever_connected else 0)
        self._ever_connected = True
        self._set(replace(self._stats, connected=True, idle_supported=info.idle, reconnects=reconnects))
        log.info("IMAP %s connected (idle=%s, move=%s)", self._config.account_key, info.idle, info.move)
        self._cursor = await self._load_cursor(self._config.account_key)

    async def _drop(self, exc: BaseException) -> None:
        log.debug("IMAP %s: dropping the connection after %s", self._config.account_key, type(exc).__name__)
        self._info = None
        self._set(replace(self._stats, connected=False, last_error=_describe(exc)))
        with contextlib.suppress(Exception):
            await self._call(self._session.abort)

    async def _watch(self) -> None:
        """Wait for news (IDLE or the poll interval), sweep, repeat; returns only by raising."""
        cfg = self._config
        while True:
            info = self._info
            if info is None:
                raise ImapPollError("connection lost")
            if info.idle and cfg.use_idle:
                responses = await self._call(self._session.idle_wait, cfg.idle_seconds, self._stop)
                log.debug("IMAP %s: IDLE ended with %d responses", cfg.account_key, len(responses))
            else:
                await asyncio.sleep(cfg.poll_seconds)
            await self._sweep()

    # --- sweeping --------------------------------------------------------------------------

    async def _sweep(self) -> int:
        """Sweep passes until one ends without the server announcing new mail (EXISTS).

        Dovecot evaluates a command against the mailbox as last synced and reports mail that
        arrived meanwhile only as EXISTS at the command's end; an IDLE started afterwards does not
        report it again. So mail that arrived during a pass gets a pass of its own.
        """
        stored = 0
        while True:
            count, news = await self._sweep_pass()
            stored += count
            if not news:
                break
        stats = self._stats
        self._set(replace(stats, sweeps=stats.sweeps + 1, stored=stats.stored + stored))
        return stored

    async def _sweep_pass(self) -> tuple[int, bool]:
        """SELECT, search past the cursor, deliver in batches; (stored, EXISTS seen meanwhile)."""
        info = self._info
        if info is None:
            raise ImapPollError("not connected")
        uidvalidity = await self._call(self._session.select)
        last_uid = await self._cursor_for(uidvalidity)
        uids = await self._call(self._session.search_after, last_uid)
        stored, failed = 0, 0
        lowest_failed: int | None = None
        for batch in _chunks(uids, self._config.batch_size):
            done, failures = await self._deliver(batch, uidvalidity, info)
            stored += len(done)
            failed += len(failures)
            if failures and lowest_failed is None:
                lowest_failed = min(failures)
            # The cursor never passes a failed message: it stays just below the first one.
            await self._advance(uidvalidity, batch[-1] if lowest_failed is None else lowest_failed - 1)
        news = await self._call(self._session.take_new_mail_signal)
        log.debug("IMAP %s: sweep pass stored %d, failed %d", self._config.account_key, stored, failed)
        return stored, news

    async def _deliver(self, batch: Sequence[int], uidvalidity: int, info: ServerInfo) -> tuple[list[int], list[int]]:
        """Fetch, store and mark one batch; returns (stored UIDs, UIDs whose store raised)."""
        todo = [uid for uid in batch if uid not in self._done]
        bodies = await self._call(self._session.fetch, todo) if todo else {}
        stored: list[int] = []
        failed: list[int] = []
        for uid in todo:
            raw = bodies.get(uid)
            if raw is None:  # expunged by someone else since the SEARCH: nothing to deliver
                continue
            if await self._store_one(raw, uid, uidvalidity):
                stored.append(uid)
            else:
                failed.append(uid)
        if stored:
            await self._call(self._session.mark_done, stored, info)
            self._done.update(stored)
        return stored, failed

    async def _store_one(self, raw: bytes, uid: int, uidvalidity: int) -> bool:
        try:
            await self._store(raw, self._config.origin(uid, uidvalidity))
        except Exception as exc:
            log.warning(
                "IMAP %s uid=%d: store failed (%s); left unread for the next sweep",
                self._config.account_key,
                uid,
                type(exc).__name__,
            )
            self._set(replace(self._stats, store_failures=self._stats.store_failures + 1))
            return False
        return True

    async def _cursor_for(self, uidvalidity: int) -> int:
        """The last UID done in this UIDVALIDITY; a changed UIDVALIDITY resets it to 0 (saved)."""
        key = self._config.account_key
        if self._cursor is not None and self._cursor[0] == uidvalidity:
            self._publish_cursor()
            return self._cursor[1]
        if self._cursor is not None:
            log.warning(
                "IMAP %s: UIDVALIDITY changed from %d to %d; sweeping the whole folder again",
                key,
                self._cursor[0],
                uidvalidity,
            )
        self._done.clear()
        await self._save_cursor(key, uidvalidity, 0)
        self._cursor = (uidvalidity, 0)
        self._publish_cursor()
        return 0

    async def _advance(self, uidvalidity: int, last_uid: int) -> None:
        if self._cursor is None or last_uid <= self._cursor[1]:
            return
        await self._save_cursor(self._config.account_key, uidvalidity, last_uid)
        self._cursor = (uidvalidity, last_uid)
        self._done = {uid for uid in self._done if uid > last_uid}
        self._publish_cursor()

    def _publish_cursor(self) -> None:
        if self._cursor is not None:
            uidvalidity, last_uid = self._cursor
            self._set(replace(self._stats, uidvalidity=uidvalidity, last_uid=last_uid))
