"""Order by confidence (`decide`): strict patterns, a confident learned answer, weak patterns, the model last."""

from __future__ import annotations

from ticketing.classify import Pattern, classify, decide, default_patterns, find_pattern
from ticketing.model import Category, Classification, TicketType

PATTERNS = default_patterns()


def learned(category: Category, confidence: float, type_: TicketType = TicketType.QUESTION) -> Classification:
    return Classification(category, type_, (category.value,), None, confidence,
                          f"learned: {category.value} {confidence:.2f}", "learned")


def hit(text: str) -> Pattern:
    found = find_pattern("", text, PATTERNS)
    assert found is not None
    return found


def test_a_security_pattern_stands_against_a_confident_learned_answer() -> None:
    decision = decide(hit("I think I was hacked"), learned(Category.BILLING, 0.99))
    assert decision.classification is not None and decision.classification.category is Category.SECURITY
    assert decision.classification.reason == "pattern: security" and not decision.unsure


def test_one_of_wedsyncs_four_yields_to_a_sure_learned_answer_of_another_category() -> None:
    van = hit("I'm loading the van, where do I add a task to the timeline?")
    assert van.name == "slow_performance"
    decision = decide(van, learned(Category.FEATURE_HELP, 0.8))
    assert decision.classification is not None and decision.classification.category is Category.FEATURE_HELP
    assert decision.classification.reason == "learned: feature_help 0.80"


def test_one_of_wedsyncs_four_stands_when_the_learned_answer_is_unsure() -> None:
    decision = decide(hit("payment failed again"), learned(Category.REFUND, 0.4))
    assert decision.classification is not None and decision.classification.category is Category.BILLING


def test_a_weak_pattern_does_not_override_a_confident_learned_answer() -> None:
    decision = decide(hit("I'm in charge of the wedding"), learned(Category.ONBOARDING, 0.7))
    assert decision.classification is not None and decision.classification.category is Category.ONBOARDING


def test_a_weak_pattern_never_replaces_a_learned_security_or_data_loss_answer_even_an_unsure_one() -> None:
    for category in (Category.SECURITY, Category.DATA_LOSS):
        decision = decide(hit("please send the invoice"), learned(category, 0.2, TicketType.TECHNICAL))
        assert decision.classification is not None and decision.classification.category is category
        assert decision.classification.reason == f"learned: {category.value} 0.20" and decision.unsure
    other = decide(hit("please send the invoice"), learned(Category.TRAINING, 0.2))
    assert other.classification is not None and other.classification.reason == "pattern: billing"


def test_a_weak_pattern_that_agrees_keeps_its_tags_and_template_with_the_learned_confidence() -> None:
    decision = decide(hit("please refund me"), learned(Category.REFUND, 0.4, TicketType.BILLING))
    assert decision.classification is not None and not decision.unsure
    assert decision.classification.template == "refund_policy" and decision.classification.confidence == 0.4


def test_the_model_is_asked_only_when_both_are_unsure() -> None:
    asked: list[str] = []

    def model(subject: str, description: str) -> Classification:
        asked.append(subject)
        return learned(Category.TRAINING, 0.9)

    sure = classify("Hmm", "blah blah", PATTERNS, model, learned=lambda s, d: learned(Category.BUG, 0.8))
    unsure = classify("Hmm", "blah blah", PATTERNS, model, learned=lambda s, d: learned(Category.BUG, 0.2))
    assert (sure.category, unsure.category, asked) == (Category.BUG, Category.TRAINING, ["Hmm"])


def test_an_unsure_learned_answer_is_kept_when_the_model_says_nothing() -> None:
    found = classify("Hmm", "blah blah", PATTERNS, lambda s, d: None, learned=lambda s, d: learned(Category.BUG, 0.2))
    assert (found.category, found.source) == (Category.BUG, "learned")


def test_without_a_learned_model_the_patterns_decide_as_before() -> None:
    found = classify("Invoice", "please send the invoice", PATTERNS)
    assert (found.category, found.reason) == (Category.BILLING, "pattern: billing")
