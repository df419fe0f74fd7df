"""What the answer scorer knows about each candidate sentence, as named numbers.

Candidates are the sentences of the passages BM25 retrieves. Each gets the same small set of
features; `answer.py` combines them with the weights in `AnswerRules` and decides whether to
answer. Keeping the features separate lets the tuning script fit the weights on held-out
questions (bench/tune_answers.py) without touching the scoring code.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass

from .index import CorpusIndex, ScoredPassage, positive_idf
from .question import AnalysedQuestion, ExpectedAnswer

__all__ = ["FEATURES", "Candidate", "candidates", "has_expected_answer"]

FEATURES = (
    "match",
    "adjacency",
    "context",
    "position",
    "expected",
    "coverage",
    "overlap",
    "previous",
    "definition",
    "length",
    "focus",
)


@dataclass(frozen=True)
class Candidate:
    position: int  # in the index's sentence list
    features: dict[str, float]
    coverage: float  # share of the question's IDF weight this sentence contains, 0..1
    matched: tuple[str, ...]  # question stems found in the sentence
    contributions: dict[str, float]  # each matched stem's part of the "match" feature
    has_expected: bool  # holds the date or number the question asks for (or it asks none)


def candidates(
    index: CorpusIndex,
    question: AnalysedQuestion,
    *,
    doc_id: str | None,
    passages: int,
    k1: float,
    b: float,
    answer_type_weight: float,
) -> list[Candidate]:
    """Every sentence of the best `passages` passages, with its features, in document order."""
    terms = list(question.terms)
    hits = index.search(index.expand_query(terms), passages, doc_id)
    if not hits:
        return []
    weights = {t: index.sentence_idf(t) for t in set(terms)}
    total_weight = sum(weights.values())
    # The decline rule discounts the answer-type word; ranking keeps its full weight.
    coverage_weights = dict(weights)
    if question.answer_type in coverage_weights:
        coverage_weights[question.answer_type] *= answer_type_weight
    # A multi-word name weighs as much as its rarest word, shared among its words: "Burkina
    # Faso" is one subject, and must not outweigh the "population" the question asks about.
    for name in question.names:
        members = [t for t in set(name) if t in coverage_weights]
        if len(members) > 1:
            share = max(coverage_weights[t] for t in members) / len(members)
            for t in members:
                coverage_weights[t] = share
    coverage_total = sum(coverage_weights.values())
    strength = _passage_strength(hits)
    # Work on term ids, as the index stores sentences: each question term, and the ids that
    # spell out an acronym it stands for.
    ids = _TermIds(index, terms)
    asks_definition = bool(_DEFINITION.match(question.text))
    result = []
    rows = []
    for position in sorted({s for hit in hits for s in range(hit.first, hit.last + 1)}):
        sentence_ids = index.sentence_tokens.ids(position).tolist()
        counts = Counter(sentence_ids)
        matched = tuple(t for t in weights if ids.present(t, counts))
        rows.append((position, sentence_ids, counts, matched))
    focus_weights = _focus_weights(weights, [row[3] for row in rows])
    focus_total = sum(focus_weights.values()) or 1.0
    for position, sentence_ids, counts, matched in rows:
        context = max(strength.get(p, 0.0) for p in index.passages_of_sentence(position))
        if not matched:  # only its passage speaks for it; every other feature is zero
            result.append(_unmatched(position, context))
            continue
        norm = k1 * (1 - b + b * len(sentence_ids) / index.average_sentence_length)
        contributions = {}
        for t in matched:
            count = max(counts.get(ids.of(t), 0), 1)  # an acronym spelled out counts once
            contributions[t] = weights[t] * count * (k1 + 1) / (count + norm)
        text, number = index.sentences.text(position), index.sentences.number(position)
        coverage = sum(coverage_weights[t] for t in matched) / coverage_total
        # The priors below only lift sentences that match the question: each is scaled by the
        # sentence's coverage, so an early or long sentence that shares no word gains nothing.
        expected = question.expects is not None and has_expected_answer(
            text, question.expects, question.mentioned
        )
        definition = asks_definition and bool(_COPULA.search(text))
        features = {
            "match": sum(contributions.values()) / total_weight,
            "adjacency": ids.adjacent_weight(sentence_ids, weights) / total_weight,
            "context": context,
            "position": coverage / number,
            "expected": coverage * expected,
            "coverage": coverage,
            "definition": coverage * definition,
            "length": coverage * min(len(sentence_ids), 40) / 40,
            "overlap": len(matched) / len(weights),
            "focus": sum(focus_weights[t] for t in matched) / focus_total,
        }
        result.append(
            Candidate(
                position,
                features,
                coverage,
                matched,
                contributions,
                # Only dates and numbers are required of an answer: names are too easy to find
                # and may be in the question itself ("was it Mali or Russia?").
                has_expected=question.expects not in ("time", "number") or expected,
            )
        )
    # How well the sentence before matches: a match often introduces the answer ("X is a
    # company. It employs 6,000 people.").
    by_position = {c.position: c for c in result}
    for candidate in result:
        previous = by_position.get(candidate.position - 1)
        same_document = previous is not None and index.sentences.number(candidate.position) > 1
        candidate.features["previous"] = previous.features["match"] if same_document else 0.0
    return result


def _focus_weights(
    weights: dict[str, float], matched_by_candidate: list[tuple[str, ...]]
) -> dict[str, float]:
    """Each term's IDF weight times its rarity among the candidates themselves. The corpus
    IDF says a word is rare in the corpus; this says it tells the candidates apart: the
    subject of a document is in most of its sentences, the detail asked about in few."""
    in_candidates = Counter(t for matched in matched_by_candidate for t in matched)
    total = len(matched_by_candidate)
    return {t: w * positive_idf(in_candidates[t], total) for t, w in weights.items()}


def _unmatched(position: int, context: float) -> Candidate:
    features = dict.fromkeys(FEATURES, 0.0)
    features["context"] = context
    return Candidate(position, features, 0.0, (), {}, has_expected=False)


# "What is X?" is answered by a sentence that says what X is.
_DEFINITION = re.compile(r"^\W*(?:what|who)\s+(?:is|are|was|were)\b", re.IGNORECASE)
_COPULA = re.compile(r"\b(?:is|are|was|were)\s+(?:a|an|the|one)\b")

# Evidence that a sentence holds the kind of answer asked for.
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w’'-]+)")
_PLACE = re.compile(r"\b(?:in|at|from|near|to|of)\s+(?:the\s+)?([A-Z][\w’'-]+)")
_TIME = re.compile(
    r"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:January|February|March|April|May|June|July|August|"
    r"September|October|November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|"
    r"Sunday|today|yesterday|tomorrow|century|decade)\b",
)
_DATE = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December)(?:\s+\d{1,2}(?:st|nd|rd|th)?)?(?:,?\s+\d{4})?\b|\b\d{1,2}\s+(?:January|"
    r"February|March|April|May|June|July|August|September|October|November|December)\b"
    r"|\b(?:1[5-9]\d\d|20\d\d)s?\b(?:\s*[-–]\s*\d{2,4}\b)?"
)
_NUMBER = re.compile(
    r"\d+(?:[,.]\d+)*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|trillion|dozen|half|percent)\b",
    re.IGNORECASE,
)


def has_expected_answer(
    text: str, expects: ExpectedAnswer | None, mentioned: frozenset[str]
) -> bool:
    """Whether the sentence offers the kind of thing the question asks for, beyond what the
    question already names ("who leads Mali?" wants a name other than Mali)."""
    if expects == "time":
        return bool(_TIME.search(text))
    if expects == "number":
        # A count or amount, not a date: "168 lives" answers "how many were killed", while
        # "April 19, 1995" does not; nor does a number the question already gives.
        return any(
            m.group(0).casefold() not in mentioned for m in _NUMBER.finditer(_DATE.sub(" ", text))
        )
    if expects not in ("person", "place"):
        return False
    # A name the question does not already give: "who leads Mali?" wants a name besides Mali.
    # Places are names too ("the US, France and Italy"), or follow in/at/from.
    names = _CAPITALISED.findall(text)
    if expects == "place":
        names += _PLACE.findall(text)
    return any(name.casefold() not in mentioned for name in names)


class _TermIds:
    """The question's terms as the index's term ids."""

    def __init__(self, index: CorpusIndex, terms: list[str]) -> None:
        vocabulary = index.sentence_tokens.vocabulary
        self._id = {t: vocabulary.get(t, -1) for t in terms}
        # An acronym also matches a sentence holding every word of its long form.
        self._long_forms = {
            t: [vocabulary.get(a, -1) for a in index.aliases[t]]
            for t in terms
            if t in index.aliases
        }
        # Consecutive question terms, by id, for the adjacency feature.
        self._pairs = {
            (self._id[a], self._id[b]): (a, b)
            for a, b in itertools.pairwise(terms)
            if a != b and self._id[a] >= 0 and self._id[b] >= 0
        }

    def of(self, term: str) -> int:
        return self._id[term]

    def present(self, term: str, counts: Counter[int]) -> bool:
        if self._id[term] in counts:
            return True
        long_form = self._long_forms.get(term)
        return bool(long_form) and all(t in counts for t in long_form)

    def adjacent_weight(self, sentence_ids: list[int], weights: dict[str, float]) -> float:
        """IDF weight of the question's consecutive term pairs that are consecutive here too."""
        if not self._pairs:
            return 0.0
        found = self._pairs.keys() & set(itertools.pairwise(sentence_ids))
        return sum(min(weights[self._pairs[p][0]], weights[self._pairs[p][1]]) for p in found)


def _passage_strength(hits: list[ScoredPassage]) -> dict[int, float]:
    """Each retrieved passage's strength relative to the best one, in 0..1."""
    best = max(max(h.bm25, 0.0) for h in hits) or 1.0
    return {h.position: max(h.bm25, 0.0) / best for h in hits}
