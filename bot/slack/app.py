"""The Bolt app: every listener acknowledges at once, checks the person is a configured agent, parses the
payload into values, calls one workflow, and answers (ephemeral messages, modal field errors)."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ids import Action, Callback, Field, parse_overflow_value
from blocks.modals import (
    build_category_modal,
    build_escalate_modal,
    build_note_modal,
    build_priority_modal,
    build_reply_modal,
)
from bot import actions, sla
from bot.desk import Desk
from bot.slack import commands, merge, replies, suggest
from bot.slack.files import attached_line, fetch_files, file_ids
from db import slack as slack_store
from db.errors import StoreError
from ticketing.errors import UserFacingError
from ticketing.model import Category, Priority, Ticket

log = logging.getLogger(__name__)
REFUSAL = "Sorry, only support agents listed in support.yml can work tickets. Ask a team lead to add you."


def actor_of(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id")) if user.get("id") else None
    if body.get("user_id"):
        return str(body["user_id"])
    event = body.get("event") or {}
    return str(event["user"]) if event.get("user") else None


class _SameToken(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself, even when it is handed a client, and then warns
    that the token "will be unused". Our client carries that very token (built from the same setting), so the
    warning says nothing; it is dropped only when the two are the same token."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        same = self.token is not None and os.environ.get("SLACK_BOT_TOKEN", "").strip() == self.token
        return not (same and "`token` will be unused" in record.getMessage())


def bolt_logger(client: AsyncWebClient) -> logging.Logger:
    """Bolt's own logger (slack_bolt.AsyncApp), with the one false warning about our token filtered out."""
    logger = logging.getLogger("slack_bolt.AsyncApp")
    for old in [f for f in logger.filters if isinstance(f, _SameToken)]:
        logger.removeFilter(old)
    logger.addFilter(_SameToken(client.token))
    return logger


def build_app(desk: Desk, client: AsyncWebClient, signing_secret: str | None) -> AsyncApp:
    app = AsyncApp(client=client, signing_secret=signing_secret or "socket-mode", process_before_response=False,
                   request_verification_enabled=signing_secret is not None,
                   ignoring_self_events_enabled=True, logger=bolt_logger(client))
    app.middleware(_dedup(desk))
    app.middleware(_only_people(desk))
    merge.register(app, desk)  # before the card actions: its listener takes the overflow's merge option first
    _register_card_actions(app, desk)
    _register_modals(app, desk)
    _register_thread(app, desk)
    commands.register(app, desk)
    return app


def _dedup(desk: Desk) -> Callable[..., Awaitable[Any]]:
    async def middleware(body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and event_id:
            async with desk.db.transaction() as session:
                if not await slack_store.first_sight(session, str(event_id), desk.clock.now()):
                    log.info("event %s seen already; ignored", event_id)
                    return BoltResponse(status=200, body="")  # Slack's retry is answered, and does nothing
        return await next()

    return middleware


def _only_people(desk: Desk) -> Callable[..., Awaitable[Any]]:
    """Only configured agents (and the founder, for the founder's DM) act; anyone else changes nothing."""

    async def middleware(body: dict[str, Any], next: Callable[[], Awaitable[Any]], ack: Any, client: AsyncWebClient
                         ) -> Any:
        user = actor_of(body)
        if body.get("type") == "event_callback" or user is None or is_person(desk, user) or _dashboard_ask(body):
            return await next()
        log.warning("refused a %s from a user who is not in support.yml", body.get("type") or "command")
        channel = (body.get("channel") or {}).get("id") if isinstance(body.get("channel"), dict) else None
        channel = channel or body.get("channel_id")
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=REFUSAL)
        return BoltResponse(status=200, body="")

    return middleware


def _dashboard_ask(body: dict[str, Any]) -> bool:
    """The dashboard's button or `/ticket dashboard`: its listeners decide themselves (leads and managers who are
    not agents may open the dashboard; a stranger gets the refusal there, also from the App Home, which has no
    channel for this middleware's ephemeral answer)."""
    actions = body.get("actions") or []
    if body.get("type") == "block_actions" and actions and isinstance(actions[0], dict):
        return actions[0].get("action_id") in (Action.OPEN_DASHBOARD, Action.DASHBOARD_LINK)
    words = str(body.get("text") or "").split()
    return bool(body.get("command")) and bool(words) and words[0].lower() == commands.DASHBOARD_WORD


def is_person(desk: Desk, user: str) -> bool:
    founder = desk.config.founder.slack_id if desk.config.founder else None
    return desk.config.agent(user) is not None or user == founder


async def tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral answer in the channel the click came from (or a DM for modal submissions)."""
    user = actor_of(body) or ""
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    if channel:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    else:
        await client.chat_postMessage(channel=user, text=text)


def guarded(work: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """User-facing errors go back to the person as an ephemeral message; nothing else is swallowed."""

    async def listener(ack: Any, body: dict[str, Any], client: AsyncWebClient, **rest: Any) -> None:
        await ack()
        try:
            await work(body=body, client=client, **rest)
        except (UserFacingError, StoreError) as error:
            await tell(client, body, str(error))

    return listener


def _value(body: dict[str, Any]) -> str:
    return str(body["actions"][0].get("value") or body["actions"][0].get("selected_option", {}).get("value", ""))


def _register_card_actions(app: AsyncApp, desk: Desk) -> None:
    @app.action(Action.ASSIGN_ME)
    @guarded
    async def assign_me(body: dict[str, Any], **_: Any) -> None:
        user = actor_of(body) or ""
        await actions.assign(desk, _value(body), user, user)

    @app.action(Action.FOUNDER_ASSIGN_ME)
    @guarded
    async def founder_assign_me(body: dict[str, Any], **_: Any) -> None:
        user = actor_of(body) or ""
        await actions.assign(desk, _value(body), user, user)

    @app.action(Action.ASSIGN_PICK)
    @guarded
    async def assign_pick(body: dict[str, Any], **_: Any) -> None:
        action = body["actions"][0]
        ticket_id = _ticket_of_block(body)
        await actions.assign(desk, ticket_id, action["selected_user"], actor_of(body) or "")

    @app.action(Action.RESOLVE)
    @guarded
    async def resolve(body: dict[str, Any], **_: Any) -> None:
        await actions.resolve(desk, _value(body), actor_of(body) or "")

    @app.action(Action.REPLY)
    @guarded
    async def reply(body: dict[str, Any], client: AsyncWebClient, **_: Any) -> None:
        ticket = await actions.get(desk, _value(body))
        agent = actor_of(body) or ""
        opened = await client.views_open(trigger_id=body["trigger_id"], view=await reply_modal(desk, ticket, agent))
        drafted = await suggest.draft(desk, ticket)  # slow (a model): the modal is open already, then updated
        if drafted and opened.get("view"):
            await client.views_update(view_id=opened["view"]["id"], hash=opened["view"].get("hash"),
                                      view=await reply_modal(desk, ticket, agent, draft=drafted))

    @app.action(Action.ESCALATE)
    @guarded
    async def escalate(body: dict[str, Any], client: AsyncWebClient, **_: Any) -> None:
        ticket = await actions.get(desk, _value(body))
        await client.views_open(trigger_id=body["trigger_id"], view=build_escalate_modal(ticket,
                                                                                        private_metadata=ticket.id))

    @app.action(Action.OVERFLOW)
    @guarded
    async def overflow(body: dict[str, Any], client: AsyncWebClient, **_: Any) -> None:
        kind, _current = parse_overflow_value(body["actions"][0]["selected_option"]["value"])
        ticket = await actions.get(desk, _ticket_of_block(body))
        builder = {"priority": build_priority_modal, "category": build_category_modal, "note": build_note_modal}
        await client.views_open(trigger_id=body["trigger_id"],
                                view=builder[kind.value](ticket, private_metadata=ticket.id))

    @app.action(Action.ACKNOWLEDGE)
    @guarded
    async def acknowledge(body: dict[str, Any], **_: Any) -> None:
        ticket_id, _sep, level_text = _value(body).partition(":")
        level = int(level_text) if level_text.isdigit() else (await actions.get(desk, ticket_id)).escalation.level
        if not await sla.acknowledge(desk, ticket_id, level, actor_of(body) or ""):
            raise UserFacingError("Only the person this step went to, the team lead, a manager or the founder "
                                  "can acknowledge it.")

    @app.action(Action.OPEN_THREAD)
    async def open_thread(ack: Any) -> None:
        await ack()  # a link button: Slack opens the URL; nothing to do here


def _ticket_of_block(body: dict[str, Any]) -> str:
    from blocks.ids import ticket_id_from_block_id

    found = ticket_id_from_block_id(str(body["actions"][0].get("block_id", "")))
    if found is None:
        raise UserFacingError("That button does not belong to a ticket card.")
    return found


async def reply_modal(desk: Desk, ticket: Ticket, agent_id: str, selected: str | None = None,
                      draft: str | None = None) -> Any:
    """The Reply modal; a model's draft travels in the view's private metadata (ticket id, newline, draft) so
    the agent's choice of it can be sent as shown."""
    draft = draft[:MAX_METADATA_DRAFT] if draft else None
    canned, suggestions = await suggest.reply_choices(desk, ticket, agent_id, draft)
    metadata = f"{ticket.id}\n{draft}" if draft else ticket.id
    return build_reply_modal(ticket, canned, suggestions, private_metadata=metadata, selected=selected)


MAX_METADATA_DRAFT = 2800  # Slack keeps at most 3,000 characters of private metadata


def _field(view: dict[str, Any], name: Field) -> Any:
    return view["state"]["values"].get(name.value, {}).get(name.value, {})


def _register_modals(app: AsyncApp, desk: Desk) -> None:
    @app.action(Field.CANNED)
    async def canned_picked(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        ticket_id, _sep, draft = view["private_metadata"].partition("\n")
        ticket = await actions.get(desk, ticket_id)
        chosen = (body["actions"][0].get("selected_option") or {}).get("value")
        await client.views_update(view_id=view["id"], hash=view.get("hash"),
                                  view=await reply_modal(desk, ticket, actor_of(body) or "", chosen, draft or None))

    @app.view(Callback.REPLY_MODAL)
    async def reply_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        chosen = (_field(view, Field.CANNED).get("selected_option") or {}).get("value")
        text = (_field(view, Field.BODY).get("value") or "").strip()
        if not chosen and not text:
            await ack(response_action="errors", errors={Field.BODY.value: "Write a reply or choose a canned response."})
            return
        await ack()
        after = actions.AfterSend((_field(view, Field.AFTER_SEND).get("selected_option") or {}).get("value")
                                  or actions.AfterSend.KEEP_OPEN)
        agent = actor_of(body) or ""
        try:
            ticket_id, _sep, draft = view["private_metadata"].partition("\n")
            ticket = await actions.get(desk, ticket_id)
            if chosen:  # the chosen text first, then anything the agent wrote
                picked = await suggest.chosen_text(desk, ticket, agent, chosen, draft or None)
                if picked is None:
                    raise UserFacingError("That canned response no longer exists; choose another.")
                text = f"{picked.rstrip()}\n\n{text}" if text else picked
            attached = await fetch_files(desk, client, file_ids(_field(view, Field.FILES).get("files") or []))
            await actions.reply(desk, ticket.id, agent, text, after, attachments=attached)
        except (UserFacingError, StoreError) as error:
            await client.chat_postMessage(channel=agent, text=f"Your reply was not sent: {error}")

    @app.view(Callback.ESCALATE_MODAL)
    async def escalate_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        reason = (_field(view, Field.REASON).get("value") or "").strip()
        if not reason:
            await ack(response_action="errors", errors={Field.REASON.value: "Say why it is escalated."})
            return
        await ack()
        work = actions.escalate_ticket(desk, view["private_metadata"], reason, actor_of(body) or "")
        await _submit(client, body, work)

    @app.view(Callback.NOTE_MODAL)
    async def note_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        note = (_field(view, Field.NOTE).get("value") or "").strip()
        if not note:
            await ack(response_action="errors", errors={Field.NOTE.value: "The note is empty."})
            return
        await ack()
        await _submit(client, body, actions.add_note(desk, view["private_metadata"], actor_of(body) or "", note))

    @app.view(Callback.PRIORITY_MODAL)
    async def priority_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        value = Priority(_field(view, Field.PRIORITY)["selected_option"]["value"])
        await _submit(client, body, actions.set_priority(desk, view["private_metadata"], value, actor_of(body) or ""))

    @app.view(Callback.CATEGORY_MODAL)
    async def category_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        value = Category(_field(view, Field.CATEGORY)["selected_option"]["value"])
        await _submit(client, body, actions.set_category(desk, view["private_metadata"], value, actor_of(body) or ""))


async def _submit(client: AsyncWebClient, body: dict[str, Any], work: Awaitable[Any]) -> None:
    try:
        await work
    except (UserFacingError, StoreError) as error:
        await client.chat_postMessage(channel=actor_of(body) or "", text=str(error))


def _register_thread(app: AsyncApp, desk: Desk) -> None:
    @app.event("message")
    async def message(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("subtype") == "message_changed":
            changed = event.get("message") or {}
            await replies.edited(desk, event.get("channel", ""), changed.get("ts", ""), changed.get("text", ""))
            return
        if event.get("subtype") not in (None, "file_share") or event.get("bot_id") or not event.get("thread_ts"):
            return
        if event["thread_ts"] == event.get("ts"):
            return
        async with desk.db.sessions() as session:
            ticket_id = await slack_store.ticket_for_thread(session, event["channel"], event["thread_ts"])
        user = event.get("user", "")
        if ticket_id is None or not is_person(desk, user):
            return  # not a ticket thread, or someone who is not an agent: talk, never sent
        try:
            text, shared = event.get("text", ""), file_ids(event.get("files") or [])
            attached = () if replies.stays_internal(text) else await fetch_files(desk, client, shared)
            await replies.thread_answer(desk, ticket_id, user, text or attached_line(attached), event["channel"],
                                        event["ts"], attached)
        except (UserFacingError, StoreError) as error:
            await client.chat_postEphemeral(channel=event["channel"], user=user, text=str(error))

    for action, how in ((Action.UNDO_SEND, "undo"), (Action.SEND_NOW, "now"), (Action.KEEP_NOTE, "note")):
        _register_settle(app, desk, action, how)


def _register_settle(app: AsyncApp, desk: Desk, action: Action, how: str) -> None:
    @app.action(action)
    @guarded
    async def settle(body: dict[str, Any], **_: Any) -> None:
        if await replies.settle(desk, _value(body), how, actor_of(body) or "") is None:
            raise UserFacingError("That answer was already sent, undone or kept as a note.")
