"""`wedsync-support classifier train|evaluate|status` through Typer's runner, on model files in a folder."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from channels.learned.store import ModelStore
from tests.learned_models import small_model, small_seed

runner = CliRunner()


def cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_without_classifier_dir_the_commands_name_the_setting(in_tmp: Path) -> None:
    code, shown = cli("classifier", "status", env={})
    assert code != 0 and "CLASSIFIER_DIR" in shown


def test_train_saves_a_version_with_progress_and_status_shows_it(in_tmp: Path) -> None:
    env = {"CLASSIFIER_DIR": str(in_tmp / "models"), "DATABASE_URL": f"sqlite+aiosqlite:///{in_tmp / 'desk.db'}"}
    code, shown = cli("classifier", "train", env=env)
    assert code == 0, shown
    assert "model version 1:" in shown and "0 corrections, 0 resolved tickets" in shown
    code, shown = cli("classifier", "status", env=env)
    assert code == 0 and "ready - version 1 (current)" in shown and "1 (current)" in shown


def test_status_says_a_corrupt_model_was_refused_and_which_version_is_used(in_tmp: Path) -> None:
    store = ModelStore(in_tmp / "models")
    now = datetime.now(UTC)
    store.save(small_model(), small_seed(), now)
    broken = store.save(small_model(), small_seed(), now)
    (store.folder / broken.file_name).write_bytes(b"not a model")
    code, shown = cli("classifier", "status", env={"CLASSIFIER_DIR": str(store.folder)})
    assert code == 0
    assert "fallback" in shown and "does not match its checksum" in shown and "using version 1" in shown


def test_evaluate_prints_the_confusion_matrix_and_precision_recall_per_category(in_tmp: Path) -> None:
    ModelStore(in_tmp / "models").save(small_model(), small_seed(), datetime.now(UTC))
    held_out = in_tmp / "held_out.jsonl"
    rows = [{"subject": "Refund", "description": "I was charged twice, please refund one", "category": "refund",
             "type": "billing"},
            {"subject": "Hacked", "description": "someone logged into my account from abroad",
             "category": "security", "type": "technical"}]
    held_out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, shown = cli("classifier", "evaluate", "--eval", str(held_out), env={"CLASSIFIER_DIR": str(in_tmp / "models")})
    assert code == 0, shown
    assert "confusion matrix" in shown and "per category" in shown and "precision" in shown
    assert "2 tickets, category accuracy 100.0%" in shown


def test_a_cli_command_on_a_fresh_clone_starts_no_seed_training(in_tmp: Path, caplog: pytest.LogCaptureFixture
                                                                 ) -> None:
    """Only `serve` trains in the background; a one-shot command would exit mid-training. It says, once,
    that the patterns decide."""
    env = {"CLASSIFIER_DIR": str(in_tmp / "models"), "DATABASE_URL": f"sqlite+aiosqlite:///{in_tmp / 'desk.db'}"}
    with caplog.at_level(logging.DEBUG, logger="channels.learned"):
        code, shown = cli("tickets", "list", env=env)
    assert code == 0, shown
    lines = [r for r in caplog.records if r.name.startswith("channels.learned")]
    assert [(r.levelno, "patterns decide until one is trained" in r.getMessage()) for r in lines] == [
        (logging.INFO, True)]
    assert not any("training on the seed set" in r.getMessage() for r in caplog.records)
    assert ModelStore(in_tmp / "models").versions() == []
