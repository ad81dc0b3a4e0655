"""A ticket's attachments from the command line: listed in `tickets show`, written out one by one."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.desk import Desk
from db import mail as mail_store
from db.errors import NotFound
from ticketing.attachments import Numbered, human_size, is_dangerous, numbered
from ticketing.errors import UserFacingError
from ticketing.model import Ticket


@dataclass(frozen=True)
class Listed:
    item: Numbered
    kept: bool


async def list_attachments(desk: Desk, ticket: Ticket) -> list[Listed]:
    items = numbered(ticket)
    async with desk.db.sessions() as session:
        kept = await mail_store.blobs_kept(session, [i.attachment.sha256 for i in items])
    return [Listed(item, item.attachment.sha256 in kept) for item in items]


def print_attachments(console: Console, ticket: Ticket, listed: list[Listed]) -> None:
    if not listed:
        return
    table = Table("#", "file", "type", "size", "from", "note", title="attachments", title_justify="left")
    for entry in listed:
        a, message = entry.item.attachment, entry.item.message
        notes = [] if entry.kept else ["not kept (over ATTACHMENT_CAP_BYTES)"]
        if is_dangerous(a.filename, a.content_type):
            notes.append("dangerous type")
        if a.inline:
            notes.append("inline")
        table.add_row(str(entry.item.number), escape(a.filename), escape(a.content_type), human_size(a.size),
                      message.author.value, ", ".join(notes) or "-")
    console.print(table)
    console.print(f"[dim]wedsync-support tickets attachment {ticket.id} N --out FILE writes one out[/dim]")


async def attachment_content(desk: Desk, ticket_id: str, number: int) -> tuple[Numbered, bytes]:
    """Attachment `number` (from 1, as `tickets show` lists them) of a ticket, with its content."""
    ticket = await desk.find_ticket(ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}; `wedsync-support tickets list` shows the ids")
    items = numbered(ticket)
    if not items:
        raise UserFacingError(f"{ticket.id} has no attachments")
    if not 1 <= number <= len(items):
        raise UserFacingError(f"{ticket.id} has {len(items)} attachment(s): give a number from 1 to {len(items)}")
    item = items[number - 1]
    async with desk.db.sessions() as session:
        content = await mail_store.load_blob(session, item.attachment.sha256)
    if content is None:
        raise UserFacingError(f"attachment {number} of {ticket.id} ({item.attachment.filename}, "
                              f"{human_size(item.attachment.size)}) was not kept: it was over ATTACHMENT_CAP_BYTES "
                              "when it arrived")
    return item, content
