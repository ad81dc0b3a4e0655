"""The App Home: my tickets, the queue, the numbers, and never more than 100 blocks."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError, replace
from datetime import timedelta
from typing import Any

import pytest

from blocks.home import HomeStats, build_home, share
from tests.ticketing.builders import NOW, a_customer, a_ticket
from ticketing.model import Priority, Ticket

from .slack_checks import all_text, check_view

STATS = HomeStats(
    open_by_priority={Priority.CRITICAL: 2, Priority.HIGH: 5, Priority.LOW: 1},
    avg_first_response=timedelta(minutes=24),
    avg_resolution=timedelta(hours=9, minutes=30),
    csat=0.93,
)


def tickets(count: int, prefix: str) -> list[Ticket]:
    base = a_ticket()
    return [replace(base, id=f"{prefix}-{n:03d}", subject=f"Subject {n}") for n in range(count)]


def home(mine: list[Ticket], queue: list[Ticket], stats: HomeStats = STATS) -> dict[str, Any]:
    return check_view(build_home("Sam", mine, queue, stats, NOW))


def rows(view: dict[str, Any], verb: str) -> list[dict[str, Any]]:
    return [b for b in view["blocks"] if b.get("accessory", {}).get("text", {}).get("text") == verb]


def test_the_home_tab_is_a_valid_home_view_greeting_the_agent() -> None:
    view = home(tickets(2, "MINE"), tickets(3, "Q"))

    assert view["type"] == "home"
    assert view["blocks"][0]["text"]["text"] == "👋 Hi Sam"
    assert "<!date^" in view["blocks"][1]["elements"][0]["text"]


def test_my_tickets_come_in_the_given_order_with_due_dates_and_a_reply_button() -> None:
    mine = tickets(3, "MINE")[::-1]

    view = home(mine, [])

    mine_rows = rows(view, "Reply")
    assert [r["accessory"]["value"] for r in mine_rows] == ["MINE-002", "MINE-001", "MINE-000"]
    assert all(r["accessory"]["action_id"] == "reply" for r in mine_rows)
    assert all("first response <!date^" in r["text"]["text"] for r in mine_rows)
    assert "*Your open tickets* (3)" in all_text("", view)


def test_the_queue_offers_assign_to_me() -> None:
    view = home([], tickets(2, "Q"))

    queue_rows = rows(view, "Assign to me")
    assert [(r["accessory"]["action_id"], r["accessory"]["value"]) for r in queue_rows] == [
        ("assign_me", "Q-000"), ("assign_me", "Q-001"),
    ]
    assert "Nothing assigned to you" in all_text("", view)


def test_empty_lists_say_so() -> None:
    text = all_text("", home([], []))

    assert "Nothing assigned to you. 🎉" in text
    assert "The queue is empty." in text


def test_the_numbers_compare_with_the_targets() -> None:
    text = all_text("", home([], []))

    assert "*Open tickets*: 8\n🔴 Critical 2 · 🟠 High 5 · 🟡 Medium 0 · 🟢 Low 1" in text
    assert "✅ 24 min · target 30 min" in text
    assert "⚠️ 9 h 30 min · target 8 h" in text
    assert "✅ 93% · target 90%" in text


def test_numbers_without_data_say_so() -> None:
    text = all_text("", home([], [], HomeStats()))

    assert "no data yet · target 30 min" in text
    assert "no data yet · target 8 h" in text
    assert "no ratings yet · target 90%" in text


def test_home_stats_are_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        STATS.csat = 0.5  # type: ignore[misc]


@pytest.mark.parametrize(("mine", "queue"), [(300, 0), (0, 300), (300, 300), (10, 300), (300, 10), (92, 0)])
def test_long_lists_stop_at_and_n_more_within_100_blocks(mine: int, queue: int) -> None:
    view = home(tickets(mine, "MINE"), tickets(queue, "Q"))

    assert len(view["blocks"]) <= 100
    text = all_text("", view)
    more = [int(n.replace(",", "")) for n in re.findall(r"and ([\d,]+) more", text)]
    assert len(rows(view, "Reply")) + len(rows(view, "Assign to me")) + sum(more) == mine + queue


def test_customer_text_is_escaped_in_the_home_tab() -> None:
    evil = a_ticket(subject="<!channel> & <b>", customer=a_customer(name="<@U123>"))

    text = all_text("", home([evil], [evil]))

    assert "&lt;!channel&gt; &amp; &lt;b&gt;" in text
    assert "&lt;@U123&gt;" in text


@pytest.mark.parametrize(
    ("first", "second", "budget", "expected"),
    [
        (3, 4, 92, (3, 4)),
        (0, 0, 92, (1, 1)),
        (10, 300, 92, (10, 82)),
        (300, 10, 92, (82, 10)),
        (300, 300, 92, (46, 46)),
    ],
)
def test_share_splits_the_rows_fairly(first: int, second: int, budget: int, expected: tuple[int, int]) -> None:
    assert share(first, second, budget) == expected
