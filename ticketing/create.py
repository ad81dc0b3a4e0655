"""The whole creation path: classification, priority, SLA, team and agent, for a ticket id chosen by
the caller (`ticketing.ids.build_ticket_id`, checked against the store, which is where collisions show)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ticketing.errors import InvalidTransition
from ticketing.model import (
    Attachment,
    Author,
    Category,
    Classification,
    Customer,
    Message,
    Metadata,
    Priority,
    Source,
    Status,
    Ticket,
    Timeline,
)
from ticketing.priority import PriorityInput, decide_priority
from ticketing.routing import AgentLoad, AgentProfile, Score, choose_agent, team_for
from ticketing.sla import DEFAULT_SLA_MATRIX, SlaMatrix, build_sla


@dataclass(frozen=True)
class NewTicket:
    """What a channel knows when someone asks for help."""

    customer: Customer
    subject: str
    description: str
    source: Source = Source.EMAIL
    attachments: tuple[Attachment, ...] = ()
    browser: str | None = None
    os: str | None = None
    app_version: str | None = None
    created_at: datetime | None = None  # imported tickets keep their own time
    message_id: str = ""  # id for the opening message; the store makes one when empty
    status: Status = Status.OPEN
    # Imported tickets may carry decisions another desk already made.
    category: Category | None = None
    priority: Priority | None = None
    assignee: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    language: str | None = None  # detected from the text; None: the customer's language


@dataclass(frozen=True)
class Routing:
    agents: Sequence[AgentProfile] = ()
    loads: Mapping[str, AgentLoad] = field(default_factory=dict)


@dataclass(frozen=True)
class Created:
    ticket: Ticket
    priority_rule: str
    routed_by: Score | None


def _account_age_days(customer: Customer, now: datetime) -> int | None:
    if customer.account_created_at is None:
        return None
    return max(0, (now - customer.account_created_at).days)


def apply_given_category(request: NewTicket, found: Classification) -> Classification:
    """A category given with the request (by an agent, or by the desk a ticket is imported from) wins."""
    if request.category is None or request.category is found.category:
        return found
    return replace(found, category=request.category, template=None, confidence=1.0,
                   reason="category given with the request", source="given")


def create_ticket(
    request: NewTicket,
    classification: Classification,
    ticket_id: str,
    now: datetime,
    routing: Routing = Routing(),
    matrix: SlaMatrix = DEFAULT_SLA_MATRIX,
) -> Created:
    if request.status in (Status.RESOLVED, Status.CLOSED):
        raise InvalidTransition(f"a new ticket cannot start {request.status}; bring open tickets only")
    created = request.created_at or now
    customer = request.customer
    priority, rule = decide_priority(
        PriorityInput(classification.category, classification.type, customer.tier, request.description)
    )
    if request.priority is not None:
        priority, rule = request.priority, "given on import"
    opening = Message(
        request.message_id or f"{ticket_id}-1",
        Author.CUSTOMER,
        request.description,
        created,
        sender=customer.email,
        attachments=request.attachments,
    )
    ticket = Ticket(
        id=ticket_id,
        customer=customer,
        subject=request.subject,
        description=request.description,
        type=classification.type,
        category=classification.category,
        priority=priority,
        status=request.status,
        timeline=Timeline(created=created, last_update=now),
        sla=build_sla(priority, customer.tier, created, matrix),
        team=team_for(classification.category),
        classification=classification,
        attachments=request.attachments,
        tags=classification.tags,
        messages=(opening,),
        language=request.language or customer.language,
        metadata=Metadata(
            source=request.source,
            browser=request.browser,
            os=request.os,
            app_version=request.app_version,
            account_age_days=_account_age_days(customer, now),
            previous_tickets=customer.previous_tickets,
            extra=dict(request.extra),
        ),
    )
    if request.assignee:
        return Created(replace(ticket, assignee=request.assignee, assigned_at=now), rule, None)
    chosen = choose_agent(ticket, routing.agents, routing.loads, now)
    if chosen is not None:
        ticket = replace(ticket, assignee=chosen.agent.slack_id, assigned_at=now)
    return Created(ticket, rule, chosen)
