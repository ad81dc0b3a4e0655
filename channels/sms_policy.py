"""The SMS channel's decisions, pure (no I/O, no clock): fitting a body into one Twilio message, grouping the
alerts that piled up for a person into one text, the per-person-per-ticket throttle, and quiet hours.

The outbox and the database are the caller's: it looks up when a person was last texted about a ticket, what
is pending for them and their quiet hours, asks these functions what to do, and hands the text to
`channels.sms.SmsSender`.

Lengths are counted in characters as Python counts them (code points), as Twilio's 1,600-character limit does.
All datetimes must be timezone-aware (naive ones raise ValueError).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ticketing.model import PRIORITY_LADDER, Priority

__all__ = [
    "ELLIPSIS",
    "SMS_LIMIT",
    "THROTTLE_WINDOW",
    "Alert",
    "AlertKind",
    "QuietHours",
    "SmsThrottle",
    "fit_sms",
    "group_alerts",
    "most_severe_first",
    "should_send_now",
]

SMS_LIMIT = 1600  # Twilio refuses longer bodies (error 21617)
ELLIPSIS = "…"
THROTTLE_WINDOW = timedelta(minutes=15)

# A cut at a word boundary is used only when it keeps at least this share of the room; a text that is one
# enormous "word" (a URL, a stack trace) is cut mid-word instead of losing most of it.
_MIN_WORD_CUT_SHARE = 0.5
_TRAILING_JUNK = " \t\r\n,;:-–—"


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


# --- fitting -------------------------------------------------------------------------------------------


def fit_sms(text: str, limit: int = SMS_LIMIT) -> str:
    """`text` unchanged when it has at most `limit` characters; else cut at the last word boundary that
    leaves room for "…" (mid-word when the text has no usable boundary), trailing spaces and separators
    dropped, and "…" appended: the result always has at most `limit` characters."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    head = text[: room + 1]  # one more: a space just after the cut means the cut is at a boundary
    boundary = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    cut = text[:boundary] if boundary >= room * _MIN_WORD_CUT_SHARE else text[:room]
    cut = cut.rstrip(_TRAILING_JUNK) or text[:room]
    return cut + ELLIPSIS


# --- grouping ------------------------------------------------------------------------------------------


class AlertKind(StrEnum):
    SLA_BREACH = "sla_breach"
    ESCALATION = "escalation"


_KIND_RANK: dict[AlertKind, int] = {AlertKind.SLA_BREACH: 0, AlertKind.ESCALATION: 1}
_PRIORITY_RANK: dict[Priority, int] = {p: -index for index, p in enumerate(PRIORITY_LADDER)}  # critical lowest


@dataclass(frozen=True)
class Alert:
    """One thing a manager should hear about. `summary` is the text after the ticket id, e.g.
    "breached (critical, billing)" or "escalated to level 2"."""

    ticket_id: str
    kind: AlertKind
    priority: Priority
    summary: str
    created_at: datetime

    @property
    def text(self) -> str:
        """The alert on one line: ticket id and summary, whitespace runs (newlines too) made one space."""
        return " ".join(f"{self.ticket_id} {self.summary}".split())


def most_severe_first(alerts: Sequence[Alert]) -> list[Alert]:
    """Highest priority first; then SLA breaches before escalations; then oldest first; then by ticket id."""
    return sorted(
        alerts,
        key=lambda a: (_PRIORITY_RANK[a.priority], _KIND_RANK[a.kind], a.created_at.astimezone(UTC), a.ticket_id),
    )


def group_alerts(alerts: Sequence[Alert], limit: int = SMS_LIMIT) -> str:
    """One message for everything pending for a person, most severe first, within `limit` characters:
    "3 alerts: BIL-1 breached (critical, billing); FB-2 escalated to level 2; BUG-3 …". Alerts that do not
    fit are counted at the end ("; and 4 more"); they are never skipped to fit a later one, so what is shown
    is always the most severe. A single alert is its own text. An empty sequence raises ValueError."""
    if not alerts:
        raise ValueError("no alerts to group")
    for alert in alerts:
        _require_aware(alert.created_at, "Alert.created_at")
    lines = [alert.text for alert in most_severe_first(alerts)]
    if len(lines) == 1:
        return fit_sms(lines[0], limit)
    total = len(lines)
    header = f"{total} alerts: "
    shown = ""
    for index, line in enumerate(lines):
        candidate = line if index == 0 else f"{shown}; {line}"
        rest = total - index - 1
        tail = f"; and {rest} more" if rest else ""
        if len(header) + len(candidate) + len(tail) <= limit:
            shown = candidate
            continue
        if index == 0:  # not even the most severe alert fits whole: cut it, count the others
            shown = fit_sms(line, max(1, limit - len(header) - len(tail)))
            return fit_sms(header + shown + tail, limit)
        return fit_sms(f"{header}{shown}; and {total - index} more", limit)
    return header + shown


# --- throttle ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsThrottle:
    """At most one SMS per person per ticket per `window` (15 minutes). The caller keeps when it last texted
    each (person, ticket) and passes that in; alerts held back stay pending and are grouped later."""

    window: timedelta = THROTTLE_WINDOW

    def may_send(
        self,
        person: str,
        ticket_id: str,
        now: datetime,
        last_sent: datetime | None,
        window: timedelta | None = None,
    ) -> bool:
        """Whether `person` may be texted about `ticket_id` at `now`, given when they last were (None: never).
        Exactly `window` after the last SMS is allowed again. A `last_sent` in the future (clock skew) counts
        as just now. `person` and `ticket_id` name the pair `last_sent` belongs to; the rule needs no more."""
        _require_aware(now, "now")
        if last_sent is None:
            return True
        _require_aware(last_sent, "last_sent")
        return now - last_sent >= (self.window if window is None else window)

    def next_allowed(self, last_sent: datetime, window: timedelta | None = None) -> datetime:
        """When the next SMS about the same ticket may go to the same person."""
        _require_aware(last_sent, "last_sent")
        return last_sent + (self.window if window is None else window)


# --- quiet hours ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """A person's nightly quiet time, on their own wall clock: from `start` (inclusive) to `end` (exclusive),
    crossing midnight when `start` is after `end` (22:00-07:00). `timezone` is an IANA name; DST is followed,
    so 07:00 means 07:00 on the local clock whatever the offset. Equal start and end raise ValueError (leave
    quiet hours out instead)."""

    start: time
    end: time
    timezone: str

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are local wall-clock times: give naive times and a timezone")
        if self.start == self.end:
            raise ValueError("quiet hours need different start and end times")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _quiet_at(self, clock: time) -> bool:
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def is_quiet(self, now: datetime) -> bool:
        _require_aware(now, "now")
        return self._quiet_at(now.astimezone(self.zone).time().replace(tzinfo=None))

    def next_allowed(self, now: datetime) -> datetime:
        """`now` when it is not quiet; else the first instant the person's clock shows `end` (when `end` falls
        in a DST gap, the instant the clock jumps past it). Returned in `now`'s timezone."""
        _require_aware(now, "now")
        if not self.is_quiet(now):
            return now
        local = now.astimezone(self.zone)
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)  # quiet since this evening: it ends tomorrow morning
        return _first_instant_showing(day, self.end, self.zone).astimezone(now.tzinfo)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _first_instant_showing(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local clock in `zone` shows `day` `clock` or later."""
    wall = datetime.combine(day, clock)
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # fold=0: the first of a repeated hour
    if _wall(instant, zone) == wall:
        return instant
    # Skipped by a DST jump: fold=1 reads it with the later offset (an instant before the jump), fold=0
    # with the earlier one (after it). Find the jump between them, to the second.
    before = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    after = int(instant.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if _wall(datetime.fromtimestamp(middle, UTC), zone) >= wall:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def should_send_now(quiet: QuietHours | None, now: datetime, critical: bool) -> bool:
    """Critical tickets override quiet hours; otherwise an alert in quiet hours is held until
    `quiet.next_allowed(now)` (and then grouped with whatever else piled up)."""
    _require_aware(now, "now")
    if critical or quiet is None:
        return True
    return not quiet.is_quiet(now)
