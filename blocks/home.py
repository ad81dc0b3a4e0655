"""The App Home: the agent's open tickets, the team queue, how the desk is doing against its targets, and the
button that opens the dashboard page (bot/dashboard.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, SectionBlock
from slack_sdk.models.views import View

from blocks import limits
from blocks.card import customer_label
from blocks.ids import Action
from blocks.labels import PRIORITY_EMOJI, status_label
from blocks.parts import button, clip, context, fields_section, header, mrkdwn, next_deadline, section, ticket_line
from blocks.text import duration, slack_date
from ticketing.model import Priority, Ticket

# header, updated, your title, divider, queue title, divider, numbers title, numbers, dashboard button
FIXED_BLOCKS = 9


@dataclass(frozen=True)
class HomeStats:
    """The desk's numbers for the App Home; None where there is no data yet."""

    open_by_priority: Mapping[Priority, int] = field(default_factory=dict)
    avg_first_response: timedelta | None = None
    avg_resolution: timedelta | None = None
    csat: float | None = None  # share of satisfied ratings, 0 to 1
    period: str = "last 7 days"
    first_response_target: timedelta = timedelta(minutes=30)
    resolution_target: timedelta = timedelta(hours=8)
    csat_target: float = 0.90


def build_home(
    agent_name: str,
    my_tickets: Sequence[Ticket],
    queue: Sequence[Ticket],
    stats: HomeStats,
    now: datetime,
) -> View:
    """The Home tab. Lists render in the order given (the caller sorts by SLA urgency) and stop at
    "and N more" so the view stays within 100 blocks.
    """
    mine_rows, queue_rows = share(len(my_tickets), len(queue), limits.VIEW_BLOCKS - FIXED_BLOCKS)
    blocks: list[Block] = [
        header(f"👋 Hi {agent_name}" if agent_name.strip() else "👋 Hi"),
        context(f"Updated {slack_date(now)}"),
        section(f"*Your open tickets* ({len(my_tickets):,})"),
        *_rows(my_tickets, now, mine_rows, Action.REPLY, "Reply", "Nothing assigned to you. 🎉"),
        DividerBlock(),
        section(f"*Team queue*: unassigned ({len(queue):,})"),
        *_rows(queue, now, queue_rows, Action.ASSIGN_ME, "Assign to me", "The queue is empty."),
        DividerBlock(),
        section(f"*Numbers* · {clip(stats.period, 100)}"),
        fields_section(stats_fields(stats)),
        ActionsBlock(elements=[button("Open dashboard", Action.OPEN_DASHBOARD, "dashboard")]),
    ]
    return View(type="home", blocks=blocks)


def share(first: int, second: int, budget: int) -> tuple[int, int]:
    """Rows for two lists within `budget`: each at least one (its "empty" line), the rest split fairly."""
    need_first, need_second = max(1, first), max(1, second)
    if need_first + need_second <= budget:
        return need_first, need_second
    half = budget // 2
    if need_first <= half:
        return need_first, budget - need_first
    if need_second <= budget - half:
        return budget - need_second, need_second
    return half, budget - half


def _rows(
    tickets: Sequence[Ticket], now: datetime, room: int, action: Action, verb: str, empty: str
) -> list[Block]:
    if not tickets:
        return [context(empty)]
    shown = tickets if len(tickets) <= room else tickets[: room - 1]
    rows: list[Block] = [
        SectionBlock(text=mrkdwn(_row_text(t, now)), accessory=button(verb, action, t.id)) for t in shown
    ]
    if len(shown) < len(tickets):
        rows.append(context(f"and {len(tickets) - len(shown):,} more"))
    return rows


def _row_text(ticket: Ticket, now: datetime) -> str:
    who = clip(customer_label(ticket.customer), 200, empty="unknown customer")
    return f"{ticket_line(ticket)}\n{status_label(ticket.status)} · {who} · {next_deadline(ticket, now)}"


def stats_fields(stats: HomeStats) -> list[str]:
    by_priority = " · ".join(
        f"{PRIORITY_EMOJI[p]} {p.value.capitalize()} {stats.open_by_priority.get(p, 0):,}" for p in Priority
    )
    total = sum(stats.open_by_priority.get(p, 0) for p in Priority)
    return [
        f"*Open tickets*: {total:,}\n{by_priority}",
        f"*Average first response*\n{_time_vs(stats.avg_first_response, stats.first_response_target)}",
        f"*Average resolution*\n{_time_vs(stats.avg_resolution, stats.resolution_target)}",
        f"*Customer satisfaction*\n{_csat_vs(stats.csat, stats.csat_target)}",
    ]


def _time_vs(actual: timedelta | None, target: timedelta) -> str:
    if actual is None:
        return f"no data yet · target {duration(target)}"
    mark = "✅" if actual <= target else "⚠️"
    return f"{mark} {duration(actual)} · target {duration(target)}"


def _csat_vs(actual: float | None, target: float) -> str:
    if actual is None:
        return f"no ratings yet · target {target:.0%}"
    mark = "✅" if actual >= target else "⚠️"
    return f"{mark} {actual:.0%} · target {target:.0%}"

