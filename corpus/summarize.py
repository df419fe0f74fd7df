"""Stage 7: extractive summaries, in article order, optionally about one topic.

Sentences are picked whole and never edited. Without a topic a sentence's worth is how central
it is to its document (cosine similarity of its TF-IDF vector to the document's) with a lead
bonus, since news reports put the gist first. With a topic, it is the answer score for the topic.
A sentence that opens by pointing back ("This", "He", "However") is only used together with the
sentence before it, so the summary never opens on a pronoun whose referent is missing.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

from .answer import (
    DEFAULT_RULES,
    AnswerRules,
    ScoredSentence,
    covers_question,
    quote_for,
    rank_candidates,
)
from .errors import BadQuestionError, UnknownDocumentError
from .index import CorpusIndex
from .models import Summary, SummaryLength
from .question import DEFAULT_MAX_QUESTION_CHARS, AnalysedQuestion, analyse_question
from .segment import is_dangling

__all__ = ["SENTENCES_BY_LENGTH", "summarize"]

SENTENCES_BY_LENGTH: dict[str, int] = {"short": 3, "medium": 5, "long": 8}
# Past this many articles a summary without a topic is declined: it would read every sentence
# of every article to pick a handful of unrelated ones.
MAX_DOCUMENTS_TO_SUMMARISE = 25

# Above this many sentences per document a topic summary stops looking for more.
_TOPIC_PASSAGES = 200
# A topic sentence must score within this much of the best one (scores are log-odds): a
# sentence that only shares a common word with the topic ("armed groups" for "Wagner Group")
# is left out.
_TOPIC_GAP = 2.0
_LEAD_BONUS = 0.5  # the first sentence counts up to 1.5 times; the bonus fades with position


def summarize(
    index: CorpusIndex,
    *,
    length: SummaryLength = "short",
    topic: str | None = None,
    doc_id: str | None = None,
    max_chars: int = DEFAULT_MAX_QUESTION_CHARS,
    rules: AnswerRules = DEFAULT_RULES,
) -> Summary:
    if doc_id is not None and doc_id not in index.spans:
        raise UnknownDocumentError(doc_id, list(index.spans))
    budget = SENTENCES_BY_LENGTH[length]
    if topic is not None:
        analysed = analyse_question(topic, max_chars)
        topic = analysed.text
        ranked = _topic_ranking(index, analysed, doc_id, rules)
        if not ranked:
            return Summary(
                length=length,
                topic=topic,
                doc_id=doc_id,
                found=False,
                reason=f"The articles say nothing specific about “{topic}”.",
            )
    elif doc_id is None and len(index.spans) > MAX_DOCUMENTS_TO_SUMMARISE:
        return Summary(
            length=length,
            doc_id=doc_id,
            found=False,
            reason=(
                f"There are {len(index.spans):,} articles; a summary of all of them would be a "
                "list of unrelated sentences. Name a topic, or one article."
            ),
        )
    else:
        ranked = _central_ranking(index, doc_id)
    chosen = _pick(index, ranked, budget)
    by_position = {s.position: s for s in ranked}
    quotes = tuple(
        quote_for(index, by_position.get(p, ScoredSentence(p, 0.0, 0.0, ())), rules)
        for p in sorted(chosen)
    )
    return Summary(length=length, topic=topic, doc_id=doc_id, found=True, quotes=quotes)


def _topic_ranking(
    index: CorpusIndex, analysed: AnalysedQuestion, doc_id: str | None, rules: AnswerRules
) -> list[ScoredSentence]:
    if not analysed.terms:
        raise BadQuestionError(
            f"The topic “{analysed.text}” has only common words; name a person, place or thing."
        )
    ranked = rank_candidates(
        index, analysed, doc_id=doc_id, rules=rules, passages=_TOPIC_PASSAGES
    ).sentences
    if not ranked:
        return []
    floor = ranked[0].score - _TOPIC_GAP
    return [s for s in ranked if covers_question(s.coverage, rules) and s.score >= floor]


def _central_ranking(index: CorpusIndex, doc_id: str | None) -> list[ScoredSentence]:
    spans = [index.spans[doc_id]] if doc_id else list(index.spans.values())
    ranked: list[ScoredSentence] = []
    for span in spans:
        ranked.extend(_central_in_document(index, span.sentences))
    ranked.sort(key=lambda s: (-s.score, s.position))
    return ranked


def _central_in_document(index: CorpusIndex, positions: range) -> list[ScoredSentence]:
    tokens = {p: index.sentence_tokens[p] for p in positions}
    vectors = {
        p: _tfidf(index, tokens[p])
        for p in positions
        if _is_summary_material(index.sentences.text(p), tokens[p])
    }
    centroid: Counter[str] = Counter()
    for vector in vectors.values():
        centroid.update(vector)
    scored = []
    for rank, (position, vector) in enumerate(vectors.items()):
        lead = 1.0 + _LEAD_BONUS / (1 + rank)
        scored.append(ScoredSentence(position, _cosine(vector, centroid) * lead, 0.0, ()))
    best = max((s.score for s in scored), default=0.0) or 1.0
    # Scores relative to the document's best, so several documents compete on equal terms.
    return [dataclasses.replace(s, score=s.score / best) for s in scored]


def _is_summary_material(text: str, tokens: list[str]) -> bool:
    """Whole sentences only: no credit lines or headings, which lack final punctuation."""
    return len(tokens) >= 4 and text.rstrip("\"'\u201d\u2019)]").endswith((".", "!", "?"))


def _pick(index: CorpusIndex, ranked: list[ScoredSentence], budget: int) -> set[int]:
    chosen: set[int] = set()
    for candidate in ranked:
        if len(chosen) >= budget:
            break
        position = candidate.position
        if position in chosen:
            continue
        previous = _previous_in_document(index, position)
        if (
            previous is None
            or previous in chosen
            or not is_dangling(index.sentences.text(position))
        ):
            chosen.add(position)
        elif len(chosen) + 2 <= budget and not is_dangling(index.sentences.text(previous)):
            chosen.update((previous, position))
    return chosen


def _previous_in_document(index: CorpusIndex, position: int) -> int | None:
    return position - 1 if index.sentences.number(position) > 1 else None


def _tfidf(index: CorpusIndex, tokens: list[str]) -> Counter[str]:
    counts = Counter(tokens)
    return Counter({t: c * index.sentence_idf(t) for t, c in counts.items()})


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(weight * b[t] for t, weight in a.items() if t in b)
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0
