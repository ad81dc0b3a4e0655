"""The ticket card and the customer's message that opens its thread."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from blocks.card import build_customer_message, build_ticket_card, customer_label
from blocks.text import unescape
from tests.ticketing.builders import NOW, a_customer, a_customer_reply, a_ticket, a_ticket_in
from ticketing.escalation import escalate
from ticketing.model import (
    Attachment,
    Category,
    Classification,
    Priority,
    Status,
    Ticket,
    TicketType,
    Tier,
    UserType,
)

from .slack_checks import all_text, check_message

EVIL = "<!channel> <@U123> & <b>"
EVIL_ESCAPED = "&lt;!channel&gt; &lt;@U123&gt; &amp; &lt;b&gt;"
DATE = re.compile(r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>")


def card(ticket: Ticket, **overrides: Any) -> tuple[str, list[dict[str, Any]]]:
    values: dict[str, Any] = {
        "customer_label": customer_label(ticket.customer),
        "assignee_name": None,
        "reason": "routed to customer_success",
    }
    values.update(overrides)
    text, blocks = build_ticket_card(ticket, NOW, **values)
    return text, check_message(text, blocks)


def field(blocks: list[dict[str, Any]], title: str) -> str:
    for block in blocks:
        for item in block.get("fields", []):
            if item["text"].startswith(f"*{title}*\n"):
                return str(item["text"].split("\n", 1)[1])
    raise AssertionError(f"no field {title!r}")


def actions(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_the_card_is_valid_block_kit_within_slack_limits() -> None:
    text, blocks = card(a_ticket())

    assert blocks[0]["type"] == "header"
    assert "Question about my client portal" in text


def test_the_header_names_the_ticket_and_its_subject() -> None:
    ticket = a_ticket(subject="Payment failed twice")

    _, blocks = card(ticket)

    assert blocks[0]["text"]["text"] == f"{ticket.id} · Payment failed twice"


def test_a_very_long_subject_is_cut_to_the_header_limit() -> None:
    _, blocks = card(a_ticket(subject="word " * 100))

    assert len(blocks[0]["text"]["text"]) <= 150
    assert blocks[0]["text"]["text"].endswith("…")


def test_the_fields_show_customer_category_type_priority_why_status_assignee_and_deadlines() -> None:
    ticket = a_ticket(
        customer=a_customer(name="Amelia Hart", user_type=UserType.COUPLE, tier=Tier.SCALE),
        category=Category.BILLING,
        type=TicketType.BILLING,
        priority=Priority.HIGH,
        classification=Classification(
            Category.BILLING, TicketType.BILLING, confidence=0.87, reason="matched 'payment failed'"
        ),
    )

    _, blocks = card(ticket)

    assert "Amelia Hart" in field(blocks, "Customer")
    assert "Couple (WedMe) · Scale" in field(blocks, "Customer")
    assert field(blocks, "Category") == "Billing"
    assert field(blocks, "Type") == "Billing"
    assert field(blocks, "Priority") == "🟠 High"
    assert field(blocks, "Status") == "📬 Open"
    assert field(blocks, "Assignee") == "unassigned"
    assert field(blocks, "Why classified so") == "matched 'payment failed'\n_pattern, 87% confident_"


def test_the_card_date_fields_use_slack_date_formatting() -> None:
    ticket = a_ticket()

    _, blocks = card(ticket)

    first, resolution = field(blocks, "First response due"), field(blocks, "Resolution due")
    assert DATE.fullmatch(first)
    assert DATE.fullmatch(resolution)
    assert f"<!date^{int(ticket.sla.first_response_due.timestamp())}^" in first
    assert f"<!date^{int(ticket.sla.resolution_due.timestamp())}^" in resolution


def test_a_passed_deadline_is_marked_overdue() -> None:
    ticket = a_ticket()
    late = NOW + timedelta(days=30)

    text, raw = build_ticket_card(ticket, late, customer_label="A", assignee_name=None, reason="")
    blocks = check_message(text, raw)

    assert "overdue" in field(blocks, "First response due")


def test_a_met_first_response_and_a_resolved_ticket_say_so_instead_of_a_date() -> None:
    in_progress = replace(a_ticket(), timeline=replace(a_ticket().timeline, first_response=NOW))
    resolved = a_ticket_in(Status.RESOLVED)

    _, working = card(in_progress)
    _, done = card(resolved)

    assert field(working, "First response due") == "met"
    assert DATE.fullmatch(field(working, "Resolution due"))
    assert field(done, "Resolution due") == "resolved"


def test_the_assignee_is_mentioned_by_slack_id() -> None:
    _, blocks = card(a_ticket(assignee="U0SAMPATEL"), assignee_name="Sam Patel")

    assert field(blocks, "Assignee") == "<@U0SAMPATEL>"


@pytest.mark.parametrize("priority", list(Priority))
def test_every_priority_renders_with_its_emoji(priority: Priority) -> None:
    text, blocks = card(a_ticket(priority=priority))

    emoji = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🟢"}[priority.value]
    assert field(blocks, "Priority") == f"{emoji} {priority.value.capitalize()}"
    assert text.startswith(emoji)


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (Status.OPEN, "📬 Open"),
        (Status.IN_PROGRESS, "🛠️ In progress"),
        (Status.WAITING_CUSTOMER, "⏳ Waiting on customer"),
        (Status.WAITING_INTERNAL, "🔁 Waiting on us"),
        (Status.RESOLVED, "✅ Resolved"),
        (Status.CLOSED, "🔒 Closed"),
    ],
)
def test_every_status_renders(status: Status, shown: str) -> None:
    _, blocks = card(a_ticket_in(status))

    assert field(blocks, "Status") == shown


@pytest.mark.parametrize("category", list(Category))
def test_every_category_renders(category: Category) -> None:
    _, blocks = card(a_ticket(category=category))

    assert field(blocks, "Category")
    assert "_" not in field(blocks, "Category")


@pytest.mark.parametrize("ticket_type", list(TicketType))
def test_every_ticket_type_renders(ticket_type: TicketType) -> None:
    _, blocks = card(a_ticket(type=ticket_type))

    assert "_" not in field(blocks, "Type")


@pytest.mark.parametrize("tier", list(Tier))
@pytest.mark.parametrize("user_type", list(UserType))
def test_every_customer_kind_renders(tier: Tier, user_type: UserType) -> None:
    _, blocks = card(a_ticket(customer=a_customer(tier=tier, user_type=user_type)))

    assert tier.value.capitalize() in field(blocks, "Customer")
    assert ("WedSync" if user_type is UserType.SUPPLIER else "WedMe") in field(blocks, "Customer")


def test_an_open_ticket_offers_assign_reply_escalate_resolve_and_the_overflow_menu() -> None:
    ticket = a_ticket(assignee="U0SAMPATEL")

    _, blocks = card(ticket)

    elements = actions(blocks)
    assert [e.get("action_id") for e in elements] == [
        "assign_me", "assign_pick", "reply", "escalate", "resolve", "overflow",
    ]
    buttons = {e["action_id"]: e for e in elements if e["type"] == "button"}
    assert [buttons[a]["text"]["text"] for a in ("assign_me", "reply", "escalate", "resolve")] == [
        "Assign to me", "Reply", "Escalate", "Resolve",
    ]
    assert (buttons["reply"]["style"], buttons["escalate"]["style"]) == ("primary", "danger")
    assert {b["value"] for b in buttons.values()} == {ticket.id}
    picker = elements[1]
    assert (picker["type"], picker["initial_user"]) == ("users_select", "U0SAMPATEL")
    actions_block = next(b for b in blocks if b["type"] == "actions")
    assert actions_block["block_id"] == f"card_actions:{ticket.id}"


def test_the_overflow_menu_opens_the_priority_category_and_note_modals() -> None:
    _, blocks = card(a_ticket(priority=Priority.HIGH, category=Category.BILLING))

    overflow = actions(blocks)[-1]
    assert [(o["text"]["text"], o["value"]) for o in overflow["options"]] == [
        ("Change priority…", "priority:high"),
        ("Change category…", "category:billing"),
        ("Add internal note", "note"),
        ("Merge into another ticket…", "merge"),
    ]


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
def test_resolved_and_closed_tickets_lose_the_action_buttons(status: Status) -> None:
    _, blocks = card(a_ticket_in(status))

    assert actions(blocks) == []
    last = blocks[-1]["elements"][0]["text"]
    assert status.value.capitalize() in last
    assert DATE.search(last)
    assert "reopen" not in all_text("", blocks).lower()


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.WAITING_CUSTOMER, Status.WAITING_INTERNAL])
def test_working_tickets_keep_the_action_buttons(status: Status) -> None:
    _, blocks = card(a_ticket_in(status))

    assert {"reply", "escalate", "resolve"} <= {e.get("action_id") for e in actions(blocks)}


def test_an_escalated_ticket_shows_its_level_and_reason_and_a_fresh_one_does_not() -> None:
    ticket = escalate(escalate(a_ticket(), "no answer", NOW), "customer leaving", NOW + timedelta(hours=1))

    _, escalated = card(ticket)
    _, fresh = card(a_ticket())

    assert field(escalated, "Escalation").startswith("Level 2 · <!date^")
    assert "customer leaving" in field(escalated, "Escalation")
    with pytest.raises(AssertionError):
        field(fresh, "Escalation")


def test_a_breach_line_related_tickets_and_a_permalink_are_shown_when_given() -> None:
    related = [f"BUG-{n}" for n in range(14)]

    text, blocks = card(
        a_ticket(),
        breach="First response SLA breached: overdue by 20 min",
        related=related,
        permalink="https://mail.example/t?id=1&x=2",
    )

    shown = all_text(text, blocks)
    assert "🚨 *First response SLA breached: overdue by 20 min*" in shown
    assert "`BUG-0`" in shown and "`BUG-9`" in shown and "`BUG-10`" not in shown
    assert "and 4 more" in shown
    assert "<https://mail.example/t?id=1&amp;x=2|Open the conversation>" in shown


def test_the_customers_message_is_not_in_the_card() -> None:
    ticket = a_ticket(description="My card payment failed twice and I am furious")

    text, blocks = card(ticket)

    assert "furious" not in all_text(text, blocks)


def test_customer_text_is_escaped_in_the_card_subject_customer_name_and_fallback_text() -> None:
    ticket = a_ticket(subject=EVIL, customer=a_customer(name=EVIL))

    text, blocks = card(ticket, reason=EVIL, assignee_name=EVIL, breach=EVIL)

    assert EVIL_ESCAPED in blocks[0]["text"]["text"]
    assert EVIL_ESCAPED in field(blocks, "Customer")
    assert EVIL_ESCAPED in text
    assert "<!channel>" not in all_text(text, blocks)
    assert "<@U123>" not in all_text(text, blocks)


def test_the_customer_message_is_escaped_and_says_who_wrote_it_and_when() -> None:
    message = a_customer_reply(f"Hello {EVIL}\nthanks")

    text, blocks = build_customer_message(message, EVIL, ticket_id="BIL-1")
    dicts = check_message(text, blocks)

    shown = all_text(text, dicts)
    assert f"Hello {EVIL_ESCAPED}\nthanks" in shown
    assert f"*{EVIL_ESCAPED}* wrote" in shown
    assert DATE.search(shown)
    assert all(b["text"].get("verbatim") for b in dicts if b["type"] == "section")


def test_a_long_message_is_split_across_sections_without_losing_a_character() -> None:
    body = "\n".join(f"Line {n}: the import stopped at row {n} & I don't know why." for n in range(400))

    text, blocks = build_customer_message(a_customer_reply(body), "Amelia", ticket_id="BIL-1")
    dicts = check_message(text, blocks)

    sections = [b["text"]["text"] for b in dicts if b["type"] == "section"]
    assert len(sections) > 1
    assert unescape("".join(sections)).replace("\n", "") == body.replace("\n", "")


def test_a_100000_character_email_stays_within_limits_and_says_how_much_was_cut() -> None:
    body = " ".join(f"word{n % 10}" for n in range(16_667))[:100_000]
    assert len(body) >= 99_000

    text, blocks = build_customer_message(a_customer_reply(body), "Amelia", ticket_id="BIL-MIDQ1Z2K-7QF")
    dicts = check_message(text, blocks)

    sections = [b["text"]["text"] for b in dicts if b["type"] == "section"]
    tail = re.search(r"… \(([\d,]+) more characters; `/ticket BIL-MIDQ1Z2K-7QF` shows all of it\)$", sections[-1])
    assert tail is not None
    shown = "".join(sections)[: -len(tail.group(0))]
    assert len(shown) + int(tail.group(1).replace(",", "")) == len(body)
    assert body.startswith(shown)
    assert sum(len(s) for s in sections) < 40_000


def test_a_cut_message_of_symbols_counts_what_the_customer_wrote_not_the_escaped_length() -> None:
    body = "<&> " * 25_000

    text, blocks = build_customer_message(a_customer_reply(body), "Amelia", ticket_id="BIL-1")
    dicts = check_message(text, blocks)

    sections = [b["text"]["text"] for b in dicts if b["type"] == "section"]
    tail = re.search(r"… \(([\d,]+) more characters", sections[-1])
    assert tail is not None
    shown = unescape("".join(sections[:-1]) + sections[-1][: tail.start()])
    assert len(shown) + int(tail.group(1).replace(",", "")) == len(body.strip())


def test_an_empty_message_still_gives_a_valid_block() -> None:
    text, blocks = build_customer_message(a_customer_reply("  \n "), "Amelia")

    assert "(empty message)" in all_text(text, check_message(text, blocks))


def test_attachments_are_listed_by_name_and_size() -> None:
    files = tuple(Attachment(f"<b>{n}.pdf", "application/pdf", 2048 * (n + 1), "0" * 64) for n in range(10))
    message = replace(a_customer_reply("see attached"), attachments=files)

    text, blocks = build_customer_message(message, "Amelia")

    shown = all_text(text, check_message(text, blocks))
    assert "📎 10 attachments: &lt;b&gt;0.pdf (2 KB)" in shown
    assert "and 2 more" in shown
