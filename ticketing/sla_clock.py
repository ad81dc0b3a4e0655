"""SLA clocks: business minutes used against a budget, paused while waiting, warning at 75%, breach at 100%.

Each ticket has two clocks, first response and resolution, in that order in a `SlaClocks` pair. A clock
is running (`since` set), paused (neither `since` nor `stopped_at`) or stopped (`stopped_at` set: met).
It stores the business minutes used up to `since`; while it runs, more accrue by the team's calendar.
Pausing freezes the used minutes and resuming carries on with the time that was left, so a pause moves
the deadline later by the paused span (in business time).

Nothing here reads the clock: `now` is always passed in. Instants are compared in UTC.

Status rules (`apply_status`):
- entering a pausing status (policy; waiting on the customer by default) pauses both running clocks,
  and leaving it for a working status resumes them;
- resolving (or closing) stops the resolution clock (met) and pauses the first-response clock: a
  resolved ticket needs no reply, but the first-response clock is not met until an agent replies;
- reopening (resolved -> a working status) runs the resolution clock again from the reopen, with the
  minutes it had used when it was resolved: the time spent resolved does not count, like a pause.
  The first-response clock resumes too if nobody had replied yet.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from ticketing.calendar import Calendar, as_utc
from ticketing.errors import ConfigError
from ticketing.model import Status
from ticketing.sla import SlaTarget

DEFAULT_WARNING_FRACTION = 0.75
DEFAULT_FOLLOW_UP_FRACTION = 0.5
_DONE = frozenset({Status.RESOLVED, Status.CLOSED})


class ClockKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class Moment(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


@dataclass(frozen=True)
class SlaClock:
    kind: ClockKind
    budget_minutes: float  # from the matrix
    started_at: datetime
    used_minutes: float = 0.0  # business minutes used up to `since` (the last pause/resume point)
    since: datetime | None = None  # running since (None while paused or stopped)
    stopped_at: datetime | None = None  # met (first reply / resolved)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.budget_minutes) and self.budget_minutes > 0):
            raise ValueError(f"{self.kind} clock: budget_minutes must be positive, got {self.budget_minutes}")
        if not (math.isfinite(self.used_minutes) and self.used_minutes >= 0):
            raise ValueError(f"{self.kind} clock: used_minutes must be >= 0, got {self.used_minutes}")
        if self.since is not None and self.stopped_at is not None:
            raise ValueError(f"{self.kind} clock cannot be running and stopped at once")
        for name in ("started_at", "since", "stopped_at"):
            moment = getattr(self, name)
            if moment is not None:
                as_utc(moment, name)

    @property
    def running(self) -> bool:
        return self.since is not None

    @property
    def paused(self) -> bool:
        return self.since is None and self.stopped_at is None

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None


SlaClocks = tuple[SlaClock, SlaClock]  # (first response, resolution)


@dataclass(frozen=True)
class SlaPolicy:
    pausing_statuses: frozenset[Status] = frozenset({Status.WAITING_CUSTOMER})
    warning_fraction: float = DEFAULT_WARNING_FRACTION
    follow_up_fraction: float = DEFAULT_FOLLOW_UP_FRACTION

    def __post_init__(self) -> None:
        if self.pausing_statuses & _DONE:
            raise ConfigError("sla pausing statuses: resolved and closed stop the clocks, they cannot pause them")
        if not 0 < self.warning_fraction <= 1:
            raise ConfigError(f"sla warning fraction must be in (0, 1], got {self.warning_fraction}")
        if not (math.isfinite(self.follow_up_fraction) and self.follow_up_fraction > 0):
            raise ConfigError(f"sla follow-up fraction must be positive, got {self.follow_up_fraction}")


DEFAULT_POLICY = SlaPolicy()


def start_clock(kind: ClockKind, budget_minutes: float, started_at: datetime) -> SlaClock:
    """A clock running from `started_at` (in the past for an imported ticket) with nothing used."""
    return SlaClock(kind, budget_minutes, started_at, since=started_at)


def start_clocks(target: SlaTarget, started_at: datetime) -> SlaClocks:
    """Both clocks of a new ticket, from its SLA matrix cell."""
    return (
        start_clock(ClockKind.FIRST_RESPONSE, target.first_response, started_at),
        start_clock(ClockKind.RESOLUTION, target.resolution, started_at),
    )


def used(clock: SlaClock, now: datetime, calendar: Calendar) -> float:
    """Business minutes used so far (frozen while paused or stopped)."""
    if clock.since is None:
        return clock.used_minutes
    return clock.used_minutes + calendar.minutes_between(clock.since, now)


def remaining(clock: SlaClock, now: datetime, calendar: Calendar) -> float:
    """Business minutes left; negative once breached (by how much it is over)."""
    return clock.budget_minutes - used(clock, now, calendar)


def pause(clock: SlaClock, now: datetime, calendar: Calendar) -> SlaClock:
    """Freeze the used minutes; no-op unless running. A `now` before `since` adds nothing."""
    if clock.since is None:
        return clock
    return replace(clock, used_minutes=used(clock, now, calendar), since=None)


def resume(clock: SlaClock, now: datetime) -> SlaClock:
    """Run again from `now` with the minutes that were left; no-op unless paused."""
    if not clock.paused:
        return clock
    return replace(clock, since=now)


def stop(clock: SlaClock, now: datetime, calendar: Calendar) -> SlaClock:
    """Met: keep the minutes used (frozen already if paused); no-op if already stopped."""
    if clock.stopped_at is not None:
        return clock
    return replace(clock, used_minutes=used(clock, now, calendar), since=None, stopped_at=now)


def reopen(clock: SlaClock, now: datetime) -> SlaClock:
    """Run a stopped clock again from `now` with the minutes it had used; no-op unless stopped."""
    if clock.stopped_at is None:
        return clock
    return replace(clock, since=now, stopped_at=None)


def moment_at(clock: SlaClock, fraction: float, calendar: Calendar) -> datetime | None:
    """When `fraction` of the budget is used if the clock keeps running; None unless running.

    Already reached when the clock last resumed: `since` (the exact earlier moment is not kept).
    """
    _check_fraction(fraction)
    if clock.since is None:
        return None
    left = fraction * clock.budget_minutes - clock.used_minutes
    if left <= 0:
        return clock.since
    return calendar.add(clock.since, left)


def deadline(clock: SlaClock, calendar: Calendar) -> datetime | None:
    return moment_at(clock, 1.0, calendar)


def due(
    clock: SlaClock,
    now: datetime,
    calendar: Calendar,
    fired: Collection[Moment],
    warning_fraction: float = DEFAULT_WARNING_FRACTION,
) -> list[Moment]:
    """Moments reached by `now` and not fired yet, in order. A stopped (met) clock has none due."""
    if clock.stopped_at is not None:
        return []
    return [
        moment
        for moment, fraction in _thresholds(warning_fraction)
        if moment not in fired and _reached(clock, fraction, now, calendar)
    ]


def next_moment(
    clock: SlaClock,
    calendar: Calendar,
    fired: Collection[Moment],
    warning_fraction: float = DEFAULT_WARNING_FRACTION,
) -> datetime | None:
    """The earliest moment not fired yet (possibly past); None when all fired or the clock is not running."""
    for moment, fraction in _thresholds(warning_fraction):
        if moment not in fired:
            return moment_at(clock, fraction, calendar)
    return None


def follow_up_at(
    escalated_at: datetime,
    budget_minutes: float,
    calendar: Calendar,
    fraction: float = DEFAULT_FOLLOW_UP_FRACTION,
) -> datetime:
    """The escalation's follow-up deadline: `fraction` of the original clock's budget after escalating."""
    if not (math.isfinite(fraction) and fraction > 0) or not budget_minutes > 0:
        raise ValueError(f"follow-up needs a positive budget and fraction, got {budget_minutes} and {fraction}")
    return calendar.add(escalated_at, budget_minutes * fraction)


def first_reply(clocks: SlaClocks, now: datetime, calendar: Calendar) -> SlaClocks:
    """The first agent reply stops (meets) the first-response clock; later replies change nothing."""
    first, resolution = _checked(clocks)
    return stop(first, now, calendar), resolution


def apply_status(
    clocks: SlaClocks,
    old: Status,
    new: Status,
    now: datetime,
    calendar: Calendar,
    policy: SlaPolicy = DEFAULT_POLICY,
) -> SlaClocks:
    """Pause, resume, stop or reopen the clocks for a status change (rules in the module docstring)."""
    first, resolution = _checked(clocks)
    if new in _DONE:
        return pause(first, now, calendar), stop(resolution, now, calendar)
    if old in _DONE:
        resolution = reopen(resolution, now)
    if new in policy.pausing_statuses:
        return pause(first, now, calendar), pause(resolution, now, calendar)
    return resume(first, now), resume(resolution, now)


def _checked(clocks: SlaClocks) -> SlaClocks:
    first, resolution = clocks
    if first.kind is not ClockKind.FIRST_RESPONSE or resolution.kind is not ClockKind.RESOLUTION:
        raise ValueError(f"clocks must be (first_response, resolution), got ({first.kind}, {resolution.kind})")
    return clocks


def _thresholds(warning_fraction: float) -> tuple[tuple[Moment, float], ...]:
    if not 0 < warning_fraction <= 1:
        raise ValueError(f"warning_fraction must be in (0, 1], got {warning_fraction}")
    return (Moment.WARNING, warning_fraction), (Moment.BREACH, 1.0)


def _reached(clock: SlaClock, fraction: float, now: datetime, calendar: Calendar) -> bool:
    at = moment_at(clock, fraction, calendar)
    if at is None:  # paused: the used minutes are frozen
        return clock.used_minutes >= fraction * clock.budget_minutes
    return as_utc(at) <= as_utc(now, "now")


def _check_fraction(fraction: float) -> None:
    if not (math.isfinite(fraction) and fraction >= 0):
        raise ValueError(f"fraction must be a finite number >= 0, got {fraction}")
