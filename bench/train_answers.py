"""Fit the answer model (ranking weights and answer confidence) and measure it honestly.

    python bench/train_answers.py [--write] [--lexical] [--l2 X] [--precision P]
                                  [--vectors DIR] [--cache FILE]
                                  [--reader FILE [--reader-confidence-only]]

By default the model that reads the sentence encoder's features too is fitted (written to
corpus/answering/answer_model.json); with `--lexical`, the words-only one the bot falls back on
(answer_model_lexical.json). Sentence vectors are kept in `--vectors` between runs.

Every question set is read where it lies (../shared/eval, ../shared/corpora, tests/data) and
nothing of the shared data is written into the project. Each set's candidates get the features
of corpus/answering/features.py; then:

- **leave one set out**: for each set, the model is fitted on the *training* sets other than it
  and measured on it, so every number printed in that table is on questions the fit never saw;
- plain rank-bm25 over the same sentences (BM25Okapi over the document's sentences, or over
  every sentence when the question names no document) is measured beside it;
- each answerable question of a train set is also asked of another article than its own, as
  a negative for the confidence (its answer is not there);
- the confidence is calibrated: an isotonic curve maps it to the share of such first quotes
  that were right, fitted on the train sets' held-out confidences and the dev sets;
- with `--write`, the model fitted on all training sets is written beside the scoring code,
  with its calibration and the thresholds chosen on the train sets' held-out confidences and
  the dev sets (never on the test sets).

`--reader FILE` measures an answer reader (a cross-encoder from bench/train_reader.py, run by
bench/reader_numpy.py) as a second stage: it reads the first few candidates of the ranker's
order, moves them by a weighted logit and gives the confidence two more inputs. How many it
reads and the weight are chosen on the train sets. Tried in issue 17 and not shipped.

Sets have roles: `train` sets fit the weights, `dev` sets choose the thresholds and which
features stay, `test` sets are only ever measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus.answering.answer import DEFAULT_RULES  # noqa: E402
from corpus.answering.features import (  # noqa: E402
    ALL_FEATURES,
    FEATURES,
    add_encoder_columns,
    candidate_table,
)
from corpus.answering.question import analyse_question  # noqa: E402
from corpus.answering.scorer import (  # noqa: E402
    CONFIDENCE_EXTRAS,
    LEXICAL_MODEL_FILE,
    MODEL_FILE,
    AnswerModel,
    answer_model,
    confidence_inputs,
    question_inputs,
)
from corpus.evaluate import average_precision, load_question_set, normalise  # noqa: E402
from corpus.meaning.encoder import configure as configure_encoder  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from reader_numpy import (  # noqa: E402  (the answer reader tried in issue 17)
    READER_EXTRAS,
    ReadingStage,
    load_reader,
    read_and_rerank,
    reader_inputs,
)

SHARED = ROOT.parent / "shared"
# Sets kept outside the project (made from ../shared/eval/train/WikiQA-train.tsv by
# bench/split_wikiqa.py: its questions alternately in two halves).
OUTSIDE = ROOT.parent / "cache" / "sets"
DATA = ROOT / "tests" / "data"
BBC = SHARED / "corpora" / "bbc-news"
SQUAD = "eval/squad/squad2-dev-half.json"
READ_AHEAD = 8  # candidates per question kept for the answer reader


@dataclass(frozen=True)
class SetSpec:
    name: str
    path: Path
    seeds: Path
    role: str  # train, dev or test
    # SQuAD's articles are split: even-numbered ones fit, odd-numbered ones choose.
    articles: str = "all"


SETS = [
    SetSpec("trec-train", SHARED / "eval/trecqa/TREC-QA-train.tsv", ROOT / "seeds", "train"),
    SetSpec(
        "squad-even", SHARED / "eval/squad/squad2-dev-half.json", ROOT / "seeds", "train", "even"
    ),
    SetSpec("wikiqa-train-even", OUTSIDE / "wikiqa-train-even.tsv", ROOT / "seeds", "train"),
    SetSpec("wikiqa-dev", SHARED / "eval/wikiqa/WikiQA-dev.tsv", ROOT / "seeds", "dev"),
    SetSpec("own-decline", DATA / "decline_questions.jsonl", ROOT / "seeds", "train"),
    SetSpec("fresh-a", DATA / "fresh_a_questions.jsonl", DATA / "fresh_a", "train"),
    SetSpec("fresh-c", DATA / "fresh_c_questions.jsonl", DATA / "fresh_c", "train"),
    SetSpec("bbc-dev", DATA / "bbc_dev_questions.jsonl", BBC, "train"),
    SetSpec("bbc-train", DATA / "bbc_train_questions.jsonl", BBC, "train"),
    SetSpec("niger-dev", DATA / "article_questions.jsonl", ROOT / "seeds", "train"),
    SetSpec("trec-dev", SHARED / "eval/trecqa/TREC-QA-dev.tsv", ROOT / "seeds", "dev"),
    SetSpec("squad-odd", SHARED / SQUAD, ROOT / "seeds", "dev", "odd"),
    SetSpec("article-dev", SHARED / "eval/article_qa_dev.jsonl", ROOT / "seeds", "dev"),
    SetSpec("paraphrase", DATA / "paraphrase_questions.jsonl", ROOT / "seeds", "dev"),
    SetSpec("fresh-b", DATA / "fresh_b_questions.jsonl", DATA / "fresh_b", "test"),
    SetSpec("bbc-test", DATA / "bbc_test_questions.jsonl", BBC, "test"),
    SetSpec("niger-user", DATA / "niger_user_questions.jsonl", ROOT / "seeds", "test"),
    SetSpec("fresh-e", DATA / "fresh_e_questions.jsonl", DATA / "fresh_e", "test"),
    SetSpec("bbc-fresh", DATA / "bbc_fresh_questions.jsonl", BBC, "test"),
    SetSpec("fresh-g", DATA / "fresh_g_questions.jsonl", DATA / "fresh_g", "test"),
    SetSpec("wikiqa-train-odd", OUTSIDE / "wikiqa-train-odd.tsv", ROOT / "seeds", "test"),
]


NEWS = {
    "own-decline",
    "fresh-a",
    "fresh-c",
    "bbc-dev",
    "bbc-train",
    "niger-dev",
    "article-dev",
    "paraphrase",
}


@dataclass
class Item:
    """One question's candidates: features, which are right, and what is needed to score."""

    features: np.ndarray  # (C, F)
    gold: np.ndarray  # (C,) bool
    texts: list[str]  # normalised candidate texts, for MAP
    positions: np.ndarray
    answerable: bool
    lines: tuple = ()
    bm25_first_right: bool = False  # plain rank-bm25 puts a right sentence first
    bm25_ap: float = 0.0
    extra: dict = field(default_factory=dict)  # has_expected, about_asked


@dataclass
class LoadedSet:
    spec: SetSpec
    items: list[Item]
    with_map: bool
    seconds: float


def load_set(spec: SetSpec, vectors: Path | None) -> tuple[LoadedSet, LoadedSet]:
    """The set's questions as items, and its cross-article negatives: each answerable
    question asked of another article than its own (its answer is not there)."""
    started = time.perf_counter()
    items: list[Item] = []
    crossed: list[Item] = []
    with load_question_set(
        spec.path, seeds_dir=spec.seeds, vectors_dir=vectors, encoder=vectors is not None
    ) as questions:
        index = questions.index
        meaning = questions.meaning
        baseline = _Bm25Baseline(index)
        documents = list(index.spans)
        for case in questions.cases:
            if spec.articles != "all" and int(case.doc[1:]) % 2 != (spec.articles == "odd"):
                continue
            items.append(_item(index, meaning, case, case.doc, baseline, questions.with_map))
            own = case.doc or case.source_doc
            if case.answerable and own in index.spans and len(documents) > 1:
                other = documents[(documents.index(own) + 1) % len(documents)]
                negative = _item(index, meaning, case, other, None, False)
                negative.answerable = False
                crossed.append(negative)
        with_map = questions.with_map
        if meaning is not None:
            meaning.store.save()
    seconds = time.perf_counter() - started
    cross_spec = dataclasses.replace(spec, name=f"{spec.name}~cross")
    return LoadedSet(spec, items, with_map, seconds), LoadedSet(cross_spec, crossed, False, 0.0)


def _item(index, meaning, case, doc, baseline, with_map: bool) -> Item:
    rules = DEFAULT_RULES
    analysed = analyse_question(case.question)
    table = candidate_table(
        index,
        analysed,
        doc_id=doc,
        passages=rules.passages,
        k1=rules.k1,
        b=rules.b,
        answer_type_weight=rules.answer_type_weight,
        meaning=meaning,
    )
    if table is not None and meaning is not None:
        meaning.encode_sentences(table.positions)  # every candidate, as when encoded ahead
        add_encoder_columns(table, index, meaning, analysed)
    if table is None:
        empty = np.zeros((0, len(ALL_FEATURES)))
        return Item(empty, np.zeros(0, bool), [], np.zeros(0, int), case.answerable, case.lines)
    sentences = [index.sentences[int(p)] for p in table.positions]
    gold = np.array([case.is_gold(s.text, s.start, s.end) for s in sentences])
    item = Item(
        features=table.features,
        gold=gold,
        texts=[normalise(s.text) for s in sentences],
        positions=table.positions,
        answerable=case.answerable,
        lines=case.lines,
        extra={
            "has_expected": table.has_expected,
            "about_asked": table.about_asked,
            "question": question_inputs(analysed),
        },
    )
    if meaning is not None:
        # The passages the answer reader reads: the best READ_AHEAD by the shipped model
        # (a stage-two fit reranks the first few of its own fold's order that are among them).
        shipped = answer_model(encoder=True)
        best = np.lexsort((table.positions, -shipped.scores(table.features)))[:READ_AHEAD]
        item.extra["question_text"] = case.question
        item.extra["reading"] = {int(i): meaning.passage(int(table.positions[i])) for i in best}
    if baseline is not None:
        ranked = baseline.rank(analysed.terms, doc)
        first = index.sentences[ranked[0]] if ranked else None
        item.bm25_first_right = bool(first and case.is_gold(first.text, first.start, first.end))
        if with_map and case.lines:
            item.bm25_ap = average_precision(
                [normalise(index.sentences[p].text) for p in ranked[:50]], case.lines
            )
    return item


class _Bm25Baseline:
    """Plain rank-bm25 (BM25Okapi, its defaults) over a document's sentences, or over every
    sentence of the corpus when the question names no document."""

    def __init__(self, index) -> None:
        self.index = index
        self.models: dict[str | None, tuple[BM25Okapi, range]] = {}

    def rank(self, terms: tuple[str, ...], doc: str | None) -> list[int]:
        if doc not in self.models:
            span = self.index.spans[doc].sentences if doc else range(len(self.index.sentences))
            tokens = [self.index.sentence_tokens[p] or ["\x00"] for p in span]
            self.models[doc] = (BM25Okapi(tokens), span)
        model, span = self.models[doc]
        scores = model.get_scores(list(terms))
        order = np.argsort(-scores, kind="stable")
        return [span.start + int(i) for i in order[:50] if scores[i] > 0] or [span.start]


# ---------------------------------------------------------------- fitting


def fit_ranker(items: list[Item], weights: list[float], l2: float) -> np.ndarray:
    """Listwise logistic ranking (softmax over a question's candidates, the right ones the
    target), L2-regularised, by gradient descent with Adam."""
    usable = [(it, w) for it, w in zip(items, weights, strict=True) if it.gold.any()]
    X = [it.features for it, _ in usable]
    G = [it.gold for it, _ in usable]
    W = np.array([w for _, w in usable])
    W = W / W.sum()
    dims = X[0].shape[1]
    theta = np.zeros(dims)
    m = np.zeros(dims)
    v = np.zeros(dims)
    # Columns are fitted standardised (the encoder's cosines vary by a few hundredths within
    # a question, word matches by whole units): with raw columns, Adam's steps of a fixed size
    # left the encoder's weights far short of their optimum (mean held-out hit@1 on the news
    # sets 0.54 against 0.62 standardised). The weights are scaled back for raw features.
    stacked = np.concatenate(X)
    scale = stacked.std(axis=0) + 1e-6
    stacked = stacked / scale
    owner = np.repeat(np.arange(len(X)), [len(x) for x in X])
    gold = np.concatenate(G)
    for step in range(1, STEPS + 1):
        s = stacked @ theta
        s -= np.maximum.reduceat(s, _starts(X))[owner]
        e = np.exp(s)
        z = np.add.reduceat(e, _starts(X))[owner]
        p = e / z
        zg = np.add.reduceat(e * gold, _starts(X))[owner]
        q = np.where(gold, e / np.maximum(zg, 1e-300), 0.0)
        grad = ((p - q) * W[owner]) @ stacked + l2 * theta
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        theta -= 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return theta / scale


def _starts(X: list[np.ndarray]) -> np.ndarray:
    return np.cumsum([0] + [len(x) for x in X[:-1]])


@dataclass(frozen=True)
class Ranking:
    """The ranker's weights, and the answer reader's stage when the model has one."""

    theta: np.ndarray
    reading: ReadingStage | None = None


@dataclass(frozen=True)
class Top:
    first: int
    ordered_scores: np.ndarray
    order: np.ndarray
    read: dict[int, float]  # the reader's logits for the candidates it read


def top_of(item: Item, ranking: Ranking) -> Top | None:
    """The order the shipped code gives (corpus/answering/answer.py): the ranker's, then the
    reader's stage over its first few."""
    if not len(item.features):
        return None
    scores = item.features @ ranking.theta
    order = np.lexsort((item.positions, -scores))
    read: dict[int, float] = {}
    if ranking.reading is not None:
        logits = item.extra.get("logits", {})
        for i in order[: ranking.reading.candidates].tolist():
            if i not in logits:
                break  # a candidate the shipped model did not put among its best READ_AHEAD
            read[i] = logits[i]
        if read:
            scores, order = read_and_rerank(
                scores, order, item.positions, np.array(list(read.values())), ranking.reading.weight
            )
    return Top(int(order[0]), scores[order], order, read)


def inputs_of(item: Item, top: Top, ranking: Ranking) -> np.ndarray:
    base = confidence_inputs(item.features[top.first], top.ordered_scores, item.extra, top.first)
    if ranking.reading is None:
        return base
    return np.concatenate([base, reader_inputs(top.read, top.order) if top.read else [0.0, 0.0]])


def fit_confidence(items: list[Item], weights: list[float], ranking: Ranking, l2: float):
    """Logistic regression: does the first quote answer? (0 for unanswerable questions)."""
    rows, labels, w = [], [], []
    for it, weight in zip(items, weights, strict=True):
        top = top_of(it, ranking)
        if top is None:
            continue
        rows.append(inputs_of(it, top, ranking))
        labels.append(bool(it.answerable and it.gold[top.first]))
        w.append(weight)
    X = np.array(rows)
    y = np.array(labels, dtype=float)
    sw = np.array(w) / np.mean(w)
    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-6
    Z = np.hstack([(X - mean) / scale, np.ones((len(X), 1))])
    beta = np.zeros(Z.shape[1])
    for _ in range(30):  # Newton's method
        p = 1 / (1 + np.exp(-Z @ beta))
        grad = Z.T @ ((p - y) * sw) + l2 * np.r_[beta[:-1], 0]
        hess = (Z * (p * (1 - p) * sw)[:, None]).T @ Z + l2 * np.diag(
            np.r_[np.ones(len(beta) - 1), 0]
        )
        beta -= np.linalg.solve(hess, grad)
    weights_raw = beta[:-1] / scale
    bias = beta[-1] - (beta[:-1] * mean / scale).sum()
    return weights_raw, bias


def confidence(item: Item, ranking: Ranking, conf) -> float:
    """The confidence the shipped code computes (AnswerModel.confidence) for this item."""
    top = top_of(item, ranking)
    if top is None:
        return 0.0
    z = inputs_of(item, top, ranking) @ conf[0] + conf[1]
    return float(1 / (1 + np.exp(-np.clip(z, -50, 50))))


def add_reader_logits(loaded: dict[str, LoadedSet], path: Path) -> None:
    """The reader's logits for each question's READ_AHEAD candidates, kept in a file beside
    the weights' cache (keyed by their SHA-256) between runs."""
    import hashlib
    import pickle

    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    cache = ROOT.parent / "cache" / f"reader-logits-{digest}.pkl"
    known: dict = pickle.loads(cache.read_bytes()) if cache.exists() else {}
    reader = load_reader(path)
    started = time.perf_counter()
    for name, one in loaded.items():
        for number, it in enumerate(one.items):
            reading = it.extra.get("reading")
            if not reading:
                continue
            key = (name, number)
            if key not in known:
                keys = list(reading)
                asked = analyse_question(it.extra["question_text"]).text  # as the bot reads it
                logits = reader.scores(asked, [reading[k] for k in keys])
                known[key] = dict(zip(keys, logits.tolist(), strict=True))
            it.extra["logits"] = known[key]
        print(f"read {name} ({time.perf_counter() - started:.0f} s)", flush=True)
        cache.write_bytes(pickle.dumps(known))


# ---------------------------------------------------------------- measuring


def measure(loaded: LoadedSet, ranking: Ranking, conf, threshold: float, curve) -> dict:
    items = loaded.items
    rows = calibrated(outcomes(items, ranking, conf), curve)
    answerable = [it for it in items if it.answerable]
    hit1 = aps = bm_hit = bm_ap = 0.0
    answered = correct = declined = 0
    for it, (c, _, right) in zip(items, rows, strict=True):
        found = c >= threshold
        answered += found
        if not it.answerable:
            declined += not found
            continue
        hit1 += right
        correct += right and found
        bm_hit += it.bm25_first_right
        if loaded.with_map:
            top = top_of(it, ranking)
            order = top.order if top is not None else []
            aps += average_precision([it.texts[i] for i in order[:50]], it.lines)
            bm_ap += it.bm25_ap
    n = max(len(answerable), 1)
    unanswerable = len(items) - len(answerable)
    precision = correct / answered if answered else 0.0
    recall = correct / n
    return {
        "questions": len(items),
        "hit1": hit1 / n,
        "bm25_hit1": bm_hit / n,
        "map": aps / n if loaded.with_map else None,
        "bm25_map": bm_ap / n if loaded.with_map else None,
        "precision": precision,
        "recall": recall,
        "declined": declined / unanswerable if unanswerable else None,
        "auc": _auc([c for c, _, _ in rows], [right for _, _, right in rows]),
    }


def _auc(scores: list[float], right: list[bool]) -> float | None:
    """How well the confidence separates right first quotes from the rest (ROC AUC: the
    chance that a right one scores above a wrong one); None if either kind is missing."""
    s, y = np.array(scores), np.array(right, dtype=bool)
    if y.all() or not y.any():
        return None
    ranks = np.empty(len(s))
    ranks[np.argsort(s, kind="stable")] = np.arange(1, len(s) + 1)
    positives = int(y.sum())
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * (~y).sum()))


STEPS = 1000  # Adam steps of the ranking fit
NEWS_WEIGHT = 3.0  # the bot answers questions about news: news sets weigh this much more


def question_weights(items_by_set: dict[str, list[Item]]) -> dict[str, list[float]]:
    """Each set weighs as much as about 150 questions, so SQuAD's thousands do not drown the
    news sets; sets of questions about news articles weigh NEWS_WEIGHT times more."""
    return {
        name: [min(1.0, 150 / len(items)) * (NEWS_WEIGHT if name in NEWS else 1.0)] * len(items)
        for name, items in items_by_set.items()
    }


def fit(
    loaded: dict[str, LoadedSet],
    names: list[str],
    l2: float,
    reading: bool,
    weights_tried: tuple[float, ...] = (),
):
    items_by_set = {n: loaded[n].items for n in names}
    weights = question_weights(items_by_set)
    items = [it for n in names for it in items_by_set[n]]
    w = [x for n in names for x in weights[n]]
    ranking = Ranking(fit_ranker(items, w, l2))
    if reading:
        ranking = Ranking(
            ranking.theta, choose_reading(items, w, ranking.theta, weights_tried or READING_WEIGHTS)
        )
    conf = fit_confidence(items, w, ranking, 1.0)
    return ranking, conf


READING_CANDIDATES = (2, 3, 4, 6, 8)
READING_WEIGHTS = (0.0, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


def choose_reading(
    items: list[Item], weights: list[float], theta: np.ndarray, weights_tried: tuple[float, ...]
) -> ReadingStage:
    """How many candidates the reader reads and how much its logit moves them: the pair with
    the most right first quotes (weighted as in the fit); fewer candidates on a tie (faster)."""
    best, chosen = -1.0, ReadingStage(READING_CANDIDATES[0], 0.0)
    for count in READING_CANDIDATES:
        for weight in weights_tried:
            stage = ReadingStage(count, weight)
            ranking = Ranking(theta, stage)
            right = 0.0
            for it, w in zip(items, weights, strict=True):
                if it.answerable and len(it.features):
                    right += w * bool(it.gold[top_of(it, ranking).first])
            if right > best + 1e-9:
                best, chosen = right, stage
    return chosen


Outcomes = list[tuple[float, bool, bool]]  # per question: (confidence, answerable, right)


def outcomes(items: list[Item], ranking: Ranking, conf) -> Outcomes:
    rows = []
    for it in items:
        top = top_of(it, ranking)
        right = bool(it.answerable and top is not None and it.gold[top.first])
        rows.append((confidence(it, ranking, conf), it.answerable, right))
    return rows


def calibration(per_set: list[Outcomes]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Platt scaling of the confidence on held-out questions, each set weighing the same: the
    increasing curve sigma(a * logit(c) + b) from a confidence to the share of such first
    quotes that were right, as knots (x, y) to interpolate between. (Isotonic regression was
    tried first: its steps gave right answers and near misses the very same confidence, 0.549,
    on a new user's trial, so the number said nothing within a step.)"""
    c = np.clip([c for rows in per_set for c, _, _ in rows], 1e-6, 1 - 1e-6)
    y = np.array([float(r) for rows in per_set for _, _, r in rows])
    w = np.array([1.0 / len(rows) for rows in per_set for _ in rows])
    w = w / w.mean()
    z = np.stack([np.log(c / (1 - c)), np.ones(len(c))], axis=1)
    beta = np.array([1.0, 0.0])
    for _ in range(50):  # Newton's method
        p = 1 / (1 + np.exp(-z @ beta))
        gradient = z.T @ ((p - y) * w)
        hessian = (z * (p * (1 - p) * w)[:, None]).T @ z + 1e-6 * np.eye(2)
        beta -= np.linalg.solve(hessian, gradient)
    xs = np.concatenate([[0.0], np.linspace(0.005, 0.995, 199), [1.0]])
    inner = np.clip(xs, 1e-6, 1 - 1e-6)
    ys = 1 / (1 + np.exp(-(beta[0] * np.log(inner / (1 - inner)) + beta[1])))
    return tuple(xs.tolist()), tuple(ys.tolist())


def calibrated(rows: Outcomes, curve) -> Outcomes:
    xs, ys = curve
    return [(float(np.interp(c, xs, ys)), a, r) for c, a, r in rows]


def choose_threshold(per_set: list[Outcomes], precision: float) -> float:
    """The lowest confidence from which answers are right `precision` of the time, pooled
    over the sets with each set weighing the same (an answer to an unanswerable question is
    wrong). High precision first: below it the bot offers the closest passage instead."""
    pairs = sorted(
        ((c, right, 1.0 / len(rows)) for rows in per_set for c, _, right in rows),
        reverse=True,
    )
    chosen, good, total = 1.0, 0.0, 0.0
    for c, right, w in pairs:
        good += right * w
        total += w
        if good / total >= precision:
            chosen = c
    return chosen


def choose_closest(per_set: list[Outcomes], answer_threshold: float, share: float) -> float:
    """The confidence from which the first quote, below the answer threshold, is worth showing
    as the closest passage: the point that maximises the gain over the sets (each weighing the
    same) when a right passage gains 1 and a wrong one costs share / (1 - share), so that at
    the margin it is right `share` of the time. Under it nothing is offered."""
    pairs = [
        (c, right, 1.0 / len(rows))
        for rows in per_set
        for c, _, right in rows
        if c < answer_threshold
    ]
    pairs.sort(reverse=True)
    cost = share / (1 - share)
    chosen, best, gain = answer_threshold, 0.0, 0.0
    for c, right, w in pairs:
        gain += w if right else -cost * w
        if gain > best:
            chosen, best = c, gain
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--l2", type=float, default=0.001)
    parser.add_argument(
        "--precision", type=float, default=0.75, help="answers must be right this often"
    )
    parser.add_argument("--closest-share", type=float, default=0.3)
    parser.add_argument("--write", action="store_true")
    parser.add_argument(
        "--lexical", action="store_true", help="fit the words-only model the bot falls back on"
    )
    parser.add_argument(
        "--vectors",
        type=Path,
        default=ROOT.parent / "cache" / "vectors",
        help="where sentence vectors are kept between runs",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep extracted features in this file between runs (delete "
        "it when the features change)",
    )
    parser.add_argument("--threads", type=int, default=2, help="the encoder's threads")
    parser.add_argument(
        "--reader",
        type=Path,
        help="measure an answer reader's stage too: the weights bench/train_reader.py wrote"
        " (not shipped; --write would then write a model the bot cannot read)",
    )
    parser.add_argument(
        "--reader-confidence-only",
        action="store_true",
        help="the reader's logits inform the confidence but do not move the ranking",
    )
    args = parser.parse_args()
    configure_encoder(threads=args.threads)
    loaded: dict[str, LoadedSet] = {}
    if args.cache and args.cache.exists():
        import pickle

        loaded = pickle.loads(args.cache.read_bytes())  # our own file, from an earlier run
    for spec in SETS if not loaded else []:
        if not spec.path.exists() or not spec.seeds.is_dir():
            print(f"(skipping {spec.name}: {spec.path} or {spec.seeds} is not here)")
            continue
        one, crossed = load_set(spec, args.vectors)
        loaded[spec.name] = one
        if spec.role == "train" and crossed.items:
            loaded[crossed.spec.name] = crossed
        print(f"loaded {spec.name}: {len(one.items)} questions in {one.seconds:.1f} s", flush=True)
    if args.cache and not args.cache.exists():
        import pickle

        args.cache.write_bytes(pickle.dumps(loaded))
    names = FEATURES if args.lexical else ALL_FEATURES
    for one in loaded.values():
        for it in one.items:
            it.features = it.features[:, : len(names)]
    train = [n for n in loaded if loaded[n].spec.role == "train"]
    print(f"cross-article negatives: {sum(len(loaded[n].items) for n in train if '~' in n)}")
    reading = args.reader is not None
    if reading:
        add_reader_logits(loaded, args.reader)
    tried = (0.0,) if args.reader_confidence_only else READING_WEIGHTS
    ranking, conf = fit(loaded, train, args.l2, reading, tried)
    # Every set's confidences from a model that never saw it: the train sets' from the fit
    # without them, the dev and test sets' from the fit on all training sets.
    fits = {"all": (ranking, conf)}
    held_out: dict[str, Outcomes] = {}
    for name, one in loaded.items():
        if name.endswith("~cross"):
            continue
        if one.spec.role == "train":
            fits[name] = fit(
                loaded, [n for n in train if n.split("~")[0] != name], args.l2, reading, tried
            )
        held_out[name] = outcomes(one.items, *fits.get(name, fits["all"]))
    # Thresholds are chosen on the train sets' held-out confidences and the dev sets; the
    # test sets never take part.
    # The bot answers questions about news: the calibration and the thresholds are chosen on
    # the news sets' held-out confidences (SQuAD's adversarial near misses and WikiQA's
    # questions without a right sentence call for other thresholds than members' questions).
    choosing_names = [n for n in held_out if loaded[n].spec.role != "test" and n in NEWS]
    choosing = [held_out[n] for n in choosing_names]
    curve = calibration(choosing)
    choosing = [calibrated(rows, curve) for rows in choosing]
    threshold = choose_threshold(choosing, args.precision)
    closest = choose_closest(choosing, threshold, args.closest_share)
    print(f"\nleave one set out (l2 {args.l2}); each row from a model that never saw its set")
    print(
        f"{'set':<13}{'role':<6}{'n':>5}  {'hit@1':>6} {'bm25':>6}  {'MAP':>6} {'bm25':>6}  "
        f"{'P':>5} {'R':>5} {'decl':>5} {'AUC':>5}"
    )
    for name in held_out:
        one = loaded[name]
        r = measure(one, *fits.get(name, fits["all"]), threshold, curve)
        print(
            f"{name:<13}{one.spec.role:<6}{r['questions']:>5}  {r['hit1']:>6.3f} "
            f"{r['bm25_hit1']:>6.3f}  {_f(r['map'])} {_f(r['bm25_map'])}  "
            f"{r['precision']:>5.2f} {r['recall']:>5.2f} {_f(r['declined'], 5)} "
            f"{_f(r['auc'], 5)}"
        )
    print("\nranking weights (fitted on all training sets):")
    for name, value in zip(names, ranking.theta.tolist(), strict=True):
        print(f"  {name:<12}{value:+.3f}")
    if ranking.reading:
        print(f"reader: reads {ranking.reading.candidates}, weight {ranking.reading.weight}")
    print("confidence weights:")
    extras = (*CONFIDENCE_EXTRAS, *(READER_EXTRAS if ranking.reading else ()))
    for name, value in zip((*names, *extras), conf[0].tolist(), strict=True):
        print(f"  {name:<12}{value:+.3f}")
    print(
        f"  bias {conf[1]:+.3f}; answer from {threshold:.3f}, closest passage from "
        f"{closest:.3f}, calibrated (chosen on the news sets' held-out confidences: "
        f"{', '.join(choosing_names)})"
    )
    if args.write:
        model = AnswerModel(
            tuple(names),
            ranking.theta,
            conf[0],
            float(conf[1]),
            threshold,
            closest,
            *curve,
            reading=ranking.reading,
        )
        data = model.to_json(
            fitted_on=train,
            thresholds_chosen_on=choosing_names,
            command="python bench/train_answers.py --write"
            + (" --lexical" * args.lexical)
            + (" --reader" * reading),
        )
        path = LEXICAL_MODEL_FILE if args.lexical else MODEL_FILE
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path}")


def _f(x, width=6):
    return f"{x:>{width}.3f}" if x is not None else " " * (width - 1) + "-"


if __name__ == "__main__":
    random.seed(0)
    main()
