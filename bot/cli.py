"""`wedsync-support`: the one command line (Typer, Rich output)."""

from __future__ import annotations

import asyncio
import csv
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from bot import views
from bot.bootstrap import start_desk
from bot.cli_classifier import classifier_app
from bot.cli_quarantine import inbox_app, quarantine_app
from bot.desk import Desk
from bot.errors import BotError
from bot.imports import RowError, parse_customer_row, parse_ticket_line
from bot.settings import Settings, load_settings
from db import tickets as ticket_store
from db.errors import StoreError
from db.migrate import upgrade
from db.session import open_database
from ticketing.create import NewTicket
from ticketing.errors import UserFacingError
from ticketing.model import Priority, Source, Status
from ticketing.pattern_suggest import Example, PatternSuggestion, suggest_patterns
from ticketing.routing import DEFAULT_TEAM, TEAM_BY_CATEGORY

app = typer.Typer(help="WedSync support desk: email in, Slack for agents, SLA clocks.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
customers_app = typer.Typer(help="Customers.", no_args_is_help=True)
tickets_app = typer.Typer(help="Tickets.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(customers_app, name="customers")
app.add_typer(tickets_app, name="tickets")
patterns_app = typer.Typer(help="Classification patterns.", no_args_is_help=True)
app.add_typer(patterns_app, name="patterns")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(inbox_app, name="inbox")
app.add_typer(classifier_app, name="classifier")

# Piped output (scripts, tests) gets wide lines instead of Rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
T = TypeVar("T")


def run(work: Callable[[Desk], Awaitable[T]]) -> T:
    """Build the desk, run one piece of work on it, close it; errors become one clear line and exit 1."""

    async def main() -> T:
        desk = await start_desk(load_settings())
        try:
            return await work(desk)
        finally:
            if desk.learner is not None:
                await desk.learner.aclose()
            await desk.db.close()

    return _guarded(main())


def _guarded(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coroutine)
    except (BotError, StoreError, UserFacingError) as error:
        coroutine.close()
        err.print(f"[red]error:[/red] {escape(str(error))}", highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(1) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""

    async def main() -> None:
        database = open_database(load_settings().database_url)
        try:
            await upgrade(database)
        finally:
            await database.close()

    _guarded(main())
    out.print("database is up to date")


@customers_app.command("import")
def customers_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Import customers from CSV: email, name, type, tier, created_at, language. Bad rows are reported by
    line; good rows are kept."""
    with file.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    missing = {"email"} - set(rows[0].keys() if rows else ())
    if missing:
        err.print(f"[red]error:[/red] {file} has no 'email' column (columns: email, name, type, tier, created_at, "
                  "language)")
        raise typer.Exit(1)

    async def work(desk: Desk) -> tuple[int, list[str]]:
        saved, problems = 0, []
        with Progress(console=out, transient=True) as progress:
            task = progress.add_task("importing customers", total=len(rows))
            for start in range(0, len(rows), 500):
                async with desk.db.transaction() as session:
                    for offset, row in enumerate(rows[start:start + 500]):
                        line = start + offset + 2  # the header is line 1
                        try:
                            await ticket_store.save_customer(session, parse_customer_row(row), desk.clock.now())
                            saved += 1
                        except RowError as error:
                            problems.append(f"line {line}: {error}")
                        progress.advance(task)
        return saved, problems

    saved, problems = run(work)
    for problem in problems:
        err.print(f"[yellow]skipped[/yellow] {problem}", highlight=False)
    out.print(f"imported {saved} customer(s); {len(problems)} row(s) skipped")


@tickets_app.command("new")
def tickets_new(
    sender: Annotated[str, typer.Option("--from", help="The customer's email address.")],
    subject: Annotated[str, typer.Option(help="The ticket's subject.")],
    body: Annotated[str, typer.Option(help="What the customer said.")],
    source: Annotated[Source, typer.Option(help="Where the request came from.")] = Source.EMAIL,
    name: Annotated[str, typer.Option(help="The customer's name, for a new customer.")] = "",
) -> None:
    """Open a ticket through the whole creation path (classify, priority, SLA, id, routing) and print it."""
    from bot.imports import parse_email_address

    try:
        address = parse_email_address(sender, "--from")
    except RowError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None

    async def work(desk: Desk) -> None:
        async with desk.db.transaction() as session:
            customer = await ticket_store.ensure_customer(session, address, name, desk.clock.now())
        created = await desk.open_ticket(NewTicket(customer, subject, body, source))
        await views.show_ticket(desk, out, created.ticket.id)

    run(work)


@tickets_app.command("import")
def tickets_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    notify: Annotated[bool, typer.Option(help="Announce SLA warnings and breaches that came before the import "
                                              "(customer mail, manager pages, escalation), as if they were new.")
                      ] = False,
) -> None:
    """Bring open tickets from another desk: one JSON object a line (customer_email, subject, description,
    created_at; optional status, priority, category, assignee). They keep their created time; breaches
    before the import are recorded, not announced, unless --notify."""
    lines = file.read_text(encoding="utf-8-sig").splitlines()

    async def work(desk: Desk) -> tuple[list[str], list[str]]:
        from bot.workflows import import_ticket

        created, problems = [], []
        with Progress(console=out, transient=True) as progress:
            task = progress.add_task("importing tickets", total=len(lines))
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    try:
                        created.append(await import_ticket(desk, parse_ticket_line(line), notify))
                    except RowError as error:
                        problems.append(f"line {number}: {error}")
                progress.advance(task)
        return created, problems

    created, problems = run(work)
    for problem in problems:
        err.print(f"[yellow]skipped[/yellow] {problem}", highlight=False)
    out.print(f"imported {len(created)} ticket(s); {len(problems)} line(s) skipped")


@tickets_app.command("list")
def tickets_list(
    status: Annotated[list[Status] | None, typer.Option(help="Only these statuses (repeatable).")] = None,
    priority: Annotated[Priority | None, typer.Option(help="Only this priority.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """Tickets, newest first."""

    async def work(desk: Desk) -> None:
        async with desk.db.sessions() as session:
            known = sorted({*desk.config.teams, *TEAM_BY_CATEGORY.values(), DEFAULT_TEAM,
                            *await ticket_store.ticket_teams(session)})
            if team is not None and team not in known:
                raise BotError(f"no team {team!r}; the teams are {', '.join(known)}")
            found = await ticket_store.list_tickets(session, status or (), priority, team, limit=limit)
            total = await ticket_store.count_tickets(session, status or (), priority, team)
        views.print_ticket_table(out, found, desk.clock.now(), total, lambda who: views.agent_name(desk, who))

    run(work)


@tickets_app.command("show")
def tickets_show(ticket_id: Annotated[str, typer.Argument(help="e.g. BIL-MIDQ1Z2K-7QF")]) -> None:
    """A ticket: its details, SLA state, timeline and messages."""
    run(lambda desk: views.show_ticket(desk, out, ticket_id.strip().upper()))


@app.command()
def serve() -> None:
    """Run the desk: SMTP listener, IMAP poller (when IMAP_HOST is set), inbox worker and mail sender."""
    from bot.serve import serve_forever

    settings = _guarded_settings()
    logging.getLogger().setLevel(settings.log_level.upper())
    _guarded(serve_forever(settings, lambda line: out.print(line, highlight=False)))


def _guarded_settings() -> Settings:
    try:
        return load_settings()
    except BotError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(1) from None


@patterns_app.command("suggest")
def patterns_suggest(
    min_corrections: Annotated[int, typer.Option(help="Corrections a category needs before a suggestion.")] = 2,
) -> None:
    """New patterns from agents' category corrections, with how often each would have been right; paste the
    good ones under `patterns:` in support.yml."""

    async def work(desk: Desk) -> list[PatternSuggestion]:
        async with desk.db.sessions() as session:
            found = await ticket_store.list_tickets(session, limit=100_000)
        examples = [Example(f"{t.subject} {t.description}", t.category, bool(t.metadata.extra.get("corrections")))
                    for t in found]
        return suggest_patterns(examples, min_corrections=min_corrections)

    suggestions = run(work)
    if not suggestions:
        out.print("no suggestions yet: agents have not corrected enough tickets into one category")
        return
    out.print("patterns:", highlight=False)
    for s in suggestions:
        out.print(f"  - name: learnt_{s.category}\n    regex: '{s.regex}'\n    category: {s.category}\n"
                  f"    type: question   # check this\n    # catches {s.corrections} corrected tickets; right "
                  f"{s.precision:.0%} of the {s.matches} tickets it matches", highlight=False)


from bot import cli_attachments  # noqa: E402,F401  (registers `tickets attachment`)
from bot.cli_outbox import outbox_app  # noqa: E402  (it uses `run` and the consoles above)
from bot.cli_report import report_app  # noqa: E402  (it uses run/out/err above)

app.add_typer(outbox_app, name="outbox")
app.add_typer(report_app, name="report")

from bot import cli_digest  # noqa: E402,F401  (registers `report digest` on report_app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app()
