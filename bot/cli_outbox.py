"""`wedsync-support outbox list|show|retry`: the effects waiting to leave (mail, Slack, SMS), why each waits
and when it is tried next; a failed or given-up one can be made due now."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from bot import views
from bot.cli import err, out, run
from bot.desk import Desk
from bot.errors import BotError
from db import outbox as outbox_store
from db.outbox import OutboxEntry

outbox_app = typer.Typer(help="Mail, Slack posts and SMS waiting to leave, and why.", no_args_is_help=True)


def what(desk: Desk, entry: OutboxEntry) -> str:
    """One line: what the row delivers, to whom."""
    p = entry.payload
    if entry.kind == "email":
        return f"email to {p.get('to', '?')}: {p.get('subject', '')}"[:90]
    if entry.kind == "sms":
        return f"SMS to {p.get('person') or p.get('to', '?')} ({p.get('kind', 'alert')})"
    if entry.kind == "slack":
        target = f" to {views.agent_name(desk, p['user'])}" if p.get("user") else ""
        return f"Slack {p.get('op', '?')}{target}"
    return entry.kind


def why(desk: Desk, entry: OutboxEntry, now: datetime) -> str:
    """Why it has not left yet."""
    settings = desk.settings
    if entry.status == "sent":
        return f"sent {views.when(entry.sent_at)}"
    if entry.status == "dead":
        error = entry.last_error or "no error kept"
        return error if error.startswith("gave up") else f"given up: {error}"
    if entry.last_error:
        return f"failed {entry.attempts} time(s), last: {entry.last_error}"
    if entry.kind == "email" and not settings.smtp_host:
        return "SMTP_HOST is not set: mail waits until it is"
    if entry.kind == "slack" and not settings.slack_enabled:
        return "SLACK_BOT_TOKEN is not set: Slack posts wait until it is"
    if entry.kind == "sms" and not settings.sms_enabled:
        return "SMS is off (TWILIO_* not set): the text waits until it is on"
    if entry.next_attempt_at > now:
        return "paced or being delivered: waits its turn"
    return "due: the next `serve` pass sends it"


def next_try(entry: OutboxEntry, now: datetime) -> str:
    if entry.status == "sent":
        return "-"
    if entry.status == "dead":
        return f"never (`outbox retry {entry.id}`)"
    if entry.next_attempt_at <= now:
        return "now"
    return views.until(entry.next_attempt_at, now).replace("due ", "")


@outbox_app.command("list")
def outbox_list(
    everything: Annotated[bool, typer.Option("--all", help="Sent rows too.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """What waits to leave (and what was given up on): the next due first, with why and when it is tried next."""
    statuses = ("pending", "dead", "sent") if everything else ("pending", "dead")

    async def work(desk: Desk) -> None:
        async with desk.db.sessions() as session:
            found, total = await outbox_store.list_entries(session, statuses, limit)
        now = desk.clock.now()
        if not found:
            out.print("the outbox is empty: nothing waits to leave")
            return
        table = Table("status", "ticket", "what", "tries", "next try", "why")
        table.columns.insert(0, Column("id", no_wrap=True))
        for entry in found:
            table.add_row(str(entry.id), entry.status, entry.ticket_id or "-", escape(what(desk, entry)),
                          str(entry.attempts), next_try(entry, now), escape(why(desk, entry, now)[:120]))
        out.print(table)
        if total > len(found):
            out.print(f"showing {len(found)} of {total}; --limit shows more")

    run(work)


@outbox_app.command("show")
def outbox_show(item_id: int) -> None:
    """One row: what it delivers, its state, its last error and its payload."""

    async def work(desk: Desk) -> None:
        async with desk.db.sessions() as session:
            entry = await outbox_store.find_entry(session, item_id)
        if entry is None:
            raise BotError(f"no outbox row {item_id}; `wedsync-support outbox list` shows the ids")
        now = desk.clock.now()
        grid = Table.grid(padding=(0, 2))
        for label, value in (
            ("id", str(entry.id)), ("what", what(desk, entry)), ("ticket", entry.ticket_id or "-"),
            ("status", entry.status), ("attempts", str(entry.attempts)), ("next try", next_try(entry, now)),
            ("why", why(desk, entry, now)), ("created", views.when(entry.created_at)),
            ("sent", views.when(entry.sent_at)),
        ):
            grid.add_row(f"[dim]{label}[/dim]", escape(value))
        out.print(grid)
        out.rule("payload")
        out.print(escape(json.dumps(entry.payload, indent=2, ensure_ascii=False)), highlight=False, soft_wrap=True)

    run(work)


@outbox_app.command("retry")
def outbox_retry(item_ids: list[int]) -> None:
    """Make these waiting or given-up rows due now (a given-up row gets its attempts back); the running
    `serve` sends them on its next pass. Unknown or already sent ids are named and exit 1."""

    async def work(desk: Desk) -> tuple[list[int], dict[int, str]]:
        async with desk.db.transaction() as session:
            done = await outbox_store.retry_now(session, item_ids, desk.clock.now())
            refused: dict[int, str] = {}
            for item_id in sorted(set(item_ids) - set(done)):
                entry = await outbox_store.find_entry(session, item_id)
                refused[item_id] = "does not exist" if entry is None else f"was sent {views.when(entry.sent_at)}"
        if done:
            desk.outbox_written()
        return done, refused

    done, refused = run(work)
    if done:
        out.print(f"{len(done)} row(s) due now: {', '.join(map(str, done))}")
    if refused:
        for item_id, reason in refused.items():
            err.print(f"[red]error:[/red] outbox row {item_id} {escape(reason)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)

