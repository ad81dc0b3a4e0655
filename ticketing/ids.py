"""Ticket ids: a category prefix, a base-36 timestamp and three random base-36 characters."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from ticketing.model import Category

ID_PREFIXES: dict[Category, str] = {
    Category.FORM_BUILDER: "FB",
    Category.BILLING: "BIL",
    Category.BUG: "BUG",
    Category.ONBOARDING: "ONB",
    Category.FEATURE_HELP: "FH",
    Category.DATA_LOSS: "DL",
    Category.SECURITY: "SEC",
}
DEFAULT_PREFIX = "TKT"
MAX_ID_LENGTH = 20
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def to_base36(number: int) -> str:
    if number < 0:
        raise ValueError("base-36 needs a non-negative number")
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
        if number == 0:
            return out


def prefix_for(category: Category) -> str:
    return ID_PREFIXES.get(category, DEFAULT_PREFIX)


def build_ticket_id(category: Category, now: datetime, rng: random.Random) -> str:
    """`BIL-MIDQ1Z2K-7QF`: prefix, milliseconds since the epoch in base 36, 3 random characters."""
    stamp = to_base36(int(now.timestamp() * 1000))
    suffix = "".join(rng.choice(_DIGITS) for _ in range(3))
    ticket_id = f"{prefix_for(category)}-{stamp}-{suffix}"
    if len(ticket_id) > MAX_ID_LENGTH:
        raise ValueError(f"ticket id {ticket_id!r} is longer than {MAX_ID_LENGTH} characters")
    return ticket_id


def build_unique_ticket_id(
    category: Category,
    now: datetime,
    rng: random.Random,
    taken: Callable[[str], bool],
    attempts: int = 20,
) -> str:
    """A fresh id that `taken` says is free; retries the random part on collision."""
    for _ in range(attempts):
        candidate = build_ticket_id(category, now, rng)
        if not taken(candidate):
            return candidate
    raise RuntimeError(f"no free ticket id after {attempts} attempts")
