"""Modals: reply, escalate, internal note, priority, category and `/ticket new`.

Each modal's inputs use `Field` values as both block id and action id, so bot reads a submission as
`view["state"]["values"][field][field]`. Ticket modals carry the ticket id in `private_metadata` unless the
caller passes its own (at most 3,000 characters).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    EmailInputElement,
    InputBlock,
    InputInteractiveElement,
    Option,
    OptionGroup,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from blocks import limits
from blocks.ids import AfterSend, BlockId, Callback, Field
from blocks.labels import CATEGORY_LABEL, SOURCE_LABEL, priority_label
from blocks.parts import clip, context, label, option, plain, section, ticket_line
from blocks.text import cut, escape
from ticketing.escalation import EscalationRole, role_for_level, step_up
from ticketing.model import Category, Priority, Source, Ticket

AFTER_SEND_LABEL: dict[AfterSend, str] = {
    AfterSend.KEEP_OPEN: "Keep open",
    AfterSend.WAIT_CUSTOMER: "Wait on customer",
    AfterSend.RESOLVE: "Resolve",
}
ROLE_LABEL: dict[EscalationRole, str] = {
    EscalationRole.SENIOR: "a senior agent of the team",
    EscalationRole.LEAD: "the team lead",
    EscalationRole.FOUNDER: "the founder",
}
NEW_TICKET_SOURCES = (Source.PHONE, Source.CHAT, Source.EMAIL, Source.FORM, Source.API)


def canned_value(name: str) -> str:
    """The option value for a canned response: its name, or for a name over 150 characters a stable digest.

    Bot compares `canned_value(response.name)` with the submitted value.
    """
    if len(name) <= limits.OPTION_VALUE:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{name[: limits.OPTION_VALUE - 17]}#{digest}"


MAX_REPLY_FILES = 10


def build_reply_modal(
    ticket: Ticket,
    canned: Sequence[tuple[str, str]],
    suggestions: Sequence[tuple[str, str, float]] = (),
    *,
    private_metadata: str | None = None,
    selected: str | None = None,
) -> View:
    """Reply to the customer: a canned response, free text, or both, then what happens to the ticket.

    `canned` is (name, rendered text); `suggestions` (name, rendered text, score 0-1) come first in their
    own group. Blank names are skipped, repeats shown once, and the select stops at Slack's 100 options.
    `selected` names the chosen canned response: its option starts selected and its text shows in the
    preview (bot calls views.update with it when the select dispatches `Field.CANNED`).
    Both the select and the text are optional here; bot refuses a submission with neither.
    """
    rendered: dict[str, str] = {}
    suggested: list[Option] = []
    everything: list[Option] = []
    for name, text, score in suggestions:
        if name.strip() and name not in rendered and len(rendered) < limits.SELECT_OPTIONS:
            rendered[name] = text
            suggested.append(option(f"⭐ {name} · {score:.0%}", canned_value(name)))
    for name, text in canned:
        if name.strip() and name not in rendered and len(rendered) < limits.SELECT_OPTIONS:
            rendered[name] = text
            everything.append(option(name, canned_value(name)))

    blocks: list[Block] = [context(f"Replying on {ticket_line(ticket)} to {clip(ticket.customer.email, 300)}")]
    if rendered:
        initial = next((o for o in (*suggested, *everything) if selected and o.value == canned_value(selected)), None)
        blocks.append(
            InputBlock(
                block_id=Field.CANNED,
                label=label("Canned response"),
                element=_canned_select(suggested, everything, initial),
                optional=True,
                dispatch_action=True,
            )
        )
        blocks.append(section(_preview(selected, rendered), block_id=BlockId.PREVIEW, verbatim=True))
    blocks.append(
        InputBlock(
            block_id=Field.BODY,
            label=label("Your reply"),
            element=PlainTextInputElement(
                action_id=Field.BODY,
                multiline=True,
                max_length=limits.PLAIN_TEXT_INPUT,
                placeholder=label("Write to the customer…"),
            ),
            hint=label("Optional when you choose a canned response: your text goes after it."),
            optional=True,
        )
    )
    blocks.append(
        InputBlock(
            block_id=Field.FILES,
            label=label("Attach files"),
            element=FileInputElement(action_id=Field.FILES, max_files=MAX_REPLY_FILES),
            hint=label("Optional: they go to the customer with the reply."),
            optional=True,
        )
    )
    options = {value: Option(text=label(text), value=value) for value, text in AFTER_SEND_LABEL.items()}
    blocks.append(
        InputBlock(
            block_id=Field.AFTER_SEND,
            label=label("Then"),
            element=RadioButtonsElement(
                action_id=Field.AFTER_SEND,
                options=list(options.values()),
                initial_option=options[AfterSend.WAIT_CUSTOMER],
            ),
        )
    )
    return _modal(Callback.REPLY_MODAL, "Reply to customer", "Send to customer", blocks, ticket, private_metadata)


def _canned_select(suggested: list[Option], everything: list[Option], initial: Option | None) -> StaticSelectElement:
    groups: list[OptionGroup] | None = None
    if suggested:
        groups = [OptionGroup(label=label("Suggested"), options=suggested)]
        if everything:
            groups.append(OptionGroup(label=label("All responses"), options=everything))
    return StaticSelectElement(
        action_id=Field.CANNED,
        placeholder=label("Choose a canned response"),
        options=None if groups else everything,
        option_groups=groups,
        initial_option=initial,
    )


def _preview(selected: str | None, rendered: dict[str, str]) -> str:
    if selected is None or selected not in rendered:
        return "_Choose a canned response to see it here, or just write your own below._"
    title = f"*{clip(selected, 200)}*\n"
    body = escape(rendered[selected].strip() or "(empty)")
    return title + cut(body, limits.SECTION_TEXT - len(title)).text


def build_escalate_modal(ticket: Ticket, *, private_metadata: str | None = None) -> View:
    """Escalate: who hears it at the next level and the priority it moves to, and a required reason."""
    level = ticket.escalation.level + 1
    role = ROLE_LABEL[role_for_level(level)]
    after = step_up(ticket.priority)
    change = (
        f"priority goes from {priority_label(ticket.priority)} to {priority_label(after)}"
        if after is not ticket.priority
        else f"priority stays {priority_label(after)}"
    )
    blocks: list[Block] = [
        context(ticket_line(ticket)),
        section(f"Level {level}: {role} is told; {change}."),
        _text_input(Field.REASON, "Why escalate?", "What is wrong, and what have you tried?"),
    ]
    return _modal(Callback.ESCALATE_MODAL, "Escalate ticket", "Escalate", blocks, ticket, private_metadata)


def build_note_modal(ticket: Ticket, *, private_metadata: str | None = None) -> View:
    """An internal note: agents see it in the thread, the customer never does."""
    blocks: list[Block] = [
        context(ticket_line(ticket)),
        _text_input(Field.NOTE, "Internal note", "Only agents see this.", hint="Never sent to the customer."),
    ]
    return _modal(Callback.NOTE_MODAL, "Internal note", "Add note", blocks, ticket, private_metadata)


def build_priority_modal(ticket: Ticket, *, private_metadata: str | None = None) -> View:
    """The other three priorities to choose from."""
    options = [option(priority_label(p), p.value) for p in Priority if p is not ticket.priority]
    blocks: list[Block] = [
        context(f"{ticket_line(ticket)} · now {priority_label(ticket.priority)}"),
        _select(Field.PRIORITY, "New priority", options),
    ]
    return _modal(Callback.PRIORITY_MODAL, "Change priority", "Change", blocks, ticket, private_metadata)


def build_category_modal(ticket: Ticket, *, private_metadata: str | None = None) -> View:
    """All 15 categories, the current one chosen."""
    options = [option(CATEGORY_LABEL[c], c.value) for c in Category]
    current = next(o for o in options if o.value == ticket.category.value)
    blocks: list[Block] = [
        context(f"{ticket_line(ticket)} · now {CATEGORY_LABEL[ticket.category]}"),
        _select(Field.CATEGORY, "Category", options, current),
    ]
    return _modal(Callback.CATEGORY_MODAL, "Change category", "Change", blocks, ticket, private_metadata)


def build_new_ticket_modal(*, private_metadata: str = "", source: Source = Source.PHONE) -> View:
    """`/ticket new`: a ticket for a customer who called, chatted or wrote somewhere else."""
    options = [option(SOURCE_LABEL[s], s.value) for s in NEW_TICKET_SOURCES]
    blocks: list[Block] = [
        InputBlock(
            block_id=Field.CUSTOMER_EMAIL,
            label=label("Customer email"),
            element=EmailInputElement(action_id=Field.CUSTOMER_EMAIL, placeholder=label("name@example.com")),
        ),
        _text_input(Field.SUBJECT, "Subject", "What is it about?", multiline=False, max_length=limits.HEADER_TEXT),
        _text_input(Field.DESCRIPTION, "Description", "What the customer said, in their words where you can."),
        _select(Field.SOURCE, "Came in by", options, next(o for o in options if o.value == source.value)),
    ]
    return _modal(Callback.NEW_TICKET_MODAL, "New ticket", "Create ticket", blocks, None, private_metadata)


def _text_input(
    field: Field,
    title: str,
    placeholder: str,
    *,
    hint: str | None = None,
    multiline: bool = True,
    max_length: int = limits.PLAIN_TEXT_INPUT,
) -> InputBlock:
    return InputBlock(
        block_id=field,
        label=label(title),
        element=PlainTextInputElement(
            action_id=field, multiline=multiline, max_length=max_length, placeholder=label(placeholder)
        ),
        hint=label(hint) if hint else None,
    )


def _select(field: Field, title: str, options: list[Option], initial: Option | None = None) -> InputBlock:
    element: InputInteractiveElement = StaticSelectElement(
        action_id=field, options=options, initial_option=initial, placeholder=label("Choose…")
    )
    return InputBlock(block_id=field, label=label(title), element=element)


def _modal(
    callback: Callback, title: str, submit: str, blocks: list[Block], ticket: Ticket | None, metadata: str | None
) -> View:
    private = metadata if metadata is not None else (ticket.id if ticket else "")
    if len(private) > limits.PRIVATE_METADATA:
        raise ValueError(f"private_metadata is {len(private)} characters; Slack takes {limits.PRIVATE_METADATA}")
    return View(
        type="modal",
        callback_id=callback,
        title=plain(title, limits.VIEW_TITLE),
        submit=label(submit),
        close=label("Cancel"),
        blocks=blocks,
        private_metadata=private or None,
    )
