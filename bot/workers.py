"""What every background worker shares: a wake-up call, and a stop that lets the current item finish."""

from __future__ import annotations

import asyncio
import contextlib


class Worker:
    """`wake()` when there may be work; `stop()` to end `run` after the item in hand (no cancellation in the
    middle of a transaction, which some drivers do not survive cleanly)."""

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        raise NotImplementedError

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def idle(self, seconds: float) -> None:
        """Sleep until woken, stopped, or `seconds` pass. A wake-up that came while the worker was busy is
        not lost: the worker goes straight round again."""
        if self.stopping:
            return
        if not self._wake.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()
