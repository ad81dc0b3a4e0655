"""The learned classifier the desk asks between the patterns and the model, and its life cycle.

    learned = LearnedClassifier(ModelStore(Path(CLASSIFIER_DIR)))
    await learned.start(train=True)  # loads the current model, or falls back (older version, then the seed)
    learned(subject, description)    # Classification (source "learned") or None while no model is ready
    await learned.retrain(rows)      # trains in a separate process, saves the next version, swaps it in
    learned.status()                 # what is in use and why, for `classifier status` and the logs

Nothing here blocks intake: loading runs in a thread, training in a process pool (a separate interpreter,
so the event loop's process keeps its CPU time and its GIL), and until a model is ready `__call__` returns
None and the patterns decide. A corrupt or missing model file is logged (WARNING) with the reason and the
fallback; a folder with no model at all (the first start of a fresh clone) is expected, not a problem: one INFO
line says so. Only `serve` trains the seed model in the background (`start(train=True)`): a one-shot CLI command
would exit before the training ends, so it starts with `train=False` and the patterns decide.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from channels.learned.model import Guess, TicketModel, TrainingRow, train_model
from channels.learned.store import ModelInfo, ModelStore, ModelUnavailable, seed_rows
from ticketing.model import Category, Classification, TicketType

log = logging.getLogger(__name__)

SECONDS_PER_ROW = 0.002  # a rough training time per row on one core, for the first start's log line


@dataclass(frozen=True)
class LearnedStatus:
    state: str  # ready | fallback | training | none
    version: int | None
    rows: int
    detail: str  # why: "version 3 (current)", or the problem and the fallback taken


def train_and_save(folder: str, rows: Sequence[TrainingRow], created: str) -> ModelInfo:
    """Runs in the worker process: fits the model and saves it as the folder's next version."""
    started = time.perf_counter()
    model = train_model(rows)
    return ModelStore(Path(folder)).save(model, rows, datetime.fromisoformat(created),
                                         time.perf_counter() - started)


def classification_of(guess: Guess) -> Classification:
    category = Category(guess.category)
    return Classification(
        category=category,
        type=TicketType(guess.type),
        tags=(category.value,),
        confidence=round(guess.category_confidence, 2),
        reason=f"learned: {category.value} {guess.category_confidence:.2f}",
        source="learned",
    )


class LearnedClassifier:
    def __init__(self, store: ModelStore, now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 seed: Callable[[], list[TrainingRow]] = seed_rows) -> None:
        self.store = store
        self.now = now
        self.seed = seed  # the labelled rows every training starts from (the shipped seed set)
        self.model: TicketModel | None = None
        self.info: ModelInfo | None = None
        self._status = LearnedStatus("none", None, 0, "not started")
        self._training: asyncio.Task[ModelInfo] | None = None
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, subject: str, description: str) -> Classification | None:
        guess = self.guess(subject, description)
        return None if guess is None else classification_of(guess)

    def guess(self, subject: str, description: str) -> Guess | None:
        model = self.model
        return None if model is None else model.predict(subject, description)

    def status(self) -> LearnedStatus:
        return self._status

    def _use(self, model: TicketModel, info: ModelInfo, state: str, detail: str) -> None:
        self.model, self.info = model, info
        self._status = LearnedStatus(state, info.version, info.rows, detail)

    def load_now(self) -> LearnedStatus:
        """Loads the current version, else the newest older one that passes its checksum; else nothing
        (state "none": the caller may train the seed model). Every problem is logged with the fallback taken;
        an empty folder is no problem (see the module docstring)."""
        try:
            model, info = self.store.load()
            self._use(model, info, "ready", f"version {info.version} (current)")
            return self._status
        except ModelUnavailable as problem:
            reason = str(problem)
        current = self.store.current_version()
        for older in sorted(self.store.versions(), key=lambda i: -i.version):
            if current is not None and older.version >= current:
                continue
            try:
                model, info = self.store.load(older.version)
            except ModelUnavailable:
                continue
            log.warning("learned classifier: %s; falling back to version %d", reason, info.version)
            self._use(model, info, "fallback", f"{reason}; using version {info.version}")
            return self._status
        self._status = LearnedStatus("none", None, 0, reason)
        return self._status

    @property
    def fresh(self) -> bool:
        """No model was ever saved in the folder (not even a broken one)."""
        return self.store.current_version() is None and not self.store.versions()

    async def start(self, train: bool = False) -> LearnedStatus:
        """Loads in a thread; with no usable model and `train`, trains the seed model in the background
        (patterns decide meanwhile). Says what happened in one line: INFO for a fresh folder, WARNING when
        a model was there but cannot be used."""
        status = await asyncio.to_thread(self.load_now)
        if status.state != "none":
            return status
        fresh = self.fresh
        say = log.info if fresh else log.warning
        problem = f"no model yet in {self.store.folder}" if fresh else status.detail
        if not train:
            say("classifier: %s; patterns decide until one is trained (`serve` trains it in the background, "
                "`wedsync-support classifier train` now)", problem)
            self._status = replace(status, detail=f"{problem}; patterns decide until one is trained")
            return self._status
        rows = self.seed()
        say("classifier: %s, training on the seed set in the background (~%d s); patterns decide until then",
            problem, max(1, round(len(rows) * SECONDS_PER_ROW)))
        self._status = LearnedStatus("training", None, 0, f"{problem}; training the shipped seed model")
        self._training = asyncio.create_task(self._train(rows, note=problem))
        return self._status

    async def wait_ready(self) -> LearnedStatus:
        if self._training is not None:
            await asyncio.shield(self._training)
        return self._status

    @property
    def training(self) -> bool:
        return self._training is not None and not self._training.done()

    async def retrain(self, rows: Sequence[TrainingRow]) -> ModelInfo:
        """Trains on `rows` in the process pool and swaps the new version in; one training at a time."""
        if self.training:
            assert self._training is not None
            await asyncio.shield(self._training)
        self._training = asyncio.create_task(self._train(rows))
        return await asyncio.shield(self._training)

    async def _train(self, rows: Sequence[TrainingRow], note: str = "") -> ModelInfo:
        loop = asyncio.get_running_loop()
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        try:
            info = await loop.run_in_executor(self._pool, train_and_save, str(self.store.folder), list(rows),
                                              self.now().isoformat())
            model, info = await asyncio.to_thread(self.store.load, info.version)
        except Exception:
            log.exception("learned classifier: training on %d rows failed; keeping the model in use", len(rows))
            if self.model is None:
                self._status = LearnedStatus("none", None, 0, f"{note}; training failed (see the log)".lstrip("; "))
            raise
        detail = f"version {info.version} (current)" + (f", trained after: {note}" if note else "")
        self._use(model, info, "ready", detail)
        log.info("learned classifier: version %d ready (%d rows, %.1f s)", info.version, info.rows, info.seconds)
        return info

    async def aclose(self) -> None:
        if self._training is not None and not self._training.done():
            self._training.cancel()
        if self._pool is not None:  # a training in progress is stopped: its files are written whole or not at all
            processes = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            self._pool = None
