"""The morning digest: a job in `serve` that sees a channel's digest is due, claims it and writes it to the outbox.

Each configured channel (support.yml `digest:`, see bot/config.py) gets one digest per local day. When its time
has come (or later the same day: a desk started at 11:00 still sends the 08:30 digest), the job works out the
numbers, draws the volume chart, and then, in one transaction, claims the (channel, day) row of `digest_runs`
and writes the Slack effect (the message, then the chart into its thread) to the outbox with the chart's bytes
as a blob. The claim's unique key lets only one desk of several on one PostgreSQL write it; the outbox row
survives a restart and an outage and is delivered by the Slack poster (bot/slack/digest.py) once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from blocks.digest import CHART_TITLE, DigestNumbers, build_digest
from bot.charts import volume_chart
from bot.desk import Desk
from bot.workers import Worker
from db import digest as digest_store
from db import mail as mail_store
from db import outbox
from db import reports as report_store
from db.tickets import OPEN_STATUSES
from ticketing.digest import AT_RISK_WITHIN, DigestTarget, due_day, next_due, rank_at_risk, reported_window
from ticketing.report_model import Dashboard

log = logging.getLogger(__name__)
CHART_DAYS = 14
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Prepared:
    """A digest worked out, not claimed yet."""

    text: str
    blocks: list[dict[str, object]]
    chart: bytes
    chart_name: str


def _counts(dashboard: Dashboard) -> tuple[int, int]:
    return sum(p.created for p in dashboard.volume), sum(p.resolved for p in dashboard.volume)


async def _dashboard(session: AsyncSession, desk: Desk, now: datetime, days: int, team: str | None) -> Dashboard:
    return await report_store.build_dashboard(session, now=now, days=days, team=team,
                                              calendars=desk.config.calendars)


async def prepare(desk: Desk, target: DigestTarget, day: date, now: datetime) -> Prepared:
    """The digest of `target` sent on `day`: yesterday's numbers, the week before's, the chart, who is at risk."""
    window = reported_window(target, day)
    paused = desk.config.sla_policy.pausing_statuses
    running = [s for s in OPEN_STATUSES if s not in paused]
    async with desk.db.sessions() as session:
        yesterday = await _dashboard(session, desk, window.end, 1, target.team)
        before = await _dashboard(session, desk, window.end - WEEK, 1, target.team)
        chart_days = await _dashboard(session, desk, window.end, CHART_DAYS, target.team)
        candidates, warned, beyond = await digest_store.at_risk_candidates(session, target.team, running, now,
                                                                   AT_RISK_WITHIN)
    created, resolved = _counts(yesterday)
    before_created, before_resolved = _counts(before)
    numbers = DigestNumbers(target.title, window.day, created, resolved, yesterday.summary,
                            before_created, before_resolved, before.summary)
    at_risk = rank_at_risk(candidates, now, warned)
    names = {a.slack_id: a.name for a in desk.config.agents}
    text, blocks = build_digest(numbers, at_risk, more=beyond, now=now, assignee_names=names)
    chart = await asyncio.to_thread(volume_chart, chart_days.volume, "png")  # ~0.1 s of CPU: off the loop
    return Prepared(text, [b.to_dict() for b in blocks], chart, f"tickets-{window.day.isoformat()}.png")


async def post_digest(desk: Desk, target: DigestTarget, day: date) -> int | None:
    """Claim `target`'s digest of `day` and write it to the outbox, in one transaction; the outbox row's id, or
    None when it was claimed already (by this desk earlier, another desk, or `report digest`)."""
    async with desk.db.sessions() as session:
        if await digest_store.is_claimed(session, target.channel, day):
            return None
    now = desk.clock.now()
    prepared = await prepare(desk, target, day, now)
    sha256 = hashlib.sha256(prepared.chart).hexdigest()
    async with desk.db.transaction() as session:
        run_id = await digest_store.claim(session, target.channel, day, target.team, now)
        if run_id is None:
            return None
        await mail_store.store_blob(session, sha256, "image/png", prepared.chart)
        payload = {"op": "digest", "ticket_id": None, "channel": target.channel, "run": run_id,
                   "day": day.isoformat(), "claimed_at": int(now.timestamp()), "text": prepared.text,
                   "blocks": prepared.blocks,
                   "chart_sha256": sha256, "chart_name": prepared.chart_name, "chart_title": CHART_TITLE}
        item_id = await outbox.enqueue(session, "slack", payload, now)
        await digest_store.set_outbox(session, run_id, item_id)
    desk.outbox_written()
    log.info("digest of %s for %s claimed (%s); outbox row %d", target.setting, day.isoformat(), target.channel,
             item_id)
    return item_id


class DigestScheduler(Worker):
    """Looks every `interval` seconds (and when woken) for digests that are due and not claimed."""

    def __init__(self, desk: Desk, interval: float = 60.0) -> None:
        super().__init__()
        self.desk = desk
        self.interval = interval

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self.check()
            except Exception:
                log.exception("the digest job failed; trying again in %.0f s", self.interval)
            await self.idle(self.wait())

    def wait(self) -> float:
        """Until the next digest falls due, at most `interval` (the clock may jump; the config may not)."""
        now = self.desk.clock.now()
        soonest = min((next_due(t, now) for t in self.desk.config.digests), default=None)
        if soonest is None:
            return self.interval
        return max(1.0, min(self.interval, (soonest - now).total_seconds()))

    async def check(self) -> list[int]:
        """Every target whose digest is due now: claimed and written (or found claimed). The outbox ids written."""
        written: list[int] = []
        for target in self.desk.config.digests:
            day = due_day(target, self.desk.clock.now())
            if day is None or self.stopping:
                continue
            item_id = await post_digest(self.desk, target, day)
            if item_id is not None:
                written.append(item_id)
        return written
