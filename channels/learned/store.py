"""Model files, versioned in one folder (CLASSIFIER_DIR), each with its checksum.

    folder/model-0003.joblib   the pickled TicketModel (joblib)
    folder/model-0003.json     {"version", "sha256", "rows", "sources", "created", "sklearn", "format", ...}
    folder/CURRENT             "3": the version in use, replaced atomically (write, fsync, rename)

A model is loaded only when its file's SHA-256 matches the one recorded beside it: a truncated, corrupt or
swapped file raises `ModelUnavailable` with the reason (and never unpickles it). The caller falls back.
`format` is the model's layout (`channels.learned.model.MODEL_FORMAT`): a file of another format (description
files without the key are format 1, the first release) is refused before it is unpickled, so an upgrade falls
back to an older usable version or retrains the seed model, never crashes on a stale pickle.
The seed training rows ship with the package (channels/learned/data/seed.jsonl).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import joblib
import sklearn

from channels.learned.model import MODEL_FORMAT, TicketModel, TrainingRow

KEEP_VERSIONS = 5


class ModelUnavailable(RuntimeError):
    """No usable model in the folder; the message says why (missing, checksum, unreadable)."""


@dataclass(frozen=True)
class ModelInfo:
    version: int
    sha256: str
    rows: int
    sources: dict[str, int]
    created: str  # ISO 8601, UTC
    sklearn: str
    seconds: float = 0.0
    format: int = 1  # absent in the first release's files

    @property
    def file_name(self) -> str:
        return f"model-{self.version:04d}.joblib"


def seed_rows() -> list[TrainingRow]:
    """The labelled seed set shipped with the package."""
    text = resources.files("channels.learned").joinpath("data/seed.jsonl").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip():
            r = json.loads(line)
            rows.append(TrainingRow(r["subject"], r["description"], r["category"], r["type"], r.get("language", "")))
    return rows


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    temporary.replace(path)


class ModelStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def versions(self) -> list[ModelInfo]:
        found = []
        for meta in sorted(self.folder.glob("model-*.json")):
            try:
                found.append(ModelInfo(**json.loads(meta.read_text(encoding="utf-8"))))
            except (ValueError, TypeError):
                continue
        return found

    def current_version(self) -> int | None:
        try:
            return int((self.folder / "CURRENT").read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None

    def save(self, model: TicketModel, rows: Sequence[TrainingRow], created: datetime, seconds: float = 0.0
             ) -> ModelInfo:
        """Writes the next version and makes it current; keeps the newest KEEP_VERSIONS."""
        self.folder.mkdir(parents=True, exist_ok=True)
        version = max((i.version for i in self.versions()), default=0) + 1
        path = self.folder / f"model-{version:04d}.joblib"
        temporary = path.with_name(f".{path.name}.tmp")
        joblib.dump(model, temporary, compress=3)
        temporary.replace(path)
        info = ModelInfo(version, _sha256(path), len(rows), dict(Counter(r.source for r in rows)),
                         created.isoformat(), sklearn.__version__, round(seconds, 2), MODEL_FORMAT)
        _write_atomic(path.with_suffix(".json"), json.dumps(asdict(info), indent=2).encode())
        _write_atomic(self.folder / "CURRENT", str(version).encode())
        self._prune()
        return info

    def _prune(self) -> None:
        current = self.current_version()
        for old in self.versions()[:-KEEP_VERSIONS]:
            if old.version != current:
                (self.folder / old.file_name).unlink(missing_ok=True)
                (self.folder / old.file_name).with_suffix(".json").unlink(missing_ok=True)

    def load(self, version: int | None = None) -> tuple[TicketModel, ModelInfo]:
        """The current (or given) version, checked against its checksum; `ModelUnavailable` says why not."""
        version = version if version is not None else self.current_version()
        if version is None:
            raise ModelUnavailable(f"no model in {self.folder} yet (no CURRENT file)")
        meta = self.folder / f"model-{version:04d}.json"
        try:
            info = ModelInfo(**json.loads(meta.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as error:
            raise ModelUnavailable(f"model {version}: its description {meta.name} is missing or unreadable "
                                   f"({type(error).__name__})") from None
        if info.format != MODEL_FORMAT:
            raise ModelUnavailable(f"model {version}: saved in model format {info.format}, this release reads "
                                   f"format {MODEL_FORMAT}")
        path = self.folder / info.file_name
        if not path.exists():
            raise ModelUnavailable(f"model {version}: {path.name} is missing")
        if _sha256(path) != info.sha256:
            raise ModelUnavailable(f"model {version}: {path.name} does not match its checksum (corrupt or changed)")
        try:
            model: Any = joblib.load(path)
        except Exception as error:  # a file that passed its checksum but was written by another version
            raise ModelUnavailable(f"model {version}: {path.name} cannot be read ({type(error).__name__}); "
                                   f"it was saved with scikit-learn {info.sklearn}") from None
        if not isinstance(model, TicketModel) or getattr(model, "format", 1) != MODEL_FORMAT:
            raise ModelUnavailable(f"model {version}: {path.name} holds no ticket model of format {MODEL_FORMAT}")
        return model, info
