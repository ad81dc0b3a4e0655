"""Builders for the ticketing core's values: sensible WedSync defaults, override what a test is about."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ticketing.classify import classify, default_patterns
from ticketing.create import Created, NewTicket, Routing, create_ticket
from ticketing.ids import build_ticket_id
from ticketing.lifecycle import close, move, resolve
from ticketing.model import (
    Author,
    Classification,
    Customer,
    Message,
    Status,
    Ticket,
    Tier,
    UserType,
    Visibility,
)
from ticketing.routing import AgentProfile

# A Wednesday, mid-morning in London (BST, UTC+1).
NOW = datetime(2025, 6, 11, 9, 30, tzinfo=UTC)

PATTERNS = default_patterns()

_message_ids = itertools.count(1)


def a_customer(**overrides: Any) -> Customer:
    values: dict[str, Any] = {
        "id": "cust-amelia",
        "email": "amelia@lakesidephotography.co.uk",
        "name": "Amelia Hart",
        "user_type": UserType.SUPPLIER,
        "tier": Tier.FREE,
        "language": "en",
    }
    values.update(overrides)
    return Customer(**values)


def a_request(**overrides: Any) -> NewTicket:
    values: dict[str, Any] = {
        "customer": a_customer(),
        "subject": "Question about my client portal",
        "description": "Hello, I have a question about the client portal.",
    }
    values.update(overrides)
    return NewTicket(**values)


def created_ticket(
    request: NewTicket | None = None,
    *,
    now: datetime = NOW,
    classification: Classification | None = None,
    seed: int = 7,
    routing: Routing | None = None,
) -> Created:
    """The full creation path, classified by the default patterns unless a classification is given."""
    request = request or a_request()
    if classification is None:
        classification = classify(request.subject, request.description, PATTERNS)
    ticket_id = build_ticket_id(classification.category, now, random.Random(seed))
    return create_ticket(request, classification, ticket_id, now, routing or Routing())


def a_ticket(*, now: datetime = NOW, request: NewTicket | None = None, **overrides: Any) -> Ticket:
    """A ticket made by `create_ticket`; any Ticket field can be overridden afterwards."""
    ticket = created_ticket(request, now=now).ticket
    return replace(ticket, **overrides) if overrides else ticket


def a_ticket_in(status: Status, *, now: datetime = NOW, **overrides: Any) -> Ticket:
    """A ticket brought to `status` by legal moves, one minute apart, so its timeline is consistent."""
    ticket = a_ticket(now=now, **overrides)
    at = now
    path: dict[Status, tuple[Status, ...]] = {
        Status.OPEN: (),
        Status.IN_PROGRESS: (Status.IN_PROGRESS,),
        Status.WAITING_CUSTOMER: (Status.WAITING_CUSTOMER,),
        Status.WAITING_INTERNAL: (Status.WAITING_INTERNAL,),
        Status.RESOLVED: (Status.IN_PROGRESS, Status.RESOLVED),
        Status.CLOSED: (Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED),
    }
    for step in path[status]:
        at += timedelta(minutes=1)
        if step is Status.RESOLVED:
            ticket = resolve(ticket, at)
        elif step is Status.CLOSED:
            ticket = close(ticket, at)
        else:
            ticket = move(ticket, step, at)
    return ticket


def _message(author: Author, body: str, at: datetime, visibility: Visibility, sender: str | None) -> Message:
    return Message(f"msg-{next(_message_ids)}", author, body, at, visibility=visibility, sender=sender)


def an_agent_reply(body: str = "Thanks, looking into it now.", *, at: datetime = NOW) -> Message:
    return _message(Author.AGENT, body, at, Visibility.PUBLIC, "U_SAM")


def a_customer_reply(body: str = "Thanks, here is more detail.", *, at: datetime = NOW) -> Message:
    return _message(Author.CUSTOMER, body, at, Visibility.PUBLIC, "amelia@lakesidephotography.co.uk")


def an_internal_note(body: str = "Checked the logs, nothing obvious.", *, at: datetime = NOW) -> Message:
    return _message(Author.AGENT, body, at, Visibility.INTERNAL, "U_SAM")


def a_system_message(body: str = "Auto-acknowledgement sent.", *, at: datetime = NOW) -> Message:
    return _message(Author.SYSTEM, body, at, Visibility.PUBLIC, None)


def an_agent(**overrides: Any) -> AgentProfile:
    values: dict[str, Any] = {
        "slack_id": "U_SAM",
        "name": "Sam Patel",
        "email": "sam@wedsync.example",
        "team": "general_support",
        "skills": (),
        "languages": ("en",),
        "timezone": "Europe/London",
        "expertise": 1,
    }
    values.update(overrides)
    return AgentProfile(**values)
