"""`wedsync-support classifier train|evaluate|status`: the learned classifier's model files (CLASSIFIER_DIR)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.learning import training_rows
from bot.settings import Settings, load_settings
from channels.learned.classifier import LearnedClassifier, classification_of
from channels.learned.model import TicketModel, TrainingRow, train_model
from channels.learned.store import ModelStore, ModelUnavailable, seed_rows
from db.migrate import upgrade
from db.session import open_database
from ticketing.classify import FALLBACK_CLASSIFICATION, decide, default_patterns, find_pattern
from ticketing.model import Category

classifier_app = typer.Typer(help="The learned classifier: train, evaluate, status.", no_args_is_help=True)
out = Console(width=160)
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "classification"
HELD_OUT = (FIXTURES / "eval.jsonl", FIXTURES / "eval_multilingual.jsonl")
STEPS = ("reading history", "vectorizing", "category head", "type head", "saving")


def _store(settings: Settings) -> ModelStore:
    if settings.classifier_dir is None:
        raise typer.BadParameter("CLASSIFIER_DIR is off: set it to a folder for the model files "
                                 "(e.g. CLASSIFIER_DIR=./classifier, the default) and run again",
                                 param_hint="CLASSIFIER_DIR")
    return ModelStore(settings.classifier_dir)


async def _history_rows(settings: Settings, seed_only: bool) -> tuple[list[TrainingRow], str]:
    if seed_only:
        return seed_rows(), "seed only"
    database = open_database(settings.database_url)
    try:
        await upgrade(database)
        rows, found = await training_rows(database)
    finally:
        await database.close()
    return rows, f"{found.corrections} corrections, {found.resolved} resolved tickets"


@classifier_app.command("train")
def train(seed_only: Annotated[bool, typer.Option(help="train on the shipped seed set alone")] = False) -> None:
    """Train on the seed set plus the desk's corrected and resolved tickets; save the next version."""
    settings = load_settings()
    store = _store(settings)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=out) as progress:
        task = progress.add_task(STEPS[0], total=len(STEPS))
        rows, what = asyncio.run(_history_rows(settings, seed_only))

        def step(name: str) -> None:
            progress.update(task, advance=1, description=name)

        started = time.perf_counter()
        model = train_model(rows, progress=step)
        progress.update(task, advance=1, description=STEPS[-1])
        info = store.save(model, rows, datetime.now(UTC), time.perf_counter() - started)
        progress.update(task, advance=1, description="done")
    out.print(f"model version {info.version}: {info.rows} rows ({what}), {info.seconds:.1f} s, "
              f"sha256 {info.sha256[:12]}…, in {store.folder}")


def _load_rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _report(name: str, rows: list[dict[str, str]], model: TicketModel) -> None:
    patterns = default_patterns()
    guesses = model.predict_many([(r["subject"], r["description"]) for r in rows])
    said = []
    for row, guess in zip(rows, guesses, strict=True):
        hit = find_pattern(row["subject"], row["description"], patterns)
        said.append((decide(hit, classification_of(guess)).classification or FALLBACK_CLASSIFICATION).category.value)
    actual = [r["category"] for r in rows]
    labels = [c.value for c in Category]
    pairs = Counter(zip(actual, said, strict=True))
    right = sum(a == s for a, s in zip(actual, said, strict=True))
    out.print(f"\n[bold]{name}[/bold]: {len(rows)} tickets, category accuracy {right / len(rows):.1%} "
              f"(patterns + learned, no model)")
    matrix = Table(title="confusion matrix (rows: label, columns: answer)", show_lines=False)
    matrix.add_column("label")
    for label in labels:
        matrix.add_column(label[:5], justify="right")
    for a in labels:
        matrix.add_row(a, *[str(pairs[(a, s)] or "") for s in labels])
    out.print(matrix)
    per = Table(title="per category")
    for column in ("category", "n", "precision", "recall"):
        per.add_column(column, justify="left" if column == "category" else "right")
    for label in labels:
        tp = pairs[(label, label)]
        predicted = sum(pairs[(a, label)] for a in labels)
        n = sum(pairs[(label, s)] for s in labels)
        per.add_row(label, str(n), f"{tp / predicted:.1%}" if predicted else "-", f"{tp / n:.1%}" if n else "-")
    out.print(per)


@classifier_app.command("evaluate")
def evaluate(
    eval_files: Annotated[list[Path] | None, typer.Option("--eval", help="held-out JSON lines file(s)")] = None,
) -> None:
    """Confusion matrix and per-category precision/recall of the current model on the held-out split(s)."""
    store = _store(load_settings())
    try:
        model, info = store.load()
    except ModelUnavailable as problem:
        out.print(f"no usable model: {problem}. Run `wedsync-support classifier train` first.")
        raise typer.Exit(1) from None
    files = eval_files or [p for p in HELD_OUT if p.exists()]
    if not files:
        out.print("no held-out file found; pass --eval FILE")
        raise typer.Exit(1)
    out.print(f"model version {info.version} ({info.rows} rows, {info.created})")
    for path in files:
        try:
            rows = _load_rows(path)
        except (OSError, ValueError) as error:
            out.print(f"{path}: cannot read it ({type(error).__name__}: {error})")
            raise typer.Exit(1) from None
        _report(str(path), rows, model)


@classifier_app.command("status")
def status() -> None:
    """Which model the desk would use, and why; the versions in CLASSIFIER_DIR."""
    store = _store(load_settings())
    learned = LearnedClassifier(store)
    now = learned.load_now()
    out.print(f"learned classifier: {now.state} - {now.detail}")
    if now.state == "none":
        out.print("  (`serve` trains the shipped seed model at start; `classifier train` does it now)")
    versions = Table(title=f"versions in {store.folder}")
    for column in ("version", "rows", "sources", "created", "sha256", "train s"):
        versions.add_column(column)
    current = store.current_version()
    for info in store.versions():
        mark = " (current)" if info.version == current else ""
        sources = ", ".join(f"{k} {v}" for k, v in info.sources.items())
        versions.add_row(f"{info.version}{mark}", str(info.rows), sources, info.created, info.sha256[:12],
                         f"{info.seconds:.1f}")
    out.print(versions)
