"""The customer's language, detected from the ticket's text with lingua (lingua-language-detector).

    detector = LanguageDetector(("en", "fr", "de", "es", "it", "nl"))
    detector.detect("Mon paiement a échoué", "Bonjour, ma carte a été refusée")   # "fr"
    detector.detect("ok", "")                                                     # None: too little to tell

Only the configured languages are considered (fewer candidates: faster and fewer mistakes on short mail).
The answer is an ISO 639-1 code, or None when the text is too short or the best language is not clearly
ahead (confidence below MIN_CONFIDENCE); the caller then keeps what it knew (the customer's language).
lingua's models ship inside its wheel: nothing is fetched at run time.
"""

from __future__ import annotations

from collections.abc import Sequence

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

DEFAULT_LANGUAGES = ("en", "fr", "de", "es", "it", "nl")
MIN_CONFIDENCE = 0.5
MIN_LETTERS = 12
MAX_CHARS = 1500


def _language(code: str) -> Language:
    try:
        return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    except (AttributeError, ValueError):
        raise ValueError(f"unknown language code {code!r}: use ISO 639-1 codes such as en, fr, de") from None


class LanguageDetector:
    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        codes = tuple(dict.fromkeys(code.strip().lower() for code in languages if code.strip()))
        if len(codes) < 2:
            raise ValueError("language detection needs at least two languages to choose from")
        self.languages = codes
        self._detector = LanguageDetectorBuilder.from_languages(*(_language(c) for c in codes)).build()

    def detect(self, subject: str, description: str) -> str | None:
        text = f"{subject}\n{description}"[:MAX_CHARS]
        if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
            return None
        values = self._detector.compute_language_confidence_values(text)
        if not values or values[0].value < MIN_CONFIDENCE:
            return None
        return str(values[0].language.iso_code_639_1.name).lower()
