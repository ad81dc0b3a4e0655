"""Retraining the learned classifier from the desk's own history, in the background.

Every agent's category correction (the card's menu, `actions.set_category`, which marks the classification
source "agent") and every resolved ticket is a training row, added to the shipped seed set; a correction counts
CORRECTION_WEIGHT times (an agent's judgement on a ticket the desk got wrong is worth more than a seed row).
`Retrainer.run` checks every CLASSIFIER_RETRAIN_SECONDS whether at least CLASSIFIER_RETRAIN_MIN new rows arrived
since the model in use was trained (the model's file records how many rows of each source it saw) and then
retrains in the classifier's process pool; intake goes on with the current model meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.desk import Desk
from channels.learned.classifier import LearnedClassifier
from channels.learned.model import TrainingRow
from channels.learned.store import ModelInfo, seed_rows
from db.learning import labelled_tickets
from db.session import Database

log = logging.getLogger(__name__)

CORRECTION_WEIGHT = 3


@dataclass(frozen=True)
class History:
    rows: tuple[TrainingRow, ...]
    corrections: int
    resolved: int


async def history(db: Database) -> History:
    async with db.sessions() as session:
        labelled = await labelled_tickets(session)
    rows: list[TrainingRow] = []
    corrections = resolved = 0
    for t in labelled:
        if t.corrected:
            corrections += 1
            rows.extend(TrainingRow(t.subject, t.description, t.category, t.type, t.language, "correction")
                        for _ in range(CORRECTION_WEIGHT))
        else:
            resolved += 1
            rows.append(TrainingRow(t.subject, t.description, t.category, t.type, t.language, "resolved"))
    return History(tuple(rows), corrections, resolved)


def seen_by(info: ModelInfo | None) -> int:
    """How many history tickets the model was trained on (corrections count once)."""
    if info is None:
        return 0
    return info.sources.get("correction", 0) // CORRECTION_WEIGHT + info.sources.get("resolved", 0)


async def training_rows(db: Database, seed: Callable[[], list[TrainingRow]] = seed_rows
                        ) -> tuple[list[TrainingRow], History]:
    found = await history(db)
    return [*seed(), *found.rows], found


class Retrainer:
    def __init__(self, desk: Desk, learned: LearnedClassifier, every_seconds: float, min_new: int) -> None:
        self.desk, self.learned = desk, learned
        self.every_seconds, self.min_new = every_seconds, min_new
        self._stop = asyncio.Event()

    async def retrain_if_due(self) -> ModelInfo | None:
        """Retrains when MIN_NEW history rows arrived since the model in use; None when not due."""
        if self.learned.training:
            return None
        rows, found = await training_rows(self.desk.db, self.learned.seed)
        new = found.corrections + found.resolved - seen_by(self.learned.info)
        if new < self.min_new:
            return None
        log.info("learned classifier: %d new corrected or resolved tickets; retraining on %d rows", new, len(rows))
        return await self.learned.retrain(rows)

    async def run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.every_seconds)
            if self._stop.is_set():
                break
            try:
                await self.retrain_if_due()
            except Exception:  # logged by the classifier too; the desk goes on with the model it has
                log.exception("learned classifier: retraining failed")

    def stop(self) -> None:
        self._stop.set()
