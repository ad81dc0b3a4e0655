"""Ticket ids: prefix by category, base-36 millisecond stamp, three random characters, retry on collision."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ticketing.ids import build_ticket_id, build_unique_ticket_id, prefix_for, to_base36
from ticketing.model import Category

from .builders import NOW

ID_FORMAT = re.compile(r"^[A-Z]+-[0-9A-Z]+-[0-9A-Z]{3}$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SYDNEY_SUMMER = timezone(timedelta(hours=11))

# WedSync's prefixes, written out: seven named ones, TKT for the other eight categories.
EXPECTED_PREFIX = {
    Category.FORM_BUILDER: "FB",
    Category.BILLING: "BIL",
    Category.BUG: "BUG",
    Category.ONBOARDING: "ONB",
    Category.FEATURE_HELP: "FH",
    Category.DATA_LOSS: "DL",
    Category.SECURITY: "SEC",
    Category.JOURNEY_CANVAS: "TKT",
    Category.EMAIL_SYSTEM: "TKT",
    Category.IMPORT_EXPORT: "TKT",
    Category.PERFORMANCE: "TKT",
    Category.SUBSCRIPTION: "TKT",
    Category.REFUND: "TKT",
    Category.TRAINING: "TKT",
    Category.INTEGRATION: "TKT",
}


def _ms_since_epoch(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def test_the_prefix_table_covers_all_fifteen_categories() -> None:
    assert set(EXPECTED_PREFIX) == set(Category)
    assert len(EXPECTED_PREFIX) == 15


@pytest.mark.parametrize(
    ("category", "prefix"),
    [pytest.param(c, p, id=f"{c.value} tickets start with {p}") for c, p in EXPECTED_PREFIX.items()],
)
def test_a_ticket_id_starts_with_its_categorys_prefix(category: Category, prefix: str) -> None:
    ticket_id = build_ticket_id(category, NOW, random.Random(1))
    assert prefix_for(category) == prefix
    assert ticket_id.split("-")[0] == prefix


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param(NOW, id="now"),
        pytest.param(datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC), id="early this century"),
        pytest.param(datetime(2099, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), id="at the end of the century"),
    ],
)
@pytest.mark.parametrize("category", [pytest.param(c, id=c.value) for c in Category])
def test_every_id_has_the_documented_shape_and_at_most_twenty_characters(
    category: Category, moment: datetime
) -> None:
    ticket_id = build_ticket_id(category, moment, random.Random(3))
    assert ID_FORMAT.match(ticket_id), ticket_id
    assert len(ticket_id) <= 20


@pytest.mark.parametrize(
    ("moment", "expected_ms"),
    [
        pytest.param(NOW, 1_749_634_200_000, id="on a whole second"),
        pytest.param(
            datetime(2025, 6, 11, 9, 30, 12, 345000, tzinfo=UTC), 1_749_634_212_345, id="with milliseconds"
        ),
        pytest.param(
            datetime(2025, 6, 11, 9, 30, 12, 345999, tzinfo=UTC),
            1_749_634_212_345,
            id="dropping the microseconds",
        ),
        pytest.param(
            datetime(2025, 6, 11, 20, 30, 0, tzinfo=SYDNEY_SUMMER),
            1_749_634_200_000,
            id="whatever the time zone of now",
        ),
    ],
)
def test_the_middle_of_the_id_decodes_back_to_the_milliseconds_since_the_epoch(
    moment: datetime, expected_ms: int
) -> None:
    middle = build_ticket_id(Category.BILLING, moment, random.Random(5)).split("-")[1]
    assert middle == middle.upper()
    assert int(middle, 36) == expected_ms == _ms_since_epoch(moment)


@pytest.mark.parametrize(
    ("number", "digits"),
    [
        pytest.param(0, "0", id="zero is 0"),
        pytest.param(35, "Z", id="thirty-five is Z"),
        pytest.param(36, "10", id="thirty-six is 10"),
        pytest.param(36**2 - 1, "ZZ", id="1295 is ZZ"),
        pytest.param(1_749_634_200_000, "MBRR10W0", id="a 2025 timestamp is eight digits"),
    ],
)
def test_base36_uses_uppercase_digits_most_significant_first(number: int, digits: str) -> None:
    assert to_base36(number) == digits


def test_base36_refuses_a_negative_number() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        to_base36(-1)


def test_the_same_seed_gives_the_same_id_and_another_seed_another_suffix() -> None:
    first = build_ticket_id(Category.BUG, NOW, random.Random(11))
    again = build_ticket_id(Category.BUG, NOW, random.Random(11))
    suffixes = {build_ticket_id(Category.BUG, NOW, random.Random(seed)).split("-")[2] for seed in range(20)}
    assert first == again
    assert len(suffixes) > 1


def test_a_collision_twice_then_a_free_id_gives_the_third_candidate() -> None:
    replay = random.Random(42)
    candidates = [build_ticket_id(Category.FORM_BUILDER, NOW, replay) for _ in range(3)]
    assert len(set(candidates)) == 3
    asked: list[str] = []

    def taken(candidate: str) -> bool:
        asked.append(candidate)
        return len(asked) <= 2

    ticket_id = build_unique_ticket_id(Category.FORM_BUILDER, NOW, random.Random(42), taken)

    assert ticket_id == candidates[2]
    assert asked == candidates


def test_a_free_first_candidate_is_used_without_retrying() -> None:
    asked: list[str] = []

    def taken(candidate: str) -> bool:
        asked.append(candidate)
        return False

    ticket_id = build_unique_ticket_id(Category.SECURITY, NOW, random.Random(9), taken)

    assert asked == [ticket_id]
    assert ticket_id == build_ticket_id(Category.SECURITY, NOW, random.Random(9))


def test_an_id_space_that_is_always_taken_raises_after_the_given_number_of_attempts() -> None:
    asked: list[str] = []

    def taken(candidate: str) -> bool:
        asked.append(candidate)
        return True

    with pytest.raises(RuntimeError, match="no free ticket id after 20 attempts"):
        build_unique_ticket_id(Category.BILLING, NOW, random.Random(1), taken)
    assert len(asked) == 20

    asked.clear()
    with pytest.raises(RuntimeError, match="after 3 attempts"):
        build_unique_ticket_id(Category.BILLING, NOW, random.Random(1), taken, attempts=3)
    assert len(asked) == 3
