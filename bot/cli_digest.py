"""`wedsync-support report digest [--channel C] [--now]`: the morning digest, through the same claim and outbox
as `serve`'s job (bot/digest.py), so it is never sent twice a day to a channel, whoever sends it."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from bot.cli import out, run
from bot.cli_report import ReportError, report_app
from bot.desk import Desk
from bot.digest import post_digest
from ticketing.digest import DigestTarget, due_day


def _targets(desk: Desk, channel: str | None) -> tuple[DigestTarget, ...]:
    targets = desk.config.digests
    if not targets:
        raise ReportError("support.yml has no `digest:` section, so no channel gets a digest (see the README, "
                          "\"Daily digest\")")
    if channel is None:
        return targets
    chosen = tuple(t for t in targets if t.channel == channel)
    if not chosen:
        known = ", ".join(t.channel for t in targets)
        raise ReportError(f"--channel {channel!r} gets no digest in support.yml (channels with one: {known})")
    return chosen


async def send(desk: Desk, channel: str | None, now_anyway: bool) -> list[tuple[DigestTarget, date, int | None]]:
    """Each chosen target's digest of today: written to the outbox if due (or, with `now_anyway`, before its
    time) and not sent yet; (target, day, outbox id or None when it was already claimed)."""
    done: list[tuple[DigestTarget, date, int | None]] = []
    moment = desk.clock.now()
    for target in _targets(desk, channel):
        day = due_day(target, moment) or (moment.astimezone(ZoneInfo(target.timezone)).date() if now_anyway else None)
        if day is not None:
            done.append((target, day, await post_digest(desk, target, day)))
    return done


@report_app.command("digest")
def report_digest(
    channel: Annotated[str | None, typer.Option(help="Only this channel's digest (a channel id of `digest:`).")]
    = None,
    now: Annotated[bool, typer.Option("--now", help="Today's digest now, even before its time of day.")] = False,
) -> None:
    """Send the morning digest that is due now (today's, once its time has come), or with --now today's before
    its time. Written to the outbox like serve's own: the running `serve` posts it; a channel gets one a day."""
    done = run(lambda desk: send(desk, channel, now))
    if not done:
        out.print("no digest is due yet today; --now sends today's before its time", highlight=False)
    for target, day, item_id in done:
        where = escape(f"{target.channel} ({target.title}, {day.isoformat()})")
        if item_id is None:
            out.print(f"{where}: already sent today, not sent again", highlight=False)
        else:
            out.print(f"{where}: written to the outbox (row {item_id}); `serve` posts it", highlight=False)
