"""`wedsync-support quarantine ...` (mail that could not be handled, kept raw with its error) and
`wedsync-support inbox audit` (where every accepted mail is now)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from bot import views
from bot.desk import Desk
from db import inbox_audit
from db import mail as mail_store
from db.errors import NotFound
from db.mail import InboundStatus

quarantine_app = typer.Typer(help="Mail that could not be handled, kept raw with its error.", no_args_is_help=True)
inbox_app = typer.Typer(help="The inbox: every mail the desk accepted.", no_args_is_help=True)

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
T = TypeVar("T")
RATE_LIMIT_REASON = "rate limit"


def _run(work: Callable[[Desk], Awaitable[T]]) -> T:
    from bot.cli import run  # bot.cli registers this module's apps: imported here, not at the top

    return run(work)


@quarantine_app.command("list")
def quarantine_list(limit: Annotated[int, typer.Option(help="At most this many.")] = 50) -> None:
    """Quarantined messages, newest first: sender, subject and why each is held."""

    async def work(desk: Desk) -> None:
        async with desk.db.sessions() as session:
            found = await mail_store.list_inbound(session, InboundStatus.QUARANTINED, limit)
        views.print_inbound_table(out, found)

    _run(work)


@quarantine_app.command("show")
def quarantine_show(inbound_id: int, raw: Annotated[bool, typer.Option(help="Print the raw message.")] = False) -> None:
    """One quarantined message: where it came from, its error and (with --raw) its bytes."""

    async def work(desk: Desk) -> None:
        async with desk.db.sessions() as session:
            found = await mail_store.get_inbound(session, inbound_id)
        if found is None:
            raise NotFound(f"no inbound message {inbound_id}; `wedsync-support quarantine list` shows the ids")
        views.print_inbound(out, found, raw)

    _run(work)


def _report(asked: Sequence[int], done: list[int], existing: dict[int, tuple[InboundStatus, str]],
            verb: str, did: str) -> None:
    """What happened to each id; exit 1 when any id was not acted on."""
    if done:
        out.print(f"{len(done)} message(s) {did}: {', '.join(map(str, done))}", highlight=False)
    missing = [i for i in dict.fromkeys(asked) if i not in done]
    for inbound_id in missing:
        if inbound_id not in existing:
            err.print(f"[red]error:[/red] {inbound_id} does not exist; `wedsync-support quarantine list` shows the "
                      "ids", highlight=False)
            continue
        status, reason = existing[inbound_id]
        if status is InboundStatus.QUARANTINED:  # only `release` leaves one: it was not held by the rate limit
            held_for = escape(views.printable(reason)[:80])
            err.print(f"[yellow]not {verb}[/yellow] {inbound_id}: it is held for \"{held_for}\", not by the rate "
                      f"limit; `wedsync-support quarantine retry {inbound_id}` handles it again",
                      highlight=False, markup=True)
        else:
            err.print(f"[yellow]not {verb}[/yellow] {inbound_id}: it is not in quarantine (it is {status.value})",
                      highlight=False)
    if missing:
        raise typer.Exit(1)


def _act(inbound_ids: list[int], verb: str, did: str, act: Callable[[Desk], Awaitable[list[int]]]) -> None:
    async def work(desk: Desk) -> tuple[list[int], dict[int, tuple[InboundStatus, str]]]:
        done = await act(desk)
        async with desk.db.sessions() as session:
            return done, await mail_store.existing_inbound(session, inbound_ids)

    done, existing = _run(work)
    _report(inbound_ids, done, existing, verb, did)


@quarantine_app.command("retry")
def quarantine_retry(inbound_ids: list[int]) -> None:
    """Handle these quarantined messages again (by the running `serve`, or the next one started)."""

    async def act(desk: Desk) -> list[int]:
        async with desk.db.transaction() as session:
            return await mail_store.requeue(session, inbound_ids)

    _act(inbound_ids, "queued", "queued again", act)


@quarantine_app.command("discard")
def quarantine_discard(inbound_ids: list[int]) -> None:
    """Decide these quarantined messages need nothing: marked ignored, the raw message kept."""

    async def act(desk: Desk) -> list[int]:
        async with desk.db.transaction() as session:
            return await mail_store.discard(session, inbound_ids, desk.clock.now())

    _act(inbound_ids, "discarded", "discarded (kept, marked ignored)", act)


@quarantine_app.command("release")
def quarantine_release(inbound_ids: list[int]) -> None:
    """Let messages held by the sender rate limit through: handled again, past the limit this once."""

    async def act(desk: Desk) -> list[int]:
        async with desk.db.transaction() as session:
            existing = await mail_store.existing_inbound(session, inbound_ids)
            held = [i for i, (status, reason) in existing.items()
                    if status is InboundStatus.QUARANTINED and reason.startswith(RATE_LIMIT_REASON)]
            return await mail_store.requeue(session, held, release=True) if held else []

    _act(inbound_ids, "released", "released past the rate limit", act)


@inbox_app.command("audit")
def inbox_audit_command() -> None:
    """Where every mail the desk accepted is now: tickets created, messages threaded, ignored and quarantined
    (with reasons), pending; and how many are unaccounted (none, on a healthy desk). Exits 1 if any is."""

    async def work(desk: Desk) -> tuple[inbox_audit.InboxAudit, str]:
        async with desk.db.sessions() as session:
            found = await inbox_audit.audit_inbox(session)
            oldest = await inbox_audit.oldest_pending(session)
        return found, views.when(oldest) if oldest else ""

    found, oldest = _run(work)
    views.print_inbox_audit(out, found, oldest)
    if found.unaccounted:
        raise typer.Exit(1)
