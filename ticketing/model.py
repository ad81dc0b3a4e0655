"""The desk's values: enums and frozen dataclasses. No I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class TicketType(StrEnum):
    BUG = "bug"
    QUESTION = "question"
    FEATURE_REQUEST = "feature_request"
    BILLING = "billing"
    ONBOARDING = "onboarding"
    TECHNICAL = "technical"


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Lowest first: escalation steps one place to the right.
PRIORITY_LADDER: tuple[Priority, ...] = (Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.CRITICAL)


class Status(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    WAITING_INTERNAL = "waiting_internal"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Category(StrEnum):
    FORM_BUILDER = "form_builder"
    JOURNEY_CANVAS = "journey_canvas"
    EMAIL_SYSTEM = "email_system"
    IMPORT_EXPORT = "import_export"
    PERFORMANCE = "performance"
    BILLING = "billing"
    SUBSCRIPTION = "subscription"
    REFUND = "refund"
    ONBOARDING = "onboarding"
    TRAINING = "training"
    FEATURE_HELP = "feature_help"
    BUG = "bug"
    DATA_LOSS = "data_loss"
    SECURITY = "security"
    INTEGRATION = "integration"


class UserType(StrEnum):
    SUPPLIER = "supplier"
    COUPLE = "couple"


class Tier(StrEnum):
    FREE = "free"
    STARTER = "starter"
    PROFESSIONAL = "professional"
    SCALE = "scale"
    ENTERPRISE = "enterprise"


class Source(StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    FORM = "form"
    API = "api"
    PHONE = "phone"


class Author(StrEnum):
    """Who wrote a message."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class Visibility(StrEnum):
    """Public messages reach the customer; internal notes never do."""

    PUBLIC = "public"
    INTERNAL = "internal"


class AgentRole(StrEnum):
    AGENT = "agent"
    SENIOR = "senior"
    LEAD = "lead"


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    name: str = ""
    user_type: UserType = UserType.SUPPLIER
    tier: Tier = Tier.FREE
    account_created_at: datetime | None = None
    language: str = "en"
    previous_tickets: int = 0
    average_satisfaction: float | None = None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool = False


@dataclass(frozen=True)
class Message:
    id: str
    author: Author
    body: str
    created_at: datetime
    visibility: Visibility = Visibility.PUBLIC
    sender: str | None = None  # agent slack id, customer email, or None for the system
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Metadata:
    source: Source = Source.EMAIL
    browser: str | None = None
    os: str | None = None
    app_version: str | None = None
    account_age_days: int | None = None
    previous_tickets: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Timeline:
    created: datetime
    last_update: datetime
    first_response: datetime | None = None
    resolved: datetime | None = None
    closed: datetime | None = None


@dataclass(frozen=True)
class Sla:
    first_response_minutes: int
    resolution_minutes: int
    first_response_due: datetime
    resolution_due: datetime
    breached: bool = False


@dataclass(frozen=True)
class Escalation:
    level: int = 0
    at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Satisfaction:
    rating: int | None = None
    feedback: str | None = None


@dataclass(frozen=True)
class Classification:
    category: Category
    type: TicketType
    tags: tuple[str, ...] = ()
    template: str | None = None
    confidence: float = 0.0
    reason: str = ""
    source: str = "pattern"  # pattern | model | fallback | agent


@dataclass(frozen=True)
class Ticket:
    id: str
    customer: Customer
    subject: str
    description: str
    type: TicketType
    category: Category
    priority: Priority
    status: Status
    timeline: Timeline
    sla: Sla
    team: str
    classification: Classification
    assignee: str | None = None
    assigned_at: datetime | None = None
    attachments: tuple[Attachment, ...] = ()
    tags: tuple[str, ...] = ()
    metadata: Metadata = field(default_factory=Metadata)
    messages: tuple[Message, ...] = ()
    escalation: Escalation = field(default_factory=Escalation)
    satisfaction: Satisfaction = field(default_factory=Satisfaction)
    related: tuple[str, ...] = ()
    language: str = "en"  # the ticket's language (detected from its text; else the customer's)

    @property
    def public_messages(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.visibility is Visibility.PUBLIC)

    @property
    def internal_notes(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.visibility is Visibility.INTERNAL)
