"""Merging one ticket into another: the card's Merge entry point and the modal that asks which ticket.

The ids live here (MergeId), not in blocks.ids: the card's overflow menu (action id `overflow`) carries the
option value `merge`; a "Merge…" button, where one is shown, has the action id `merge_open` and the ticket id
as its value. The modal's `private_metadata` is the ticket being merged (the source); its inputs use a MergeId
as both block id and action id, so bot reads `view.state.values[id][id]`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import StrEnum

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    InputBlock,
    Option,
    OptionGroup,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from blocks import limits
from blocks.parts import clip, context, label, option, plain, section, ticket_line
from ticketing.model import Ticket


class MergeId(StrEnum):
    OPEN = "merge_open"  # action id of a "Merge…" button; its value is the ticket id
    OVERFLOW_VALUE = "merge"  # value of the Merge option in the card's overflow menu
    MODAL = "merge_modal"  # callback id of the modal; private_metadata: the source ticket id
    TARGET = "merge_target"  # static_select of the customer's other tickets; option values are ticket ids
    TARGET_ID = "merge_target_id"  # plain_text_input: a ticket id typed in


TARGET_ID_LENGTH = 40  # ticket ids are at most 20 characters; room for brackets and spaces
EXPLANATION = (
    "Its messages are copied to the ticket you choose, the customer's replies to either conversation land "
    "there, this ticket is closed, and the customer gets one email saying so. Only one customer's tickets "
    "can be merged."
)


def merge_option() -> Option:
    """The card overflow's Merge option."""
    return option("Merge into another ticket…", MergeId.OVERFLOW_VALUE)


def merge_button(ticket_id: str) -> ButtonElement:
    return ButtonElement(text=label("Merge…"), action_id=MergeId.OPEN, value=ticket_id)


def build_merge_modal(
    ticket: Ticket,
    candidates: Sequence[tuple[str, str]] = (),
    linked: Collection[str] = (),
    *,
    private_metadata: str | None = None,
) -> View:
    """Merge `ticket` into another: pick one of `candidates` ((id, subject), the customer's other tickets that are
    not closed; the `linked` ones are grouped first) or type an id. With no candidates the typed id is required;
    with some, both inputs are optional here and bot asks for one. Repeats and blank ids are skipped, and the
    select stops at Slack's 100 options."""
    private = ticket.id if private_metadata is None else private_metadata
    if len(private) > limits.PRIVATE_METADATA:
        raise ValueError(f"private_metadata is {len(private)} characters; Slack takes {limits.PRIVATE_METADATA}")
    first: list[Option] = []
    rest: list[Option] = []
    seen: set[str] = {ticket.id}
    for ticket_id, subject in candidates:
        if not ticket_id.strip() or ticket_id in seen or len(seen) > limits.SELECT_OPTIONS:
            continue
        seen.add(ticket_id)
        text = f"{ticket_id} · {' '.join(subject.split()) or '(no subject)'}"
        (first if ticket_id in linked else rest).append(option(text, ticket_id))

    blocks: list[Block] = [
        context(f"Merging {ticket_line(ticket)} · {clip(ticket.customer.email, 300)}"),
        section(EXPLANATION),
    ]
    if first or rest:
        blocks.append(
            InputBlock(
                block_id=MergeId.TARGET,
                label=label("Merge into"),
                element=_select(first, rest),
                optional=True,
            )
        )
    blocks.append(
        InputBlock(
            block_id=MergeId.TARGET_ID,
            label=label("Or the ticket id" if first or rest else "Merge into (ticket id)"),
            element=PlainTextInputElement(
                action_id=MergeId.TARGET_ID,
                multiline=False,
                max_length=TARGET_ID_LENGTH,
                placeholder=label("e.g. FB-MIDQ1Z2K-7QF"),
            ),
            hint=label("The ticket that stays open; it must be the same customer's."),
            optional=bool(first or rest),
        )
    )
    return View(
        type="modal",
        callback_id=MergeId.MODAL,
        title=plain("Merge ticket", limits.VIEW_TITLE),
        submit=label("Merge"),
        close=label("Cancel"),
        blocks=blocks,
        private_metadata=private or None,
    )


def _select(first: list[Option], rest: list[Option]) -> StaticSelectElement:
    groups: list[OptionGroup] | None = None
    if first and rest:
        groups = [
            OptionGroup(label=label("Linked to this ticket"), options=first),
            OptionGroup(label=label("Other tickets of this customer"), options=rest),
        ]
    return StaticSelectElement(
        action_id=MergeId.TARGET,
        placeholder=label("Choose a ticket"),
        options=None if groups else first + rest,
        option_groups=groups,
    )
