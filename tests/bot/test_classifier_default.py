"""The learned classifier is on by default for a desk built from load_settings; CLASSIFIER_DIR=off turns it off."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap import start_desk
from bot.settings import DEFAULT_CLASSIFIER_DIR, Settings, load_settings
from channels.learned.store import ModelStore
from tests.learned_models import small_model, small_seed

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def test_a_desk_from_load_settings_without_classifier_dir_uses_the_default_folder(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLASSIFIER_DIR")
    ModelStore(in_tmp / "classifier").save(small_model(), small_seed(), NOW)  # a model there: nothing trains
    settings = load_settings(None)
    assert settings.classifier_dir == DEFAULT_CLASSIFIER_DIR
    desk = await start_desk(settings)
    try:
        assert desk.learner is not None and desk.learner.store.folder.resolve() == (in_tmp / "classifier")
        assert desk.learner.status().state == "ready" and not desk.learner.training
    finally:
        await desk.learner.aclose()
        await desk.db.close()


@pytest.mark.parametrize("value", ["off", "OFF", ""])
async def test_classifier_dir_off_or_empty_turns_the_learned_classifier_off(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CLASSIFIER_DIR", value)
    settings = load_settings(None)
    assert settings.classifier_dir is None
    desk = await start_desk(settings)
    try:
        assert desk.learner is None and desk.learned is None
    finally:
        await desk.db.close()
    assert not (in_tmp / "classifier").exists()


def test_settings_built_directly_keep_it_off_unless_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLASSIFIER_DIR")
    assert Settings(_env_file=None).classifier_dir is None
    assert Settings(_env_file=None, classifier_dir=tmp_path).classifier_dir == tmp_path


async def test_only_serve_starts_the_seed_training_on_a_fresh_folder(in_tmp: Path) -> None:
    from bot.serve import start

    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{in_tmp / 'desk.db'}",
                        support_config=in_tmp / "absent.yml", classifier_dir=in_tmp / "models",
                        smtp_listen_port=0, http_port=0)
    desk = await start_desk(settings)  # what every CLI command builds
    try:
        assert desk.learner.status().state == "none" and not desk.learner.training
    finally:
        await desk.learner.aclose()
        await desk.db.close()
    running = await start(settings, say=lambda _line: None)
    try:
        assert running.desk.learner.status().state == "training" and running.desk.learner.training
    finally:
        await running.stop()  # stops the training: no partial version is left
    assert ModelStore(in_tmp / "models").versions() == []
