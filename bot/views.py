"""What the command line prints: Rich tables and panels built from ticket values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from bot.attachments import list_attachments, print_attachments
from bot.desk import Desk
from channels.email.parse import parse_email
from channels.errors import EmailParseError
from db.errors import NotFound
from db.inbox_audit import InboxAudit
from db.mail import Inbound
from ticketing.model import Ticket

PRIORITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def until(deadline: datetime, now: datetime) -> str:
    """`due in 3h 5m` or `overdue by 20m`."""
    seconds = int((deadline - now).total_seconds())
    hours, minutes = divmod(abs(seconds) // 60, 60)
    text = f"{hours}h {minutes}m" if hours else f"{minutes}m"
    return f"due in {text}" if seconds >= 0 else f"overdue by {text}"


def sla_state(ticket: Ticket, now: datetime) -> tuple[str, str]:
    if ticket.timeline.first_response is not None:
        first = f"met at {when(ticket.timeline.first_response)}"
    else:
        first = until(ticket.sla.first_response_due, now)
    if ticket.timeline.resolved is not None:
        resolution = f"resolved at {when(ticket.timeline.resolved)}"
    else:
        resolution = until(ticket.sla.resolution_due, now)
    return first, resolution


def agent_name(desk: Desk, slack_id: str | None, with_id: bool = False) -> str:
    """An agent (or the founder) by name from support.yml, the Slack id after it with `with_id`; an id
    support.yml does not know stays an id."""
    if not slack_id:
        return "-"
    agent = desk.config.agent(slack_id)
    founder = desk.config.founder
    name = agent.name if agent else (founder.name if founder and founder.slack_id == slack_id else None)
    if name is None:
        return slack_id
    return f"{name} ({slack_id})" if with_id else name


def print_ticket_table(console: Console, found: Sequence[Ticket], now: datetime, total: int | None = None,
                       names: Callable[[str | None], str] = lambda slack_id: slack_id or "-") -> None:
    """`total`: how many match in all, when more than `found` ("showing 50 of 307")."""
    if not found:
        console.print("no tickets")
        return
    table = Table("priority", "status", "category", "assignee", "customer", "subject", "first response")
    table.columns.insert(0, Column("id", no_wrap=True))
    for ticket in found:
        table.add_row(ticket.id, f"[{PRIORITY_STYLE[ticket.priority]}]{ticket.priority}[/]", ticket.status,
                      ticket.category, escape(names(ticket.assignee)), escape(ticket.customer.email),
                      escape(ticket.subject[:50]), sla_state(ticket, now)[0])
    console.print(table)
    if total is not None and total > len(found):
        console.print(f"showing {len(found)} of {total}; --limit shows more, --status, --priority and --team fewer")


async def show_ticket(desk: Desk, console: Console, ticket_id: str) -> None:
    ticket = await desk.find_ticket(ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}; `wedsync-support tickets list` shows the ids")
    now = desk.clock.now()
    first, resolution = sla_state(ticket, now)
    c = ticket.customer
    console.print(f"[bold]{ticket.id}[/bold]  {escape(ticket.subject)}")
    grid = Table.grid(padding=(0, 2))
    for label, value in (
        ("customer", f"{c.name or '-'} <{c.email}> ({c.user_type}, {c.tier})"),
        ("category", f"{ticket.category} / {ticket.type}  ({ticket.classification.reason}, "
                     f"confidence {ticket.classification.confidence:.2f})"),
        ("priority", ticket.priority.value),
        ("status", ticket.status.value),
        ("team", ticket.team),
        ("assignee", agent_name(desk, ticket.assignee, with_id=True) if ticket.assignee else "unassigned (team queue)"),
        ("tags", ", ".join(ticket.tags) or "-"),
        ("first response", f"{ticket.sla.first_response_minutes} min, due {when(ticket.sla.first_response_due)}"
                           f" — {first}"),
        ("resolution", f"{ticket.sla.resolution_minutes} min, due {when(ticket.sla.resolution_due)} — {resolution}"),
        ("escalation", f"level {ticket.escalation.level}" + (f": {ticket.escalation.reason}"
                                                             if ticket.escalation.reason else "")),
        ("created", when(ticket.timeline.created)),
        ("updated", when(ticket.timeline.last_update)),
    ):
        grid.add_row(f"[dim]{label}[/dim]", escape(value))
    console.print(grid)
    print_attachments(console, ticket, await list_attachments(desk, ticket))
    for message in ticket.messages:
        kind = message.author.value + (" (internal)" if message.visibility == "internal" else "")
        sender = agent_name(desk, message.sender) if message.author.value == "agent" else message.sender or ""
        console.rule(f"{when(message.created_at)}  {kind}  {escape(sender)}", align="left")
        console.print(escape(message.body.strip()), highlight=False)


def printable(text: str) -> str:
    """`text` with control characters (terminal escapes included) shown as `?`, safe to print."""
    return "".join(c if c.isprintable() else "?" for c in text)


def inbound_summary(raw: bytes) -> tuple[str, str]:
    """(sender, subject) of a stored message for a listing, read from its header block only; "-" where the
    bytes have none."""
    end = next((i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := raw.find(sep)) >= 0), len(raw))
    try:
        parsed = parse_email(raw[:end])
    except EmailParseError:
        return "-", "-"
    sender = parsed.from_address or "-"  # the parser falls back to a later From, Reply-To or Sender
    return sender, parsed.subject or "-"


def print_inbound_table(console: Console, found: Sequence[Inbound]) -> None:
    if not found:
        console.print("quarantine is empty")
        return
    table = Table("received", "sender", "subject", "error", "tries")
    table.columns.insert(0, Column("id", no_wrap=True))
    for item in found:
        sender, subject = inbound_summary(item.raw)
        table.add_row(str(item.id), when(item.received_at), escape(printable(sender)), escape(printable(subject[:50])),
                      escape(printable((item.reason or "")[:80])), str(item.attempts))
    console.print(table)


def print_inbox_audit(console: Console, audit: InboxAudit, oldest_pending: str) -> None:
    """The accounting of every accepted mail, one line each (see db.inbox_audit for the definitions)."""
    lines = [f"accepted  {audit.accepted}  (deliveries acknowledged; {audit.stored} stored, "
             f"{audit.redeliveries} redelivered with the same content)",
             f"  tickets created     {audit.tickets_created}",
             f"  messages threaded   {audit.messages_threaded}",
             f"  ignored             {sum(audit.ignored.values()) + audit.redeliveries}"]
    if audit.redeliveries:
        lines.append(f"    {audit.redeliveries:>5}  redelivery (same content again; counted on the stored message)")
    lines += [f"    {count:>5}  {printable(reason)}" for reason, count in audit.ignored.most_common()]
    lines.append(f"  quarantined         {sum(audit.quarantined.values())}")
    lines += [f"    {count:>5}  {printable(reason)}" for reason, count in audit.quarantined.most_common()]
    lines.append(f"  pending             {audit.pending}" + (f"  (oldest since {oldest_pending})" if audit.pending
                                                              else ""))
    if audit.id_collisions:
        lines.append(f"  of these, {audit.id_collisions} reused a Message-ID already stored (kept as new messages)")
    ids = ", ".join(map(str, audit.unaccounted[:20])) + (" ..." if len(audit.unaccounted) > 20 else "")
    lines.append(f"unaccounted  {len(audit.unaccounted)}" + (f"  (inbound ids: {ids})" if ids else
                 "  (every accepted mail is a ticket, a threaded message, ignored, quarantined or pending)"))
    for line in lines:
        console.print(escape(line), highlight=False)


def print_inbound(console: Console, item: Inbound, raw: bool) -> None:
    grid = Table.grid(padding=(0, 2))
    for label, value in (("id", str(item.id)), ("status", item.status.value), ("received", when(item.received_at)),
                         ("origin", item.origin), ("message-id", item.message_id),
                         ("sender / subject", " / ".join(inbound_summary(item.raw))),
                         ("deliveries", str(item.deliveries)),
                         ("id collision", f"reuses the Message-ID of inbound {item.duplicate_of}"
                          if item.duplicate_of else "-"),
                         ("error", item.reason or "-"),
                         ("ticket", item.ticket_id or "-"), ("size", f"{len(item.raw)} bytes")):
        grid.add_row(f"[dim]{label}[/dim]", escape(printable(value)))
    console.print(grid)
    if raw:
        console.rule("raw message")
        console.print(escape(item.raw.decode("utf-8", "replace")), highlight=False, soft_wrap=True)
