"""Modals: reply, escalate, note, priority, category, and `/ticket new`."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.views import View

from blocks.modals import (
    build_category_modal,
    build_escalate_modal,
    build_new_ticket_modal,
    build_note_modal,
    build_priority_modal,
    build_reply_modal,
    canned_value,
)
from tests.ticketing.builders import NOW, a_ticket
from ticketing.escalation import escalate
from ticketing.model import Category, Priority, Ticket

from .slack_checks import all_text, check_view

CANNED = [
    ("Payment failed", "Hi Amelia, sorry your payment failed. Please try again."),
    ("Form not saving", "Hi Amelia, we're looking into the form builder."),
    ("Refunds & credits", "Refunds take <5 working days> & appear on your statement."),
]


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def options(element: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options", []))
    for group in element.get("option_groups", []):
        found.extend(group["options"])
    return found


def test_the_reply_modal_is_valid_and_carries_the_ticket_id() -> None:
    ticket = a_ticket()

    view = check_view(build_reply_modal(ticket, CANNED))

    assert view["callback_id"] == "reply_modal"
    assert view["private_metadata"] == ticket.id
    assert view["submit"]["text"] == "Send to customer"
    assert ticket.id in all_text("", view)


def test_the_reply_modal_takes_the_callers_private_metadata() -> None:
    view = check_view(build_reply_modal(a_ticket(), CANNED, private_metadata='{"ticket": "BIL-1", "ts": "1.2"}'))

    assert view["private_metadata"] == '{"ticket": "BIL-1", "ts": "1.2"}'


def test_private_metadata_over_3000_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="private_metadata"):
        build_reply_modal(a_ticket(), CANNED, private_metadata="x" * 3001)


def test_the_reply_modal_offers_canned_responses_free_text_and_what_happens_after() -> None:
    view = check_view(build_reply_modal(a_ticket(), CANNED))

    fields = inputs(view)
    assert list(fields) == ["canned", "body", "files", "after_send"]
    canned, body, after = fields["canned"], fields["body"], fields["after_send"]
    assert canned["element"]["type"] == "static_select"
    assert [o["value"] for o in options(canned["element"])] == [name for name, _ in CANNED]
    assert "initial_option" not in canned["element"]
    assert canned["optional"] is True and canned["dispatch_action"] is True
    assert body["element"]["type"] == "plain_text_input" and body["element"]["multiline"] is True
    assert body["optional"] is True
    assert after["element"]["type"] == "radio_buttons"
    assert [(o["value"], o["text"]["text"]) for o in after["element"]["options"]] == [
        ("keep_open", "Keep open"), ("wait_customer", "Wait on customer"), ("resolve", "Resolve"),
    ]
    assert after["element"]["initial_option"]["value"] == "wait_customer"
    assert {b["block_id"]: b["element"]["action_id"] for b in fields.values()} == {f: f for f in fields}


def test_the_preview_asks_for_a_choice_until_one_is_made() -> None:
    view = check_view(build_reply_modal(a_ticket(), CANNED))

    preview = next(b for b in view["blocks"] if b.get("block_id") == "preview")
    assert "Choose a canned response" in preview["text"]["text"]


def test_a_chosen_canned_response_starts_selected_and_its_text_shows_escaped_in_the_preview() -> None:
    view = check_view(build_reply_modal(a_ticket(), CANNED, selected="Refunds & credits"))

    select = inputs(view)["canned"]["element"]
    assert select["initial_option"]["value"] == "Refunds & credits"
    assert select["initial_option"]["text"]["text"] == "Refunds &amp; credits"
    preview = next(b for b in view["blocks"] if b.get("block_id") == "preview")
    assert preview["text"]["text"] == (
        "*Refunds &amp; credits*\nRefunds take &lt;5 working days&gt; &amp; appear on your statement."
    )


def test_suggestions_come_first_in_their_own_group_with_their_score_and_are_not_repeated() -> None:
    view = check_view(build_reply_modal(a_ticket(), CANNED, [("Form not saving", CANNED[1][1], 0.91)]))

    groups = inputs(view)["canned"]["element"]["option_groups"]
    assert [g["label"]["text"] for g in groups] == ["Suggested", "All responses"]
    assert [o["text"]["text"] for o in groups[0]["options"]] == ["⭐ Form not saving · 91%"]
    assert [o["value"] for o in groups[1]["options"]] == ["Payment failed", "Refunds & credits"]


def test_more_than_100_canned_responses_are_capped_at_slacks_100_options() -> None:
    many = [(f"Response {n}", f"Text {n}") for n in range(250)]

    view = check_view(build_reply_modal(a_ticket(), many))

    assert len(options(inputs(view)["canned"]["element"])) == 100


def test_a_long_canned_name_is_cut_for_display_and_keeps_a_stable_distinct_value() -> None:
    long_a, long_b = "A" * 200, "A" * 199 + "B"

    view = check_view(build_reply_modal(a_ticket(), [(long_a, "a"), (long_b, "b")], selected=long_b))

    found = options(inputs(view)["canned"]["element"])
    assert [o["value"] for o in found] == [canned_value(long_a), canned_value(long_b)]
    assert canned_value(long_a) != canned_value(long_b)
    assert canned_value(long_a) == canned_value("A" * 200)
    assert inputs(view)["canned"]["element"]["initial_option"]["value"] == canned_value(long_b)


def test_without_canned_responses_the_reply_modal_is_free_text_only() -> None:
    view = check_view(build_reply_modal(a_ticket(), []))

    assert list(inputs(view)) == ["body", "files", "after_send"]


def test_the_escalate_modal_needs_a_reason_and_says_who_hears_it_next() -> None:
    ticket = a_ticket(priority=Priority.HIGH)
    once = escalate(ticket, "slow", NOW)

    first = check_view(build_escalate_modal(ticket))
    second = check_view(build_escalate_modal(once))

    assert first["callback_id"] == "escalate_modal"
    reason = inputs(first)["reason"]
    assert "optional" not in reason and reason["element"]["action_id"] == "reason"
    assert "Level 1: a senior agent of the team is told" in all_text("", first)
    assert "priority goes from 🟠 High to 🔴 Critical" in all_text("", first)
    assert "Level 2: the team lead is told; priority stays 🔴 Critical" in all_text("", second)


def test_the_note_modal_needs_the_note() -> None:
    view = check_view(build_note_modal(a_ticket()))

    assert view["callback_id"] == "note_modal"
    note = inputs(view)["note"]
    assert "optional" not in note and note["element"]["multiline"] is True


@pytest.mark.parametrize("current", list(Priority))
def test_the_priority_modal_offers_every_priority_but_the_current_one(current: Priority) -> None:
    view = check_view(build_priority_modal(a_ticket(priority=current)))

    assert view["callback_id"] == "priority_modal"
    offered = [o["value"] for o in options(inputs(view)["priority"]["element"])]
    assert offered == [p.value for p in Priority if p is not current]


@pytest.mark.parametrize("current", list(Category))
def test_the_category_modal_offers_all_15_with_the_current_one_chosen(current: Category) -> None:
    view = check_view(build_category_modal(a_ticket(category=current)))

    select = inputs(view)["category"]["element"]
    assert view["callback_id"] == "category_modal"
    assert [o["value"] for o in options(select)] == [c.value for c in Category]
    assert len(options(select)) == 15
    assert select["initial_option"]["value"] == current.value


def test_the_new_ticket_modal_asks_for_email_subject_description_and_source() -> None:
    view = check_view(build_new_ticket_modal())

    assert view["callback_id"] == "new_ticket_modal"
    assert "private_metadata" not in view
    fields = inputs(view)
    assert list(fields) == ["customer_email", "subject", "description", "source"]
    assert fields["customer_email"]["element"]["type"] == "email_text_input"
    assert fields["subject"]["element"].get("multiline") is not True
    assert fields["description"]["element"]["multiline"] is True
    source = fields["source"]["element"]
    assert [o["value"] for o in source["options"]] == ["phone", "chat", "email", "form", "api"]
    assert source["initial_option"]["value"] == "phone"


@pytest.mark.parametrize(
    "build",
    [
        lambda t: build_reply_modal(t, CANNED),
        build_escalate_modal,
        build_note_modal,
        build_priority_modal,
        build_category_modal,
    ],
    ids=["reply", "escalate", "note", "priority", "category"],
)
def test_every_ticket_modal_escapes_the_subject(build: Any) -> None:
    ticket: Ticket = a_ticket(subject="<!channel> <@U123> & <b>")

    view: View = build(ticket)

    assert "&lt;!channel&gt; &lt;@U123&gt; &amp; &lt;b&gt;" in all_text("", check_view(view))


def test_the_reply_modal_has_an_optional_file_input_for_attachments() -> None:
    from blocks.modals import MAX_REPLY_FILES, build_reply_modal
    from tests.fakes.slack_api import validate_view

    view = build_reply_modal(a_ticket(), [], private_metadata="x").to_dict()
    (files,) = [b for b in view["blocks"] if b.get("block_id") == "files"]
    assert files["optional"] is True
    assert files["element"] == {"type": "file_input", "action_id": "files", "max_files": MAX_REPLY_FILES}
    assert validate_view(view) == []
