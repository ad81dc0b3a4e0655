"""Customer satisfaction: the rating mail sent on resolve, and what a click on one of its links does.

The first rating wins: once a ticket has one, later clicks (even with another score) change nothing. A rating
of 2 or less reopens a resolved ticket and hands it to the team lead; a closed ticket stays closed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from blocks.text import escape
from bot.desk import Desk
from bot.links import TOKEN_LIFETIME, Purpose, customer_url, make_token
from db import metrics
from db import tickets as ticket_store
from ticketing import lifecycle
from ticketing.model import Satisfaction, Status, Ticket

RATINGS = range(1, 6)
LOW_RATING = 2  # this or less reopens the ticket for the team lead
MAX_FEEDBACK = 2000
RATING_PATH = "csat"
COMMENT_PATH = "csat/comment"
_LABELS = {1: "1 (poor)", 2: "2", 3: "3", 4: "4", 5: "5 (excellent)"}


class Result(StrEnum):
    RECORDED = "recorded"
    ALREADY = "already"  # the ticket had a rating (or a comment) already: nothing changed
    NOT_FOUND = "not_found"
    NOT_RATED = "not_rated"  # a comment for a ticket with no rating: refused
    EMPTY = "empty"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class Outcome:
    result: Result
    ticket_id: str
    rating: int | None = None  # what the ticket holds now
    feedback: str | None = None
    reopened: bool = False
    lead: str | None = None  # who the ticket went to on a low rating


async def rating_links(desk: Desk, ticket_id: str, session: AsyncSession | None = None) -> dict[int, str]:
    return {r: customer_url(desk, RATING_PATH,
                            await make_token(desk, Purpose.RATING, ticket_id, str(r), session=session))
            for r in RATINGS}


async def comment_link(desk: Desk, ticket_id: str, rating: int) -> str:
    return customer_url(desk, COMMENT_PATH, await make_token(desk, Purpose.COMMENT, ticket_id, str(rating)))


def rating_mail_body(desk: Desk, ticket: Ticket, links: dict[int, str]) -> str:
    name = ticket.customer.name or ticket.customer.email.split("@")[0]
    lines = "\n".join(f"{_LABELS[r]}: {links[r]}" for r in RATINGS)
    days = TOKEN_LIFETIME.days
    return (f"Hi {name},\n\n"
            f"Your ticket {ticket.id} ({ticket.subject}) is resolved. How did we do? "
            "Click one rating below; one click records it, and you can add a comment afterwards.\n\n"
            f"{lines}\n\n"
            f"The links work for {days} days. If the problem is not solved, reply to this email and the ticket "
            "opens again.\n\n"
            f"{desk.config.company} support")


async def enqueue_rating_mail(desk: Desk, session: AsyncSession, ticket: Ticket) -> int:
    """The rating mail in the outbox, inside the caller's (resolve) transaction; returns the outbox row id."""
    links = await rating_links(desk, ticket.id, session)
    return await desk.enqueue_email(session, ticket, rating_mail_body(desk, ticket, links), auto=True)


async def record_rating(desk: Desk, ticket_id: str, rating: int) -> Outcome:
    """One transaction: the rating on the ticket, the metrics, the thread; a low one reopens for the lead.

    Not `actions.change_ticket`: a second click must write nothing at all, and change_ticket always stores
    the ticket and refreshes its card."""
    if rating not in RATINGS:
        raise ValueError(f"a rating is 1 to 5, not {rating}")
    async with desk.db.transaction() as session:
        ticket = await ticket_store.find_ticket(session, ticket_id, for_update=True)
        if ticket is None:
            return Outcome(Result.NOT_FOUND, ticket_id)
        if ticket.satisfaction.rating is not None:
            return Outcome(Result.ALREADY, ticket_id, ticket.satisfaction.rating, ticket.satisfaction.feedback)
        now = desk.clock.now()
        changed = replace(ticket, satisfaction=Satisfaction(rating, None))
        await metrics.bump(session, now, metrics.Bump(rating=rating), ticket.category.value, ticket.priority.value,
                           ticket.assignee)
        await desk.enqueue_slack(session, "thread", ticket_id, text=f"⭐ The customer rated this {rating}/5")
        reopened, lead = False, None
        if rating <= LOW_RATING:
            changed, reopened, lead = await _low_rating(desk, session, changed)
        await ticket_store.update_ticket(session, changed)
        await desk.changed(session, ticket, changed)  # SLA clocks, automation rules on a rating
        await desk.enqueue_slack(session, "card", ticket_id)
    desk.outbox_written()
    return Outcome(Result.RECORDED, ticket_id, rating, None, reopened, lead)


async def _low_rating(desk: Desk, session: AsyncSession, ticket: Ticket) -> tuple[Ticket, bool, str | None]:
    now, rating = desk.clock.now(), ticket.satisfaction.rating
    team = desk.config.teams.get(ticket.team)
    lead = team.lead if team else None
    if ticket.status is Status.CLOSED:
        who = f"<@{lead}>, please" if lead else f"No lead is set for {ticket.team}; someone should"
        await desk.enqueue_slack(session, "thread", ticket.id, broadcast=True,
                                 text=f"The customer rated this {rating}/5, but the ticket is closed, so it was "
                                      f"not reopened. {who} follow up with the customer.")
        return ticket, False, None
    reopened = ticket.status is Status.RESOLVED
    changed = lifecycle.move(ticket, Status.IN_PROGRESS, now) if reopened else ticket
    done = "Reopened" if reopened else "Still open"
    if lead:
        changed = lifecycle.assign(changed, lead, now)
        text = f"{done} and assigned to <@{lead}> (team lead) after a {rating}/5 rating."
    else:
        text = (f"{done} after a {rating}/5 rating; no lead is set for {ticket.team} "
                f"(teams.{ticket.team}.lead in support.yml), so it stays with "
                f"{f'<@{ticket.assignee}>' if ticket.assignee else 'the team queue'}.")
    await desk.enqueue_slack(session, "thread", ticket.id, text=text, broadcast=True)
    return changed, reopened, lead


async def record_feedback(desk: Desk, ticket_id: str, feedback: str) -> Outcome:
    """The customer's comment on their rating, stored once (at most MAX_FEEDBACK characters)."""
    text = feedback.replace("\r\n", "\n").strip()
    async with desk.db.transaction() as session:
        ticket = await ticket_store.find_ticket(session, ticket_id, for_update=True)
        if ticket is None:
            return Outcome(Result.NOT_FOUND, ticket_id)
        stored = ticket.satisfaction
        if stored.rating is None:
            return Outcome(Result.NOT_RATED, ticket_id)
        if stored.feedback is not None:
            return Outcome(Result.ALREADY, ticket_id, stored.rating, stored.feedback)
        if not text:
            return Outcome(Result.EMPTY, ticket_id, stored.rating)
        if len(text) > MAX_FEEDBACK:
            return Outcome(Result.TOO_LONG, ticket_id, stored.rating)
        changed = replace(ticket, satisfaction=Satisfaction(stored.rating, text))
        await ticket_store.update_ticket(session, changed)
        await desk.changed(session, ticket, changed)
        await desk.enqueue_slack(session, "thread", ticket_id,
                                 text=f"💬 The customer's comment on their {stored.rating}/5 rating: {escape(text)}")
    desk.outbox_written()
    return Outcome(Result.RECORDED, ticket_id, stored.rating, text)


async def satisfaction_of(desk: Desk, ticket_id: str) -> Satisfaction | None:
    ticket = await desk.find_ticket(ticket_id)
    return ticket.satisfaction if ticket else None
