"""`patterns suggest`: patterns learnt from agents' corrections, with how often they would have been right."""

from __future__ import annotations

from ticketing.model import Category
from ticketing.pattern_suggest import Example, suggest_patterns


def test_words_typical_of_corrected_tickets_become_a_pattern_with_its_precision() -> None:
    examples = [
        Example("Seating chart won't print the table names", Category.FEATURE_HELP, True),
        Example("The seating chart shows guests at the wrong table", Category.FEATURE_HELP, True),
        Example("How do I move a guest between seating tables?", Category.FEATURE_HELP, True),
        Example("Card payment failed twice", Category.BILLING, False),
        Example("My invoice shows the wrong VAT", Category.BILLING, False),
    ]
    (suggestion,) = suggest_patterns(examples)
    assert suggestion.category is Category.FEATURE_HELP
    assert "seating" in suggestion.words and suggestion.corrections == 3
    assert suggestion.precision == 1.0 and suggestion.matches == 3
    assert suggestion.regex.startswith(r"\b(") and "seating" in suggestion.regex


def test_a_single_correction_or_an_imprecise_word_suggests_nothing() -> None:
    once = [Example("Seating chart broken", Category.FEATURE_HELP, True)]
    assert suggest_patterns(once) == []
    noisy = [
        Example("wedding photos upload", Category.INTEGRATION, True),
        Example("wedding photos sync", Category.INTEGRATION, True),
        *[Example(f"wedding photos question {n}", Category.BUG, False) for n in range(10)],
    ]
    assert suggest_patterns(noisy) == []  # "wedding"/"photos" would be wrong far more often than right
