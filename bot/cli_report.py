"""`wedsync-support report ...`: the daily report and the per-ticket export, from the facts (db.reports)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli import err, out, run
from bot.desk import Desk
from bot.errors import BotError
from db import reports as report_store
from ticketing.calendar import Calendar
from ticketing.reports import DailyRow, TicketFacts, first_response_minutes, resolution_minutes

report_app: typer.Typer = typer.Typer(help="Reports from the tickets and their timeline.", no_args_is_help=True)

DAILY_COLUMNS = ("day", "total", "critical", "resolved", "avg_first_response_min", "avg_resolution_h",
                 "sla_breaches", "resolution_rate_pct")
FACT_COLUMNS = (*(f.name for f in fields(TicketFacts)), "first_response_business_minutes",
                "resolution_business_minutes")


class ReportError(BotError):
    """A bad report option: says which and what to give."""


def _check_team(desk: Desk, team: str | None) -> None:
    if team is not None and team not in desk.config.teams:
        known = ", ".join(sorted(desk.config.teams)) or "none configured"
        raise ReportError(f"--team {team!r} is not a team of support.yml (teams: {known})")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def daily_values(row: DailyRow) -> tuple[Any, ...]:
    return (row.day.isoformat(), row.total, row.critical, row.resolved, _round(row.avg_first_response_minutes),
            _round(row.avg_resolution_hours), row.sla_breaches, _round(row.resolution_rate))


def _show(value: Any) -> str:
    return "-" if value is None else str(value)


def _print_daily(rows: Sequence[DailyRow], as_csv: bool, as_json: bool) -> None:
    values = [daily_values(row) for row in rows]
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(DAILY_COLUMNS)
        writer.writerows(["" if v is None else v for v in line] for line in values)
    elif as_json:
        sys.stdout.write(json.dumps([dict(zip(DAILY_COLUMNS, line, strict=True)) for line in values], indent=2) + "\n")
    else:
        table = Table("Day", "Total", "Critical", "Resolved", "Avg first response (min)", "Avg resolution (h)",
                      "SLA breaches", "Resolution rate (%)", title="Daily ticket report (business hours)")
        for line in values:
            table.add_row(*(_show(v) for v in line))
        out.print(table)


@report_app.command("daily")
def report_daily(
    days: Annotated[int, typer.Option(min=1, max=3660, help="This many days, today included.")] = 30,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
    team: Annotated[str | None, typer.Option(help="Only this team's tickets (a team of support.yml).")] = None,
) -> None:
    """Per day of creation: total, critical, resolved, average first response and resolution (business hours,
    waiting on the customer left out), SLA breaches, resolution rate. Newest day first."""
    if as_csv and as_json:
        err.print("[red]error:[/red] give --csv or --json, not both")
        raise typer.Exit(2)

    async def work(desk: Desk) -> list[DailyRow]:
        _check_team(desk, team)
        async with desk.db.sessions() as session:
            return await report_store.daily_report(session, now=desk.clock.now(), days=days, team=team,
                                                   calendars=desk.config.calendars)

    _print_daily(run(work), as_csv, as_json)


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; give YYYY-MM-DD, e.g. 2026-11-01",
                                 param_hint=option) from None


def fact_values(facts: TicketFacts, calendars: Mapping[str, Calendar]) -> dict[str, Any]:
    values = asdict(facts)
    for name, value in values.items():
        if isinstance(value, datetime):
            values[name] = value.isoformat()
        elif isinstance(value, tuple):
            values[name] = " ".join(value)
    values["first_response_business_minutes"] = _round(first_response_minutes(facts, calendars))
    values["resolution_business_minutes"] = _round(resolution_minutes(facts, calendars))
    return values


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula (tags may come from a model reading customer text)."""
    return f"'{value}" if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


@report_app.command("tickets")
def report_tickets(
    since: Annotated[str, typer.Option(help="First day of creation, YYYY-MM-DD (UTC).")],
    until: Annotated[str | None, typer.Option(help="Last day of creation, YYYY-MM-DD, included (default: today).")]
    = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout (the default).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout instead.")] = False,
    team: Annotated[str | None, typer.Option(help="Only this team's tickets.")] = None,
) -> None:
    """Per-ticket facts of the tickets created in the days given: times, SLA, escalation, rating, reopens,
    merges, deflection, import; business minutes beside the raw moments. Streamed: any number of tickets."""
    first = parse_day(since, "--since")
    last = parse_day(until, "--until") if until else None
    if last is not None and last < first:
        raise typer.BadParameter(f"{until} is before --since {since}", param_hint="--until")

    async def work(desk: Desk) -> int:
        _check_team(desk, team)
        start = datetime.combine(first, time(0), UTC)
        end = datetime.combine(last or desk.clock.now().date(), time(0), UTC) + timedelta(days=1)
        writer = csv.DictWriter(sys.stdout, FACT_COLUMNS, lineterminator="\n")
        if not as_json:
            writer.writeheader()
        count = 0
        async with desk.db.sessions() as session:
            async for facts in report_store.ticket_export(session, since=start, until=end, team=team):
                values = fact_values(facts, desk.config.calendars)
                if as_json:
                    sys.stdout.write(json.dumps(values) + "\n")
                else:
                    writer.writerow({name: _cell(value) for name, value in values.items()})
                count += 1
        return count

    count = run(work)
    err.print(f"{count} ticket(s)")
