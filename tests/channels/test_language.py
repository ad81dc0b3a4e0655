"""Language detection (lingua) for the six languages the desk reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bootstrap import start_desk
from bot.errors import SettingsError
from bot.settings import Settings
from channels.language import LanguageDetector


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(("subject", "description", "expected"), [
    pytest.param("Mon paiement a échoué", "Bonjour, ma carte a été refusée lors du renouvellement.", "fr", id="french"),
    pytest.param("Anmeldung", "Ich kann mich nicht anmelden, seit gestern geht gar nichts mehr.", "de", id="german"),
    pytest.param("Pago", "Hola, mi pago ha fallado y no sé por qué. Gracias", "es", id="spanish"),
    pytest.param("Pagamento", "Buongiorno, il mio pagamento non è andato a buon fine.", "it", id="italian"),
    pytest.param("Betaling", "Hallo, mijn betaling is mislukt en ik weet niet waarom.", "nl", id="dutch"),
    pytest.param("Form", "Hi, my RSVP form won't save since this morning. Anna", "en", id="english"),
])
def test_each_of_the_six_languages_is_recognised(detector: LanguageDetector, subject: str, description: str,
                                                  expected: str) -> None:
    assert detector.detect(subject, description) == expected


def test_too_little_text_gives_no_language(detector: LanguageDetector) -> None:
    assert detector.detect("ok", "") is None


def test_an_unknown_language_code_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="ISO 639-1"):
        LanguageDetector(("en", "xx"))


async def test_a_bad_detect_languages_setting_stops_the_desk_naming_the_setting(
    database_url: str, support_yml: Path
) -> None:
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml,
                        detect_languages="en,klingon")
    with pytest.raises(SettingsError, match=r"DETECT_LANGUAGES='en,klingon'.*ISO 639-1"):
        await start_desk(settings)
