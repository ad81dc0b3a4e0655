"""A small learned model for tests: every third row of the shipped seed set, trained once per session."""

from __future__ import annotations

from functools import cache

from channels.learned.model import TicketModel, TrainingRow, train_model
from channels.learned.store import seed_rows


@cache
def small_seed() -> tuple[TrainingRow, ...]:
    return tuple(seed_rows()[::3])


@cache
def small_model() -> TicketModel:
    return train_model(small_seed())
