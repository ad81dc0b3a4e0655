"""New classification patterns learnt from agents' corrections: the words that mark the tickets agents moved
to a category, checked against every ticket so a suggestion says how often it would have been right."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ticketing.model import Category

_WORD = re.compile(r"[a-z][a-z0-9']{2,}")
STOP_WORDS = frozenset({
    "the", "and", "for", "you", "your", "with", "this", "that", "have", "has", "had", "not", "but", "are",
    "was", "were", "can", "could", "would", "should", "will", "our", "from", "they", "them", "their", "there",
    "what", "when", "where", "which", "who", "how", "why", "all", "any", "just", "about", "into", "out",
    "over", "some", "than", "then", "too", "very", "its", "it's", "i'm", "i've", "don't", "doesn't", "didn't",
    "won't", "can't", "please", "thanks", "thank", "hello", "hi", "dear", "regards", "help", "need", "get",
    "got", "one", "two", "also", "still", "again", "since", "been", "being", "does", "did", "here", "more",
    "most", "much", "only", "same", "such",
})


@dataclass(frozen=True)
class Example:
    """A ticket's words and the category it ended in (after any correction)."""

    text: str
    category: Category
    corrected: bool


@dataclass(frozen=True)
class PatternSuggestion:
    category: Category
    words: tuple[str, ...]
    regex: str
    corrections: int  # corrected tickets the pattern catches
    matches: int  # tickets of any category it would catch
    precision: float  # share of those that are in `category`


def words_of(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS}


def suggest_patterns(examples: Sequence[Example], min_corrections: int = 2, min_precision: float = 0.6,
                     most: int = 3) -> list[PatternSuggestion]:
    """For each category agents corrected tickets into, the words most typical of those tickets (frequent
    among them, rare elsewhere), as one pattern per category, when it would have been right often enough."""
    suggestions = []
    for category in sorted({e.category for e in examples if e.corrected}):
        corrected = [words_of(e.text) for e in examples if e.corrected and e.category is category]
        if len(corrected) < min_corrections:
            continue
        found = _best(category, corrected, examples, min_corrections, min_precision, most)
        if found is not None:
            suggestions.append(found)
    return sorted(suggestions, key=lambda s: (-s.corrections, -s.precision))


def _best(category: Category, corrected: list[set[str]], examples: Sequence[Example], min_corrections: int,
          min_precision: float, most: int) -> PatternSuggestion | None:
    counts = Counter(word for words in corrected for word in words)
    elsewhere = Counter(word for e in examples if e.category is not category for word in words_of(e.text))
    ranked = sorted(counts, key=lambda w: (-(counts[w] / (1 + elsewhere[w])), w))
    chosen = tuple(w for w in ranked if counts[w] >= min_corrections)[:most]
    if not chosen:
        return None
    hits = [e for e in examples if words_of(e.text) & set(chosen)]
    right = sum(1 for e in hits if e.category is category)
    caught = sum(1 for words in corrected if words & set(chosen))
    precision = right / len(hits) if hits else 0.0
    if precision < min_precision or caught < min_corrections:
        return None
    regex = r"\b(" + "|".join(re.escape(w) for w in chosen) + r")\b"
    return PatternSuggestion(category, chosen, regex, caught, len(hits), round(precision, 2))
