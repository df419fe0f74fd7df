"""What the answer scorer knows about each candidate sentence, as named numbers.

Candidates are the sentences of the passages BM25 retrieves. Each gets the same set of
features (the question's words, and words WordNet relates to them, found in the sentence and
in the article around it; its place in the article; the kind of answer it holds; closeness in
meaning); the learned model of `scorer.py` ranks them and says how sure it is. Keeping the
features separate lets the training script (bench/train_answers.py) fit the model on training
questions without touching the scoring code.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..arrays import sorted_unique
from ..indexing.index import CorpusIndex
from ..tokenize import content_words, stem
from .question import AnalysedQuestion, ExpectedAnswer
from .vectors import closest_similarities, text_vectors

if TYPE_CHECKING:
    from ..meaning.sentences import Meaning

__all__ = [
    "ALL_FEATURES",
    "CLOSEST_ARTICLES",
    "ENCODER_FEATURES",
    "FEATURES",
    "CandidateTable",
    "ScoredSentence",
    "add_encoder_columns",
    "candidate_table",
    "closest_articles",
    "has_expected_answer",
]

FEATURES = (
    "match",
    "adjacency",
    "expected",
    "definition",
    "length",
    "related",
    # Coverage of the question's weight: in the sentence's own words; in the sentence and the
    # sentences beside it; in the whole article ("the company" in a Nestle story answers a
    # question about Nestle).
    "coverage",
    "context",
    "article",
    # The largest share of the question's weight the sentence lacks (a question about an
    # absent subject lacks its rarest word).
    "missing",
    # The article's headline or closing credit line: context for the sentences of the
    # article, rarely an answer itself.
    "framing",
    # Share of what the question asks about, besides the names it gives, that the sentence
    # holds (its own words or related ones): "coach" in "Who coaches Daria Kovalenko?".
    "asked",
    # "How many *firefighters*": a number right before the thing counted.
    "counted",
    # A question that wants the gist ("What happened in Niger?"): the article's first sentence
    # below the headline, scaled by how well the article matches.
    "lead",
    # Closeness in meaning of the sentence to the question (cosine of mean word vectors,
    # corpus/answering/vectors.py), and how far it falls short of the closest candidate's.
    "meaning",
    "meaning_gap",
    # Soft matching word by word: each question word counts with its closest word in the
    # sentence (cosine of word vectors; 1 when the word itself is there), weighted by rarity;
    # over all the question's words, and over what it asks besides the names it gives.
    "soft",
    "soft_asked",
    # Share of the names the question gives ("Wagner" in "Who leads Wagner?") that neither the
    # sentence nor the sentences beside it hold.
    "unnamed",
)

# From the sentence encoder (corpus/meaning): the cosine of the question with the sentence (as
# encoded after its article's headline) and how far it falls short of the best candidate's;
# with the sentence's article (its headline and lead) and how far that falls short of the best
# candidate article's. (The best cosine of the sentences beside it did worse held out.)
ENCODER_FEATURES = ("encoder", "encoder_gap", "encoder_article", "encoder_article_gap")
ALL_FEATURES = (*FEATURES, *ENCODER_FEATURES)


@dataclass(frozen=True)
class ScoredSentence:
    """One candidate sentence: what the scorer knows about it, and its score once ranked."""

    position: int  # in the index's sentence list
    score: float
    coverage: float  # share of the question's IDF weight this sentence contains, 0..1
    matched: tuple[str, ...]  # question stems found in the sentence
    has_expected: bool = True  # holds the date or number the question asks for (or none)
    # Matches something the question asks besides the names it gives (or it gives none).
    about_asked: bool = True
    contributions: dict[str, float] = field(default_factory=dict)  # each stem's part of "match"
    features: dict[str, float] = field(default_factory=dict)  # unweighted
    # The question stems the sentence lacks but holds a related word of (a synonym, an
    # irregular form), each with the stems of all its related words.
    stand_ins: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CandidateTable:
    """Every candidate's features at once, a row per candidate in document order: what the
    scorer computes with, as numpy columns (`row` makes one into an object)."""

    positions: np.ndarray  # (C,) in the index's sentence list
    # (C, len(ALL_FEATURES)), unweighted; the encoder's columns are zero until
    # `add_encoder_columns` fills them for the candidates that have vectors.
    features: np.ndarray
    coverage: np.ndarray  # (C,)
    has_expected: np.ndarray  # (C,) bool
    about_asked: np.ndarray  # (C,) bool
    terms: tuple[str, ...]  # the question's distinct stems
    present: np.ndarray  # (C, len(terms)) bool: which terms each candidate matches
    # (C, len(terms)) bool: which terms each candidate lacks but holds a related word of.
    related: np.ndarray
    stand_ins: tuple[frozenset[str], ...]  # by term: its related stems
    contributions: np.ndarray  # (C, len(terms)): each term's part of the "match" feature

    def __len__(self) -> int:
        return len(self.positions)

    def row(self, i: int, score: float = 0.0) -> ScoredSentence:
        present = self.present[i]
        return ScoredSentence(
            position=int(self.positions[i]),
            score=score,
            features=dict(zip(ALL_FEATURES, self.features[i].tolist(), strict=True)),
            coverage=float(self.coverage[i]),
            matched=tuple(t for t, p in zip(self.terms, present.tolist(), strict=True) if p),
            stand_ins={
                t: words
                for t, r, words in zip(
                    self.terms, self.related[i].tolist(), self.stand_ins, strict=True
                )
                if r
            },
            contributions={
                t: float(c)
                for t, p, c in zip(
                    self.terms, present.tolist(), self.contributions[i].tolist(), strict=True
                )
                if p
            },
            has_expected=bool(self.has_expected[i]),
            about_asked=bool(self.about_asked[i]),
        )


def candidate_table(
    index: CorpusIndex,
    question: AnalysedQuestion,
    *,
    doc_id: str | None,
    passages: int,
    k1: float,
    b: float,
    answer_type_weight: float,
    meaning: Meaning | None = None,
) -> CandidateTable | None:
    """The features of every sentence of the best `passages` passages (None if no passage
    shares a word with the question), computed a column at a time over all candidates; the
    work depends on the candidates and their articles, not on the size of the corpus.

    With `meaning`, the best passages of the articles whose headline and lead are closest to
    the question join them: over an archive, the article a question is about may share only
    a word or two with it ("Who runs the IMF?" for a story on "the fund's managing director")."""
    terms = list(question.terms)
    query = index.expand_query(terms)
    hits = index.search(query, passages, doc_id)
    if meaning is not None and doc_id is None and len(index.spans) > 1:
        hits += _closest_articles_passages(index, meaning, question, query, hits)
    if not hits:
        return None
    distinct = tuple(dict.fromkeys(terms))
    weights = np.array([index.sentence_idf(t) for t in distinct])
    coverage_weights = _coverage_weights(distinct, weights, question, answer_type_weight)
    positions = sorted_unique(np.concatenate([np.arange(h.first, h.last + 1) for h in hits]))
    texts = [index.sentences.text(p) for p in positions.tolist()]
    tokens = _CandidateTokens(index, positions)
    counts, present = tokens.term_counts(index, distinct)
    # A word WordNet relates to an unmatched term ("perished" for "died") stands in for it,
    # with the term's weight. (Weighing it by its own IDF, often lower, did worse in
    # cross-validation on WikiQA: 0.742 against 0.752.)
    related = tokens.holds_related(index, distinct, question) & ~present
    stand_in = related * weights
    norm = k1 * (1 - b + b * tokens.lengths / index.average_sentence_length)
    matched_counts = np.maximum(counts, 1)  # an acronym spelled out counts once
    contributions = np.where(
        present, weights * matched_counts * (k1 + 1) / (matched_counts + norm[:, None]), 0.0
    )
    total_weight = weights.sum()
    # Coverage counts the question's own words (a stand-in may be another sense of the word:
    # "use" ~ "role"); `lifted`, the share the priors are scaled by, counts stand-ins too.
    total_coverage = coverage_weights.sum()
    coverage = (present * coverage_weights).sum(axis=1) / total_coverage
    lifted = ((present | related) * coverage_weights).sum(axis=1) / total_coverage
    matched_any = present.any(axis=1)
    numbers = index.sentences.column("number")[positions]
    named = np.array([t in question.named for t in distinct])
    in_article = _article_presence(index, positions, distinct)
    beside = present | _neighbour_presence(index, positions, distinct)
    in_context = beside | in_article & (numbers <= 2)[:, None]
    framing, opening = _framing(index, positions)
    article_share = (in_article * coverage_weights).sum(axis=1) / total_coverage
    asked_share = _asked_share(named, present | related, coverage_weights)
    counted = np.zeros(len(positions), dtype=bool)
    expected = np.zeros(len(positions), dtype=bool)
    definition = np.zeros(len(positions), dtype=bool)
    asks_definition = bool(_DEFINITION.match(question.text))
    if question.expects is not None or asks_definition:
        for i in np.flatnonzero(lifted).tolist():  # the priors only lift matches
            text = texts[i]
            if question.expects is not None:
                expected[i] = has_expected_answer(text, question.expects, question.mentioned)
            definition[i] = asks_definition and bool(_COPULA.search(text))
            if question.counted is not None:
                counted[i] = _counts(text, question.counted, question.related)
    columns = {
        "match": contributions.sum(axis=1) / total_weight,
        "adjacency": tokens.adjacent_weight(index, terms, distinct, weights) / total_weight,
        # The priors below only lift sentences that match the question: each is scaled by
        # the share of the question the sentence covers (related words included), so a long
        # sentence that shares no word gains nothing.
        "expected": lifted * expected,
        "definition": lifted * definition,
        "length": lifted * np.minimum(tokens.lengths, 40) / 40,
        "related": stand_in.sum(axis=1) / total_weight,
        "coverage": coverage,
        "context": (in_context * coverage_weights).sum(axis=1) / total_coverage,
        "article": article_share,
        "missing": np.where(present | related, 0.0, coverage_weights).max(axis=1) / total_coverage,
        "framing": framing.astype(float),
        "asked": asked_share,
        "counted": lifted * counted,
        **_meaning(texts, question),
        **_soft_match(texts, question, present, distinct, weights),
        "unnamed": _unnamed(named, beside),
        "lead": opening * article_share if question.broad else np.zeros(len(positions)),
    }
    return CandidateTable(
        positions=positions,
        features=np.hstack(
            [
                np.stack([columns[name] for name in FEATURES], axis=1),
                np.zeros((len(positions), len(ENCODER_FEATURES))),
            ]
        ),
        coverage=coverage,
        # Only dates and numbers are required of an answer: names are too easy to find and
        # may be in the question itself ("was it Mali or Russia?").
        has_expected=matched_any
        & (expected | (question.expects not in ("time", "number", "money", "score"))),
        about_asked=_about_asked(named, present),
        terms=distinct,
        present=present,
        related=related,
        stand_ins=tuple(question.related.get(t, frozenset()) for t in distinct),
        contributions=contributions,
    )


# Articles closest in meaning whose passages join the candidates, and how many passages each.
CLOSEST_ARTICLES = 3
_PASSAGES_PER_CLOSE_ARTICLE = 2


def closest_articles(meaning: Meaning, question: AnalysedQuestion) -> list[str]:
    """The CLOSEST_ARTICLES articles whose headline and lead are closest to the question."""
    return meaning.closest_articles(meaning.question_vector(question.text), CLOSEST_ARTICLES)


def _closest_articles_passages(
    index: CorpusIndex,
    meaning: Meaning,
    question: AnalysedQuestion,
    query: list[str],
    hits: list,
) -> list:
    closest = closest_articles(meaning, question)
    if not closest:
        return []
    docs = index.passages.column("doc")
    found = {index.texts.ids[int(docs[h.position])] for h in hits}
    extra = []
    for doc in closest:
        if doc not in found:
            extra += index.search(query, _PASSAGES_PER_CLOSE_ARTICLE, doc)
    return extra


def add_encoder_columns(
    table: CandidateTable, index: CorpusIndex, meaning: Meaning, question: AnalysedQuestion
) -> np.ndarray:
    """Fill the encoder's columns of the candidates that have sentence vectors; which those
    are."""
    positions = table.positions
    vectors, known = meaning.sentence_vectors(positions)
    if not known.any():
        return known
    asked = meaning.question_vector(question.text)
    cosine = vectors[known] @ asked
    # Only the articles of candidates with vectors: where candidates are encoded when asked,
    # their articles are too, and no others.
    docs = index.sentences.column("doc")[positions[known]]
    numbers, inverse = np.unique(docs, return_inverse=True)
    articles, _ = meaning.article_vectors([index.texts.ids[int(d)] for d in numbers])
    article_cosine = (articles @ asked)[inverse]
    table.features[known, len(FEATURES) :] = np.stack(
        [cosine, cosine - cosine.max(), article_cosine, article_cosine - article_cosine.max()],
        axis=1,
    )
    return known


def _meaning(texts: list[str], question: AnalysedQuestion) -> dict[str, np.ndarray]:
    vectors = text_vectors([" ".join(question.words), *texts])
    if vectors is None:
        return {"meaning": np.zeros(len(texts)), "meaning_gap": np.zeros(len(texts))}
    cosine = vectors[1:] @ vectors[0]
    return {"meaning": cosine, "meaning_gap": cosine - cosine.max()}


def _soft_match(
    texts: list[str],
    question: AnalysedQuestion,
    present: np.ndarray,
    terms: tuple[str, ...],
    weights: np.ndarray,
) -> dict[str, np.ndarray]:
    """Each question word's closest word in each candidate (1 when the word itself is
    there), weighted by the rarity of its term."""
    zeros = np.zeros(len(texts))
    words = list(dict.fromkeys(question.words))
    closest = closest_similarities([_sentence_words(text) for text in texts], words)
    if closest is None or not words:
        return {"soft": zeros, "soft_asked": zeros}
    # Below this a nearest word is unrelated; above it, it counts for its similarity.
    closest = np.where(closest >= _SOFT_FLOOR, closest, 0.0)
    column = {t: j for j, t in enumerate(terms)}
    term_of = dict(zip(question.words, question.terms, strict=True))
    word_columns = [column[term_of[w]] for w in words]
    held = np.maximum(closest, present[:, word_columns])
    w = weights[word_columns]
    asked = np.array([term_of[x] not in question.named for x in words])
    asked_w = w * asked if asked.any() else w
    return {
        "soft": (held * w).sum(axis=1) / w.sum(),
        "soft_asked": (held * asked_w).sum(axis=1) / asked_w.sum(),
    }


_SOFT_FLOOR = 0.3


@functools.lru_cache(maxsize=20_000)
def _sentence_words(text: str) -> tuple[str, ...]:
    """A candidate's content words (candidates recur from question to question)."""
    return tuple(content_words(text))


def _unnamed(named: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Share of the question's names (`named`: a flag per term) each candidate lacks."""
    if not named.any():
        return np.zeros(len(held))
    return (~held[:, named]).sum(axis=1) / named.sum()


def _asked_share(named: np.ndarray, held: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Share of the weight of the terms the question asks about (not the names it gives) that
    each candidate holds; all terms when it names nothing else."""
    asked = ~named if not named.all() else np.ones_like(named)
    w = weights * asked
    return (held * w).sum(axis=1) / w.sum()


def _counts(text: str, counted: str, related: dict[str, frozenset[str]]) -> bool:
    """Whether a number stands right before the counted thing ("more than 1,100
    firefighters", "43 homes" for houses)."""
    wanted = {counted} | related.get(counted, frozenset())
    for match in _COUNTED.finditer(text):
        if any(stem(w) in wanted for w in _FOLDED_WORDS.findall(match.group(1).casefold())):
            return True
    return False


def _article_presence(
    index: CorpusIndex, positions: np.ndarray, terms: tuple[str, ...]
) -> np.ndarray:
    """(C, len(terms)) bool: whether each candidate's article holds each term anywhere."""
    vocabulary = index.sentence_tokens.vocabulary
    ids = np.array([vocabulary.get(t, -1) for t in terms])
    docs = index.sentences.column("doc")[positions]
    pointers = index.sentence_tokens.pointers()
    all_ids = index.sentence_tokens.all_ids()
    presence = np.zeros((len(positions), len(terms)), dtype=bool)
    known = [(j, int(t)) for j, t in enumerate(ids.tolist()) if t >= 0]
    for doc in sorted_unique(docs).tolist():
        span = index.spans[index.texts.ids[doc]].sentences
        tokens = all_ids[pointers[span.start] : pointers[span.stop]]
        # A scan per term: a few passes over the article, no sorting of its tokens.
        held = np.zeros(len(terms), dtype=bool)
        for j, term_id in known:
            held[j] = bool((tokens == term_id).any())
        presence[docs == doc] = held
    return presence


def _neighbour_presence(
    index: CorpusIndex, positions: np.ndarray, terms: tuple[str, ...]
) -> np.ndarray:
    """(C, len(terms)) bool: whether the sentence just before or after, in the same article,
    holds each term (one pass over the candidates and their neighbours' tokens)."""
    docs = index.sentences.column("doc")
    around = sorted_unique(np.concatenate([positions - 1, positions, positions + 1]))
    around = around[(around >= 0) & (around < len(index.sentences))]
    _, held = _CandidateTokens(index, around).term_counts(index, terms)
    presence = np.zeros((len(positions), len(terms)), dtype=bool)
    for step in (-1, 1):
        neighbour = positions + step
        at = np.searchsorted(around, neighbour).clip(0, len(around) - 1)
        valid = (around[at] == neighbour) & (docs[around[at]] == docs[positions])
        presence |= held[at] & valid[:, None]
    return presence


def is_headline(index: CorpusIndex, position: int) -> bool:
    """Whether the sentence is its article's headline: the first line, a paragraph of its
    own, short and without a full stop, above more text."""
    sentences = index.sentences
    if sentences.number(position) != 1 or int(sentences.column("paragraph")[position]) != 1:
        return False
    span = index.spans[index.texts.ids[int(sentences.column("doc")[position])]]
    text = sentences.text(position).strip()
    return (
        len(span.paragraphs) > 1
        and (len(span.sentences) < 2 or int(sentences.column("paragraph")[position + 1]) > 1)
        and len(text.split()) <= 20
        and not text.endswith((".", "!", "?", "”", '"', ":"))
    )


def _is_credit(index: CorpusIndex, position: int) -> bool:
    """Whether the sentence is a credit line closing its article ("News Agencies contributed
    to this report", "Reporting by ...")."""
    sentences = index.sentences
    span = index.spans[index.texts.ids[int(sentences.column("doc")[position])]]
    if position != span.sentences.stop - 1 or len(span.sentences) < 2:
        return False
    text = sentences.text(position).strip()
    return len(text.split()) <= 15 and bool(_CREDIT.search(text))


_CREDIT = re.compile(
    r"contributed to (?:this|the) report|\b(?:reporting|editing|writing|additional reporting)"
    r" by\b|^by\s+[A-Z]|^\W*(?:reuters|ap|afp|agencies)\W*$",
    re.IGNORECASE,
)


def _framing(index: CorpusIndex, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(headline or credit line, first sentence below any headline), per candidate."""
    framing = np.zeros(len(positions), dtype=bool)
    opening = np.zeros(len(positions), dtype=bool)
    numbers = index.sentences.column("number")
    for i, position in enumerate(positions.tolist()):
        number = int(numbers[position])
        if number == 1:
            framing[i] = is_headline(index, position)
            opening[i] = not framing[i]
        elif number == 2:
            opening[i] = is_headline(index, position - 1)
        framing[i] = framing[i] or _is_credit(index, position)
    return framing, opening


def _about_asked(named: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Whether each candidate matches a term the question asks about, beyond the names it
    gives (`named`: a flag per term): "Who is the president of France?" is not answered by a
    sentence that only names France. Questions that name nothing, or nothing else, set no
    such condition."""
    if named.all() or not named.any():
        return np.ones(len(present), dtype=bool)
    return present[:, ~named].any(axis=1)


def _coverage_weights(
    terms: tuple[str, ...],
    weights: np.ndarray,
    question: AnalysedQuestion,
    answer_type_weight: float,
) -> np.ndarray:
    """The terms' weights for the coverage features."""
    coverage = dict(zip(terms, weights.tolist(), strict=True))
    # Coverage discounts the answer-type word; the match feature keeps its full weight.
    if question.answer_type in coverage:
        coverage[question.answer_type] *= answer_type_weight
    # A multi-word name weighs as much as its rarest word, shared among its words: "Burkina
    # Faso" is one subject, and must not outweigh the "population" the question asks about.
    for name in question.names:
        members = [t for t in dict.fromkeys(name) if t in coverage]
        if len(members) > 1:
            share = max(coverage[t] for t in members) / len(members)
            for t in members:
                coverage[t] = share
    return np.array([coverage[t] for t in terms])


class _CandidateTokens:
    """The candidates' term ids, concatenated, with the candidate each token belongs to."""

    def __init__(self, index: CorpusIndex, positions: np.ndarray) -> None:
        self.ids, self.owner, self.lengths = index.sentence_tokens.gather(positions)
        self.count = len(positions)

    def occurrences(self, term_id: int) -> np.ndarray:
        """How often the term occurs in each candidate."""
        if term_id < 0:
            return np.zeros(self.count, dtype=np.int64)
        return np.bincount(self.owner[self.ids == term_id], minlength=self.count)

    def term_counts(
        self, index: CorpusIndex, terms: tuple[str, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(count, present) per candidate and term. An acronym is also present in a sentence
        holding every word of its long form."""
        vocabulary = index.sentence_tokens.vocabulary
        counts = np.stack([self.occurrences(vocabulary.get(t, -1)) for t in terms], axis=1).reshape(
            self.count, len(terms)
        )
        present = counts > 0
        for j, term in enumerate(terms):
            long_form = index.aliases.get(term)
            if long_form:
                spelled = np.ones(self.count, dtype=bool)
                for word in long_form:
                    spelled &= self.occurrences(vocabulary.get(word, -1)) > 0
                present[:, j] |= spelled
        return counts, present

    def holds_related(
        self, index: CorpusIndex, terms: tuple[str, ...], question: AnalysedQuestion
    ) -> np.ndarray:
        """(C, len(terms)) bool: whether each candidate holds a word related to each term."""
        vocabulary = index.sentence_tokens.vocabulary
        held = np.zeros((self.count, len(terms)), dtype=bool)
        for j, term in enumerate(terms):
            ids = [vocabulary[w] for w in question.related.get(term, ()) if w in vocabulary]
            if ids:
                held[self.owner[np.isin(self.ids, ids)], j] = True
        return held

    def adjacent_weight(
        self,
        index: CorpusIndex,
        terms: list[str],
        distinct: tuple[str, ...],
        weights: np.ndarray,
    ) -> np.ndarray:
        """IDF weight of the question's consecutive term pairs that are consecutive in each
        candidate too ("Mali's military leader" beats "military leaders in Mali")."""
        vocabulary = index.sentence_tokens.vocabulary
        weight_of = dict(zip(distinct, weights.tolist(), strict=True))
        pairs = {
            (vocabulary[a], vocabulary[b]): min(weight_of[a], weight_of[b])
            for a, b in itertools.pairwise(terms)
            if a != b and a in vocabulary and b in vocabulary
        }
        total = np.zeros(self.count)
        if not pairs or len(self.ids) < 2:
            return total
        first, second = self.ids[:-1], self.ids[1:]
        same = self.owner[:-1] == self.owner[1:]
        for (a, b), weight in pairs.items():
            found = same & (first == a) & (second == b)
            if found.any():
                total[sorted_unique(self.owner[:-1][found])] += weight
        return total


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
_SMALL_NUMBERS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
)
_NUMBER = re.compile(
    rf"\d+(?:[,.]\d+)*|\b(?:{_SMALL_NUMBERS}|hundred|thousand|million|billion|trillion|dozen|"
    r"half|percent)\b",
    re.IGNORECASE,
)
_COUNTED = re.compile(
    rf"(?:\d[\d,.]*|\b(?:{_SMALL_NUMBERS}|hundreds?|thousands?|millions?|dozens?)\b)"
    r"((?:\s+[\w’'-]+){1,3})",
    re.IGNORECASE,
)
_FOLDED_WORDS = re.compile(r"[^\W\d_]+")
_MONEY = re.compile(
    r"[$€£¥]\s?\d|\d\s?[$€£¥]|\b\d[\d,.]*\s*(?:million|billion|trillion|bn|m|k)?[\s-]*"
    r"(?:dollars?|euros?|pounds?|yen|francs?|rupees?|yuan|crowns?|kronor|pence|cents?|"
    r"rand|pesos?|rubles?|roubles?)\b|\b(?:USD|EUR|GBP)\s?\d",
    re.IGNORECASE,
)
_SCORE = re.compile(r"(?<![\d/.-])\d{1,3}\s?[-–]\s?\d{1,3}(?![\d/.-])")
_PERSON = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|Prof|Sir|Dame|Lord|Lady)\.?\s+[A-Z]|\b[A-Z][a-z’'-]+"
    r"(?:\s+(?:van|von|de|der|den|da|di|du|la|le|bin|al|el|ter|[A-Z]\.)){0,2}"
    r"\s+[A-Z][a-z’'-]+"
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
    if expects == "money":
        return bool(_MONEY.search(text))
    if expects == "score":
        return bool(_SCORE.search(_DATE.sub(" ", text)))
    if expects == "person":
        # A name of two words (or a title and a name) the question does not already give.
        return any(
            not set(_FOLDED_WORDS.findall(m.group(0).casefold())) <= mentioned
            for m in _PERSON.finditer(text)
        )
    if expects != "place":
        return False
    # A name the question does not already give: "who leads Mali?" wants a name besides Mali.
    # Places are names too ("the US, France and Italy"), or follow in/at/from.
    names = _CAPITALISED.findall(text) + _PLACE.findall(text)
    return any(name.casefold() not in mentioned for name in names)
