"""The ids bot and blocks agree on."""

from __future__ import annotations

import pytest

from blocks.ids import (
    Action,
    AfterSend,
    BlockId,
    Callback,
    Field,
    Overflow,
    card_actions_block_id,
    overflow_value,
    parse_overflow_value,
    ticket_id_from_block_id,
)


def test_the_action_ids_are_the_documented_ones() -> None:
    assert {a.value for a in Action} == {
        "assign_me", "assign_pick", "reply", "escalate", "resolve", "overflow", "undo_send", "send_now",
        "keep_note", "acknowledge", "open_thread", "founder_assign_me", "open_dashboard", "dashboard_link",
    }


def test_the_callback_ids_are_the_documented_ones() -> None:
    assert {c.value for c in Callback} == {
        "reply_modal", "escalate_modal", "note_modal", "priority_modal", "category_modal", "new_ticket_modal",
        "dashboard_modal",
    }


def test_the_modal_fields_and_after_send_choices_are_the_documented_ones() -> None:
    assert {f.value for f in Field} == {
        "canned", "body", "after_send", "reason", "note", "customer_email", "subject", "description", "source",
        "priority", "category", "files",
    }
    assert {a.value for a in AfterSend} == {"keep_open", "wait_customer", "resolve"}


def test_no_id_is_used_for_two_things_or_is_too_long_for_slack() -> None:
    ids = [*Action, *Callback, *BlockId]
    assert len({i.value for i in ids}) == len(ids)
    assert all(1 <= len(i) <= 255 for i in [*ids, *Field])


@pytest.mark.parametrize(
    ("kind", "current", "value"),
    [
        (Overflow.PRIORITY, "high", "priority:high"),
        (Overflow.CATEGORY, "form_builder", "category:form_builder"),
        (Overflow.NOTE, None, "note"),
    ],
)
def test_overflow_values_round_trip(kind: Overflow, current: str | None, value: str) -> None:
    assert overflow_value(kind, current) == value
    assert parse_overflow_value(value) == (kind, current)


def test_an_unknown_overflow_value_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_overflow_value("delete:everything")


def test_the_card_actions_block_id_carries_the_ticket_id() -> None:
    block_id = card_actions_block_id("BIL-MIDQ1Z2K-7QF")

    assert block_id == "card_actions:BIL-MIDQ1Z2K-7QF"
    assert ticket_id_from_block_id(block_id) == "BIL-MIDQ1Z2K-7QF"
    assert ticket_id_from_block_id("preview") is None
    assert ticket_id_from_block_id("other:BIL-1") is None
