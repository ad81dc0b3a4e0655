"""Customers and tickets: values from ticketing in, values out."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import NotFound
from db.tables import CustomerRow, MessageRow, ParticipantRow, TicketLinkRow, TicketRow
from ticketing.model import (
    Attachment,
    Author,
    Category,
    Classification,
    Customer,
    Escalation,
    Message,
    Metadata,
    Priority,
    Satisfaction,
    Sla,
    Source,
    Status,
    Ticket,
    TicketType,
    Tier,
    Timeline,
    UserType,
    Visibility,
)
from ticketing.routing import AgentLoad

OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS, Status.WAITING_CUSTOMER, Status.WAITING_INTERNAL)

# The hot paths (a ticket read, written, a message appended) use the tables directly, not the ORM's unit of
# work: an ORM-enabled statement costs two to three times a plain one, and every mail and Slack call makes
# several. Rows come back as mappings; `_row` gives them the attribute names the converters below read.
TICKETS = cast(Table, TicketRow.__table__)
MESSAGES = cast(Table, MessageRow.__table__)
CUSTOMERS = cast(Table, CustomerRow.__table__)


def _row(mapping: Any) -> SimpleNamespace:
    values = dict(mapping)
    if "metadata" in values:
        values["metadata_"] = values.pop("metadata")
    return SimpleNamespace(**values)


# -- customers ---------------------------------------------------------------------------------------------


def _customer(row: CustomerRow | SimpleNamespace, previous: int = 0, satisfaction: float | None = None) -> Customer:
    return Customer(
        id=row.id,
        email=row.email,
        name=row.name,
        user_type=UserType(row.user_type),
        tier=Tier(row.tier),
        account_created_at=row.account_created_at,
        language=row.language,
        previous_tickets=previous,
        average_satisfaction=satisfaction,
    )


async def customer_history(session: AsyncSession, customer_id: str) -> tuple[int, float | None]:
    """How many tickets the customer opened before, and their average rating."""
    count, average = (
        await session.execute(
            select(func.count(TicketRow.id), func.avg(TicketRow.satisfaction_rating)).where(
                TicketRow.user_id == customer_id
            )
        )
    ).one()
    return int(count), (float(average) if average is not None else None)


def _with_history(condition: Any) -> Any:
    """The customer row with its history (tickets opened, average rating) in one statement."""
    mine = TICKETS.c.user_id == CUSTOMERS.c.id
    count = select(func.count(TICKETS.c.id)).where(mine).correlate(CUSTOMERS).scalar_subquery().label("n")
    average = (select(func.avg(TICKETS.c.satisfaction_rating)).where(mine).correlate(CUSTOMERS)
               .scalar_subquery().label("rating"))
    return select(CUSTOMERS, count, average).where(condition)


async def _customer_where(session: AsyncSession, condition: Any) -> Customer | None:
    found = (await session.execute(_with_history(condition))).mappings().first()
    if found is None:
        return None
    values = dict(found)
    count, average = values.pop("n"), values.pop("rating")
    return _customer(_row(values), int(count), float(average) if average is not None else None)


async def find_customer_by_email(session: AsyncSession, email: str) -> Customer | None:
    return await _customer_where(session, CUSTOMERS.c.email == email.lower())


async def save_customer(session: AsyncSession, customer: Customer, now: datetime) -> Customer:
    """Insert or update by email; returns the stored customer (with its id)."""
    row = (
        await session.execute(select(CustomerRow).where(CustomerRow.email == customer.email.lower()))
    ).scalar()
    if row is None:
        row = CustomerRow(
            id=customer.id or str(uuid.uuid4()),
            email=customer.email.lower(),
            created_at=now,
            undeliverable=False,
        )
        session.add(row)
    row.name = customer.name
    row.user_type = customer.user_type.value
    row.tier = customer.tier.value
    row.account_created_at = customer.account_created_at
    row.language = customer.language
    await session.flush()
    return _customer(row, *await customer_history(session, row.id))


async def set_customer_language(session: AsyncSession, customer_id: str, language: str) -> None:
    """The language the customer last wrote in (detected), used for their next mails and routing."""
    await session.execute(update(CUSTOMERS).where(CUSTOMERS.c.id == customer_id).values(language=language))


async def ensure_customer(session: AsyncSession, email: str, name: str, now: datetime) -> Customer:
    """The sender's customer record; an unknown sender becomes a free-tier customer."""
    found = await find_customer_by_email(session, email)
    if found is not None:
        return found
    return await save_customer(session, Customer(id="", email=email, name=name, account_created_at=now), now)


async def mark_undeliverable(session: AsyncSession, email: str, reason: str) -> bool:
    row = (await session.execute(select(CustomerRow).where(CustomerRow.email == email.lower()))).scalar()
    if row is None:
        return False
    row.undeliverable, row.undeliverable_reason = True, reason
    return True


async def is_undeliverable(session: AsyncSession, email: str) -> bool:
    flag = await session.execute(select(CUSTOMERS.c.undeliverable).where(CUSTOMERS.c.email == email.lower()))
    return bool(flag.scalar())


# -- tickets -----------------------------------------------------------------------------------------------


def _ticket_columns(ticket: Ticket) -> dict[str, Any]:
    t = ticket
    return dict(
        user_id=t.customer.id,
        user_type=t.customer.user_type.value,
        user_tier=t.customer.tier.value,
        subject=t.subject,
        description=t.description,
        type=t.type.value,
        category=t.category.value,
        priority=t.priority.value,
        status=t.status.value,
        team=t.team,
        assigned_to=t.assignee,
        assigned_at=t.assigned_at,
        created_at=t.timeline.created,
        updated_at=t.timeline.last_update,
        first_response_at=t.timeline.first_response,
        resolved_at=t.timeline.resolved,
        closed_at=t.timeline.closed,
        sla_first_response=t.sla.first_response_minutes,
        sla_resolution=t.sla.resolution_minutes,
        sla_first_response_due=t.sla.first_response_due,
        sla_resolution_due=t.sla.resolution_due,
        sla_breach=t.sla.breached,
        escalation_level=t.escalation.level,
        escalated_at=t.escalation.at,
        escalation_reason=t.escalation.reason,
        satisfaction_rating=t.satisfaction.rating,
        satisfaction_feedback=t.satisfaction.feedback,
        classification={
            k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(t.classification).items()
        },
        attachments=[asdict(a) for a in t.attachments],
        tags=list(t.tags),
        metadata_={
            **{k: v for k, v in asdict(t.metadata).items() if k != "extra"},
            "extra": t.metadata.extra,
        },
    )


def _message_values(ticket_id: str, seq: int, message: Message) -> dict[str, Any]:
    return dict(
        id=message.id,
        ticket_id=ticket_id,
        seq=seq,
        type=message.author.value,
        visibility=message.visibility.value,
        sender_id=message.sender,
        message=message.body,
        attachments=[asdict(a) for a in message.attachments],
        created_at=message.created_at,
        edit_history=[],
    )


def _message(row: MessageRow | SimpleNamespace) -> Message:
    return Message(
        id=row.id,
        author=Author(row.type),
        body=row.message,
        created_at=row.created_at,
        visibility=Visibility(row.visibility),
        sender=row.sender_id,
        attachments=tuple(Attachment(**a) for a in row.attachments),
    )


def _classification(data: dict[str, Any]) -> Classification:
    return Classification(
        category=Category(data["category"]),
        type=TicketType(data["type"]),
        tags=tuple(data.get("tags", ())),
        template=data.get("template"),
        confidence=float(data.get("confidence", 0.0)),
        reason=data.get("reason", ""),
        source=data.get("source", "pattern"),
    )


def _ticket(
    row: TicketRow | SimpleNamespace, customer: Customer, messages: Sequence[Message], related: Sequence[str]
) -> Ticket:
    meta = dict(row.metadata_)
    return Ticket(
        id=row.id,
        customer=customer,
        subject=row.subject,
        description=row.description,
        type=TicketType(row.type),
        category=Category(row.category),
        priority=Priority(row.priority),
        status=Status(row.status),
        team=row.team,
        classification=_classification(row.classification),
        timeline=Timeline(
            created=row.created_at,
            last_update=row.updated_at,
            first_response=row.first_response_at,
            resolved=row.resolved_at,
            closed=row.closed_at,
        ),
        sla=Sla(
            row.sla_first_response,
            row.sla_resolution,
            row.sla_first_response_due,
            row.sla_resolution_due,
            row.sla_breach,
        ),
        assignee=row.assigned_to,
        assigned_at=row.assigned_at,
        attachments=tuple(Attachment(**a) for a in row.attachments),
        tags=tuple(row.tags),
        metadata=Metadata(
            source=Source(meta.get("source", "email")),
            browser=meta.get("browser"),
            os=meta.get("os"),
            app_version=meta.get("app_version"),
            account_age_days=meta.get("account_age_days"),
            previous_tickets=int(meta.get("previous_tickets", 0)),
            extra=meta.get("extra", {}),
        ),
        messages=tuple(messages),
        escalation=Escalation(row.escalation_level, row.escalated_at, row.escalation_reason),
        satisfaction=Satisfaction(row.satisfaction_rating, row.satisfaction_feedback),
        related=tuple(related),
        language=getattr(row, "language", None) or customer.language,
    )


async def ticket_exists(session: AsyncSession, ticket_id: str) -> bool:
    return (await session.execute(select(TICKETS.c.id).where(TICKETS.c.id == ticket_id))).scalar() is not None


def _ticket_values(ticket: Ticket) -> dict[str, Any]:
    values = _ticket_columns(ticket)
    values["metadata"] = values.pop("metadata_")
    values["language"] = ticket.language  # revision 0009
    extra = ticket.metadata.extra  # the reports' plain copies of its flags (db/tables.py, "Report facts")
    values.update(report_reopened=int(extra.get("reopened") or 0), report_deflected=bool(extra.get("deflected")),
                  report_imported=bool(extra.get("imported")))
    return values


async def _append_messages(session: AsyncSession, ticket_id: str, messages: Sequence[Message], first_seq: int) -> None:
    if messages:
        await session.execute(insert(MESSAGES), [_message_values(ticket_id, seq, m)
                                                 for seq, m in enumerate(messages, start=first_seq)])


async def insert_ticket(session: AsyncSession, ticket: Ticket) -> None:
    await session.execute(insert(TICKETS).values(id=ticket.id, **_ticket_values(ticket)))
    await _append_messages(session, ticket.id, ticket.messages, 1)


async def update_ticket(session: AsyncSession, ticket: Ticket, stored: int | None = None) -> None:
    """Write the ticket's fields and append the messages the store does not have yet (`stored`, when the caller
    read the ticket in this transaction and knows how many it had; counted otherwise)."""
    result = await session.execute(update(TICKETS).where(TICKETS.c.id == ticket.id).values(**_ticket_values(ticket)))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"no ticket {ticket.id}")
    if stored is None:
        stored = (
            await session.execute(select(func.count()).where(MESSAGES.c.ticket_id == ticket.id))
        ).scalar_one()
    await _append_messages(session, ticket.id, ticket.messages[stored:], stored + 1)


async def _customer_by_id(session: AsyncSession, customer_id: str) -> Customer:
    found = await _customer_where(session, CUSTOMERS.c.id == customer_id)
    if found is None:
        raise NotFound(f"no customer {customer_id}")
    return found


async def find_ticket(session: AsyncSession, ticket_id: str, for_update: bool = False) -> Ticket | None:
    """The whole ticket with its messages; `for_update` locks its row where the database can."""
    query = select(TICKETS).where(TICKETS.c.id == ticket_id)
    found = (await session.execute(query.with_for_update() if for_update else query)).mappings().first()
    if found is None:
        return None
    row = _row(found)
    messages = (
        await session.execute(
            select(MESSAGES).where(MESSAGES.c.ticket_id == ticket_id).order_by(MESSAGES.c.seq)
        )
    ).mappings()
    return _ticket(
        row,
        await _customer_by_id(session, row.user_id),
        [_message(_row(m)) for m in messages],
        await related_ids(session, ticket_id),
    )


async def get_ticket(session: AsyncSession, ticket_id: str, for_update: bool = False) -> Ticket:
    ticket = await find_ticket(session, ticket_id, for_update)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}")
    return ticket


async def list_tickets(
    session: AsyncSession,
    statuses: Iterable[Status] = (),
    priority: Priority | None = None,
    team: str | None = None,
    assignee: str | None = None,
    limit: int = 100,
) -> list[Ticket]:
    """Tickets without their messages (for lists), newest first."""
    query = select(TicketRow, CustomerRow).join(CustomerRow, CustomerRow.id == TicketRow.user_id)
    query = _filtered(query, statuses, priority, team, assignee)
    rows = await session.execute(query.order_by(TicketRow.created_at.desc()).limit(limit))
    return [_ticket(t, _customer(c), (), ()) for t, c in rows]


async def count_tickets(session: AsyncSession, statuses: Iterable[Status] = (), priority: Priority | None = None,
                        team: str | None = None, assignee: str | None = None) -> int:
    """How many tickets `list_tickets` would give with no limit."""
    query = _filtered(select(func.count()).select_from(TicketRow), statuses, priority, team, assignee)
    return int((await session.execute(query)).scalar_one())


async def ticket_teams(session: AsyncSession) -> set[str]:
    """Every team some ticket is in (a team dropped from support.yml keeps its tickets)."""
    return set((await session.execute(select(TicketRow.team).distinct())).scalars())


def _filtered(query: Any, statuses: Iterable[Status], priority: Priority | None, team: str | None,
              assignee: str | None) -> Any:
    wanted = [s.value for s in statuses]
    if wanted:
        query = query.where(TicketRow.status.in_(wanted))
    if priority is not None:
        query = query.where(TicketRow.priority == priority.value)
    if team is not None:
        query = query.where(TicketRow.team == team)
    if assignee is not None:
        query = query.where(TicketRow.assigned_to == assignee)
    return query


async def agent_loads(
    session: AsyncSession, agent_ids: Iterable[str], customer_id: str
) -> dict[str, AgentLoad]:
    """Open tickets per agent, and whether each has handled this customer before: what routing scores."""
    ids = list(agent_ids)
    open_counts = dict(
        (
            await session.execute(
                select(TicketRow.assigned_to, func.count())
                .where(TicketRow.assigned_to.in_(ids), TicketRow.status.in_([s.value for s in OPEN_STATUSES]))
                .group_by(TicketRow.assigned_to)
            )
        ).all()
    )
    handled = set(
        (
            await session.execute(
                select(TicketRow.assigned_to)
                .where(TicketRow.assigned_to.in_(ids), TicketRow.user_id == customer_id)
                .distinct()
            )
        )
        .scalars()
        .all()
    )
    return {
        agent: AgentLoad(
            open_tickets=int(open_counts.get(agent, 0)),
            customers_handled=frozenset({customer_id}) if agent in handled else frozenset(),
        )
        for agent in ids
    }


# -- participants and links --------------------------------------------------------------------------------


async def add_participants(session: AsyncSession, ticket_id: str, emails: Iterable[str]) -> None:
    known = set(await participants(session, ticket_id))
    for email in {e.lower() for e in emails} - known:
        session.add(ParticipantRow(ticket_id=ticket_id, email=email))
    await session.flush()


async def participants(session: AsyncSession, ticket_id: str) -> list[str]:
    rows = await session.execute(select(ParticipantRow.email).where(ParticipantRow.ticket_id == ticket_id))
    return list(rows.scalars())


async def link_tickets(session: AsyncSession, a: str, b: str, kind: str, now: datetime) -> None:
    """A symmetric link, stored both ways so either ticket finds the other with one indexed read."""
    for left, right in ((a, b), (b, a)):
        if await session.get(TicketLinkRow, (left, right)) is None:
            session.add(TicketLinkRow(ticket_id=left, related_id=right, kind=kind, created_at=now))
    await session.flush()


async def related_ids(session: AsyncSession, ticket_id: str) -> list[str]:
    links = TicketLinkRow.__table__
    rows = await session.execute(select(links.c.related_id).where(links.c.ticket_id == ticket_id))
    return list(rows.scalars())
