"""Waiting for something that happens in the background (a worker, a server), with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T | None]], within: float = 10.0, what: str = "") -> T:
    """Poll `check` until it returns something truthy and return it; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what or 'the time allowed'}")
        await asyncio.sleep(0.02)
