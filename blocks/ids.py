"""Every Slack id the desk uses: action ids, view callback ids, block ids and option values.

`bot` registers its handlers with these and `blocks` builds with them, so a typo fails in one place.

Where the ticket id travels:
- buttons carry it in their `value` (the undo-window buttons carry the pending reply's id instead);
- the card's users_select and overflow menu have no value of their own, so the card's actions block has the
  block id `card_actions:<ticket id>` (see `card_actions_block_id` / `ticket_id_from_block_id`);
- modals carry it in `private_metadata` (the builders default it to the ticket id).
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """`action_id`s of interactive elements in messages and the App Home."""

    ASSIGN_ME = "assign_me"
    ASSIGN_PICK = "assign_pick"  # users_select on the card
    REPLY = "reply"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    OVERFLOW = "overflow"  # option values: see Overflow
    UNDO_SEND = "undo_send"
    SEND_NOW = "send_now"
    KEEP_NOTE = "keep_note"
    ACKNOWLEDGE = "acknowledge"
    OPEN_THREAD = "open_thread"  # a url button: Slack still sends an action, acknowledge it
    FOUNDER_ASSIGN_ME = "founder_assign_me"
    OPEN_DASHBOARD = "open_dashboard"  # the App Home's button: answers with a one-use link in a modal
    DASHBOARD_LINK = "dashboard_link"  # the link button itself: Slack still sends an action, acknowledge it


class Callback(StrEnum):
    """`callback_id`s of modals: the view_submission handlers."""

    REPLY_MODAL = "reply_modal"
    ESCALATE_MODAL = "escalate_modal"
    NOTE_MODAL = "note_modal"
    PRIORITY_MODAL = "priority_modal"
    CATEGORY_MODAL = "category_modal"
    NEW_TICKET_MODAL = "new_ticket_modal"
    DASHBOARD_MODAL = "dashboard_modal"  # the sign-in link (or the refusal); nothing to submit


class Field(StrEnum):
    """Modal inputs: each is both the input's `block_id` and its element's `action_id`.

    So a submission's value is `view.state.values[field][field]`.
    """

    CANNED = "canned"  # static_select; dispatches a block_action on pick so bot can update the preview
    BODY = "body"
    AFTER_SEND = "after_send"  # radio buttons, values: AfterSend
    REASON = "reason"
    NOTE = "note"
    CUSTOMER_EMAIL = "customer_email"
    SUBJECT = "subject"
    DESCRIPTION = "description"
    SOURCE = "source"  # values: ticketing.model.Source
    PRIORITY = "priority"  # values: ticketing.model.Priority
    CATEGORY = "category"  # values: ticketing.model.Category
    FILES = "files"  # file_input in the Reply modal: files that go to the customer as attachments


class BlockId(StrEnum):
    """Block ids of non-input blocks that bot may look for."""

    CARD_ACTIONS = "card_actions"  # followed by ":<ticket id>"
    PREVIEW = "preview"  # the reply modal's preview of the chosen canned response
    UNDO_ACTIONS = "undo_actions"
    FOUNDER_ACTIONS = "founder_actions"


class AfterSend(StrEnum):
    """What happens to the ticket after the reply modal sends."""

    KEEP_OPEN = "keep_open"
    WAIT_CUSTOMER = "wait_customer"
    RESOLVE = "resolve"


class Overflow(StrEnum):
    """The card's overflow menu: each option opens a modal.

    Values are `priority:<current priority>`, `category:<current category>` and `note`; the current value
    lets bot open the modal without another lookup (the priority modal lists the other priorities, the
    category modal all 15 with the current one chosen).
    """

    PRIORITY = "priority"
    CATEGORY = "category"
    NOTE = "note"


def overflow_value(kind: Overflow, current: str | None = None) -> str:
    return f"{kind}:{current}" if current else str(kind)


def parse_overflow_value(value: str) -> tuple[Overflow, str | None]:
    """`priority:high` -> (Overflow.PRIORITY, "high"); `note` -> (Overflow.NOTE, None). ValueError if unknown."""
    kind, _, current = value.partition(":")
    return Overflow(kind), current or None


def card_actions_block_id(ticket_id: str) -> str:
    return f"{BlockId.CARD_ACTIONS}:{ticket_id}"


def ticket_id_from_block_id(block_id: str) -> str | None:
    """The ticket id in a card's actions block id, or None for any other block."""
    prefix, sep, ticket_id = block_id.partition(":")
    return ticket_id if sep and prefix == BlockId.CARD_ACTIONS and ticket_id else None
