"""The learned classifier's model: TF-IDF on words and character n-grams, then a calibrated linear SVM per head.

    model = train_model(rows)                      # rows: TrainingRow values
    guess = model.predict("Mon paiement a échoué", "…")
    guess.category, guess.category_confidence      # "billing", 0.86
    guess.type, guess.type_confidence

Two heads share the vectorizers: the category (15 classes) and the type (6), each a linear SVM whose scores
are calibrated to probabilities (`CalibratedClassifierCV`, sigmoid, 3 folds); the recall-first classes
(security, data_loss) get a larger class weight, and `predict` picks them whenever their probability reaches
`RECALL_FIRST_THRESHOLD` even when another class scores higher: missing them is the costly error.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import hstack
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

RECALL_FIRST = ("security", "data_loss")
RECALL_FIRST_WEIGHT = 1.6
RECALL_FIRST_THRESHOLD = 0.35
DEFAULT_C = 1.0
MAX_CHARS = 3000  # the start of a long mail says what it is about; bounds the predict time


@dataclass(frozen=True)
class TrainingRow:
    subject: str
    description: str
    category: str
    type: str
    language: str = ""
    source: str = "seed"  # seed | correction | resolved


@dataclass(frozen=True)
class Guess:
    category: str
    category_confidence: float
    type: str
    type_confidence: float
    ranked: tuple[tuple[str, float], ...]  # the top categories, best first


_SPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")


def normalise(subject: str, description: str) -> str:
    """Lowercased, accents kept and also stripped (both spellings reach the char n-grams), digits folded."""
    text = f"{subject} . {subject} . {description[:MAX_CHARS]}".lower()
    text = _DIGITS.sub("0", _SPACE.sub(" ", text))
    plain = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return text if plain == text else f"{text} | {plain}"


class TicketModel:
    """Fitted vectorizers and the two heads. Pickled with joblib by the store (channels.learned.store)."""

    def __init__(self, c: float = DEFAULT_C, recall_weight: float = RECALL_FIRST_WEIGHT,
                 recall_threshold: float = RECALL_FIRST_THRESHOLD) -> None:
        self.c = c
        self.recall_weight = recall_weight
        self.recall_threshold = recall_threshold
        self.words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1, sublinear_tf=True,
                                     token_pattern=r"(?u)\b\w[\w']*\b", max_features=120_000)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                     max_features=200_000)
        self.category_head = CalibratedClassifierCV(
            LinearSVC(C=c, random_state=0), method="sigmoid", cv=3, n_jobs=2)
        self.type_head = CalibratedClassifierCV(
            LinearSVC(C=c, random_state=0), method="sigmoid", cv=3, n_jobs=2)
        self.rows = 0
        self._fast: FastHeads | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fast": None}  # rebuilt on first use after loading

    def _features(self, texts: Sequence[str], fit: bool = False) -> Any:
        if fit:
            return hstack([self.words.fit_transform(texts), self.chars.fit_transform(texts)]).tocsr()
        return hstack([self.words.transform(texts), self.chars.transform(texts)]).tocsr()

    def fit(self, rows: Sequence[TrainingRow], progress: Callable[[str], None] | None = None) -> TicketModel:
        if len({r.category for r in rows}) < 2 or len({r.type for r in rows}) < 2:
            raise ValueError("training needs at least two categories and two types")
        say = progress or (lambda _step: None)
        texts = [normalise(r.subject, r.description) for r in rows]
        say("vectorizing")
        x = self._features(texts, fit=True)
        categories = np.array([r.category for r in rows])
        weights = {c: (self.recall_weight if c in RECALL_FIRST else 1.0) for c in set(categories)}
        self.category_head.set_params(estimator__class_weight=weights)
        say("category head")
        self.category_head.fit(x, categories)
        say("type head")
        self.type_head.fit(x, np.array([r.type for r in rows]))
        self.rows = len(rows)
        self._fast = FastHeads.of(self)
        return self

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.category_head.classes_)

    def predict_many(self, pairs: Iterable[tuple[str, str]]) -> list[Guess]:
        """Many tickets through scikit-learn's own (batch) path."""
        texts = [normalise(s, d) for s, d in pairs]
        if not texts:
            return []
        x = self._features(texts)
        return [self._guess(c, t) for c, t in zip(self.category_head.predict_proba(x),
                                                   self.type_head.predict_proba(x), strict=True)]

    def predict(self, subject: str, description: str) -> Guess:
        """One ticket through the compact path (`FastHeads`): the same numbers as `predict_many`, without
        scikit-learn's per-call checks, which cost more than the arithmetic for a single text."""
        if self._fast is None:
            self._fast = FastHeads.of(self)
        text = normalise(subject, description)
        category_p, type_p = self._fast.probabilities(text)
        return self._guess(category_p, type_p)

    def _guess(self, category_p: Any, type_p: Any) -> Guess:
        classes = self.category_head.classes_
        order = np.argsort(category_p)[::-1]
        best = int(order[0])
        for label in RECALL_FIRST:  # recall first: a likely enough security or data-loss ticket is one
            hits = np.flatnonzero(classes == label)
            if hits.size and best != hits[0] and category_p[hits[0]] >= self.recall_threshold \
                    and classes[best] not in RECALL_FIRST:
                best = int(hits[0])
        t = int(np.argmax(type_p))
        ranked = tuple((str(classes[i]), round(float(category_p[i]), 4)) for i in order[:3])
        return Guess(str(classes[best]), round(float(category_p[best]), 4), str(self.type_head.classes_[t]),
                     round(float(type_p[t]), 4), ranked)


class _Vectorizer:
    """One fitted TfidfVectorizer as plain lookups: analyzer, vocabulary, idf (sublinear tf, l2 norm)."""

    def __init__(self, fitted: TfidfVectorizer, offset: int) -> None:
        self.analyze = fitted.build_analyzer()
        self.vocabulary: dict[str, int] = {k: int(v) for k, v in fitted.vocabulary_.items()}
        self.idf = np.asarray(fitted.idf_, dtype=np.float64)
        self.offset = offset

    def features(self, text: str) -> tuple[Any, Any]:
        counts: dict[int, int] = {}
        for token in self.analyze(text):
            index = self.vocabulary.get(token)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if not counts:
            return np.empty(0, dtype=np.int64), np.empty(0)
        indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[indices]
        return indices + self.offset, values / np.sqrt(values @ values)


class _CalibratedLinear:
    """A CalibratedClassifierCV over LinearSVC as arrays: per fold the weights, intercepts and the sigmoid
    calibrators' a and b; probabilities = mean over folds of the normalised 1 / (1 + exp(a * score + b))."""

    def __init__(self, head: CalibratedClassifierCV) -> None:
        folds = head.calibrated_classifiers_
        self.weights = [np.ascontiguousarray(np.asarray(f.estimator.coef_, dtype=np.float64).T) for f in folds]
        self.intercepts = [np.asarray(f.estimator.intercept_, dtype=np.float64) for f in folds]
        self.a = [np.array([c.a_ for c in f.calibrators]) for f in folds]
        self.b = [np.array([c.b_ for c in f.calibrators]) for f in folds]
        self.classes = len(head.classes_)

    def probabilities(self, indices: Any, values: Any) -> Any:
        total = np.zeros(self.classes)
        for w, b0, a, b in zip(self.weights, self.intercepts, self.a, self.b, strict=True):
            scores = values @ w[indices] + b0
            p = 1.0 / (1.0 + np.exp(a * scores + b))
            if self.classes == 2:
                p = np.array([1.0 - p[-1], p[-1]])
            norm = p.sum()
            total += p / norm if norm > 0 else np.full(self.classes, 1.0 / self.classes)
        return total / len(self.weights)


class FastHeads:
    """Both heads for one text at a time (see `TicketModel.predict`)."""

    def __init__(self, words: _Vectorizer, chars: _Vectorizer, category: _CalibratedLinear,
                 type_: _CalibratedLinear) -> None:
        self.words, self.chars, self.category, self.type = words, chars, category, type_

    @classmethod
    def of(cls, model: TicketModel) -> FastHeads:
        words = _Vectorizer(model.words, 0)
        return cls(words, _Vectorizer(model.chars, len(words.vocabulary)), _CalibratedLinear(model.category_head),
                   _CalibratedLinear(model.type_head))

    def probabilities(self, text: str) -> tuple[Any, Any]:
        wi, wv = self.words.features(text)
        ci, cv = self.chars.features(text)
        indices, values = np.concatenate([wi, ci]), np.concatenate([wv, cv])
        return self.category.probabilities(indices, values), self.type.probabilities(indices, values)


def train_model(rows: Sequence[TrainingRow], progress: Callable[[str], None] | None = None,
                **params: float) -> TicketModel:
    return TicketModel(**params).fit(rows, progress)
