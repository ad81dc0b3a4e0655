"""The merge modal and the card's Merge entry points."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import ActionsBlock, OverflowMenuElement

from blocks.ids import Action, BlockId, Callback, Field, Overflow
from blocks.merge import MergeId, build_merge_modal, merge_button, merge_option
from blocks.parts import option
from tests.ticketing.builders import a_ticket

from .slack_checks import all_text, check_message, check_view


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def test_the_merge_modal_is_valid_and_carries_the_ticket_being_merged() -> None:
    ticket = a_ticket()

    view = check_view(build_merge_modal(ticket, [("FB-MIDQ1Z2K-7QF", "Form won't save")]))

    assert view["callback_id"] == "merge_modal" and view["private_metadata"] == ticket.id
    assert (view["title"]["text"], view["submit"]["text"]) == ("Merge ticket", "Merge")
    assert ticket.id in all_text("", view) and ticket.customer.email in all_text("", view)
    assert "gets one email" in all_text("", view)


def test_the_merge_modal_takes_the_callers_private_metadata_and_refuses_one_too_long() -> None:
    assert check_view(build_merge_modal(a_ticket(), private_metadata="BIL-1"))["private_metadata"] == "BIL-1"
    with pytest.raises(ValueError, match="3000"):
        build_merge_modal(a_ticket(), private_metadata="x" * 3001)


def test_with_candidates_both_inputs_are_optional_and_the_linked_tickets_come_first() -> None:
    candidates = [("FB-AAAAAAAA-001", "Older open one"), ("BIL-BBBBBBBB-002", "Linked one"),
                  ("FB-CCCCCCCC-003", "Another linked")]

    view = check_view(build_merge_modal(a_ticket(), candidates, linked={"BIL-BBBBBBBB-002", "FB-CCCCCCCC-003"}))

    found = inputs(view)
    assert list(found) == ["merge_target", "merge_target_id"]
    assert found["merge_target"]["optional"] is True and found["merge_target_id"]["optional"] is True
    groups = found["merge_target"]["element"]["option_groups"]
    assert [g["label"]["text"] for g in groups] == ["Linked to this ticket", "Other tickets of this customer"]
    assert [[o["value"] for o in g["options"]] for g in groups] == [
        ["BIL-BBBBBBBB-002", "FB-CCCCCCCC-003"], ["FB-AAAAAAAA-001"]]
    assert groups[0]["options"][0]["text"]["text"] == "BIL-BBBBBBBB-002 · Linked one"


def test_one_kind_of_candidate_is_a_plain_list_without_the_ticket_itself_repeats_or_blanks() -> None:
    ticket = a_ticket()
    candidates = [("FB-AAAAAAAA-001", "One"), ("FB-AAAAAAAA-001", "One again"), ("  ", "blank"),
                  (ticket.id, "itself"), ("FB-BBBBBBBB-002", "")]

    view = check_view(build_merge_modal(ticket, candidates))

    element = inputs(view)["merge_target"]["element"]
    assert "option_groups" not in element
    assert [(o["value"], o["text"]["text"]) for o in element["options"]] == [
        ("FB-AAAAAAAA-001", "FB-AAAAAAAA-001 · One"), ("FB-BBBBBBBB-002", "FB-BBBBBBBB-002 · (no subject)")]


def test_without_candidates_the_ticket_id_must_be_typed() -> None:
    view = check_view(build_merge_modal(a_ticket()))

    found = inputs(view)
    assert list(found) == ["merge_target_id"]
    assert not found["merge_target_id"].get("optional")
    element = found["merge_target_id"]["element"]
    assert (element["type"], element["action_id"], element["max_length"]) == ("plain_text_input", "merge_target_id", 40)
    assert found["merge_target_id"]["label"]["text"] == "Merge into (ticket id)"


def test_the_select_stops_at_a_hundred_options() -> None:
    candidates = [(f"FB-{n:08d}-XYZ", f"Ticket {n}") for n in range(150)]

    view = check_view(build_merge_modal(a_ticket(), candidates))

    assert len(inputs(view)["merge_target"]["element"]["options"]) == 100


def test_customer_text_in_subjects_is_escaped_and_cut_to_the_option_length() -> None:
    hostile = "<!channel> & <@U0BOSS> " + "very long subject " * 10

    view = check_view(build_merge_modal(a_ticket(), [("FB-AAAAAAAA-001", hostile)]))  # checks markup and limits

    text = inputs(view)["merge_target"]["element"]["options"][0]["text"]["text"]
    assert text.startswith("FB-AAAAAAAA-001 · &lt;!channel&gt; &amp; &lt;@U0BOSS&gt;") and len(text) <= 75


def test_the_merge_option_and_button_fit_the_card() -> None:
    ticket = a_ticket()
    menu = OverflowMenuElement(action_id=Action.OVERFLOW, options=[
        option("Change priority…", "priority:high"), option("Change category…", "category:billing"),
        option("Add internal note", "note"), merge_option()])

    actions = ActionsBlock(block_id="card_actions:X", elements=[merge_button(ticket.id), menu])

    (block,) = check_message("card", [actions])

    button, overflow = block["elements"]
    assert (button["action_id"], button["value"], button["text"]["text"]) == ("merge_open", ticket.id, "Merge…")
    assert overflow["options"][-1] == {"text": {"type": "plain_text", "text": "Merge into another ticket…",
                                                "emoji": True}, "value": "merge"}


def test_the_merge_ids_collide_with_no_other_id_of_the_desk() -> None:
    ours = {m.value for m in MergeId}
    theirs = {m.value for enum in (Action, Callback, Field, BlockId, Overflow) for m in enum}

    assert len(ours) == len(MergeId) and not ours & theirs
