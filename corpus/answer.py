"""Stage 6: answer a question with verbatim sentences, or decline.

Passages are retrieved with BM25; the sentences inside them are scored against the question;
the best come back as quotes, best first. Whether the articles answer at all is decided by
`covers_question`, a rule on how much of the question the best sentence contains, weighted by
how rare each term is. A question about something the corpus never mentions leaves its rarest
terms unmatched, so it is declined however high its BM25 score on the common words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .errors import UnknownDocumentError
from .features import FEATURES, candidate_table
from .index import CorpusIndex
from .models import Answer, Citation, Explanation, LeadIn, Quote, Sentence
from .question import DEFAULT_MAX_QUESTION_CHARS, AnalysedQuestion, analyse_question
from .segment import is_dangling
from .tokenize import term_spans

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
    """The answer rules' constants, in one place, each with the reason for its value.

    The feature weights were fitted by coordinate ascent on WikiQA dev questions and checked
    by repeated five-fold cross-validation (bench/tune_answers.py prints both); the decline
    threshold on our own answerable and unanswerable questions about the article (tests/data/).
    Features that cross-validation gave no weight were removed: the strength of the passage
    around a sentence, how well the sentence before matches, the unweighted share of question
    words, and a rarity among the candidates themselves.
    """

    # Passages retrieved before sentences are scored: enough that the right sentence is among
    # them when BM25 ranks its passage a little low, few enough to stay fast on big corpora.
    passages: int = 12
    # Sentence-level BM25. Sentences vary less in length than documents, and a long sentence
    # that holds the answer is no worse for it, so length is normalised only lightly.
    k1: float = 1.2
    b: float = 0.3
    # Feature weights (corpus/features.py says what each feature measures). Fitted with
    # `python bench/tune_answers.py WikiQA-dev.tsv`: 0.767 MAP on those questions, 0.752 in
    # cross-validation; the bundled article's own questions held steady.
    match_weight: float = 1.0
    # Question word pairs that stand next to each other in the sentence too ("Mali's military
    # leader" beats "military leaders in Mali").
    adjacency_weight: float = 0.75
    # Early in its document (scaled by coverage, as are the next ones), where news and
    # reference text put defining facts.
    position_weight: float = 0.75
    # Holds the kind of thing asked for: a name for "who", a date for "when".
    expected_weight: float = 1.5
    # "What is X?" answered by a sentence saying "... is a ...".
    definition_weight: float = 1.0
    # Longer sentences say more (capped at 40 content words).
    length_weight: float = 0.75
    # Holds a word related to a question word it lacks: a WordNet synonym or an irregular form
    # (corpus/lexicon.py). Ranking only: the decline rule counts the question's own words.
    related_weight: float = 0.5
    # Share of the question's IDF weight the best sentence must contain to count as an answer
    # (in the question's own words, or an acronym's long form; not in related words).
    # A little under half: questions carry framing words that answers rarely repeat.
    min_coverage: float = 0.45
    # The word naming the kind of answer ("which *countries* have troops") is rarely in the
    # answer ("the US, France ... maintain troops"), so it counts for this share of its weight.
    answer_type_weight: float = 0.3
    # A further quote is shown as an answer too only when it scores at least this share of the
    # best one, so a clear answer is not diluted by sentences that merely share its words.
    supporting_ratio: float = 0.75
    # Sentences judged for the answer even when fewer quotes are asked for, so that one that
    # answers is found just below one that ranks first without answering.
    contenders: int = 3

    def weights(self) -> dict[str, float]:
        return {name: getattr(self, f"{name}_weight") for name in FEATURES}


DEFAULT_RULES = AnswerRules()


@dataclass(frozen=True)
class ScoredSentence:
    position: int
    score: float
    coverage: float
    matched: tuple[str, ...]
    has_expected: bool = True
    about_asked: bool = True
    contributions: dict[str, float] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)  # unweighted
    # Unmatched question stems the sentence holds a related word of, with their related stems.
    stand_ins: dict[str, frozenset[str]] = field(default_factory=dict)


def answer_question(
    index: CorpusIndex,
    question: str,
    *,
    top: int = 3,
    doc_id: str | None = None,
    max_chars: int = DEFAULT_MAX_QUESTION_CHARS,
    rules: AnswerRules = DEFAULT_RULES,
    explain: bool = False,
) -> Answer:
    """Quotes for `question`, best first, and whether they answer it.

    With `explain`, each quote carries each term's and feature's part of its score.
    """
    analysed = analyse_question(question, max_chars)
    if doc_id is not None and doc_id not in index.spans:
        raise UnknownDocumentError(doc_id, list(index.spans))
    if not analysed.terms:
        shown = ", ".join(f"“{w}”" for w in _WORDS.findall(analysed.text)[:6]) or "none"
        return Answer(
            question=analysed.text, found=False, reason=NO_CONTENT_WORDS.format(words=shown)
        )
    ranked = score_sentences(
        index, analysed, doc_id=doc_id, rules=rules, limit=max(top, rules.contenders)
    )
    best_score = ranked[0].score if ranked else 0.0
    judged = [(s, _answers(s, best_score, rules)) for s in ranked]
    # Among the first few, a sentence that answers by the rule comes before one that only
    # ranks higher (through related words or the priors): the first quote is one we stand by.
    judged[: rules.contenders] = sorted(judged[: rules.contenders], key=lambda pair: not pair[1])
    quotes = tuple(
        quote_for(index, s, rules, answers=answers, explain=explain)
        for s, answers in judged[: max(top, 0)]
    )
    found = bool(quotes) and quotes[0].answers_question
    return Answer(
        question=analysed.text,
        found=found,
        reason=None if found else NOT_IN_ARTICLES,
        quotes=quotes,
    )


def _answers(scored: ScoredSentence, best_score: float, rules: AnswerRules) -> bool:
    close_to_best = scored.score >= rules.supporting_ratio * best_score
    return (
        close_to_best
        and scored.has_expected
        and scored.about_asked
        and covers_question(scored.coverage, rules)
    )


def covers_question(coverage: float, rules: AnswerRules = DEFAULT_RULES) -> bool:
    """The decline rule: the best sentence must hold most of what the question is about (and,
    applied in `_answers`, the kind of thing it asks for: a date for "when", a number for "how
    many"; and, when the question names something, a word of what it asks about it)."""
    return coverage >= rules.min_coverage


def score_sentences(
    index: CorpusIndex,
    question: AnalysedQuestion,
    *,
    doc_id: str | None = None,
    rules: AnswerRules = DEFAULT_RULES,
    passages: int | None = None,
    limit: int | None = None,
) -> list[ScoredSentence]:
    """Candidate sentences, best first (ties in document order); the best `limit` of them
    if given."""
    table = candidate_table(
        index,
        question,
        doc_id=doc_id,
        passages=passages or rules.passages,
        k1=rules.k1,
        b=rules.b,
        answer_type_weight=rules.answer_type_weight,
    )
    if table is None:
        return []
    weights = rules.weights()
    scores = table.features @ np.array([weights[name] for name in FEATURES])
    order = np.lexsort((table.positions, -scores))[:limit]
    ranked = []
    for i in order.tolist():
        candidate = table.row(i)
        ranked.append(
            ScoredSentence(
                candidate.position,
                float(scores[i]),
                candidate.coverage,
                candidate.matched,
                candidate.has_expected,
                candidate.about_asked,
                candidate.contributions,
                candidate.features,
                candidate.stand_ins,
            )
        )
    return ranked


def quote_for(
    index: CorpusIndex,
    scored: ScoredSentence,
    rules: AnswerRules = DEFAULT_RULES,
    *,
    answers: bool | None = None,
    explain: bool = False,
) -> Quote:
    """`answers` overrides the coverage rule, for callers that judge in context."""
    sentence = index.sentences[scored.position]
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
        explanation=_explanation(scored, rules, stand_ins) if explain else None,
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
    scored: ScoredSentence, rules: AnswerRules, stand_ins: dict[str, tuple[str, ...]]
) -> Explanation:
    """Each matched term's part of the match feature, the words standing in for unmatched
    ones, and each feature's weighted part of the score (they add up to it)."""
    weights = rules.weights()
    weighted = {name: weights[name] * value for name, value in scored.features.items()}
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
    )


def _lead_in(index: CorpusIndex, position: int, sentence: Sentence) -> LeadIn | None:
    """The sentence before, when this one opens by pointing back at it. It may end the
    previous paragraph: "This raises questions ..." opens a paragraph about the one before."""
    if sentence.number == 1 or not is_dangling(sentence.text):
        return None
    before = index.sentences[position - 1]
    return LeadIn(text=before.text, citation=_citation(index, before))
