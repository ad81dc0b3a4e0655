"""The learned classifier: training, one-ticket predict, model files with checksums, corrupt and missing files."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from channels.learned.classifier import LearnedClassifier
from channels.learned.model import ModelConfig, TrainingRow, train_model
from channels.learned.store import ModelStore, ModelUnavailable, seed_rows
from tests.learned_models import small_model, small_seed

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_the_shipped_seed_set_covers_every_category_type_and_six_languages() -> None:
    rows = seed_rows()
    assert len(rows) >= 2000
    assert len({r.category for r in rows}) == 15 and len({r.type for r in rows}) == 6
    languages = {r.language for r in rows}
    assert languages == {"en", "fr", "de", "es", "it", "nl"}
    assert sum(r.language != "en" for r in rows) / len(rows) >= 0.2


def test_a_trained_model_reads_a_french_failed_payment_and_a_german_break_in() -> None:
    model = small_model()
    payment = model.predict("Mon paiement a échoué", "Bonjour, ma carte a été refusée hier soir. Merci")
    break_in = model.predict("Konto", "Jemand hat sich heute Nacht in mein Konto eingeloggt, das war ich nicht")
    assert (payment.category, payment.type) == ("billing", "billing")
    assert break_in.category == "security"
    assert 0 < payment.category_confidence <= 1 and payment.ranked[0][0] == "billing"


def test_loading_the_van_is_not_a_performance_ticket() -> None:
    guess = small_model().predict("Timeline", "We're loading the van at 7, how do I add a task with a time to the day?")
    assert guess.category != "performance"


def test_one_ticket_predict_gives_the_same_probabilities_as_the_batch_path() -> None:
    model = small_model()
    pairs = [(r.subject, r.description) for r in seed_rows()[1::40]]
    batch = model.predict_many(pairs)
    single = [model.predict(s, d) for s, d in pairs]
    assert [(g.category, g.type) for g in single] == [(g.category, g.type) for g in batch]
    assert np.allclose([g.category_confidence for g in single], [g.category_confidence for g in batch])


def test_training_needs_more_than_one_category() -> None:
    with pytest.raises(ValueError, match="two categories"):
        train_model([TrainingRow("a", "b", "billing", "billing"), TrainingRow("c", "d", "billing", "question")])


def test_a_saved_model_loads_back_with_its_checksum_and_predicts_the_same(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    info = store.save(small_model(), small_seed(), NOW)
    model, loaded = store.load()
    assert loaded == info and info.version == 1 and info.rows == len(small_seed())
    assert json.loads((tmp_path / "model-0001.json").read_text())["sha256"] == info.sha256
    assert (tmp_path / "CURRENT").read_text() == "1"
    text = ("Refund", "I was charged twice this month, please refund one")
    assert model.predict(*text) == small_model().predict(*text)


def test_a_corrupt_model_file_is_refused_and_the_previous_version_is_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = ModelStore(tmp_path)
    store.save(small_model(), small_seed(), NOW)
    second = store.save(small_model(), small_seed(), NOW)
    path = tmp_path / second.file_name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match="checksum"):
        store.load()
    learned = LearnedClassifier(store)
    with caplog.at_level(logging.WARNING, logger="channels.learned.classifier"):
        status = learned.load_now()
    assert (status.state, status.version) == ("fallback", 1)
    assert "does not match its checksum" in status.detail and "using version 1" in status.detail
    assert "falling back to version 1" in caplog.text
    assert learned("Hacked", "someone logged into my account from abroad") is not None


def test_a_missing_model_file_is_named_in_the_reason(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    info = store.save(small_model(), small_seed(), NOW)
    (tmp_path / info.file_name).unlink()
    with pytest.raises(ModelUnavailable, match=r"model-0001\.joblib is missing"):
        store.load()


def classifier_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "channels.learned.classifier"]


async def test_with_no_model_the_seed_model_is_trained_in_the_background_and_patterns_decide_meanwhile(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    learned = LearnedClassifier(ModelStore(tmp_path / "models"), now=lambda: NOW, seed=lambda: list(small_seed()))
    try:
        with caplog.at_level(logging.DEBUG, logger="channels.learned.classifier"):
            status = await learned.start(train=True)
            (line,) = classifier_lines(caplog)  # the first start of a fresh clone: one INFO line, no WARNING
        assert line.levelno == logging.INFO
        assert line.getMessage().startswith(f"classifier: no model yet in {tmp_path / 'models'}, training on "
                                            "the seed set in the background (~")
        assert line.getMessage().endswith(" s); patterns decide until then")
        assert status.state == "training" and "no model" in status.detail and learned.training
        assert learned("Payment failed", "my card was declined") is None  # nothing yet: the patterns decide
        ready = await learned.wait_ready()
        assert (ready.state, ready.version, ready.rows) == ("ready", 1, len(small_seed()))
        assert learned("Payment failed", "my card was declined") is not None
        assert ModelStore(tmp_path / "models").current_version() == 1
    finally:
        await learned.aclose()


async def test_without_train_a_missing_model_starts_no_training_and_says_so_in_one_info_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = ModelStore(tmp_path / "models")
    learned = LearnedClassifier(store, now=lambda: NOW, seed=lambda: list(small_seed()))
    with caplog.at_level(logging.DEBUG, logger="channels.learned.classifier"):
        status = await learned.start()
    (line,) = classifier_lines(caplog)
    assert line.levelno == logging.INFO and "no model yet in" in line.getMessage()
    assert "patterns decide until one is trained" in line.getMessage()
    assert (status.state, learned.training, learned._pool) == ("none", False, None)
    assert learned("Payment failed", "my card was declined") is None
    await learned.aclose()
    assert store.versions() == [] and not store.folder.exists()


def first_release_file(store: ModelStore) -> None:
    """A model file as the first release wrote it: its description has no `format` (format 1)."""
    info = store.save(small_model(), small_seed(), NOW)
    meta = store.folder / info.file_name.replace(".joblib", ".json")
    described = json.loads(meta.read_text())
    del described["format"]
    meta.write_text(json.dumps(described))


def test_a_model_file_of_the_first_format_is_refused_before_it_is_unpickled(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    first_release_file(store)
    (tmp_path / "model-0001.joblib").write_bytes(b"a stale pickle that must not be read")  # checksum aside
    with pytest.raises(ModelUnavailable, match="saved in model format 1, this release reads format 2"):
        store.load()


async def test_an_old_format_model_is_retrained_from_the_seed_set_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = ModelStore(tmp_path / "models")
    first_release_file(store)
    learned = LearnedClassifier(store, now=lambda: NOW, seed=lambda: list(small_seed()))
    try:
        with caplog.at_level(logging.DEBUG, logger="channels.learned.classifier"):
            status = await learned.start(train=True)
            (line,) = classifier_lines(caplog)
        assert line.levelno == logging.WARNING and "model format 1" in line.getMessage()
        assert status.state == "training"
        ready = await learned.wait_ready()
        assert (ready.state, ready.version) == ("ready", 2)
        assert store.load()[1].format == 2
    finally:
        await learned.aclose()


def test_the_type_head_that_sees_the_category_gives_the_same_answers_one_by_one_and_in_a_batch() -> None:
    model = train_model(small_seed()[::2], config=ModelConfig(type_sees_category=1.0))
    pairs = [(r.subject, r.description) for r in seed_rows()[2::60]]
    batch = model.predict_many(pairs)
    single = [model.predict(s, d) for s, d in pairs]
    assert [(g.category, g.type) for g in single] == [(g.category, g.type) for g in batch]
    assert np.allclose([g.type_confidence for g in single], [g.type_confidence for g in batch])


async def test_closing_during_a_training_stops_it_and_leaves_no_partial_version(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    learned = LearnedClassifier(store, now=lambda: NOW, seed=lambda: list(small_seed()))
    status = await learned.start(train=True)
    assert status.state == "training"
    await learned.aclose()
    assert store.current_version() is None and store.versions() == []
