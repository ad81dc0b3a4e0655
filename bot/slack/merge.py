"""Slack's Merge: the card's overflow option `merge` (or a `merge_open` button) opens the merge modal; its
submission merges, or answers with a field error (no such ticket, another customer's, closed, itself).

`register` must run before bot/slack/app.py registers the card's generic overflow listener: Bolt runs the first
listener that matches, and this one matches only the overflow's `merge` value.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ids import Action, ticket_id_from_block_id
from blocks.merge import MergeId, build_merge_modal
from bot import actions, related
from bot.desk import Desk
from db.errors import StoreError
from ticketing.errors import UserFacingError
from ticketing.model import Status


async def is_merge_option(body: dict[str, Any]) -> bool:
    """A listener matcher: the card overflow's Merge option was chosen."""
    chosen = ((body.get("actions") or [{}])[0].get("selected_option") or {}).get("value")
    return chosen == MergeId.OVERFLOW_VALUE


def _field(view: dict[str, Any], name: MergeId) -> dict[str, Any]:
    found: dict[str, Any] = view["state"]["values"].get(name.value, {}).get(name.value, {}) or {}
    return found


def register(app: AsyncApp, desk: Desk) -> None:
    from bot.slack.app import actor_of, guarded  # here, not at the top: bot/slack/app.py imports this module

    async def open_modal(ticket_id: str, body: dict[str, Any], client: AsyncWebClient) -> None:
        ticket = await actions.get(desk, ticket_id)
        if ticket.status is Status.CLOSED:
            raise UserFacingError(f"{ticket.id} is closed; only tickets that are not closed can be merged.")
        candidates, linked = await related.merge_candidates(desk, ticket)
        await client.views_open(trigger_id=body["trigger_id"],
                                view=build_merge_modal(ticket, candidates, linked, private_metadata=ticket.id))

    @app.action(Action.OVERFLOW, matchers=[is_merge_option])
    @guarded
    async def merge_from_overflow(body: dict[str, Any], client: AsyncWebClient, **_: Any) -> None:
        ticket_id = ticket_id_from_block_id(str(body["actions"][0].get("block_id", "")))
        if ticket_id is None:
            raise UserFacingError("That menu does not belong to a ticket card.")
        await open_modal(ticket_id, body, client)

    @app.action(MergeId.OPEN)
    @guarded
    async def merge_from_button(body: dict[str, Any], client: AsyncWebClient, **_: Any) -> None:
        await open_modal(str(body["actions"][0].get("value") or ""), body, client)

    @app.view(MergeId.MODAL)
    async def merge_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        source = view.get("private_metadata") or ""
        picked = str((_field(view, MergeId.TARGET).get("selected_option") or {}).get("value") or "")
        typed = related.normalise_id(str(_field(view, MergeId.TARGET_ID).get("value") or ""))
        where = MergeId.TARGET_ID if typed or not picked else MergeId.TARGET
        if picked and typed and picked != typed:
            await ack(response_action="errors",
                      errors={MergeId.TARGET_ID.value: f"You chose {picked} and typed {typed}: keep one."})
            return
        target = typed or picked
        if not target:
            await ack(response_action="errors", errors={where.value: "Choose a ticket or type its id."})
            return
        refused = await related.check_merge(desk, source, target)
        if refused is not None:
            await ack(response_action="errors", errors={where.value: str(refused)})
            return
        await ack()
        user = actor_of(body) or ""
        try:
            await related.merge(desk, source, target, user)
        except (UserFacingError, StoreError) as error:  # changed between the check and the merge
            await client.chat_postMessage(channel=user, text=f"{source} was not merged: {error}")
