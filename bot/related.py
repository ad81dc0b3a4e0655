"""Related and duplicate tickets: linked on creation, and merged on an agent's word.

On creation (`link_related`, an `after_create` follower inside the creating transaction) a ticket is linked to
the customer's other open tickets (kind "same_customer") and to tickets of the last SIMILAR_DAYS days whose text
is very similar (kind "similar"; the rule is in db/related.py), at most MAX_LINKS in all; the linked tickets'
cards are refreshed and the new ticket's thread names them.

A merge (`merge`) moves one customer's ticket into another of theirs in one transaction: the source's messages
are appended to the target (new ids; author, visibility, time and sender kept), its participants and Message-IDs
go to the target (so the customer's replies to the old thread land there), the source is resolved and closed,
the two are linked "merged_into" / "merged_from", both cards and threads hear of it, and the customer gets one
email, on the target.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import Desk
from db import metrics
from db import related as related_store
from db import tickets as ticket_store
from db.tickets import OPEN_STATUSES
from ticketing import lifecycle
from ticketing.errors import UserFacingError
from ticketing.model import Author, Message, Status, Ticket, Visibility

MAX_LINKS = 5
SIMILAR_DAYS = 14
MAX_MERGE_HOPS = 5  # A merged into B merged into C: how far a reply to A is followed
KIND_LABEL = {related_store.SAME_CUSTOMER: "same customer, open", related_store.SIMILAR: "very similar text"}


class MergeRefused(UserFacingError):
    """A merge that cannot happen; the text says why, for the agent who asked."""


# -- linking on creation -----------------------------------------------------------------------------------


async def link_related(desk: Desk, session: AsyncSession, ticket: Ticket) -> list[str]:
    """Link `ticket` to the customer's open tickets, then to very similar recent ones; the ids linked."""
    chosen: dict[str, str] = {}
    for other, _subject in await related_store.customer_tickets(
        session, ticket.customer.id, OPEN_STATUSES, exclude=[ticket.id], limit=MAX_LINKS
    ):
        chosen[other] = related_store.SAME_CUSTOMER
    shares: dict[str, float] = {}
    if len(chosen) < MAX_LINKS:
        since = ticket.timeline.created - timedelta(days=SIMILAR_DAYS)
        for hit in await related_store.similar_recent(
            session, ticket.subject, ticket.description, since, limit=MAX_LINKS - len(chosen),
            exclude=[ticket.id, *chosen], until=ticket.timeline.created,
        ):
            chosen[hit.ticket_id] = related_store.SIMILAR
            shares[hit.ticket_id] = hit.share
    await related_store.link_all(session, ticket.id, chosen, desk.clock.now())
    for other in chosen:
        await desk.enqueue_slack(session, "card", other)
    if chosen:
        await desk.enqueue_slack(session, "thread", ticket.id, text="Linked: " + ", ".join(
            f"`{other}` ({KIND_LABEL[kind]}" + (f", {shares[other]:.0%} of terms shared)" if other in shares else ")")
            for other, kind in chosen.items()))
    return list(chosen)


class RelatedFollower:
    """`link_related` as a Desk.after_create follower (a class, so `install` can tell it is there)."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def __call__(self, session: AsyncSession, ticket: Ticket) -> None:
        await link_related(self.desk, session, ticket)


def follower(desk: Desk) -> Callable[[AsyncSession, Ticket], Awaitable[None]]:
    return RelatedFollower(desk)


def install(desk: Desk) -> None:
    """Add the follower once (a second call changes nothing)."""
    if not any(isinstance(f, RelatedFollower) for f in desk.after_create):
        desk.after_create.append(RelatedFollower(desk))


# -- merging -----------------------------------------------------------------------------------------------


def normalise_id(raw: str) -> str:
    """What an agent types (`[fb-...]`, `` `FB-...` ``, spaces) as a ticket id."""
    return raw.strip().strip("[]`").strip().upper()


async def _mergeable(session: AsyncSession, source_id: str, target_id: str, lock: bool) -> tuple[Ticket, Ticket]:
    if not target_id:
        raise MergeRefused("Say which ticket to merge into.")
    if source_id == target_id:
        raise MergeRefused(f"{source_id} cannot be merged into itself; choose another ticket.")
    found: dict[str, Ticket | None] = {}
    for ticket_id in sorted((source_id, target_id)):  # one lock order, so two merges never wait on each other
        found[ticket_id] = await ticket_store.find_ticket(session, ticket_id, for_update=lock)
    source, target = found[source_id], found[target_id]
    if source is None:
        raise MergeRefused(f"There is no ticket {source_id}.")
    if target is None:
        raise MergeRefused(f"There is no ticket {target_id}.")
    if source.status is Status.CLOSED:
        into = await related_store.merged_into(session, source.id)
        raise MergeRefused(f"{source.id} was already merged into {into}." if into
                           else f"{source.id} is closed; only tickets that are not closed can be merged.")
    if target.status is Status.CLOSED:
        into = await related_store.merged_into(session, target.id)
        raise MergeRefused(f"{target.id} was merged into {into}; merge into {into} instead." if into
                           else f"{target.id} is closed; merge into a ticket that is not closed.")
    if source.customer.id != target.customer.id:
        raise MergeRefused(
            f"{source.id} and {target.id} belong to different customers ({source.customer.email} and "
            f"{target.customer.email}); only one customer's tickets are merged, so no mail reaches the wrong person."
        )
    return source, target


async def check_merge(desk: Desk, source_id: str, target_id: str) -> MergeRefused | None:
    """Why merging would be refused now (for a form to show before it closes), or None."""
    async with desk.db.sessions() as session:
        try:
            await _mergeable(session, normalise_id(source_id), normalise_id(target_id), lock=False)
        except MergeRefused as refused:
            return refused
    return None


def merge_notice(desk: Desk, source: Ticket, target: Ticket) -> str:
    name = source.customer.name or source.customer.email.split("@")[0]
    return (
        f"Hi {name},\n\n"
        f"Your requests {source.id} (\"{source.subject}\") and {target.id} (\"{target.subject}\") are now handled "
        f"together as {target.id}. There is nothing you need to do: a reply to either conversation reaches us, and "
        f"we will answer you here.\n\n"
        f"The {desk.config.company} support team"
    )


async def merge(desk: Desk, source_id: str, target_id: str, by: str) -> Ticket:
    """Merge `source_id` into `target_id` (see the module docstring); the target as stored afterwards.

    Refused (MergeRefused) for a missing ticket, the same ticket twice, a closed source (an already merged one
    names where it went) or target, and tickets of different customers."""
    source_id, target_id = normalise_id(source_id), normalise_id(target_id)
    async with desk.db.transaction() as session:
        source, target = await _mergeable(session, source_id, target_id, lock=True)
        now = desk.clock.now()
        who = f"<@{by}>" if by else "an agent"

        copies = tuple(replace(m, id=str(uuid.uuid4())) for m in sorted(source.messages, key=lambda m: m.created_at))
        note = Message(str(uuid.uuid4()), Author.SYSTEM, f"Merged from {source.id} by {who}: its {len(copies)} "
                       "messages are above this note.", now, Visibility.INTERNAL)
        merged = replace(target, messages=(*target.messages, *copies, note),
                         timeline=replace(target.timeline, last_update=max(target.timeline.last_update, now)))
        if merged.status is Status.RESOLVED and source.status is not Status.RESOLVED:
            merged = lifecycle.move(merged, Status.IN_PROGRESS, now)  # it carries the source's open request now
        await ticket_store.update_ticket(session, merged)
        await desk.changed(session, target, merged)

        closed = lifecycle.add_note(source, Message(str(uuid.uuid4()), Author.SYSTEM,
                                                    f"Merged into {target.id} by {who}.", now, Visibility.INTERNAL))
        if closed.status is not Status.RESOLVED:
            closed = lifecycle.resolve(closed, now)
        closed = lifecycle.close(closed, now)
        await ticket_store.update_ticket(session, closed)
        await desk.changed(session, source, closed)
        await metrics.bump(session, now, metrics.Bump(closed=1), closed.category.value, closed.priority.value,
                           closed.assignee)

        await ticket_store.add_participants(session, target.id, await ticket_store.participants(session, source.id))
        await related_store.repoint_mail_ids(session, source.id, target.id)
        await related_store.link_merged(session, source.id, target.id, now)

        told = "the customer was emailed once, on this ticket"
        if await ticket_store.is_undeliverable(session, merged.customer.email):
            told = "the customer was not emailed: their address bounces"
        else:
            await desk.enqueue_email(session, merged, merge_notice(desk, source, merged), auto=False)
        await desk.enqueue_slack(session, "card", target.id)
        await desk.enqueue_slack(session, "card", source.id)
        await desk.enqueue_slack(session, "thread", target.id,
                                 text=f"{who} merged `{source.id}` into this ticket: its {len(copies)} messages "
                                      f"are copied here, its mail threads here now, and {told}.")
        await desk.enqueue_slack(session, "thread", source.id,
                                 text=f"{who} merged this ticket into `{target.id}` and closed it; carry on there.")
        stored = await ticket_store.get_ticket(session, target.id)
    desk.outbox_written()
    return stored


async def follow_merges(session: AsyncSession, found: Ticket | None) -> Ticket | None:
    """The ticket a closed, merged ticket now lives in (followed through later merges); others as they are.

    For the inbox's threading: a reply whose subject tag names a merged ticket belongs in its target."""
    for _ in range(MAX_MERGE_HOPS):
        if found is None or found.status is not Status.CLOSED:
            break
        into = await related_store.merged_into(session, found.id)
        target = await ticket_store.find_ticket(session, into, for_update=True) if into else None
        if target is None:
            break
        found = target
    return found


async def merge_candidates(desk: Desk, ticket: Ticket) -> tuple[list[tuple[str, str]], set[str]]:
    """(id, subject) of the customer's other tickets that are not closed, the linked ones first; and which are
    linked."""
    async with desk.db.sessions() as session:
        mine = await related_store.customer_tickets(
            session, ticket.customer.id, (*OPEN_STATUSES, Status.RESOLVED), exclude=[ticket.id]
        )
        kinds = await related_store.link_kinds(session, ticket.id)
    linked = {ticket_id for ticket_id, _subject in mine if ticket_id in kinds}
    return sorted(mine, key=lambda item: item[0] not in linked), linked
