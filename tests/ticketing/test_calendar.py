"""Business time: opening hours, weekends, holidays and clock changes, counted in minutes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.calendar import ALL_DAY, Calendar, as_utc
from ticketing.errors import ConfigError

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
NINE, FIVE = time(9), time(17)
# England's 2025 bank holidays; Monday 25 August is the summer one.
BANK_HOLIDAYS_2025 = frozenset(
    date(2025, month, day) for month, day in ((1, 1), (4, 18), (4, 21), (5, 5), (5, 26), (8, 25), (12, 25), (12, 26))
)
OFFICE = Calendar.weekly("Europe/London", NINE, FIVE, holidays=BANK_HOLIDAYS_2025)
NY_OFFICE = Calendar.weekly("America/New_York", NINE, FIVE)
# Open all day every day but not "always": a holiday long ago forces the day-by-day path.
ALL_DAY_LONDON_SLOW = Calendar("Europe/London", dict.fromkeys(range(7), ALL_DAY), frozenset({date(1900, 1, 1)}))
# Hours that sit across New York's clock changes (early Sunday), plus ordinary weekdays and a Saturday.
AWKWARD_NY = Calendar(
    "America/New_York",
    {0: (time(8), time(12, 30)), 2: (time(13), time(0)), 5: ALL_DAY, 6: (time(1, 30), time(3))},
    frozenset({date(2025, 7, 4)}),
)


def london(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LONDON, fold=fold)


def new_york(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=NEW_YORK)


# --- weekends, holidays, starts outside hours ---------------------------------------------------------------


def test_friday_at_four_plus_two_business_hours_is_monday_at_ten() -> None:
    friday = london(2025, 6, 13, 16)
    assert OFFICE.add(friday, 120) == london(2025, 6, 16, 10)
    assert OFFICE.minutes_between(friday, london(2025, 6, 16, 10)) == 120


def test_a_monday_bank_holiday_pushes_the_friday_budget_to_tuesday() -> None:
    assert OFFICE.add(london(2025, 8, 22, 16), 120) == london(2025, 8, 26, 10)
    assert Calendar.weekly("Europe/London", NINE, FIVE).add(london(2025, 8, 22, 16), 120) == london(2025, 8, 25, 10)


@pytest.mark.parametrize(
    ("start", "minutes", "end"),
    [
        pytest.param(london(2025, 6, 10, 7), 30, london(2025, 6, 10, 9, 30), id="before opening counts from nine"),
        pytest.param(london(2025, 6, 10, 18), 30, london(2025, 6, 11, 9, 30), id="after closing counts from tomorrow"),
        pytest.param(london(2025, 6, 14, 12), 30, london(2025, 6, 16, 9, 30), id="on saturday counts from monday"),
        pytest.param(london(2025, 6, 10, 16, 30), 60, london(2025, 6, 11, 9, 30), id="overnight carries the rest"),
        pytest.param(london(2025, 6, 10, 16), 60, london(2025, 6, 10, 17), id="running out at closing ends at five"),
        pytest.param(london(2025, 6, 10, 10), 0, london(2025, 6, 10, 10), id="zero minutes while open is the start"),
        pytest.param(london(2025, 6, 10, 9), 0, london(2025, 6, 10, 9), id="zero minutes at opening is the opening"),
        pytest.param(london(2025, 6, 10, 17), 0, london(2025, 6, 11, 9), id="zero minutes at closing is tomorrow"),
        pytest.param(london(2025, 6, 14, 12), 0, london(2025, 6, 16, 9), id="zero minutes on saturday is monday"),
    ],
)
def test_add_counts_only_opening_hours(start: datetime, minutes: float, end: datetime) -> None:
    assert OFFICE.add(start, minutes) == end


def test_a_7200_minute_budget_from_monday_morning_ends_three_weeks_later_on_friday_at_five() -> None:
    # 7,200 minutes is 15 days of 9-to-5: Monday 2 June to Friday 20 June.
    assert OFFICE.add(london(2025, 6, 2, 9), 7200) == london(2025, 6, 20, 17)
    assert OFFICE.minutes_between(london(2025, 6, 2, 9), london(2025, 6, 20, 17)) == 7200


@pytest.mark.parametrize(
    ("a", "b", "minutes"),
    [
        pytest.param(london(2025, 6, 13, 12), london(2025, 6, 16, 12), 480, id="friday noon to monday noon is a day"),
        pytest.param(london(2025, 6, 10, 18), london(2025, 6, 11, 8), 0, id="a closed night is zero"),
        pytest.param(london(2025, 6, 11, 10), london(2025, 6, 10, 10), 0, id="b before a is zero"),
        pytest.param(london(2025, 6, 11, 10), london(2025, 6, 11, 10), 0, id="b equal to a is zero"),
        pytest.param(london(2025, 8, 22, 9), london(2025, 8, 27, 9), 960, id="a bank holiday weekend has two days"),
        pytest.param(london(2025, 6, 10, 9, 0, 30), london(2025, 6, 10, 9, 1), 0.5, id="seconds count as fractions"),
    ],
)
def test_minutes_between_counts_business_minutes_from_a_up_to_b(a: datetime, b: datetime, minutes: float) -> None:
    assert OFFICE.minutes_between(a, b) == minutes


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        pytest.param(london(2025, 6, 10, 9), True, id="open at nine"),
        pytest.param(london(2025, 6, 10, 16, 59), True, id="open at a minute to five"),
        pytest.param(london(2025, 6, 10, 17), False, id="closed at five"),
        pytest.param(london(2025, 8, 25, 12), False, id="closed on a bank holiday"),
        pytest.param(london(2025, 6, 15, 12), False, id="closed on sunday"),
    ],
)
def test_is_open_includes_the_opening_time_and_excludes_the_closing_time(moment: datetime, is_open: bool) -> None:
    assert OFFICE.is_open(moment) is is_open


def test_results_keep_the_timezone_of_the_start() -> None:
    start = datetime(2025, 6, 13, 15, tzinfo=UTC)  # 16:00 in London
    assert OFFICE.add(start, 120) == datetime(2025, 6, 16, 9, tzinfo=UTC)
    assert OFFICE.add(start, 120).tzinfo is UTC


# --- clock changes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "friday", "monday_at_ten", "monday_at_ten_utc"),
    [
        pytest.param(OFFICE, london(2025, 3, 28, 16), london(2025, 3, 31, 10), datetime(2025, 3, 31, 9, tzinfo=UTC),
                     id="london springs forward"),
        pytest.param(OFFICE, london(2025, 10, 24, 16), london(2025, 10, 27, 10), datetime(2025, 10, 27, 10, tzinfo=UTC),
                     id="london falls back"),
        pytest.param(NY_OFFICE, new_york(2025, 3, 7, 16), new_york(2025, 3, 10, 10),
                     datetime(2025, 3, 10, 14, tzinfo=UTC), id="new york springs forward"),
        pytest.param(NY_OFFICE, new_york(2025, 10, 31, 16), new_york(2025, 11, 3, 10),
                     datetime(2025, 11, 3, 15, tzinfo=UTC), id="new york falls back"),
    ],
)
def test_a_clock_change_weekend_still_ends_monday_at_ten_local_time(
    calendar: Calendar, friday: datetime, monday_at_ten: datetime, monday_at_ten_utc: datetime
) -> None:
    end = calendar.add(friday, 120)
    assert as_utc(end) == monday_at_ten_utc
    assert end == monday_at_ten
    assert calendar.minutes_between(friday, monday_at_ten) == 120


@pytest.mark.parametrize(
    ("sunday", "minutes"),
    [
        pytest.param(date(2025, 3, 30), 23 * 60, id="the spring-forward sunday is 23 hours long"),
        pytest.param(date(2025, 10, 26), 25 * 60, id="the fall-back sunday is 25 hours long"),
        pytest.param(date(2025, 6, 15), 24 * 60, id="an ordinary sunday is 24 hours long"),
    ],
)
def test_a_day_open_all_day_counts_its_real_length(sunday: date, minutes: int) -> None:
    midnight = datetime.combine(sunday, time(0), LONDON)
    next_midnight = datetime.combine(sunday + timedelta(days=1), time(0), LONDON)
    assert ALL_DAY_LONDON_SLOW.minutes_between(midnight, next_midnight) == minutes
    assert ALL_DAY_LONDON_SLOW.add(midnight, minutes) == next_midnight


def test_an_opening_time_the_clocks_skip_opens_at_the_jump() -> None:
    # 9 March 2025: New York's clocks go from 02:00 EST straight to 03:00 EDT.
    calendar = Calendar("America/New_York", {6: (time(2, 30), time(4))})
    sunday = new_york(2025, 3, 9)
    assert as_utc(calendar.add(sunday, 0)) == datetime(2025, 3, 9, 7, tzinfo=UTC)  # 03:00 EDT
    assert calendar.minutes_between(sunday, new_york(2025, 3, 10)) == 60
    assert calendar.minutes_between(new_york(2025, 3, 16), new_york(2025, 3, 17)) == 90  # a week later


def test_an_opening_time_that_repeats_means_its_first_occurrence_and_the_repeat_counts_twice() -> None:
    # 2 November 2025: New York's clocks go back from 02:00 EDT to 01:00 EST; 01:30 happens twice.
    calendar = Calendar("America/New_York", {6: (time(1, 30), time(3))})
    sunday = new_york(2025, 11, 2)
    assert as_utc(calendar.add(sunday, 0)) == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert calendar.minutes_between(sunday, new_york(2025, 11, 3)) == 150
    assert as_utc(calendar.add(sunday, 150)) == datetime(2025, 11, 2, 8, tzinfo=UTC)  # 03:00 EST


# --- the 24/7 calendar ----------------------------------------------------------------------------------------


def test_the_default_calendar_is_always_open_and_a_holiday_or_closed_day_makes_it_not() -> None:
    assert Calendar() == Calendar.always()
    assert Calendar.always().is_always_open
    assert Calendar("Europe/London").is_always_open
    assert not ALL_DAY_LONDON_SLOW.is_always_open
    assert not Calendar("UTC", {day: ALL_DAY for day in range(6)}).is_always_open


def test_the_24_7_calendar_crosses_the_repeated_hour_by_real_minutes() -> None:
    # 00:30 BST is 23:30 UTC; two hours later is 01:30 UTC, i.e. the second 01:30 in London.
    start = london(2025, 10, 26, 0, 30)
    end = Calendar.always().add(start, 120)
    assert as_utc(end) == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    assert end.utcoffset() == timedelta(0)
    assert Calendar.always().minutes_between(start, london(2025, 10, 26, 1, 30, fold=1)) == 120


def test_the_24_7_calendar_answers_a_span_of_centuries_without_walking_the_days(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_walking(self: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        raise AssertionError("the 24/7 calendar walked the days")

    monkeypatch.setattr(Calendar, "_spans", no_walking)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    assert Calendar.always().add(start, 100_000_000) == start + timedelta(minutes=100_000_000)
    assert Calendar.always().minutes_between(start, start + timedelta(days=36_500)) == 36_500 * 24 * 60


# --- refusals -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "calendar", [pytest.param(OFFICE, id="business hours"), pytest.param(Calendar.always(), id="24/7")]
)
def test_naive_datetimes_are_refused(calendar: Calendar) -> None:
    naive, aware = datetime(2025, 6, 10, 10), london(2025, 6, 10, 10)
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        calendar.add(naive, 10)
    with pytest.raises(ValueError, match="a must be timezone-aware"):
        calendar.minutes_between(naive, aware)
    with pytest.raises(ValueError, match="b must be timezone-aware"):
        calendar.minutes_between(aware, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.is_open(naive)


@pytest.mark.parametrize("minutes", [-1, float("nan"), float("inf")])
def test_add_refuses_negative_or_non_finite_minutes(minutes: float) -> None:
    with pytest.raises(ValueError, match="finite number >= 0"):
        OFFICE.add(london(2025, 6, 10, 10), minutes)


@pytest.mark.parametrize(
    ("timezone", "hours", "message"),
    [
        pytest.param("Mars/Olympus_Mons", {0: (NINE, FIVE)}, "not a known IANA zone", id="an unknown zone"),
        pytest.param("UTC", {}, "hours are empty", id="no hours at all"),
        pytest.param("UTC", {7: (NINE, FIVE)}, "weekday 7 is not 0", id="a weekday past sunday"),
        pytest.param("UTC", {0: (FIVE, NINE)}, "closing 09:00:00 is not after opening 17:00:00", id="backwards"),
        pytest.param("UTC", {0: (NINE, NINE)}, "is not after opening", id="open for no time"),
        pytest.param("UTC", {0: (NINE, time(17, tzinfo=UTC))}, "without a timezone", id="an aware time"),
    ],
)
def test_a_calendar_refuses_configuration_it_cannot_count_with(
    timezone: str, hours: dict[int, tuple[time, time]], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Calendar(timezone, hours)


def test_a_calendar_is_immune_to_later_changes_to_the_hours_it_was_given_and_is_hashable() -> None:
    hours = {0: (NINE, FIVE)}
    calendar = Calendar("UTC", hours)
    hours[1] = (NINE, FIVE)
    assert 1 not in calendar.hours
    assert calendar == Calendar("UTC", {0: (NINE, FIVE)})
    assert len({calendar, Calendar("UTC", {0: (NINE, FIVE)})}) == 1


# --- properties -----------------------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from([UTC, LONDON, NEW_YORK]),
)
budgets = st.floats(min_value=0, max_value=20_000, allow_nan=False)
calendars = st.sampled_from([OFFICE, NY_OFFICE, AWKWARD_NY, ALL_DAY_LONDON_SLOW, Calendar.always()])


@given(calendar=calendars, start=starts, minutes=budgets)
def test_the_minutes_between_a_start_and_add_of_m_minutes_are_m(
    calendar: Calendar, start: datetime, minutes: float
) -> None:
    assert calendar.minutes_between(start, calendar.add(start, minutes)) == pytest.approx(minutes, abs=1e-6)


@given(calendar=calendars, start=starts, first=budgets, second=budgets)
def test_add_never_goes_backwards_as_the_minutes_grow(
    calendar: Calendar, start: datetime, first: float, second: float
) -> None:
    fewer, more = sorted((first, second))
    assert as_utc(start) <= as_utc(calendar.add(start, fewer)) <= as_utc(calendar.add(start, more))


@given(calendar=st.sampled_from([Calendar.always(), ALL_DAY_LONDON_SLOW]), start=starts, minutes=budgets)
def test_a_calendar_open_all_day_every_day_is_plain_timedelta_arithmetic(
    calendar: Calendar, start: datetime, minutes: float
) -> None:
    end = start.astimezone(UTC) + timedelta(minutes=minutes)
    assert as_utc(calendar.add(start, minutes)) == end
    assert calendar.minutes_between(start, end) == pytest.approx(minutes, abs=1e-6)


def _open_by_the_wall_clock(moment: datetime) -> bool:
    local = moment.astimezone(LONDON)
    return local.weekday() < 5 and local.date() not in BANK_HOLIDAYS_2025 and NINE <= local.time() < FIVE


def _add_minute_by_minute(start: datetime, minutes: int) -> datetime:
    """A slow, obviously right `add` for whole minutes: step one minute at a time, counting the open ones."""
    step, moment, counted = timedelta(minutes=1), start, 0
    while minutes == 0 and not _open_by_the_wall_clock(moment):
        moment += step
    while counted < minutes:
        counted += _open_by_the_wall_clock(moment)
        moment += step
    return moment


@settings(max_examples=40, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2025, 12, 20)).map(
        lambda moment: moment.replace(second=0, microsecond=0, tzinfo=UTC)
    ),
    minutes=st.integers(min_value=0, max_value=960),
)
def test_add_agrees_with_counting_open_minutes_one_by_one(start: datetime, minutes: int) -> None:
    assert OFFICE.add(start, minutes) == _add_minute_by_minute(start, minutes)
