"""Priority: WedSync's rules in order, first match wins, and the winning rule's name is returned."""

from __future__ import annotations

import pytest

from ticketing.model import Category, Priority, TicketType, Tier
from ticketing.priority import PRIORITY_RULES, PriorityInput, decide_priority

C, T, R, P = Category, TicketType, Tier, Priority

# A request no rule matches: everything else in a case is this plus the one thing under test.
NEUTRAL = {
    "category": C.JOURNEY_CANVAS,
    "type": T.QUESTION,
    "tier": R.FREE,
    "description": "How do I reorder the steps in my client journey?",
}


def _input(**changes: object) -> PriorityInput:
    return PriorityInput(**{**NEUTRAL, **changes})  # type: ignore[arg-type]


def test_the_rules_are_in_wedsyncs_order() -> None:
    assert [rule.name for rule in PRIORITY_RULES] == [
        "data loss or security",
        "cannot access or payment failed",
        "enterprise customer",
        "scale customer with a bug",
        "billing",
        "something is broken",
        "a bug",
        "professional customer",
    ]


@pytest.mark.parametrize(
    ("changes", "priority", "rule"),
    [
        pytest.param({"category": C.DATA_LOSS}, P.CRITICAL, "data loss or security",
                     id="data loss is critical"),
        pytest.param({"category": C.SECURITY}, P.CRITICAL, "data loss or security",
                     id="security is critical"),
        pytest.param({"description": "I cannot access my dashboard"}, P.CRITICAL,
                     "cannot access or payment failed", id="cannot access is critical"),
        pytest.param({"description": "My payment failed twice"}, P.CRITICAL,
                     "cannot access or payment failed", id="payment failed is critical"),
        pytest.param({"description": "I CANNOT ACCESS anything"}, P.CRITICAL,
                     "cannot access or payment failed", id="cannot access in capitals is critical"),
        pytest.param({"description": "Payment Failed on renewal"}, P.CRITICAL,
                     "cannot access or payment failed", id="payment failed in title case is critical"),
        pytest.param({"tier": R.ENTERPRISE}, P.HIGH, "enterprise customer",
                     id="an enterprise customer is high"),
        pytest.param({"tier": R.SCALE, "type": T.BUG}, P.HIGH, "scale customer with a bug",
                     id="a scale customer with a bug is high"),
        pytest.param({"category": C.BILLING}, P.HIGH, "billing", id="billing is high"),
        pytest.param({"description": "The RSVP link is broken"}, P.HIGH, "something is broken",
                     id="something broken is high"),
        pytest.param({"description": "The RSVP link is BROKEN"}, P.HIGH, "something is broken",
                     id="something broken in capitals is high"),
        pytest.param({"type": T.BUG}, P.MEDIUM, "a bug", id="a bug is medium"),
        pytest.param({"tier": R.PROFESSIONAL}, P.MEDIUM, "professional customer",
                     id="a professional customer is medium"),
        pytest.param({}, P.LOW, "default", id="nothing else is low by default"),
    ],
)
def test_each_rule_on_its_own_gives_its_priority_and_name(
    changes: dict[str, object], priority: Priority, rule: str
) -> None:
    assert decide_priority(_input(**changes)) == (priority, rule)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"tier": R.SCALE}, id="a scale customer with a question is low"),
        pytest.param({"tier": R.STARTER}, id="a starter customer is low"),
        pytest.param({"category": C.REFUND}, id="a refund is low"),
        pytest.param({"category": C.SUBSCRIPTION}, id="a subscription change is low"),
        pytest.param({"description": "I can access it but it is odd"}, id="being able to access is low"),
        pytest.param({"description": "The payment went through"}, id="a payment that went through is low"),
        pytest.param({"type": T.BILLING}, id="a billing type outside the billing category is low"),
    ],
)
def test_near_misses_fall_through_to_low(changes: dict[str, object]) -> None:
    assert decide_priority(_input(**changes)) == (P.LOW, "default")


@pytest.mark.parametrize(
    ("changes", "priority", "rule"),
    [
        pytest.param(
            {"category": C.DATA_LOSS, "tier": R.ENTERPRISE, "description": "I cannot access my forms"},
            P.CRITICAL, "data loss or security",
            id="data loss for an enterprise customer who cannot access is critical by the data loss rule",
        ),
        pytest.param(
            {"tier": R.ENTERPRISE, "description": "Our payment failed"},
            P.CRITICAL, "cannot access or payment failed",
            id="an enterprise customer whose payment failed is critical by the payment rule",
        ),
        pytest.param(
            {"tier": R.ENTERPRISE, "description": "The booking page is broken"},
            P.HIGH, "enterprise customer",
            id="an enterprise customer with something broken is high by the enterprise rule",
        ),
        pytest.param(
            {"tier": R.ENTERPRISE, "type": T.BUG, "category": C.BILLING},
            P.HIGH, "enterprise customer",
            id="an enterprise billing bug is high by the enterprise rule",
        ),
        pytest.param(
            {"tier": R.SCALE, "type": T.BUG, "category": C.BILLING},
            P.HIGH, "scale customer with a bug",
            id="a scale billing bug is high by the scale rule",
        ),
        pytest.param(
            {"category": C.BILLING, "description": "The invoice page is broken"},
            P.HIGH, "billing",
            id="billing with something broken is high by the billing rule",
        ),
        pytest.param(
            {"type": T.BUG, "description": "The RSVP link is broken"},
            P.HIGH, "something is broken",
            id="a free tier bug with something broken is high not medium",
        ),
        pytest.param(
            {"tier": R.PROFESSIONAL, "type": T.BUG},
            P.MEDIUM, "a bug",
            id="a professional bug is medium by the bug rule",
        ),
        pytest.param(
            {"tier": R.PROFESSIONAL, "description": "The gallery is broken"},
            P.HIGH, "something is broken",
            id="a professional customer with something broken is high by the broken rule",
        ),
        pytest.param(
            {"category": C.SECURITY, "type": T.BUG, "tier": R.PROFESSIONAL},
            P.CRITICAL, "data loss or security",
            id="a professional security bug is critical by the security rule",
        ),
    ],
)
def test_when_two_rules_apply_the_earlier_one_wins(
    changes: dict[str, object], priority: Priority, rule: str
) -> None:
    assert decide_priority(_input(**changes)) == (priority, rule)

