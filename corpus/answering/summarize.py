"""Stage 7: extractive summaries, in article order, optionally about one topic.

Sentences are picked whole and never edited. Without a topic a sentence's worth is how central
it is to its document (cosine similarity of its TF-IDF vector to the document's) with a lead
bonus, since news reports put the gist first. With a topic, it is the answer score for the topic.
A sentence that opens by pointing back ("This", "He", "However") is only used together with the
sentence before it, so the summary never opens on a pronoun whose referent is missing.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadQuestionError, UnknownDocumentError
from ..indexing.index import CorpusIndex, positive_idf
from ..ingest.segment import is_dangling
from ..models import Quote, Summary, SummaryLength
from .answer import (
    DEFAULT_RULES,
    AnswerRules,
    ScoredSentence,
    covers_question,
    quote_for,
    rank_candidates,
)
from .question import DEFAULT_MAX_QUESTION_CHARS, AnalysedQuestion, analyse_question

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
        _without_repeated_lead_in(
            quote_for(index, by_position.get(p, ScoredSentence(p, 0.0, 0.0, ())), rules),
            p - 1 in chosen,
        )
        for p in sorted(chosen)
    )
    return Summary(length=length, topic=topic, doc_id=doc_id, found=True, quotes=quotes)


def _without_repeated_lead_in(quote: Quote, previous_is_quoted: bool) -> Quote:
    """A lead-in is the sentence before; when the summary quotes that one already, right
    above, showing it again would quote the same text twice."""
    if quote.lead_in is not None and previous_is_quoted:
        return quote.model_copy(update={"lead_in": None})
    return quote


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
    """Each whole sentence's TF-IDF cosine with its document's centroid, with the lead bonus,
    relative to the document's best. Linear in the document's length: its tokens are counted
    once, per sentence and term, in one sort."""
    lengths = np.diff(index.sentence_tokens.pointers()[positions.start : positions.stop + 1])
    material = np.array(
        [
            length >= 4 and _is_whole_sentence(index.sentences.text(p))
            for p, length in zip(positions, lengths.tolist(), strict=True)
        ],
        dtype=bool,
    )
    chosen = np.arange(positions.start, positions.stop)[material]
    if not len(chosen):
        return []
    ids, owner, _ = index.sentence_tokens.gather(chosen)
    vocabulary = max(len(index.sentence_df), 1)
    pairs, counts = np.unique(owner.astype(np.int64) * vocabulary + ids, return_counts=True)
    sentence, term = pairs // vocabulary, pairs % vocabulary
    # A sentence's TF-IDF vector, one entry per term.
    weight = counts * positive_idf(index.sentence_df[term], len(index.sentences))
    terms, column = np.unique(term, return_inverse=True)
    centroid = np.bincount(column, weights=weight, minlength=len(terms))
    dot = np.bincount(sentence, weights=weight * centroid[column], minlength=len(chosen))
    norms = np.sqrt(np.bincount(sentence, weights=weight**2, minlength=len(chosen)))
    norms *= np.sqrt((centroid**2).sum())
    cosine = np.divide(dot, norms, out=np.zeros(len(chosen)), where=norms > 0)
    scores = cosine * (1.0 + _LEAD_BONUS / (1 + np.arange(len(chosen))))
    # Scores relative to the document's best, so several documents compete on equal terms.
    scores /= scores.max() or 1.0
    return [
        ScoredSentence(p, score, 0.0, ())
        for p, score in zip(chosen.tolist(), scores.tolist(), strict=True)
    ]


def _is_whole_sentence(text: str) -> bool:
    """No credit lines or headings, which lack final punctuation."""
    return text.rstrip("\"'\u201d\u2019)]").endswith((".", "!", "?"))


def _pick(index: CorpusIndex, ranked: list[ScoredSentence], budget: int) -> set[int]:
    """The best sentences up to `budget`, each dangling one with the sentence before it, and
    no text twice (archives repeat paragraphs: a wire story, a standard closing line)."""
    chosen: set[int] = set()
    seen: set[str] = set()
    text = index.sentences.text
    for candidate in ranked:
        if len(chosen) >= budget:
            break
        position = candidate.position
        if position in chosen or _normalised(text(position)) in seen:
            continue
        previous = _previous_in_document(index, position)
        if previous is None or previous in chosen or not is_dangling(text(position)):
            picked: tuple[int, ...] = (position,)
        elif len(chosen) + 2 <= budget and not is_dangling(text(previous)):
            picked = (previous, position)
        else:
            continue
        chosen.update(picked)
        seen.update(_normalised(text(p)) for p in picked)
    return chosen


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


def _previous_in_document(index: CorpusIndex, position: int) -> int | None:
    return position - 1 if index.sentences.number(position) > 1 else None
