"""Priority: WedSync's rules, first match wins, in this order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ticketing.model import Category, Priority, TicketType, Tier


@dataclass(frozen=True)
class PriorityInput:
    category: Category
    type: TicketType
    tier: Tier
    description: str


@dataclass(frozen=True)
class PriorityRule:
    name: str
    applies: Callable[[PriorityInput], bool]
    priority: Priority


def _says(*phrases: str) -> Callable[[PriorityInput], bool]:
    return lambda i: any(p in i.description.lower() for p in phrases)


PRIORITY_RULES: tuple[PriorityRule, ...] = (
    PriorityRule(
        "data loss or security",
        lambda i: i.category in (Category.DATA_LOSS, Category.SECURITY),
        Priority.CRITICAL,
    ),
    PriorityRule(
        "cannot access or payment failed", _says("cannot access", "payment failed"), Priority.CRITICAL
    ),
    PriorityRule("enterprise customer", lambda i: i.tier is Tier.ENTERPRISE, Priority.HIGH),
    PriorityRule(
        "scale customer with a bug",
        lambda i: i.tier is Tier.SCALE and i.type is TicketType.BUG,
        Priority.HIGH,
    ),
    PriorityRule("billing", lambda i: i.category is Category.BILLING, Priority.HIGH),
    PriorityRule("something is broken", _says("broken"), Priority.HIGH),
    PriorityRule("a bug", lambda i: i.type is TicketType.BUG, Priority.MEDIUM),
    PriorityRule("professional customer", lambda i: i.tier is Tier.PROFESSIONAL, Priority.MEDIUM),
)


def decide_priority(item: PriorityInput) -> tuple[Priority, str]:
    """The priority and the name of the rule that gave it ("default" when none did)."""
    for rule in PRIORITY_RULES:
        if rule.applies(item):
            return rule.priority, rule.name
    return Priority.LOW, "default"
