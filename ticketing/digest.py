"""The daily digest's rules: when a channel's digest is due, which day it reports, which tickets are at risk.

Pure: no I/O, never reads the clock (`now` is passed in).

- A digest target is a channel, the team it reports on (None: every team, for the managers), a local time of
  day and a time zone. Its digest for a local day is due from that day's time on, until the day ends: a desk
  started at 11:00 still sends the 08:30 digest of the day (catch-up), but never a digest of a day gone by.
- The digest reports "yesterday": the 24 hours before the local midnight that starts the day it is sent
  (on a clock change that is an hour more or less than the local day), and compares them with the same 24
  hours one week before.
- At risk: an open ticket whose SLA clock runs (not paused waiting on the customer) and that has breached,
  or whose warning fired, or whose next deadline (first response until met, then resolution) is within
  `within` of now. Ranked: breached first, then the nearest deadline, then the higher priority.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ticketing.model import Priority, Ticket

AT_RISK_WITHIN = timedelta(hours=2)
AT_RISK_SHOWN = 10
_PRIORITY_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}


@dataclass(frozen=True)
class DigestTarget:
    """One channel's morning digest: about `team` (None: all teams) at `at` local time in `timezone`."""

    channel: str
    team: str | None
    at: time
    timezone: str
    setting: str  # where support.yml configures it, e.g. "digest.teams.billing_team"

    @property
    def title(self) -> str:
        return "All teams" if self.team is None else self.team.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Window:
    """The local day a digest reports and its moments in UTC: [start, end)."""

    day: date
    start: datetime
    end: datetime


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def due_day(target: DigestTarget, now: datetime) -> date | None:
    """The local day whose digest is due at `now` (today's, once its time has come), else None."""
    zone = ZoneInfo(target.timezone)
    local = now.astimezone(zone)
    scheduled = datetime.combine(local.date(), target.at, zone)
    return local.date() if local >= scheduled else None


def next_due(target: DigestTarget, now: datetime) -> datetime:
    """When the next digest of `target` not due yet becomes due (today's time, or tomorrow's)."""
    zone = ZoneInfo(target.timezone)
    local = now.astimezone(zone)
    scheduled = datetime.combine(local.date(), target.at, zone)
    if local >= scheduled:
        scheduled = datetime.combine(local.date() + timedelta(days=1), target.at, zone)
    return scheduled.astimezone(UTC)


def reported_window(target: DigestTarget, sent_on: date) -> Window:
    """The 24 hours before `sent_on`'s local midnight in the target's time zone: "yesterday"."""
    end = local_midnight(sent_on, ZoneInfo(target.timezone))
    return Window(sent_on - timedelta(days=1), end - timedelta(days=1), end)


def deadline_of(ticket: Ticket) -> datetime:
    """The clock that matters now: first response until it is met, then resolution."""
    if ticket.timeline.first_response is None:
        return ticket.sla.first_response_due
    return ticket.sla.resolution_due


def is_at_risk(ticket: Ticket, now: datetime, warned: bool, within: timedelta = AT_RISK_WITHIN) -> bool:
    return ticket.sla.breached or warned or deadline_of(ticket) <= now + within


def rank_at_risk(tickets: Iterable[Ticket], now: datetime, warned: Iterable[str] = (),
                 within: timedelta = AT_RISK_WITHIN) -> list[Ticket]:
    """The at-risk tickets among `tickets` (open, clocks running), most urgent first; `warned` are the ids of
    those whose SLA warning fired for the clock that runs now."""
    flagged = set(warned)
    found = [t for t in tickets if is_at_risk(t, now, t.id in flagged, within)]
    return sorted(found, key=lambda t: (not t.sla.breached, deadline_of(t), _PRIORITY_RANK[t.priority], t.id))


def change(value: float | None, previous: float | None) -> float | None:
    return None if value is None or previous is None else value - previous


def shown(tickets: Sequence[Ticket], most: int = AT_RISK_SHOWN) -> tuple[Sequence[Ticket], int]:
    """The first `most` tickets and how many more there are."""
    return tickets[:most], max(0, len(tickets) - most)
