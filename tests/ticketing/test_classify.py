"""Classification: WedSync's patterns first (first match wins), then the injected classifier, then a fallback."""

from __future__ import annotations

import pytest

from ticketing.classify import (
    FALLBACK_CLASSIFICATION,
    build_pattern,
    classify,
    default_patterns,
    match_patterns,
)
from ticketing.model import Category, Classification, TicketType

PATTERNS = default_patterns()

FORM_NOT_SAVING = (Category.FORM_BUILDER, TicketType.BUG, ("forms", "data_loss"), "form_save_troubleshooting")
IMPORT_CSV = (Category.IMPORT_EXPORT, TicketType.TECHNICAL, ("import", "csv"), "csv_import_guide")
PAYMENT = (Category.BILLING, TicketType.BILLING, ("payment", "urgent"), "payment_troubleshooting")
SLOW = (Category.PERFORMANCE, TicketType.BUG, ("performance",), "performance_tips")


@pytest.mark.parametrize(
    ("subject", "description", "pattern", "expected"),
    [
        pytest.param(
            "Enquiry form", "My enquiry form is not saving the new questions", "form_not_saving",
            FORM_NOT_SAVING, id="a form that is not saving is a form builder bug",
        ),
        pytest.param(
            "Help", "The booking form won't save when I add a date field", "form_not_saving",
            FORM_NOT_SAVING, id="a form that won't save is a form builder bug",
        ),
        pytest.param(
            "Urgent", "I can't get my form to stop erroring, I can't save anything", "form_not_saving",
            FORM_NOT_SAVING, id="a form that can't save is a form builder bug",
        ),
        pytest.param(
            "Clients", "I tried to import my clients from a CSV and nothing happened", "import_csv_error",
            IMPORT_CSV, id="import then csv is the csv import guide",
        ),
        pytest.param(
            "Clients", "My CSV import keeps stopping halfway", "import_csv_error",
            IMPORT_CSV, id="csv then import is the csv import guide",
        ),
        pytest.param(
            "Guests", "When I upload my guest spreadsheet I get a blank screen", "import_csv_error",
            IMPORT_CSV, id="uploading a spreadsheet is the csv import guide",
        ),
        pytest.param(
            "Renewal", "My payment failed this morning", "payment",
            PAYMENT, id="a failed payment is urgent billing",
        ),
        pytest.param(
            "Card", "My card was declined on the Professional renewal", "payment",
            PAYMENT, id="a declined card is urgent billing",
        ),
        pytest.param(
            "Account", "I see a billing error on my account page", "payment",
            PAYMENT, id="a billing error is urgent billing",
        ),
        pytest.param(
            "Dashboard", "The dashboard is so slow today", "slow_performance",
            SLOW, id="slow is a performance bug",
        ),
        pytest.param(
            "Typing", "There is a lag when I type in the notes box", "slow_performance",
            SLOW, id="lag is a performance bug",
        ),
        pytest.param(
            "Calendar", "The calendar view seems to freeze every few minutes", "slow_performance",
            SLOW, id="freeze is a performance bug",
        ),
        pytest.param(
            "Timeline", "The timeline is stuck on the spinner", "slow_performance",
            SLOW, id="stuck is a performance bug",
        ),
        pytest.param(
            "Gallery", "The couple gallery keeps loading forever", "slow_performance",
            SLOW, id="loading is a performance bug",
        ),
    ],
)
def test_wedsyncs_four_patterns_give_their_exact_classification(
    subject: str,
    description: str,
    pattern: str,
    expected: tuple[Category, TicketType, tuple[str, ...], str],
) -> None:
    result = classify(subject, description, PATTERNS)
    assert (result.category, result.type, result.tags, result.template) == expected
    assert result.confidence == 0.9
    assert result.reason == f"pattern: {pattern}"
    assert result.source == "pattern"


def test_security_and_data_loss_come_first_then_wedsyncs_four_in_their_order() -> None:
    names = [p.name for p in PATTERNS[:6]]
    assert names == ["security", "data_loss", "form_not_saving", "import_csv_error", "payment", "slow_performance"]


@pytest.mark.parametrize(
    ("description", "winner"),
    [
        pytest.param(
            "My form won't save and the page is slow", "form_not_saving",
            id="a form not saving beats slow because it comes first",
        ),
        pytest.param(
            "The CSV import is stuck at 50 percent", "import_csv_error",
            id="a csv import beats stuck because it comes first",
        ),
        pytest.param(
            "I tried to import a CSV of invoices but the payment failed", "import_csv_error",
            id="a csv import beats a failed payment because it comes first",
        ),
        pytest.param(
            "The payment failed and the checkout is slow", "payment",
            id="a failed payment beats slow because it comes first",
        ),
        pytest.param(
            "The questionnaire is loading forever and I think I was hacked", "security",
            id="security beats slow because it comes first",
        ),
        pytest.param(
            "My form won't save and all my guest entries disappeared", "data_loss",
            id="data loss beats a form not saving because it comes first",
        ),
    ],
)
def test_when_two_patterns_match_the_earlier_one_wins(description: str, winner: str) -> None:
    assert classify("Help", description, PATTERNS).reason == f"pattern: {winner}"


def test_the_order_of_the_patterns_decides_not_how_specific_they_are() -> None:
    broad = build_pattern("anything", r".", Category.TRAINING, TicketType.QUESTION)
    narrow = build_pattern("csv", r"csv", Category.IMPORT_EXPORT, TicketType.TECHNICAL)
    assert classify("CSV", "csv", [broad, narrow]).category is Category.TRAINING
    assert classify("CSV", "csv", [narrow, broad]).category is Category.IMPORT_EXPORT


# One realistic WedSync sentence per category; the default patterns alone must reach every one.
REACHABLE = [
    (Category.FORM_BUILDER, "Questionnaire", "Can I add a dropdown question to my wedding questionnaire?"),
    (Category.JOURNEY_CANVAS, "Client journey", "My client journey didn't send the second step to the couple"),
    (Category.EMAIL_SYSTEM, "Emails", "Emails not being delivered to my couples since Monday"),
    (Category.IMPORT_EXPORT, "Export", "I need to export my client list before the season starts"),
    (Category.PERFORMANCE, "Dashboard", "The dashboard is really slow this morning"),
    (Category.BILLING, "Invoice", "Can I get an invoice with our VAT number on it?"),
    (Category.SUBSCRIPTION, "Plan", "I want to upgrade to the Professional plan for wedding season"),
    (Category.REFUND, "Charged twice", "I was charged twice this month, can I have a refund?"),
    (Category.ONBOARDING, "Hello", "I just signed up as a wedding photographer, what are the first steps?"),
    (Category.TRAINING, "Team", "Do you run a webinar for new members of my team?"),
    (Category.FEATURE_HELP, "Logo", "How do I add my logo to the client portal?"),
    (Category.BUG, "Calendar", "The app crashes when I open the calendar view"),
    (Category.DATA_LOSS, "Guest list", "All my guests disappeared from the Smith wedding overnight"),
    (Category.SECURITY, "Login", "There was a suspicious login on my account from another country"),
    (Category.INTEGRATION, "Zapier", "Can you connect WedSync to Zapier so new enquiries reach my CRM?"),
]


def test_the_reachability_table_names_every_category_once() -> None:
    assert sorted(c for c, _, _ in REACHABLE) == sorted(Category)


@pytest.mark.parametrize(
    ("category", "subject", "description"),
    [pytest.param(c, s, d, id=f"{c.value} is reached by: {d}") for c, s, d in REACHABLE],
)
def test_every_category_is_reachable_by_the_default_patterns(
    category: Category, subject: str, description: str
) -> None:
    def no_model(_subject: str, _description: str) -> Classification | None:
        raise AssertionError("a pattern should have matched before the classifier was asked")

    result = classify(subject, description, PATTERNS, no_model)
    assert result.category is category
    assert result.source == "pattern"
    assert result.confidence > 0


def test_with_no_match_the_injected_classifier_is_asked_and_its_answer_used() -> None:
    answer = Classification(
        Category.JOURNEY_CANVAS, TicketType.QUESTION, ("journeys",), None, 0.72, "model said so", "model"
    )
    asked: list[tuple[str, str]] = []

    def model(subject: str, description: str) -> Classification | None:
        asked.append((subject, description))
        return answer

    result = classify("Hello there", "Quick one about the couple app", PATTERNS, model)

    assert asked == [("Hello there", "Quick one about the couple app")]
    assert result == answer


def test_a_matching_pattern_means_the_classifier_is_never_asked() -> None:
    asked: list[str] = []

    def model(subject: str, description: str) -> Classification | None:
        asked.append(subject)
        return None

    result = classify("Payment failed", "", PATTERNS, model)
    assert result.category is Category.BILLING
    assert asked == []


@pytest.mark.parametrize(
    "classifier",
    [
        pytest.param(None, id="with no classifier"),
        pytest.param(lambda _s, _d: None, id="with a classifier that gives nothing"),
    ],
)
def test_no_match_and_no_answer_gives_the_fallback_classification(classifier: object) -> None:
    result = classify("Hello there", "Quick one about the couple app", PATTERNS, classifier)  # type: ignore[arg-type]
    assert result == FALLBACK_CLASSIFICATION
    assert result.source == "fallback"


def test_the_fallback_is_an_unclassified_how_to_question_with_no_confidence() -> None:
    assert FALLBACK_CLASSIFICATION.category is Category.FEATURE_HELP
    assert FALLBACK_CLASSIFICATION.type is TicketType.QUESTION
    assert FALLBACK_CLASSIFICATION.tags == ("unclassified",)
    assert FALLBACK_CLASSIFICATION.confidence == 0.0


@pytest.mark.parametrize(
    ("subject", "description", "expected"),
    [
        pytest.param("MY FORM WON'T SAVE", "", Category.FORM_BUILDER, id="shouting matches like lower case"),
        pytest.param("Payment", "FAILED again", Category.BILLING, id="mixed case across fields matches"),
        pytest.param("Form builder", "it won't save my changes", Category.FORM_BUILDER,
                     id="a pattern can start in the subject and end in the description"),
        pytest.param("CSV import", "see above", Category.IMPORT_EXPORT, id="the subject alone can match"),
        pytest.param("Help", "my form\nis not\nsaving", Category.FORM_BUILDER,
                     id="a pattern spans line breaks in the description"),
    ],
)
def test_matching_is_case_insensitive_and_spans_subject_and_description(
    subject: str, description: str, expected: Category
) -> None:
    assert classify(subject, description, PATTERNS).category is expected


def test_match_patterns_gives_nothing_when_no_pattern_matches() -> None:
    assert match_patterns("Hello there", "Quick one about the couple app", PATTERNS) is None


def test_a_custom_pattern_carries_its_own_tags_template_and_confidence() -> None:
    pattern = build_pattern(
        "seating", r"seating plan", Category.FEATURE_HELP, TicketType.QUESTION, ["seating"], "seating_help", 0.6
    )
    result = classify("Seating Plan", "", [pattern])
    assert result == Classification(
        Category.FEATURE_HELP,
        TicketType.QUESTION,
        ("seating",),
        "seating_help",
        0.6,
        "pattern: seating",
        "pattern",
    )


@pytest.mark.parametrize(
    ("subject", "description"),
    [
        pytest.param("Logo", "I get an error uploading my logo", id="uploading a logo is not a slow page"),
        pytest.param(
            "Venue", "How do I change the venue to the Village Hall?", id="a village hall is not lag"
        ),
    ],
)
def test_words_that_merely_contain_a_performance_word_are_not_performance_problems(
    subject: str, description: str
) -> None:
    assert classify(subject, description, PATTERNS).category is not Category.PERFORMANCE
