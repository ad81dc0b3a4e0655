"""The periodic job that folds the hourly metric deltas of past hours into their `ticket_metrics` rows."""

from __future__ import annotations

import logging

from bot.desk import Desk
from bot.workers import Worker
from db import metrics

log = logging.getLogger(__name__)


class MetricsFolder(Worker):
    """Every few minutes: the deltas of the hours that are over, folded into their rows (db.metrics.fold).
    Several `serve` processes may run it at once; each delta is folded by exactly one of them."""

    def __init__(self, desk: Desk, interval: float = 300.0) -> None:
        super().__init__()
        self.desk = desk
        self.interval = interval

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self.fold()
            except Exception:
                log.exception("metrics fold failed; trying again in %.0f s", self.interval)
            await self.idle(self.interval)

    async def fold(self) -> int:
        async with self.desk.db.transaction() as session:
            moved = await metrics.fold(session, self.desk.clock.now())
        if moved:
            log.info("folded %d metric delta(s) into their hours", moved)
        return moved
