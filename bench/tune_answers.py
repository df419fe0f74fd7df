"""Fit the answer scorer's feature weights on WikiQA, with an honest cross-validated number.

    python bench/tune_answers.py ../shared/eval/wikiqa/WikiQA-dev.tsv [--folds 5]

WikiQA (Microsoft Research, research use only) is read from where it lies; nothing of it is
written into the project. Each document becomes a seed with one candidate sentence per line, as
in ../shared/eval/score_wikiqa.py, and MAP is computed the same way (returned sentences first,
then the others, gold last). The script prints, for the current weights and for weights fitted
by coordinate ascent: MAP on all questions, and the mean MAP over held-out folds, where each
fold is scored with weights fitted on the other folds only (every fit starts from the same
neutral weights, never from weights fitted on all questions), averaged over ten shuffles of
the folds. Paste the fitted weights into
`AnswerRules` only if the held-out number improves.
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import json
import random
import statistics
import tempfile
from pathlib import Path

from corpus import Corpus
from corpus.answer import DEFAULT_RULES, AnswerRules, score_sentences
from corpus.features import FEATURES
from corpus.question import analyse_question

GRID = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0]
TUNED = [name for name in FEATURES if name != "match"]  # match_weight fixes the scale
# Every fit starts here, not from the weights in use: those were fitted on all the questions,
# and a fold's fit that started from them would start from what the fold's own answers taught.
NEUTRAL = {name: 1.0 if name == "match" else 0.0 for name in FEATURES}


@dataclasses.dataclass
class Item:
    features: list[dict[str, float]]  # per candidate
    labels: list[str]  # candidate -> WikiQA sentence id
    order: list[int]  # candidate positions, for ties in document order
    sentence_ids: list[str]  # all of the document's sentence ids, in order
    gold: set[str]


def load(tsv: Path, rules: AnswerRules) -> list[Item]:
    questions: dict[str, dict] = collections.OrderedDict()
    documents: dict[str, dict[str, str]] = collections.OrderedDict()
    with tsv.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            q = questions.setdefault(
                row["QuestionID"], {"q": row["Question"], "doc": row["DocumentID"], "gold": set()}
            )
            if int(row.get("Label") or 0):
                q["gold"].add(row["SentenceID"])
            documents.setdefault(row["DocumentID"], collections.OrderedDict())[
                row["SentenceID"]
            ] = row["Sentence"]
    with tempfile.TemporaryDirectory() as seeds:
        for doc, sentences in documents.items():
            lines = "\n".join(s.strip() for s in sentences.values())
            (Path(seeds) / f"{doc}.txt").write_text(lines + "\n", encoding="utf-8")
        corpus = Corpus.open(Path(seeds))
    index = corpus.index
    items = []
    for q in questions.values():
        if not q["gold"]:
            continue
        ids = [sid for sid, text in documents[q["doc"]].items() if text.strip()]
        found = score_sentences(index, analyse_question(q["q"]), doc_id=q["doc"], rules=rules)
        items.append(
            Item(
                features=[c.features for c in found],
                labels=[ids[index.sentences[c.position].paragraph - 1] for c in found],
                order=[c.position for c in found],
                sentence_ids=list(documents[q["doc"]]),
                gold=q["gold"],
            )
        )
    return items


def load_article_questions(path: Path, seeds: Path, rules: AnswerRules) -> list[Item]:
    """Our own article questions as ranking items: gold = sentences holding a gold substring."""
    index = Corpus.open(seeds).index
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else None
        if not row or not row["answers"]:
            continue
        found = score_sentences(index, analyse_question(row["question"]), doc_id=None, rules=rules)
        ids = [str(p) for p in range(len(index.sentences))]
        gold = {
            str(p)
            for p, sentence in enumerate(index.sentences)
            if any(g in sentence.text for g in row["answers"])
        }
        items.append(
            Item(
                features=[c.features for c in found],
                labels=[str(c.position) for c in found],
                order=[c.position for c in found],
                sentence_ids=ids,
                gold=gold,
            )
        )
    return items


def average_precision(item: Item, weights: dict[str, float], top: int = 50) -> float:
    scores = [sum(weights[n] * f[n] for n in f) for f in item.features]
    ranked_candidates = sorted(range(len(scores)), key=lambda i: (-scores[i], item.order[i]))
    ranked: list[str] = []
    for i in ranked_candidates[:top]:
        if item.labels[i] not in ranked:
            ranked.append(item.labels[i])
    ranked += [s for s in item.sentence_ids if s not in ranked and s not in item.gold]
    ranked += [s for s in item.sentence_ids if s not in ranked]
    hits, total = 0, 0.0
    for rank, sid in enumerate(ranked, start=1):
        if sid in item.gold:
            hits += 1
            total += hits / rank
    return total / len(item.gold)


def mean_ap(items: list[Item], weights: dict[str, float]) -> float:
    return sum(average_precision(item, weights) for item in items) / len(items)


def fit(items: list[Item], start: dict[str, float], rounds: int = 3) -> dict[str, float]:
    best = dict(start)
    best_map = mean_ap(items, best)
    for _ in range(rounds):
        improved = False
        for name in TUNED:
            for value in GRID:
                trial = {**best, name: value}
                score = mean_ap(items, trial)
                if score > best_map + 1e-9:
                    best, best_map, improved = trial, score, True
        if not improved:
            break
    return best


def cross_validated(
    items: list[Item], news: list[Item], folds: int, shuffle: random.Random
) -> float:
    """MAP over all questions, each scored with weights fitted on the other folds only."""
    order = list(range(len(items)))
    shuffle.shuffle(order)
    fold_of = {question: rank % folds for rank, question in enumerate(order)}
    total = 0.0
    for fold in range(folds):
        train = [it for i, it in enumerate(items) if fold_of[i] != fold] + news
        test = [it for i, it in enumerate(items) if fold_of[i] == fold]
        total += mean_ap(test, fit(train, NEUTRAL)) * len(test)
    return total / len(items)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tsv", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10, help="shuffles of the folds")
    parser.add_argument(
        "--news",
        type=Path,
        help="also fit on these article questions (JSONL with gold substrings), answered from "
        "--seeds, so weights that suit Wikipedia do not hurt news reports",
    )
    parser.add_argument("--seeds", type=Path, default=Path("seeds"))
    parser.add_argument("--b", type=float, default=DEFAULT_RULES.b)
    parser.add_argument("--k1", type=float, default=DEFAULT_RULES.k1)
    args = parser.parse_args()
    rules = dataclasses.replace(DEFAULT_RULES, b=args.b, k1=args.k1)
    items = load(args.tsv, rules)
    news = load_article_questions(args.news, args.seeds, rules) if args.news else []
    current = DEFAULT_RULES.weights()
    print(f"{len(items)} questions with an answer")
    print(f"current weights {current}: MAP {mean_ap(items, current):.4f}")
    # One split of 126 questions is a coin toss (its number moves by a point or two with the
    # shuffle); the mean over several shuffles is the number to trust.
    runs = [
        cross_validated(items, news, args.folds, random.Random(seed))
        for seed in range(args.repeats)
    ]
    spread = statistics.stdev(runs) if len(runs) > 1 else 0.0
    print(
        f"cross-validated MAP (weights never saw the fold), {args.repeats} shuffles of "
        f"{args.folds} folds: {statistics.mean(runs):.4f} ± {spread:.4f} "
        f"(from {min(runs):.4f} to {max(runs):.4f})"
    )
    fitted = fit(items + news, NEUTRAL)
    print(f"fitted on all: {fitted}: MAP {mean_ap(items, fitted):.4f}")
    if news:
        print(f"  and on the article questions: MAP {mean_ap(news, fitted):.4f}")


if __name__ == "__main__":
    main()
