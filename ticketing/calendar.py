"""Business time: a team's opening hours and holidays in its own timezone, counted in minutes.

A `Calendar` answers two questions: when will `m` business minutes have elapsed after a moment
(`add`), and how many business minutes lie between two moments (`minutes_between`). Business minutes
are real elapsed minutes while the team is open, so a day whose hours contain a clock change is an
hour shorter or longer in business time too.

Rules, in the calendar's own timezone (IANA, via zoneinfo):

- `hours` maps a weekday (0 = Monday) to (opening, closing). A weekday that is missing is closed all
  day; a date in `holidays` is closed all day. A closing time of 00:00 means midnight at the end of
  that day, so (00:00, 00:00) is open all day. Hours that run past midnight are not supported.
- A wall-clock time that repeats (the hour the clocks go back) means its first occurrence.
- A wall-clock time that does not exist (the hour the clocks go forward) means the moment the clocks
  jump, the first moment that does exist after it: a team opening at 02:30 on that night opens at
  03:00. An opening hour the clocks skip entirely is not open that day.
- `Calendar.always()` (the default) is open around the clock with no holidays. Its business minutes
  are exactly wall-clock minutes, and it answers in constant time without walking the days.

Every datetime passed in must be timezone-aware (naive ones raise ValueError); results keep the
timezone of the datetime they were computed from. Arithmetic is done on instants (UTC), never on
wall-clock fields.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ticketing.errors import ConfigError

MIDNIGHT = time(0, 0)
ALL_DAY: tuple[time, time] = (MIDNIGHT, MIDNIGHT)
MONDAY_TO_FRIDAY: tuple[int, ...] = (0, 1, 2, 3, 4)

Hours = Mapping[int, tuple[time, time]]
Span = tuple[datetime, datetime]  # [opening, closing) as UTC instants

_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)


def as_utc(moment: datetime, name: str = "moment") -> datetime:
    """The same instant in UTC; a naive datetime is refused, since it names no instant at all."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _around_the_clock() -> Hours:
    return MappingProxyType(dict.fromkeys(range(7), ALL_DAY))


@dataclass(frozen=True)
class Calendar:
    timezone: str = "UTC"
    hours: Hours = field(default_factory=_around_the_clock)
    holidays: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _always: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ConfigError(f"calendar timezone {self.timezone!r} is not a known IANA zone") from error
        hours = MappingProxyType(dict(self.hours))
        _check_hours(hours)
        object.__setattr__(self, "hours", hours)
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "_zone", zone)
        always = not self.holidays and all(hours.get(day) == ALL_DAY for day in range(7))
        object.__setattr__(self, "_always", always)

    def __hash__(self) -> int:
        return hash((self.timezone, frozenset(self.hours.items()), self.holidays))

    @classmethod
    def always(cls) -> Calendar:
        """Open around the clock, every day: business minutes are wall-clock minutes."""
        return cls()

    @classmethod
    def weekly(
        cls,
        timezone: str,
        opening: time,
        closing: time,
        days: Iterable[int] = MONDAY_TO_FRIDAY,
        holidays: Iterable[date] = (),
    ) -> Calendar:
        """The same hours on each of `days` (Monday to Friday unless told), closed on `holidays`."""
        return cls(timezone, dict.fromkeys(days, (opening, closing)), frozenset(holidays))

    @property
    def is_always_open(self) -> bool:
        return self._always

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` business minutes have elapsed, counting from `start`.

        Counting begins at `start` if the calendar is open then, else at the next opening. So
        `add(start, 0)` is `start` itself when open and the next opening when closed (closing time
        itself counts as closed); a positive budget that runs out exactly at closing time ends at
        closing time, not at the next opening. The result is in `start`'s timezone.
        """
        begin = as_utc(start, "start")
        if not math.isfinite(minutes) or minutes < 0:
            raise ValueError(f"minutes must be a finite number >= 0, got {minutes}")
        need = timedelta(minutes=minutes)
        if self._always:
            return (begin + need).astimezone(start.tzinfo)
        for opening, closing in self._spans(begin):
            opening = max(opening, begin)
            if closing <= opening:
                continue
            if need <= closing - opening:
                return (opening + need).astimezone(start.tzinfo)
            need -= closing - opening
        raise AssertionError("unreachable: _spans never ends")  # pragma: no cover

    def minutes_between(self, a: datetime, b: datetime) -> float:
        """Business minutes in [a, b); 0 when b is not after a."""
        start, end = as_utc(a, "a"), as_utc(b, "b")
        if end <= start:
            return 0.0
        if self._always:
            return (end - start).total_seconds() / 60
        total = _ZERO
        for opening, closing in self._spans(start):
            if opening >= end:
                break
            total += max(_ZERO, min(closing, end) - max(opening, start))
        return total.total_seconds() / 60

    def is_open(self, moment: datetime) -> bool:
        """Whether `moment` lies inside opening hours (opening time included, closing time not)."""
        instant = as_utc(moment)
        if self._always:
            return True
        span = self._span(instant.astimezone(self._zone).date())
        return span is not None and span[0] <= instant < span[1]

    def _spans(self, start: datetime) -> Iterator[Span]:
        """Each open day's [opening, closing), in order, from the local day of `start` on. Never ends."""
        day = start.astimezone(self._zone).date()
        while True:
            span = self._span(day)
            if span is not None:
                yield span
            day += _ONE_DAY

    def _span(self, day: date) -> Span | None:
        hours = self.hours.get(day.weekday())
        if hours is None or day in self.holidays:
            return None
        opening_time, closing_time = hours
        closing_day = day + _ONE_DAY if closing_time == MIDNIGHT else day
        opening = _instant(self._zone, datetime.combine(day, opening_time))
        closing = _instant(self._zone, datetime.combine(closing_day, closing_time))
        return (opening, closing) if closing > opening else None


def _check_hours(hours: Hours) -> None:
    if not hours:
        raise ConfigError("calendar hours are empty: give at least one weekday's opening and closing")
    for weekday, pair in hours.items():
        if weekday not in range(7):
            raise ConfigError(f"calendar hours: weekday {weekday!r} is not 0 (Monday) to 6 (Sunday)")
        opening, closing = pair
        if opening.tzinfo is not None or closing.tzinfo is not None:
            raise ConfigError(f"calendar hours for weekday {weekday}: give local times without a timezone")
        if closing != MIDNIGHT and closing <= opening:
            raise ConfigError(
                f"calendar hours for weekday {weekday}: closing {closing} is not after opening {opening} "
                "(use 00:00 for midnight; hours past midnight are not supported)"
            )


def _instant(zone: ZoneInfo, wall: datetime) -> datetime:
    """The UTC instant a local wall-clock time names: the first if it repeats, the jump if it is skipped."""
    wall = wall.replace(fold=0)
    first = wall.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    return _jump(zone, wall)


def _jump(zone: ZoneInfo, wall: datetime) -> datetime:
    """The instant the clocks jump over the skipped `wall`: bisect whole seconds between the two readings."""
    before = math.floor(wall.replace(tzinfo=zone, fold=1).timestamp())  # read with the later offset
    after = math.floor(wall.replace(tzinfo=zone, fold=0).timestamp())  # read with the earlier offset
    offset_after = _offset(zone, after)
    while after - before > 1:
        middle = (before + after) // 2
        if _offset(zone, middle) == offset_after:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def _offset(zone: ZoneInfo, seconds: int) -> timedelta | None:
    return datetime.fromtimestamp(seconds, zone).utcoffset()
