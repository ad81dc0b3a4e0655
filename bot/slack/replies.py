"""Agents answering in a ticket's thread: internal chatter stays internal; an answer is emailed after an
undo window, during which the agent can undo it, send it at once, keep it as a note, or edit it."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta

from blocks.messages import build_kept_as_note_message, build_sent_message, build_undo_message, build_undone_message
from bot import actions
from bot.desk import Desk
from bot.workers import Worker
from db import slack as slack_store
from db.slack import PendingReply
from ticketing.errors import UserFacingError
from ticketing.model import Attachment

log = logging.getLogger(__name__)
NOTE_PREFIX = re.compile(r"^\s*note\s*:", re.IGNORECASE)
MENTION = re.compile(r"<@[UW][A-Z0-9]+>")


def stays_internal(text: str) -> bool:
    """`note: ...` or a message that mentions a colleague is talk among the team, never sent."""
    return bool(NOTE_PREFIX.match(text) or MENTION.search(text))


async def thread_answer(desk: Desk, ticket_id: str, agent: str, text: str, channel: str, ts: str,
                        attachments: tuple[Attachment, ...] = ()) -> str:
    """An agent wrote in the ticket's thread: a note now, or a reply waiting out the undo window (with the files
    shared with it, fetched and kept already, to go to the customer as attachments)."""
    if stays_internal(text):
        await actions.add_note(desk, ticket_id, agent, NOTE_PREFIX.sub("", text, count=1).strip(), mark=(channel, ts))
        return "note"
    seconds = desk.settings.reply_undo_seconds
    reply = PendingReply(str(uuid.uuid4()), ticket_id, agent, text, channel, ts, None,
                         desk.clock.now() + timedelta(seconds=seconds), "pending", attachments)
    prompt_text, blocks = build_undo_message(reply.id, seconds=int(seconds))
    async with desk.db.transaction() as session:
        await slack_store.add_pending(session, reply, desk.clock.now())
        await desk.enqueue_slack(session, "prompt", ticket_id, pending_id=reply.id, text=prompt_text,
                                 blocks=[b.to_dict() for b in blocks])
    desk.outbox_written()
    return "pending"


async def edited(desk: Desk, channel: str, ts: str, text: str) -> bool:
    """An edit within the window changes what is sent."""
    async with desk.db.transaction() as session:
        found = await slack_store.pending_by_message(session, channel, ts)
        if found is None:
            return False
        await slack_store.set_pending(session, found.id, text=text)
    return True


async def settle(desk: Desk, reply_id: str, how: str, by: str) -> str | None:
    """Undo, send now or keep as note; also the worker's send when the window ends. Only the agent who
    wrote the answer may change it. Returns what happened, or None when it was settled already."""
    async with desk.db.transaction() as session:
        reply = await slack_store.claim_pending(session, reply_id)
        if reply is None:
            return None
        if by != reply.agent_id and how != "timer":
            raise UserFacingError("Only the agent who wrote this answer can change it.")
        status = {"undo": "undone", "note": "noted"}.get(how, "sent")
        await slack_store.set_pending(session, reply.id, status=status)
    if status == "sent":
        try:
            await actions.reply(desk, reply.ticket_id, reply.agent_id, reply.text, confirm=False,
                                attachments=reply.attachments)
        except UserFacingError as error:  # e.g. closed meanwhile: the answer is kept, and the agent told
            async with desk.db.transaction() as session:
                await slack_store.set_pending(session, reply.id, status="failed")
                await desk.enqueue_slack(session, "thread", reply.ticket_id,
                                         text=f"<@{reply.agent_id}> your answer was not sent: {error}")
            desk.outbox_written()
            return "failed"
        text, blocks = build_sent_message(reply.agent_id, at=desk.clock.now())
    elif status == "noted":
        await actions.add_note(desk, reply.ticket_id, reply.agent_id, reply.text,
                               mark=(reply.channel, reply.message_ts))
        text, blocks = build_kept_as_note_message(reply.agent_id)
    else:
        text, blocks = build_undone_message(reply.agent_id)
    await _update_prompt(desk, reply, text, [b.to_dict() for b in blocks])
    return status


async def _update_prompt(desk: Desk, reply: PendingReply, text: str, blocks: list[dict[str, object]]) -> None:
    """The Undo message becomes the outcome; when it never got posted, the outcome is a new thread message."""
    async with desk.db.transaction() as session:
        current = await slack_store.find_pending(session, reply.id)
        if current is not None and current.prompt_ts:
            await desk.enqueue_slack(session, "update_message", reply.ticket_id, channel=reply.channel,
                                     ts=current.prompt_ts, text=text, blocks=blocks)
        else:
            await desk.enqueue_slack(session, "thread", reply.ticket_id, text=text, blocks=blocks)
    desk.outbox_written()


class PendingReplies(Worker):
    """Sends thread answers whose undo window has ended."""

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self.send_due()
            except Exception:
                log.exception("pending replies: could not reach the store; trying again shortly")
            await self.idle(1.0)

    async def send_due(self) -> int:
        async with self.desk.db.sessions() as session:
            due = await slack_store.due_pending(session, self.desk.clock.now())
        for reply_id in due:
            await settle(self.desk, reply_id, "timer", "")
        return len(due)
