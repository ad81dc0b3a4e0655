"""The SLA clocks of each ticket, kept in the store, and the ticker that fires their moments exactly once:
warnings at 75%, breaches at 100%, and the escalation ladder's follow-ups."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import alerts
from bot.desk import Desk
from bot.workers import Worker
from db import metrics
from db import sla as sla_store
from db import tickets as ticket_store
from ticketing.calendar import Calendar
from ticketing.escalation import escalate
from ticketing.model import Author, Status, Ticket
from ticketing.sla import SlaTarget
from ticketing.sla_clock import (
    ClockKind,
    Moment,
    SlaClock,
    SlaClocks,
    apply_status,
    deadline,
    due,
    first_reply,
    follow_up_at,
    moment_at,
    next_moment,
    start_clocks,
)
from ticketing.sla_clock import (
    stop as stop_clock,
)

log = logging.getLogger(__name__)
TOP_LEVEL = 3  # the founder: the ladder's last step, no follow-up climbs past it


@dataclass(frozen=True)
class SlaState:
    clocks: SlaClocks
    fired: frozenset[str] = frozenset()  # "first_response:warning", ...
    follow_up_at: datetime | None = None  # the current escalation step's deadline for an answer or an ack
    follow_up_level: int = 0
    follow_up_budget: float = 0.0  # minutes of the clock that breached (the next step's follow-up is half of it)


def _clock_dict(clock: SlaClock) -> dict[str, Any]:
    return {"kind": clock.kind.value, "budget": clock.budget_minutes, "started_at": clock.started_at.isoformat(),
            "used": clock.used_minutes, "since": clock.since.isoformat() if clock.since else None,
            "stopped_at": clock.stopped_at.isoformat() if clock.stopped_at else None}


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _clock(data: dict[str, Any]) -> SlaClock:
    return SlaClock(ClockKind(data["kind"]), float(data["budget"]), datetime.fromisoformat(data["started_at"]),
                    float(data["used"]), _when(data.get("since")), _when(data.get("stopped_at")))


def dump(state: SlaState) -> dict[str, Any]:
    return {"clocks": [_clock_dict(c) for c in state.clocks], "fired": sorted(state.fired),
            "follow_up_at": state.follow_up_at.isoformat() if state.follow_up_at else None,
            "follow_up_level": state.follow_up_level, "follow_up_budget": state.follow_up_budget}


def load(data: dict[str, Any]) -> SlaState:
    first, resolution = (_clock(c) for c in data["clocks"])
    return SlaState((first, resolution), frozenset(data.get("fired", ())), _when(data.get("follow_up_at")),
                    int(data.get("follow_up_level", 0)), float(data.get("follow_up_budget", 0.0)))


def calendar_for(desk: Desk, ticket: Ticket) -> Calendar:
    return desk.config.calendars.get(ticket.team, Calendar.always())


def _fired_moments(state: SlaState, kind: ClockKind) -> set[Moment]:
    return {Moment(key.split(":")[1]) for key in state.fired if key.startswith(f"{kind.value}:")}


def next_at(desk: Desk, ticket: Ticket, state: SlaState) -> datetime | None:
    calendar, fraction = calendar_for(desk, ticket), desk.config.sla_policy.warning_fraction
    moments = [next_moment(c, calendar, _fired_moments(state, c.kind), fraction) for c in state.clocks]
    moments.append(state.follow_up_at)
    found = [m for m in moments if m is not None]
    return min(found) if found else None


async def save(desk: Desk, session: AsyncSession, ticket: Ticket, state: SlaState) -> None:
    """The clocks, the next moment to look at, and the live deadlines (business hours and pauses included)
    that the card and the command line show."""
    calendar = calendar_for(desk, ticket)
    first_due, resolution_due = (deadline(clock, calendar) for clock in state.clocks)
    await sla_store.set_state(session, ticket.id, dump(state), next_at(desk, ticket, state),
                              first_due, resolution_due)


async def start(desk: Desk, session: AsyncSession, ticket: Ticket) -> None:
    """A new ticket's clocks, from its created time (an imported ticket's clocks may be late already)."""
    clocks = start_clocks(SlaTarget(ticket.sla.first_response_minutes, ticket.sla.resolution_minutes),
                          ticket.timeline.created)
    state = SlaState(clocks)
    if ticket.status is not Status.OPEN:  # imported mid-way: paused or running as its status says
        state = replace(state, clocks=apply_status(clocks, Status.OPEN, ticket.status, desk.clock.now(),
                                                   calendar_for(desk, ticket), desk.config.sla_policy))
    await save(desk, session, ticket, state)


async def record_past(desk: Desk, session: AsyncSession, ticket_id: str) -> Ticket:
    """An imported ticket's moments that passed before the import: fired (at the time each came) so the ticker
    never announces them, and a breach marks the ticket breached. Nobody is told: no customer mail, no page,
    no escalation; the old desk's past is recorded, not replayed. Moments still ahead fire as usual."""
    ticket = await ticket_store.get_ticket(session, ticket_id, for_update=True)  # as the followers left it
    data, _ = await sla_store.get_state(session, ticket_id)
    if data is None:
        return ticket
    state, now = load(data), desk.clock.now()
    calendar, fraction = calendar_for(desk, ticket), desk.config.sla_policy.warning_fraction
    breached = False
    for clock in state.clocks:
        for moment in due(clock, now, calendar, _fired_moments(state, clock.kind), fraction):
            key = f"{clock.kind.value}:{moment.value}"
            at = moment_at(clock, fraction if moment is Moment.WARNING else 1.0, calendar) or now
            await sla_store.fire_once(session, ticket.id, key, min(at, now))
            state = replace(state, fired=state.fired | {key})
            breached = breached or moment is Moment.BREACH
    if breached and not ticket.sla.breached:
        ticket = replace(ticket, sla=replace(ticket.sla, breached=True))
        await ticket_store.update_ticket(session, ticket)
    await save(desk, session, ticket, state)
    if breached:
        log.info("imported %s: its SLA breach before the import is recorded, not announced", ticket.id)
    return ticket


async def follow(desk: Desk, session: AsyncSession, before: Ticket, after: Ticket) -> None:
    """Keep the clocks in step with a change: the first agent reply stops the first-response clock, a status
    change pauses, resumes or stops them; an agent's answer also ends a pending escalation follow-up."""
    data, _ = await sla_store.get_state(session, after.id)
    if data is None:
        return
    state, now, calendar = load(data), desk.clock.now(), calendar_for(desk, after)
    clocks = state.clocks
    if before.timeline.first_response is None and after.timeline.first_response is not None:
        clocks = first_reply(clocks, now, calendar)
        state = replace(state, follow_up_at=None)
    if before.status is not after.status:
        clocks = apply_status(clocks, before.status, after.status, now, calendar, desk.config.sla_policy)
        if after.status in (Status.RESOLVED, Status.CLOSED):
            clocks = (stop_clock(clocks[0], now, calendar), clocks[1])
            state = replace(state, follow_up_at=None)
    if after.escalation.level > before.escalation.level:  # escalated by hand: the same follow-up as the ladder's
        budget = state.follow_up_budget or (clocks[0].budget_minutes if clocks[0].stopped_at is None
                                            else clocks[1].budget_minutes)
        follow_at = (None if after.escalation.level >= TOP_LEVEL
                     else follow_up_at(now, budget, calendar, desk.config.sla_policy.follow_up_fraction))
        state = replace(state, follow_up_at=follow_at, follow_up_level=after.escalation.level,
                        follow_up_budget=budget)
    answered = len(after.public_messages) > len(before.public_messages) and any(
        m.author is Author.AGENT for m in after.public_messages[len(before.public_messages):])
    if answered:
        state = replace(state, follow_up_at=None)
    await save(desk, session, after, replace(state, clocks=clocks))


class Ticker(Worker):
    """Every few seconds: the tickets whose next SLA moment is due (an indexed column), each handled in its
    own transaction with its row locked, each moment fired once (a unique key in the store)."""

    def __init__(self, desk: Desk, interval: float = 2.0) -> None:
        super().__init__()
        self.desk = desk
        self.interval = interval
        self.ticks = 0

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self.tick()
            except Exception:
                log.exception("SLA ticker: tick failed; trying again")
            await self.idle(self.interval)

    async def tick(self) -> int:
        handled = 0
        while handled < 1000 and not self.stopping:
            async with self.desk.db.transaction() as session:
                ids = await sla_store.claim_due(session, self.desk.clock.now(), 1)
                if not ids:
                    break
                await self.handle(session, ids[0])
            handled += 1
        self.ticks += 1
        if handled:
            self.desk.outbox_written()
        return handled

    async def handle(self, session: AsyncSession, ticket_id: str) -> None:
        ticket = await ticket_store.get_ticket(session, ticket_id, for_update=True)
        data, _ = await sla_store.get_state(session, ticket_id)
        if data is None:
            await sla_store.set_state(session, ticket_id, None, None)
            return
        state, now = load(data), self.desk.clock.now()
        calendar, fraction = calendar_for(self.desk, ticket), self.desk.config.sla_policy.warning_fraction
        if ticket.status in (Status.RESOLVED, Status.CLOSED) and not state.clocks[1].stopped:
            # Finished by a path that did not tell the clocks (the customer's self-service "yes"): stop them as
            # `follow` would have, at the time it was resolved; nothing warns or breaches on a finished ticket.
            at = ticket.timeline.resolved or ticket.timeline.closed or now
            clocks = apply_status(state.clocks, Status.IN_PROGRESS, ticket.status, at, calendar,
                                  self.desk.config.sla_policy)
            state = replace(state, clocks=(stop_clock(clocks[0], at, calendar), clocks[1]), follow_up_at=None)
        breached: list[SlaClock] = []
        for clock in state.clocks:
            for moment in due(clock, now, calendar, _fired_moments(state, clock.kind), fraction):
                key = f"{clock.kind.value}:{moment.value}"
                state = replace(state, fired=state.fired | {key})
                if not await sla_store.fire_once(session, ticket_id, key, now):
                    continue
                if moment is Moment.WARNING:  # the deadline by the team's hours and the pauses, not the wall clock
                    await alerts.warn(self.desk, session, ticket, clock.kind, deadline(clock, calendar))
                else:
                    breached.append(clock)
        if breached:  # both clocks at once (a ticket imported late): one step up the ladder, not two
            ticket, state = await self.breach(session, ticket, state, breached)
        if state.follow_up_at is not None and state.follow_up_at <= now:
            ticket, state = await self.follow_up(session, ticket, state)
        await save(self.desk, session, ticket, state)

    async def breach(self, session: AsyncSession, ticket: Ticket, state: SlaState, clocks: list[SlaClock]
                     ) -> tuple[Ticket, SlaState]:
        breached = replace(ticket, sla=replace(ticket.sla, breached=True))
        names = " and ".join(clock.kind.value.replace("_", " ") for clock in clocks)
        reason = f"the {names} SLA was breached"
        return await self.climb(session, breached, replace(state, follow_up_budget=clocks[0].budget_minutes),
                                reason, breach=True)

    async def follow_up(self, session: AsyncSession, ticket: Ticket, state: SlaState) -> tuple[Ticket, SlaState]:
        """Nobody acknowledged or answered the last step in time: one more level."""
        key = f"ladder:{state.follow_up_level}:followed"
        if state.follow_up_level >= TOP_LEVEL or not await sla_store.fire_once(
                session, ticket.id, key, self.desk.clock.now()):
            return ticket, replace(state, follow_up_at=None)
        reason = f"nobody acknowledged or answered level {state.follow_up_level} in time"
        return await self.climb(session, ticket, state, reason, breach=False)

    async def climb(self, session: AsyncSession, ticket: Ticket, state: SlaState, reason: str, breach: bool
                    ) -> tuple[Ticket, SlaState]:
        """One level up, announced (`breach`: because a clock breached now, not because a step went unanswered);
        at the top of the ladder a breach is still recorded and told, but there is no higher level."""
        now = self.desk.clock.now()
        if ticket.status in (Status.RESOLVED, Status.CLOSED):
            return ticket, replace(state, follow_up_at=None)
        if ticket.escalation.level >= TOP_LEVEL:
            if breach:
                await ticket_store.update_ticket(session, ticket)
                await self.desk.enqueue_slack(session, "card", ticket.id)
                await alerts.tell_managers(self.desk, session, ticket, breach=True)
            return ticket, replace(state, follow_up_at=None)
        climbed = escalate(ticket, reason, now)
        await ticket_store.update_ticket(session, climbed)
        await alerts.escalated(self.desk, session, climbed, breach=breach)
        await metrics.bump(session, now, metrics.Bump(breaches=int(breach), escalations=1), climbed.category.value,
                           climbed.priority.value, climbed.assignee)
        budget = state.follow_up_budget or climbed.sla.first_response_minutes
        policy = self.desk.config.sla_policy
        follow = (None if climbed.escalation.level >= TOP_LEVEL
                  else follow_up_at(now, budget, calendar_for(self.desk, climbed), policy.follow_up_fraction))
        return climbed, replace(state, follow_up_at=follow, follow_up_level=climbed.escalation.level)


async def acknowledge(desk: Desk, ticket_id: str, level: int, by: str) -> bool:
    """An acknowledgement by the step's target (or the team lead, or the founder) stops that step's climb."""
    async with desk.db.transaction() as session:
        ticket = await ticket_store.get_ticket(session, ticket_id, for_update=True)
        if not alerts.may_acknowledge(desk, ticket, level, by):
            return False
        if not await sla_store.acknowledge(session, ticket_id, level, by, desk.clock.now()):
            return True  # acknowledged already
        data, _ = await sla_store.get_state(session, ticket_id)
        if data is not None:
            state = load(data)
            if state.follow_up_level == level:
                await save(desk, session, ticket, replace(state, follow_up_at=None))
        await desk.enqueue_slack(session, "thread", ticket_id,
                                 text=f"<@{by}> acknowledged the level {level} escalation.")
    desk.outbox_written()
    return True



