"""The morning digest in a team's (or the managers') channel: yesterday's numbers against their targets, the
change against the same day a week before, and the tickets at risk with the card's own buttons.

    text, blocks = build_digest(DigestNumbers(...), at_risk, more=3, now=now)

Numbers are ours; subjects, customers and team names come from outside and are escaped (`clip`, `ticket_line`).
The buttons reuse the card's action ids and its actions block id (`card_actions:<ticket id>`), so Assign to me,
the Assign… picker and Reply work from the digest exactly as from the card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, SectionBlock, UserSelectElement

from blocks import limits
from blocks.card import customer_label
from blocks.ids import Action, card_actions_block_id
from blocks.labels import status_label
from blocks.parts import button, clip, context, fields_section, fit, header, label, mrkdwn, next_deadline, ticket_line
from blocks.text import is_user_id, mention, plural
from ticketing.digest import AT_RISK_SHOWN
from ticketing.model import Ticket
from ticketing.report_model import Better, Figure, Summary

CHART_TITLE = "Tickets created and resolved per day"


@dataclass(frozen=True)
class DigestNumbers:
    """What the digest says about one day: its summary and counts, and the same weekday a week before."""

    title: str  # "Billing team", "All teams" (raw; escaped here)
    day: date  # the day reported (local)
    created: int
    resolved: int
    summary: Summary
    week_before_created: int
    week_before_resolved: int
    week_before: Summary


def _number(value: float, unit: str) -> str:
    if unit == "min":
        return f"{value:.0f} min"
    if unit == "h":
        return f"{value:.1f} h"
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value:.1f}"


def _delta(value: float | None, previous: float | None, unit: str, better: Better | None) -> str:
    """`▲ 3 min vs last week` (marked good or bad by which way is better), `same as last week`, or no data."""
    if value is None or previous is None:
        return "no data to compare last week"
    change = value - previous
    if abs(change) < 0.05:
        return "same as last week"
    arrow = "▲" if change > 0 else "▼"
    shown = f"{abs(change):.0f}" if unit == "count" else _number(abs(change), unit)
    if unit == "%":
        shown = f"{abs(change):.0f} pts"
    good = None if better is None else (change < 0) == (better is Better.LOWER)
    mood = "" if good is None else (" 👍" if good else " 👎")
    return f"{arrow} {shown} vs last week{mood}"


def figure_text(name: str, figure: Figure, previous: Figure) -> str:
    """`*First response*\\n✅ 12 min · target 30 min\\n▼ 3 min vs last week 👍`. `previous` is the week before's."""
    target = _number(figure.target, figure.unit)
    if figure.value is None:
        line = f"no data · target {target}"
    else:
        line = f"{'✅' if figure.met else '⚠️'} {_number(figure.value, figure.unit)} · target {target}"
    return f"*{name}*\n{line}\n{_delta(figure.value, previous.value, figure.unit, figure.better)}"


def count_text(name: str, value: int, previous: int) -> str:
    return f"*{name}*\n{value:,}\n{_delta(float(value), float(previous), 'count', None)}"


def numbers_fields(numbers: DigestNumbers) -> list[str]:
    """The ten fields of the numbers section (Slack allows ten)."""
    now, before = numbers.summary, numbers.week_before
    critical = now.open_by_priority.get("critical", 0)
    return [
        count_text("Tickets", numbers.created, numbers.week_before_created),
        count_text("Resolved", numbers.resolved, numbers.week_before_resolved),
        f"*Still open*\n{now.open_total:,} ({critical:,} critical)\n"
        f"{_delta(float(now.open_total), float(before.open_total), 'count', Better.LOWER)}",
        figure_text("First response (avg)", now.first_response, before.first_response),
        figure_text("Resolution (avg)", now.resolution, before.resolution),
        figure_text("SLA compliance", now.sla_compliance, before.sla_compliance),
        figure_text("CSAT", now.csat, before.csat),
        figure_text("Escalation rate", now.escalation_rate, before.escalation_rate),
        figure_text("Deflection", now.deflection, before.deflection),
        figure_text("Resolved per agent", now.resolved_per_agent_day, before.resolved_per_agent_day),
    ][: limits.SECTION_FIELDS]


def _risk_line(ticket: Ticket, now: datetime, assignee_names: dict[str, str]) -> str:
    who = clip(customer_label(ticket.customer), 150, empty="unknown customer")
    if ticket.assignee is None:
        owner = "unassigned"
    elif is_user_id(ticket.assignee):
        owner = mention(ticket.assignee)
    else:
        owner = clip(assignee_names.get(ticket.assignee, ticket.assignee), 100)
    state = "🚨 *SLA breached*" if ticket.sla.breached else next_deadline(ticket, now)
    return f"{ticket_line(ticket, 150)}\n{status_label(ticket.status)} · {who} · {owner} · {state}"


def _risk_actions(ticket: Ticket) -> ActionsBlock:
    """The card's own buttons and block id: the handlers find the ticket the same way."""
    return ActionsBlock(block_id=card_actions_block_id(ticket.id), elements=[
        button("Assign to me", Action.ASSIGN_ME, ticket.id),
        UserSelectElement(placeholder=label("Assign…"), action_id=Action.ASSIGN_PICK,
                          initial_user=ticket.assignee if is_user_id(ticket.assignee) else None),
        button("Reply", Action.REPLY, ticket.id, style="primary"),
    ])


def build_digest(numbers: DigestNumbers, at_risk: Sequence[Ticket], *, more: int, now: datetime,
                 assignee_names: dict[str, str] | None = None) -> tuple[str, list[Block]]:
    """The digest message: fallback text and blocks (at most AT_RISK_SHOWN tickets, then "and N more")."""
    names = assignee_names or {}
    shown = list(at_risk[:AT_RISK_SHOWN])
    more += len(at_risk) - len(shown)
    day = numbers.day.strftime("%a %d %b %Y")
    blocks: list[Block] = [
        header(f"📊 Daily digest · {numbers.title}"),
        context(f"*{day}* against target · change vs the same day last week · times in business hours"),
        fields_section(numbers_fields(numbers)),
        DividerBlock(),
    ]
    total = len(shown) + more
    if not shown:
        blocks.append(section_text("*At risk*: nothing near its SLA. 🎉"))
    else:
        blocks.append(section_text(f"*⚠️ At risk* ({total:,}): breached, warned, or due within two hours"))
        for ticket in shown:
            blocks.append(SectionBlock(text=mrkdwn(_risk_line(ticket, now, names))))
            blocks.append(_risk_actions(ticket))
        if more:
            blocks.append(context(f"and {more:,} more: `/ticket` in Slack or `wedsync-support tickets list`"))
    blocks.append(context(f"📈 {CHART_TITLE} in the thread"))
    text = (f"Daily digest · {clip(numbers.title, 80)} · {day}: {plural(numbers.created, 'ticket')}, "
            f"{numbers.resolved:,} resolved, {total:,} at risk")
    return fit(text, limits.FALLBACK_TEXT), blocks[: limits.MESSAGE_BLOCKS]


def section_text(text: str) -> SectionBlock:
    return SectionBlock(text=mrkdwn(text))
