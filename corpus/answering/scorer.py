"""The learned answer model: how candidates are ranked, and how sure we are the first answers.

Two small models, both fitted by `bench/train_answers.py` on training question sets. There are
two pairs of them: `answer_model.json` reads the sentence encoder's features too, and
`answer_model_lexical.json` the word features only, for when there is no encoder (or for the
candidates of a big collection that have no vector yet):

- the **ranker**, a weight per feature of corpus/answering/features.py, fitted as listwise logistic
  ranking (a softmax over a question's candidates whose target is the right ones). Its score is
  a weighted sum, so every quote's score splits into each feature's share for `--explain`;
- the **confidence**, a logistic regression over the first candidate's features and how far it
  leads the others: the probability that the first quote answers the question, trained with
  unanswerable questions as negatives. Two thresholds chosen on dev sets cut it into three
  outcomes: an answer, "the closest passage" (not an answer), and nothing relevant.

Inference is a dot product in numpy; the file is read once per process.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..models import AnswerOutcome
from .features import ALL_FEATURES, ENCODER_FEATURES
from .question import AnalysedQuestion

__all__ = [
    "CONFIDENCE_EXTRAS",
    "AnswerModel",
    "answer_model",
    "confidence_inputs",
    "question_inputs",
]

MODEL_FILE = Path(__file__).with_name("answer_model.json")
LEXICAL_MODEL_FILE = Path(__file__).with_name("answer_model_lexical.json")

# What the confidence model reads besides the first candidate's features: how it stands among
# the candidates and whether it holds what the question asks for.
CONFIDENCE_EXTRAS = (
    "score",  # the ranker's score of the first candidate
    "margin",  # its lead over the second candidate's score
    "has_expected",  # holds the date or number asked for (or none is asked)
    "about_asked",  # matches something the question asks besides the names it gives
    # What kind of question it is: some kinds are answered more reliably than others.
    "asks_person",
    "asks_time",
    "asks_amount",
    "asks_place",
    "yes_no",
    "terms",  # how many content words it has (a tenth of them, at most 1)
)


def question_inputs(question: AnalysedQuestion) -> np.ndarray:
    """The question-level inputs of the confidence model, in CONFIDENCE_EXTRAS' order."""
    expects = question.expects
    return np.array(
        [
            expects == "person",
            expects == "time",
            expects in ("number", "money", "score"),
            expects == "place",
            question.yes_no,
            min(len(set(question.terms)) / 10, 1.0),
        ],
        dtype=float,
    )


def confidence_inputs(
    features: np.ndarray, ordered_scores: np.ndarray, flags: dict, first: int
) -> np.ndarray:
    """The confidence model's inputs for the candidate `first` (row index into `flags`'
    columns), given all candidates' scores best first."""
    lead = ordered_scores[0] - ordered_scores[1] if len(ordered_scores) > 1 else 1.0
    return np.concatenate(
        [
            features,
            [
                ordered_scores[0],
                min(lead, 1.0),
                float(flags["has_expected"][first]),
                float(flags["about_asked"][first]),
            ],
            flags["question"],
        ]
    )


@dataclass(frozen=True)
class AnswerModel:
    features: tuple[str, ...]  # the columns it reads, in ALL_FEATURES' order
    rank_weights: np.ndarray  # (len(features),)
    confidence_weights: np.ndarray  # (len(confidence_names),)
    confidence_bias: float
    answer_threshold: float  # confidence from which the first quote is an answer
    closest_threshold: float  # from which it is offered as the closest passage
    # The confidence as fitted maps to the share of such answers that were right on held-out
    # questions through this increasing curve (Platt scaling, as knots; empty: as fitted).
    calibration_x: tuple[float, ...] = ()
    calibration_y: tuple[float, ...] = ()

    @property
    def confidence_names(self) -> tuple[str, ...]:
        return (*self.features, *CONFIDENCE_EXTRAS)

    @property
    def uses_encoder(self) -> bool:
        return any(name in ENCODER_FEATURES for name in self.features)

    def columns(self, table_features: np.ndarray) -> np.ndarray:
        """This model's columns of a (C, len(ALL_FEATURES)) feature table."""
        return table_features[:, self._column_numbers]

    @functools.cached_property
    def _column_numbers(self) -> np.ndarray:
        return np.array([ALL_FEATURES.index(name) for name in self.features])

    def outcome(self, confidence: float) -> AnswerOutcome:
        if confidence >= self.answer_threshold:
            return "answer"
        return "closest" if confidence >= self.closest_threshold else "none"

    def scores(self, table_features: np.ndarray) -> np.ndarray:
        """Each candidate's score, from a (C, len(ALL_FEATURES)) table."""
        return self.columns(table_features) @ self.rank_weights

    def contributions(self, features: dict[str, float]) -> dict[str, float]:
        """Each feature's share of one candidate's score (they add up to it)."""
        return {
            name: float(w * features.get(name, 0.0))
            for name, w in zip(self.features, self.rank_weights, strict=True)
        }

    def confidence(self, inputs: np.ndarray) -> float:
        z = float(inputs @ self.confidence_weights) + self.confidence_bias
        fitted = 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
        return self.calibrated(fitted)

    def calibrated(self, fitted: float) -> float:
        if not self.calibration_x:
            return fitted
        return float(np.interp(fitted, self.calibration_x, self.calibration_y))

    @classmethod
    def from_json(cls, data: dict) -> AnswerModel:
        rank = data["rank_weights"]
        conf = data["confidence_weights"]
        features = tuple(rank)
        if [n for n in ALL_FEATURES if n in rank] != list(features) or list(conf) != [
            *features,
            *CONFIDENCE_EXTRAS,
        ]:
            raise ValueError("the answer model's features do not match its features module")
        calibration = data.get("calibration") or {"x": [], "y": []}
        return cls(
            features=features,
            rank_weights=np.array([rank[n] for n in features]),
            confidence_weights=np.array([conf[n] for n in conf]),
            confidence_bias=float(data["confidence_bias"]),
            answer_threshold=float(data["answer_threshold"]),
            closest_threshold=float(data["closest_threshold"]),
            calibration_x=tuple(float(x) for x in calibration["x"]),
            calibration_y=tuple(float(y) for y in calibration["y"]),
        )

    def to_json(self, **provenance: object) -> dict:
        names = self.confidence_names
        return {
            "rank_weights": dict(
                zip(self.features, self.rank_weights.round(6).tolist(), strict=True)
            ),
            "confidence_weights": dict(
                zip(names, self.confidence_weights.round(6).tolist(), strict=True)
            ),
            "confidence_bias": round(self.confidence_bias, 6),
            "answer_threshold": round(self.answer_threshold, 4),
            "closest_threshold": round(self.closest_threshold, 4),
            "calibration": {
                "x": [round(x, 5) for x in self.calibration_x],
                "y": [round(y, 5) for y in self.calibration_y],
            },
            **provenance,
        }


@functools.cache
def answer_model(encoder: bool = False) -> AnswerModel:
    """The shipped model that reads the encoder's features (`encoder`) or words only; each
    read once per process."""
    path = MODEL_FILE if encoder else LEXICAL_MODEL_FILE
    return AnswerModel.from_json(json.loads(path.read_text(encoding="utf-8")))
