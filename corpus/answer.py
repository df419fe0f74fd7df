"""Stage 6: answer a question with verbatim sentences, or decline.

Passages are retrieved with BM25; the sentences inside them are scored against the question;
the best come back as quotes, best first. Whether the articles answer at all is decided by
`covers_question`, a rule on how much of the question the best sentence contains, weighted by
how rare each term is. A question about something the corpus never mentions leaves its rarest
terms unmatched, so it is declined however high its BM25 score on the common words.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass

from .errors import UnknownDocumentError
from .index import CorpusIndex, ScoredPassage
from .models import Answer, Citation, Quote
from .question import DEFAULT_MAX_QUESTION_CHARS, clean_question
from .tokenize import content_words, stem

__all__ = [
    "DEFAULT_RULES",
    "AnswerRules",
    "ScoredSentence",
    "answer_question",
    "covers_question",
    "quote_for",
    "score_sentences",
]

NO_CONTENT_WORDS = (
    "Your question has only common words ({words}), so there is nothing specific to look up. "
    "Name who or what you are asking about."
)
NOT_IN_ARTICLES = "The articles do not seem to answer that."
_WORDS = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@dataclass(frozen=True)
class AnswerRules:
    """The answer rules' constants, in one place, each with the reason for its value."""

    # Passages retrieved before sentences are scored: enough that the right sentence is among
    # them when BM25 ranks its passage a little low, few enough to stay fast on big corpora.
    passages: int = 12
    # Sentence-level BM25. Sentences vary less in length than documents, and a long sentence
    # that holds the answer is no worse for it, so length is normalised only lightly.
    k1: float = 1.2
    b: float = 0.3
    # Weight of the passage around a sentence, relative to the sentence's own match.
    passage_weight: float = 0.15
    # Weight of question word pairs that stand next to each other in the sentence too
    # ("Mali's military leader" beats "military leaders in Mali").
    adjacency_weight: float = 1.0
    # Share of the question's IDF weight the best sentence must contain to count as an answer.
    # A little under half: questions carry framing words that answers rarely repeat.
    min_coverage: float = 0.45
    # The word naming the kind of answer ("which *countries* have troops") is rarely in the
    # answer ("the US, France ... maintain troops"), so it counts for this share of its weight.
    answer_type_weight: float = 0.3
    # A small preference for sentences early in their document, where news and reference text
    # put the facts that define the subject.
    position_weight: float = 0.1
    # A further quote is shown as an answer too only when it scores at least this share of the
    # best one, so a clear answer is not diluted by sentences that merely share its words.
    supporting_ratio: float = 0.75


DEFAULT_RULES = AnswerRules()


@dataclass(frozen=True)
class ScoredSentence:
    position: int
    score: float
    coverage: float
    matched: tuple[str, ...]


def answer_question(
    index: CorpusIndex,
    question: str,
    *,
    top: int = 3,
    doc_id: str | None = None,
    max_chars: int = DEFAULT_MAX_QUESTION_CHARS,
    rules: AnswerRules = DEFAULT_RULES,
) -> Answer:
    cleaned = clean_question(question, max_chars)
    if doc_id is not None and doc_id not in index.spans:
        raise UnknownDocumentError(doc_id, list(index.spans))
    words = content_words(cleaned)
    if not words:
        shown = ", ".join(f"“{w}”" for w in _WORDS.findall(cleaned)[:6]) or "none"
        return Answer(question=cleaned, found=False, reason=NO_CONTENT_WORDS.format(words=shown))
    terms = [stem(w) for w in words]
    ranked = score_sentences(
        index, terms, doc_id=doc_id, rules=rules, answer_type=answer_type_word(cleaned)
    )
    best_score = ranked[0].score if ranked else 0.0
    quotes = tuple(
        quote_for(index, s, rules, answers=_answers(s, best_score, rules))
        for s in ranked[: max(top, 0)]
    )
    found = bool(quotes) and quotes[0].answers_question
    return Answer(
        question=cleaned,
        found=found,
        reason=None if found else NOT_IN_ARTICLES,
        quotes=quotes,
    )


_ANSWER_TYPE = re.compile(r"^\W*(?:which|what)\s+([^\W\d_]+)\b", re.IGNORECASE)


def answer_type_word(question: str) -> str | None:
    """The stem of the word right after a leading "which"/"what", if it is a content word.

    "Which countries have troops?" → "countri"; "What is the weather?" → None ("is" is a
    stopword, and "weather" is the subject, which an answer must mention).
    """
    match = _ANSWER_TYPE.match(question)
    if not match:
        return None
    words = content_words(match.group(1))
    return stem(words[0]) if words else None


def _answers(scored: ScoredSentence, best_score: float, rules: AnswerRules) -> bool:
    close_to_best = scored.score >= rules.supporting_ratio * best_score
    return close_to_best and covers_question(scored.coverage, rules)


def covers_question(coverage: float, rules: AnswerRules = DEFAULT_RULES) -> bool:
    """The decline rule: the best sentence must hold most of what the question is about."""
    return coverage >= rules.min_coverage


def score_sentences(
    index: CorpusIndex,
    terms: list[str],
    *,
    doc_id: str | None = None,
    rules: AnswerRules = DEFAULT_RULES,
    answer_type: str | None = None,
) -> list[ScoredSentence]:
    """Sentences of the retrieved passages, best first (ties in document order).

    `answer_type` is the stem of a word naming the kind of answer wanted ("which *countries*"):
    answers rarely repeat it, so it weighs less in a sentence's coverage.
    """
    hits = index.search(terms, rules.passages, doc_id)
    if not hits:
        return []
    weights = {t: index.sentence_idf(t) for t in set(terms)}
    # Only the decline rule discounts the answer-type word; ranking keeps its full weight.
    coverage_weights = dict(weights)
    if answer_type in coverage_weights:
        coverage_weights[answer_type] *= rules.answer_type_weight
    coverage_total = sum(coverage_weights.values())
    total_weight = sum(weights.values())
    passage_strength = _passage_strength(hits)
    average_length = index.average_sentence_length
    scored = []
    for position in sorted({s for hit in hits for s in _sentences_of(hit)}):
        tokens = index.sentence_tokens[position]
        counts = Counter(tokens)
        matched = tuple(t for t in weights if t in counts)
        length_norm = rules.k1 * (1 - rules.b + rules.b * len(tokens) / average_length)
        match_score = sum(
            weights[t] * counts[t] * (rules.k1 + 1) / (counts[t] + length_norm) for t in matched
        )
        context = max(passage_strength.get(p, 0.0) for p in index.sentence_passages[position])
        coverage = sum(coverage_weights[t] for t in matched) / coverage_total
        adjacency = _adjacent_pairs_weight(terms, tokens, weights)
        score = (
            rules.position_weight / index.sentences[position].number
            + match_score / total_weight
            + rules.adjacency_weight * adjacency / total_weight
            + rules.passage_weight * context
        )
        scored.append(ScoredSentence(position, score, coverage, matched))
    scored.sort(key=lambda s: (-s.score, s.position))
    return scored


def quote_for(
    index: CorpusIndex,
    scored: ScoredSentence,
    rules: AnswerRules = DEFAULT_RULES,
    *,
    answers: bool | None = None,
) -> Quote:
    """`answers` overrides the coverage rule, for callers that judge in context."""
    sentence = index.sentences[scored.position]
    document = index.spans[sentence.doc_id].document
    return Quote(
        text=sentence.text,
        citation=Citation(
            doc_id=document.id,
            title=document.title,
            paragraph=sentence.paragraph,
            sentence=sentence.number_in_paragraph,
            sentence_in_document=sentence.number,
            start=sentence.start,
            end=sentence.end,
        ),
        score=round(scored.score, 6),
        coverage=round(scored.coverage, 4),
        answers_question=covers_question(scored.coverage, rules) if answers is None else answers,
        matched_terms=scored.matched,
    )


def _adjacent_pairs_weight(terms: list[str], tokens: list[str], weights: dict[str, float]) -> float:
    """IDF weight of the question's consecutive term pairs that are also consecutive here."""
    question_pairs = {(a, b) for a, b in itertools.pairwise(terms) if a != b}
    if not question_pairs:
        return 0.0
    sentence_pairs = set(itertools.pairwise(tokens))
    return sum(min(weights[a], weights[b]) for a, b in question_pairs & sentence_pairs)


def _sentences_of(hit: ScoredPassage) -> range:
    return range(hit.passage.first, hit.passage.last + 1)


def _passage_strength(hits: list[ScoredPassage]) -> dict[int, float]:
    """Each retrieved passage's strength relative to the best one, in 0..1."""
    best = max(max(h.bm25, 0.0) for h in hits) or 1.0
    return {h.position: max(h.bm25, 0.0) / best for h in hits}
