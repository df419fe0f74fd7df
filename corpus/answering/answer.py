"""Stage 6: answer a question with verbatim sentences, or decline.

Passages are retrieved with BM25; the sentences inside them get the features of
corpus/answering/features.py and are ranked by the learned model of corpus/answering/scorer.py;
the best come back as quotes, best first. Whether the articles answer is the model's confidence
that the first quote answers: above one threshold it is an answer, above a lower one the closest
passage (shown as not an answer), below both nothing relevant.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UnknownDocumentError
from ..indexing.index import CorpusIndex
from ..ingest.segment import is_dangling
from ..meaning.encoder import EncoderFailed
from ..meaning.limits import QUESTION_TIME_CHARACTERS
from ..models import Answer, Citation, Explanation, LeadIn, Quote, Sentence
from ..tokenize import term_spans
from .features import (
    CandidateTable,
    ScoredSentence,
    add_encoder_columns,
    candidate_table,
    closest_articles,
    is_headline,
)
from .question import DEFAULT_MAX_QUESTION_CHARS, AnalysedQuestion, analyse_question
from .scorer import AnswerModel, answer_model, confidence_inputs, question_inputs

if TYPE_CHECKING:
    from ..meaning.sentences import Meaning

_log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_RULES",
    "AnswerRules",
    "RankedCandidates",
    "ScoredSentence",
    "answer_question",
    "covers_question",
    "quote_for",
    "rank_candidates",
]

NO_CONTENT_WORDS = (
    "Your question has only common words ({words}), so there is nothing specific to look up. "
    "Name who or what you are asking about."
)
NO_WORDS = "Your question has no words to look up. Ask about who or what you want to know."
NOT_IN_ARTICLES = "The articles do not seem to answer that."
MAY_NOT_ANSWER = "The articles may not answer this directly; the closest passage is:"
GIST_RULE = (
    "a broad question: the lead of the article that holds all of its subject, or that "
    "article's first sentences naming it"
)
_WORDS = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@dataclass(frozen=True)
class AnswerRules:
    """The answer rules' constants, in one place, each with the reason for its value. The
    ranking weights and the answer confidence are learned (corpus/answering/scorer.py)."""

    # Passages retrieved before sentences are scored: enough that the right sentence is among
    # them when BM25 ranks its passage a little low, few enough to stay fast on big corpora.
    passages: int = 12
    # Sentence-level BM25. Sentences vary less in length than documents, and a long sentence
    # that holds the answer is no worse for it, so length is normalised only lightly.
    k1: float = 1.2
    b: float = 0.3
    # Share of the question's IDF weight a sentence must contain to be about a summary's topic.
    min_coverage: float = 0.45
    # The word naming the kind of answer ("which *countries* have troops") is rarely in the
    # answer ("the US, France ... maintain troops"), so it counts for this share of its weight
    # in the coverage features.
    answer_type_weight: float = 0.3
    # The closest passage is offered only from an article that holds at least this share of
    # the question's weight (or is among the closest to it in meaning): over an archive, a
    # sentence sharing one word with the question in a story about something else is not
    # worth showing ("The crew raised the alarm" for "What raise are the nurses holding out
    # for?").
    min_article_share: float = 0.5
    # A further quote is shown as an answer too only when its score is within this much of the
    # best one's (the scores are log-odds: 1.0 is e times less likely to be the answer).
    supporting_gap: float = 1.0


DEFAULT_RULES = AnswerRules()


@dataclass(frozen=True)
class RankedCandidates:
    """The best candidates, best first, and the answer model's confidence in the first."""

    sentences: list[ScoredSentence]
    confidence: float
    model: AnswerModel | None = None  # the one that ranked them (None: no candidates)


def answer_question(
    index: CorpusIndex,
    question: str,
    *,
    top: int = 3,
    doc_id: str | None = None,
    max_chars: int = DEFAULT_MAX_QUESTION_CHARS,
    rules: AnswerRules = DEFAULT_RULES,
    explain: bool = False,
    meaning: Meaning | None = None,
    avoid: frozenset[int] = frozenset(),
) -> Answer:
    """Quotes for `question`, best first, how sure the model is that the first answers it, and
    the outcome that follows: an answer, the closest passage, or nothing relevant. Sentences
    at the positions in `avoid` are never quoted (a follow-up's earlier answer).

    With `meaning` (the sentence encoder's vectors for this index), candidates are ranked with
    the encoder's features too. With `explain`, each quote carries each term's and feature's
    part of its score.
    """
    analysed = analyse_question(question, max_chars)
    if doc_id is not None and doc_id not in index.spans:
        raise UnknownDocumentError(doc_id, list(index.spans))
    if analysed.broad:
        gist = _gist(index, analysed, doc_id, top=max(top, 1))
        if gist is not None:
            return Answer(
                question=analysed.text,
                found=True,
                outcome="answer",
                confidence=1.0,
                basis="lead" if _opens_its_article(index, gist) else "naming",
                quotes=tuple(
                    quote_for(index, s, rules, answers=True, explain=explain) for s in gist
                ),
            )
    if not analysed.terms:
        shown = ", ".join(f"“{w}”" for w in _WORDS.findall(analysed.text)[:6])
        reason = NO_CONTENT_WORDS.format(words=shown) if shown else NO_WORDS
        return Answer(question=analysed.text, found=False, reason=reason)
    with _encoder_turn(meaning) as usable:
        ranked, model, outcome = _ranked_outcome(index, analysed, doc_id, rules, top, usable, avoid)
    found = outcome == "answer"
    best = ranked.sentences[0].score if ranked.sentences else 0.0
    quotes = tuple(
        quote_for(
            index,
            s,
            rules,
            answers=found and (i == 0 or s.score >= best - rules.supporting_gap),
            explain=explain,
            model=model,
        )
        for i, s in enumerate(ranked.sentences[: max(top, 0)])
    )
    return Answer(
        question=analysed.text,
        found=found,
        outcome=outcome,
        confidence=round(ranked.confidence, 4),
        reason={"answer": None, "closest": MAY_NOT_ANSWER, "none": NOT_IN_ARTICLES}[outcome],
        quotes=quotes,
    )


@contextlib.contextmanager
def _encoder_turn(meaning: Meaning | None) -> Iterator[Meaning | None]:
    """`meaning` for as long as this question uses the encoder, or None when it goes without:
    in a burst of questions, those that would wait long for it are answered by their words."""
    if meaning is None:
        yield None
        return
    with meaning.question_turn() as admitted:
        yield meaning if admitted else None


def _ranked_outcome(
    index: CorpusIndex,
    analysed: AnalysedQuestion,
    doc_id: str | None,
    rules: AnswerRules,
    top: int,
    meaning: Meaning | None,
    avoid: frozenset[int] = frozenset(),
) -> tuple[RankedCandidates, AnswerModel, str]:
    """The candidates ranked, the model that ranked them, and the outcome it decides."""
    ranked = rank_candidates(
        index,
        analysed,
        doc_id=doc_id,
        rules=rules,
        limit=max(top, 1),
        meaning=meaning,
        avoid=avoid,
    )
    model = ranked.model or answer_model()
    if not model.uses_encoder:
        meaning = None  # none was given, or the encoder failed: words alone
    outcome = model.outcome(ranked.confidence) if ranked.sentences else "none"
    if outcome == "closest" and not _plausibly_relevant(
        index, ranked.sentences[0], analysed, rules, meaning
    ):
        outcome = "none"  # a sentence of a story about something else is no "closest passage"
    return ranked, model, outcome


def _plausibly_relevant(
    index: CorpusIndex,
    first: ScoredSentence,
    question: AnalysedQuestion,
    rules: AnswerRules,
    meaning: Meaning | None,
) -> bool:
    """Whether the best sentence's article is about what the question asks: it holds most of
    the question's words, or (in other words: "minerals" for "uranium and oil") it is among
    the articles closest to the question in meaning."""
    if first.features.get("article", 1.0) >= rules.min_article_share:
        return True
    if meaning is None:
        return False
    return index.sentences[first.position].doc_id in closest_articles(meaning, question)


def _gist(
    index: CorpusIndex, question: AnalysedQuestion, doc_id: str | None, *, top: int
) -> list[ScoredSentence] | None:
    """A broad question ("What happened in Niger?", "What is this article about?") answered
    by the article's lead: its first sentences below the headline that name the subject, from
    the article that holds all of the subject and matches it best. None when no article holds
    it (or, with no subject, when there is more than one article to choose from), so that the
    question is answered like any other."""
    subject = question.subject
    if len(subject) > _GIST_SUBJECT_WORDS:
        return None  # "What happened to pro-Russia sentiment since the coup?" asks a fact
    if not subject:
        if doc_id is None and len(index.spans) != 1:
            return None
        span = index.spans[doc_id] if doc_id else next(iter(index.spans.values()))
        return [_scored(index, p, ()) for p in _lead_positions(index, span.sentences)[:top]]
    hits = index.search(index.expand_query(list(subject)), 12, doc_id)
    docs = index.sentences.column("doc")
    wanted = set(subject)
    for hit in hits:  # best passage first: its article is the best match that holds it all
        span = index.spans[index.texts.ids[int(docs[hit.first])]].sentences
        lead = _lead_positions(index, span)
        # The first `top` that name it: a long article is not read to its end.
        naming = list(
            itertools.islice((p for p in lead if wanted <= set(index.sentence_tokens[p])), top)
        )
        # An article whose opening (headline included) names the subject is about it: its
        # lead sentence is the gist even when it does not repeat the name.
        opening = {t for p in span[:3] for t in index.sentence_tokens[p]}
        if wanted <= opening and (not naming or naming[0] != lead[0]):
            naming = [lead[0], *naming]
        if naming:
            return [_scored(index, p, subject) for p in naming[:top]]
    return None


# A broad question names its subject in a word or two ("Niger", "the rail strike").
_GIST_SUBJECT_WORDS = 2


def _opens_its_article(index: CorpusIndex, chosen: list[ScoredSentence]) -> bool:
    """Whether these sentences are their article's first ones, below its headline, in order."""
    doc_id = index.sentences[chosen[0].position].doc_id
    lead = _lead_positions(index, index.spans[doc_id].sentences)
    return [s.position for s in chosen] == list(lead[: len(chosen)])


def _lead_positions(index: CorpusIndex, sentences: range) -> range:
    """The article's sentences in order, without its headline."""
    if len(sentences) > 1 and is_headline(index, sentences.start):
        return sentences[1:]
    return sentences


def _scored(index: CorpusIndex, position: int, subject: tuple[str, ...]) -> ScoredSentence:
    """A sentence chosen by the broad-question rule, with the subject's words it holds (for
    highlighting)."""
    held = set(index.sentence_tokens[position])
    return ScoredSentence(position, 0.0, 1.0, tuple(t for t in subject if t in held))


def covers_question(coverage: float, rules: AnswerRules = DEFAULT_RULES) -> bool:
    """Whether a sentence holds most of what a topic or question is about (its IDF weight)."""
    return coverage >= rules.min_coverage


def rank_candidates(
    index: CorpusIndex,
    question: AnalysedQuestion,
    *,
    doc_id: str | None = None,
    rules: AnswerRules = DEFAULT_RULES,
    passages: int | None = None,
    limit: int | None = None,
    meaning: Meaning | None = None,
    avoid: frozenset[int] = frozenset(),
) -> RankedCandidates:
    """The candidate sentences, best first (ties in document order), the best `limit` of them
    if given, with the confidence that the first answers.

    With `meaning`, the candidates that have sentence vectors are ranked by the model that
    reads the encoder's features, ahead of the rest (ranked on words alone). Those without a
    vector yet, in a collection still being encoded or too big to encode ahead, are encoded
    now, the best QUESTION_TIME_LIMIT of them by their words. If the encoder fails, they are
    ranked on words alone, with a warning."""
    if meaning is not None:
        try:
            return _ranked(index, question, doc_id, rules, passages, limit, meaning, avoid)
        except EncoderFailed as error:
            _log.warning("The sentence encoder failed (%s); this answer matches words only.", error)
    return _ranked(index, question, doc_id, rules, passages, limit, None, avoid)


def _ranked(
    index: CorpusIndex,
    question: AnalysedQuestion,
    doc_id: str | None,
    rules: AnswerRules,
    passages: int | None,
    limit: int | None,
    meaning: Meaning | None,
    avoid: frozenset[int] = frozenset(),
) -> RankedCandidates:
    table = candidate_table(
        index,
        question,
        doc_id=doc_id,
        passages=passages or rules.passages,
        k1=rules.k1,
        b=rules.b,
        answer_type_weight=rules.answer_type_weight,
        meaning=meaning,
    )
    if table is None:
        return RankedCandidates([], 0.0)
    model = answer_model()
    scores = model.scores(table.features)
    order = np.lexsort((table.positions, -scores))
    if meaning is not None:
        model, scores, order = _rerank_with_encoder(index, meaning, question, table, scores, order)
    if avoid:
        order = order[~np.isin(table.positions[order], list(avoid))]
        if not len(order):
            return RankedCandidates([], 0.0)
    first = int(order[0])
    flags = {
        "has_expected": table.has_expected,
        "about_asked": table.about_asked,
        "question": question_inputs(question),
    }
    confidence = model.confidence(
        confidence_inputs(
            model.columns(table.features[first : first + 1])[0], scores[order], flags, first
        )
    )
    ranked = [table.row(i, float(scores[i])) for i in order[:limit].tolist()]
    return RankedCandidates(ranked, confidence, model)


def _rerank_with_encoder(
    index: CorpusIndex,
    meaning: Meaning,
    question: AnalysedQuestion,
    table: CandidateTable,
    lexical_scores: np.ndarray,
    lexical_order: np.ndarray,
) -> tuple[AnswerModel, np.ndarray, np.ndarray]:
    """The encoder model, its scores and the order it gives: candidates with vectors first."""
    best = table.positions[lexical_order[: meaning.question_time_limit]]
    meaning.encode_sentences(best, characters=QUESTION_TIME_CHARACTERS)
    known = add_encoder_columns(table, index, meaning, question)
    if not known.any():
        return answer_model(), lexical_scores, lexical_order
    model = answer_model(encoder=True)
    scores = np.where(known, model.scores(table.features), lexical_scores)
    order = np.lexsort((table.positions, -lexical_scores, -np.where(known, scores, 0.0), ~known))
    return model, scores, order


def quote_for(
    index: CorpusIndex,
    scored: ScoredSentence,
    rules: AnswerRules = DEFAULT_RULES,
    *,
    answers: bool | None = None,
    explain: bool = False,
    model: AnswerModel | None = None,
) -> Quote:
    """`answers` overrides the coverage rule, for callers that judge in context; `model` is
    the one that ranked the sentence (for `explain`)."""
    sentence = index.sentences[scored.position]
    index.verify_document(sentence.doc_id)  # never a quote from a damaged stored text
    highlighted = set(scored.matched)
    for term in scored.matched:
        highlighted.update(index.aliases.get(term, ()))  # "ECOWAS" matched by its long form
    stand_ins = _stand_ins(index.sentence_tokens[scored.position], scored)
    for words in stand_ins.values():
        highlighted.update(words)
    return Quote(
        text=sentence.text,
        citation=_citation(index, sentence),
        score=round(scored.score, 6),
        coverage=round(scored.coverage, 4),
        answers_question=covers_question(scored.coverage, rules) if answers is None else answers,
        matched_terms=scored.matched,
        highlights=tuple(term_spans(sentence.text, highlighted)),
        lead_in=_lead_in(index, scored.position, sentence),
        explanation=_explanation(scored, model or answer_model(), stand_ins) if explain else None,
    )


def _stand_ins(tokens: list[str], scored: ScoredSentence) -> dict[str, tuple[str, ...]]:
    """Which of the related words the sentence (its indexed `tokens`) holds, by the question
    stem they stand in for."""
    if not scored.stand_ins:
        return {}
    held = set(tokens)
    return {
        term: tuple(sorted(words & held))
        for term, words in scored.stand_ins.items()
        if words & held
    }


def _explanation(
    scored: ScoredSentence, model: AnswerModel, stand_ins: dict[str, tuple[str, ...]]
) -> Explanation:
    """Each matched term's part of the match feature, the words standing in for unmatched
    ones, and each feature's weighted part of the score (they add up to it)."""
    if not scored.features:  # chosen by the broad-question rule
        return Explanation(terms={}, features={}, rule=GIST_RULE)
    weighted = model.contributions(scored.features)
    return Explanation(
        terms={t: round(v, 4) for t, v in scored.contributions.items()},
        features={name: round(v, 4) for name, v in weighted.items() if v},
        stand_ins=stand_ins,
    )


def _citation(index: CorpusIndex, sentence: Sentence) -> Citation:
    document = index.spans[sentence.doc_id].document
    return Citation(
        doc_id=document.id,
        title=document.title,
        paragraph=sentence.paragraph,
        sentence=sentence.number_in_paragraph,
        sentence_in_document=sentence.number,
        start=sentence.start,
        end=sentence.end,
        url=document.url,
        source=document.source,
        date=document.date,
    )


def _lead_in(index: CorpusIndex, position: int, sentence: Sentence) -> LeadIn | None:
    """The sentence before, when this one opens by pointing back at it. It may end the
    previous paragraph: "This raises questions ..." opens a paragraph about the one before."""
    if sentence.number == 1 or not is_dangling(sentence.text):
        return None
    before = index.sentences[position - 1]
    return LeadIn(text=before.text, citation=_citation(index, before))
