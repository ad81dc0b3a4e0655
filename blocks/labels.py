"""What the desk's enums look like to people: labels and emoji."""

from __future__ import annotations

from ticketing.model import Author, Category, Priority, Source, Status, TicketType, Tier, UserType

PRIORITY_EMOJI: dict[Priority, str] = {
    Priority.CRITICAL: "🔴",
    Priority.HIGH: "🟠",
    Priority.MEDIUM: "🟡",
    Priority.LOW: "🟢",
}

STATUS_LABEL: dict[Status, str] = {
    Status.OPEN: "Open",
    Status.IN_PROGRESS: "In progress",
    Status.WAITING_CUSTOMER: "Waiting on customer",
    Status.WAITING_INTERNAL: "Waiting on us",
    Status.RESOLVED: "Resolved",
    Status.CLOSED: "Closed",
}

STATUS_EMOJI: dict[Status, str] = {
    Status.OPEN: "📬",
    Status.IN_PROGRESS: "🛠️",
    Status.WAITING_CUSTOMER: "⏳",
    Status.WAITING_INTERNAL: "🔁",
    Status.RESOLVED: "✅",
    Status.CLOSED: "🔒",
}

CATEGORY_LABEL: dict[Category, str] = {
    Category.FORM_BUILDER: "Form builder",
    Category.JOURNEY_CANVAS: "Journey canvas",
    Category.EMAIL_SYSTEM: "Email system",
    Category.IMPORT_EXPORT: "Import / export",
    Category.PERFORMANCE: "Performance",
    Category.BILLING: "Billing",
    Category.SUBSCRIPTION: "Subscription",
    Category.REFUND: "Refund",
    Category.ONBOARDING: "Onboarding",
    Category.TRAINING: "Training",
    Category.FEATURE_HELP: "Feature help",
    Category.BUG: "Bug",
    Category.DATA_LOSS: "Data loss",
    Category.SECURITY: "Security",
    Category.INTEGRATION: "Integration",
}

TYPE_LABEL: dict[TicketType, str] = {
    TicketType.BUG: "Bug",
    TicketType.QUESTION: "Question",
    TicketType.FEATURE_REQUEST: "Feature request",
    TicketType.BILLING: "Billing",
    TicketType.ONBOARDING: "Onboarding",
    TicketType.TECHNICAL: "Technical",
}

USER_TYPE_LABEL: dict[UserType, str] = {
    UserType.SUPPLIER: "Supplier (WedSync)",
    UserType.COUPLE: "Couple (WedMe)",
}

TIER_LABEL: dict[Tier, str] = {tier: tier.value.capitalize() for tier in Tier}

SOURCE_LABEL: dict[Source, str] = {
    Source.PHONE: "Phone",
    Source.CHAT: "Chat",
    Source.EMAIL: "Email",
    Source.FORM: "Web form",
    Source.API: "API",
}

AUTHOR_LABEL: dict[Author, str] = {Author.CUSTOMER: "Customer", Author.AGENT: "Agent", Author.SYSTEM: "System"}


def priority_label(priority: Priority) -> str:
    return f"{PRIORITY_EMOJI[priority]} {priority.value.capitalize()}"


def status_label(status: Status) -> str:
    return f"{STATUS_EMOJI[status]} {STATUS_LABEL[status]}"
