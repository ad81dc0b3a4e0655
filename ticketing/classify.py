"""Classification: ordered patterns, first match wins; then an injected classifier; then a fallback."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ticketing.model import Category, Classification, TicketType


@dataclass(frozen=True)
class Pattern:
    name: str
    regex: re.Pattern[str]
    category: Category
    type: TicketType
    tags: tuple[str, ...] = ()
    template: str | None = None
    confidence: float = 0.9

    def classification(self) -> Classification:
        return Classification(
            category=self.category,
            type=self.type,
            tags=self.tags,
            template=self.template,
            confidence=self.confidence,
            reason=f"matched the {self.name} pattern",
            source="pattern",
        )


def build_pattern(
    name: str,
    regex: str,
    category: Category,
    type_: TicketType,
    tags: Sequence[str] = (),
    template: str | None = None,
    confidence: float = 0.9,
) -> Pattern:
    """Patterns match case-insensitively across lines of `subject + ' ' + description`."""
    compiled = re.compile(regex, re.IGNORECASE | re.DOTALL)
    return Pattern(name, compiled, category, type_, tuple(tags), template, confidence)


_C, _T = Category, TicketType

# Security and data loss come first: they are the costly ones to miss ("the page keeps loading and I think I
# was hacked" is a security ticket), so their patterns are strict. WedSync's four follow in their order, with
# one change: the performance words must start a word, so "uploading" and "Village Hall" are not slowness.
# Then one or more patterns per remaining category, so every category can be reached without a model.
DEFAULT_PATTERN_SPECS: tuple[tuple[str, str, Category, TicketType, tuple[str, ...], str | None], ...] = (
    (
        "security",
        r"hack(ed|er)|breach|suspicious (login|activity)|logged in(to)? my account"
        r"|unauthori[sz]ed|phishing|two.factor|2fa|compromised",
        _C.SECURITY,
        _T.TECHNICAL,
        ("security",),
        None,
    ),
    (
        "data_loss",
        r"data loss|\b(lost|deleted|disappeared|vanished|gone|missing|wiped)\b.{0,40}"
        r"\b(data|forms?|clients?|guests?|entries|responses|everything|contacts|submissions)\b"
        r"|\b(data|forms?|clients?|guests?|entries|responses|contacts|submissions)\b.{0,40}"
        r"\b(disappeared|vanished|deleted|gone|wiped|missing)\b",
        _C.DATA_LOSS,
        _T.BUG,
        ("data_loss",),
        None,
    ),
    (
        "form_not_saving",
        r"form.*(not|won't|can't).*sav",
        _C.FORM_BUILDER,
        _T.BUG,
        ("forms", "data_loss"),
        "form_save_troubleshooting",
    ),
    (
        "import_csv_error",
        r"import.*csv|csv.*import|upload.*spreadsheet",
        _C.IMPORT_EXPORT,
        _T.TECHNICAL,
        ("import", "csv"),
        "csv_import_guide",
    ),
    (
        "payment",
        r"payment.*fail|card.*decline|billing.*error",
        _C.BILLING,
        _T.BILLING,
        ("payment", "urgent"),
        "payment_troubleshooting",
    ),
    (
        "slow_performance",
        r"\b(slow|lag|freeze|stuck|loading)",
        _C.PERFORMANCE,
        _T.BUG,
        ("performance",),
        "performance_tips",
    ),
    (
        "refund",
        r"refund|money back|charged twice|double charged",
        _C.REFUND,
        _T.BILLING,
        ("refund",),
        "refund_policy",
    ),
    (
        "subscription",
        r"subscription|upgrade|downgrade|cancel (my )?(plan|account)|change (my )?plan"
        r"|\bplan\b.*\b(tier|price)",
        _C.SUBSCRIPTION,
        _T.BILLING,
        ("subscription",),
        None,
    ),
    (
        "billing",
        r"invoice|billing|receipt|vat\b|charge[ds]?\b|pricing",
        _C.BILLING,
        _T.BILLING,
        ("billing",),
        None,
    ),
    (
        "journey_canvas",
        r"journey|canvas|workflow automation|automation step",
        _C.JOURNEY_CANVAS,
        _T.TECHNICAL,
        ("journeys",),
        None,
    ),
    (
        "email_system",
        r"e-?mails? (not|aren't|isn't|never) (being )?(sent|delivered|arriving|received)"
        r"|bounced|spam folder|email template|newsletter",
        _C.EMAIL_SYSTEM,
        _T.TECHNICAL,
        ("email",),
        None,
    ),
    (
        "import_export",
        r"\bexport|\bimport|download (my|all) data|spreadsheet|\bcsv\b",
        _C.IMPORT_EXPORT,
        _T.TECHNICAL,
        ("import_export",),
        None,
    ),
    (
        "integration",
        r"zapier|google calendar|calendar sync|integration|\bapi\b|webhook|quickbooks|xero"
        r"|stripe connect|mailchimp",
        _C.INTEGRATION,
        _T.TECHNICAL,
        ("integration",),
        None,
    ),
    (
        "onboarding",
        r"getting started|just signed up|new account|set ?up my|first steps|onboarding"
        r"|how do i start",
        _C.ONBOARDING,
        _T.ONBOARDING,
        ("onboarding",),
        "onboarding_welcome",
    ),
    (
        "training",
        r"training|tutorial|webinar|walk ?through|demo\b|teach",
        _C.TRAINING,
        _T.QUESTION,
        ("training",),
        None,
    ),
    (
        "feature_request",
        r"feature request|would be (great|nice)|please add|could you add|wish (it|you)"
        r"|suggestion",
        _C.FEATURE_HELP,
        _T.FEATURE_REQUEST,
        ("feature_request",),
        None,
    ),
    (
        "form_builder",
        r"\bforms?\b|questionnaire|form builder",
        _C.FORM_BUILDER,
        _T.QUESTION,
        ("forms",),
        None,
    ),
    (
        "bug",
        r"\berror\b|\bbug\b|crash|broken|doesn't work|does not work|not working|exception",
        _C.BUG,
        _T.BUG,
        ("bug",),
        None,
    ),
    (
        "feature_help",
        r"how (do|can) i|where (do|can|is)|is it possible|can i\b",
        _C.FEATURE_HELP,
        _T.QUESTION,
        ("how_to",),
        None,
    ),
)


def default_patterns() -> tuple[Pattern, ...]:
    return tuple(build_pattern(*spec) for spec in DEFAULT_PATTERN_SPECS)


# No pattern and no classifier (or the classifier gave nothing): a how-to question with zero confidence,
# tagged `unclassified`, which routing sends to customer success, the team that answers general questions.
FALLBACK_CLASSIFICATION = Classification(
    category=Category.FEATURE_HELP,
    type=TicketType.QUESTION,
    tags=("unclassified",),
    template=None,
    confidence=0.0,
    reason="no pattern matched; default classification",
    source="fallback",
)

Classifier = Callable[[str, str], Classification | None]


def match_patterns(subject: str, description: str, patterns: Sequence[Pattern]) -> Classification | None:
    text = f"{subject} {description}"
    for pattern in patterns:
        if pattern.regex.search(text):
            return pattern.classification()
    return None


def classify(
    subject: str,
    description: str,
    patterns: Sequence[Pattern],
    classifier: Classifier | None = None,
) -> Classification:
    """Patterns first; then the injected classifier; then FALLBACK_CLASSIFICATION."""
    found = match_patterns(subject, description, patterns)
    if found is not None:
        return found
    if classifier is not None:
        decided = classifier(subject, description)
        if decided is not None:
            return decided
    return FALLBACK_CLASSIFICATION
