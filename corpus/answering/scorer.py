"""The learned answer model: how candidates are ranked, and how sure we are the first answers.

Two small models, both fitted by `bench/train_answers.py` on training question sets and stored
in `answer_model.json` beside this file:

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
from .features import FEATURES
from .question import AnalysedQuestion

__all__ = [
    "CONFIDENCE_INPUTS",
    "AnswerModel",
    "answer_model",
    "confidence_inputs",
    "question_inputs",
]

MODEL_FILE = Path(__file__).with_name("answer_model.json")

# What the confidence model reads: the first candidate's features, then how it stands among
# the candidates and whether it holds what the question asks for.
CONFIDENCE_INPUTS = (
    *FEATURES,
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
    """The question-level inputs of the confidence model, in CONFIDENCE_INPUTS' order."""
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
    rank_weights: np.ndarray  # (len(FEATURES),)
    confidence_weights: np.ndarray  # (len(CONFIDENCE_INPUTS),)
    confidence_bias: float
    answer_threshold: float  # confidence from which the first quote is an answer
    closest_threshold: float  # from which it is offered as the closest passage

    def outcome(self, confidence: float) -> AnswerOutcome:
        if confidence >= self.answer_threshold:
            return "answer"
        return "closest" if confidence >= self.closest_threshold else "none"

    def scores(self, features: np.ndarray) -> np.ndarray:
        return features @ self.rank_weights

    def contributions(self, features: np.ndarray) -> dict[str, float]:
        """Each feature's share of one candidate's score (they add up to it)."""
        return {
            name: float(w * x)
            for name, w, x in zip(FEATURES, self.rank_weights, features, strict=True)
        }

    def confidence(self, inputs: np.ndarray) -> float:
        z = float(inputs @ self.confidence_weights) + self.confidence_bias
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    @classmethod
    def from_json(cls, data: dict) -> AnswerModel:
        rank = data["rank_weights"]
        conf = data["confidence_weights"]
        if list(rank) != list(FEATURES) or list(conf) != list(CONFIDENCE_INPUTS):
            raise ValueError("the answer model's features do not match its features module")
        return cls(
            rank_weights=np.array([rank[n] for n in FEATURES]),
            confidence_weights=np.array([conf[n] for n in CONFIDENCE_INPUTS]),
            confidence_bias=float(data["confidence_bias"]),
            answer_threshold=float(data["answer_threshold"]),
            closest_threshold=float(data["closest_threshold"]),
        )

    def to_json(self, **provenance: object) -> dict:
        return {
            "rank_weights": dict(zip(FEATURES, self.rank_weights.round(6).tolist(), strict=True)),
            "confidence_weights": dict(
                zip(CONFIDENCE_INPUTS, self.confidence_weights.round(6).tolist(), strict=True)
            ),
            "confidence_bias": round(self.confidence_bias, 6),
            "answer_threshold": round(self.answer_threshold, 4),
            "closest_threshold": round(self.closest_threshold, 4),
            **provenance,
        }


@functools.cache
def answer_model() -> AnswerModel:
    """The shipped model, read once per process."""
    return AnswerModel.from_json(json.loads(MODEL_FILE.read_text(encoding="utf-8")))
