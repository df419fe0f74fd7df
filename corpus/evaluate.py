"""Measuring answer quality on a question file, the way a user meets the answers.

The question sets, in three formats, each loaded into an index and a list of cases:
- JSON lines `{"id", "question", "answers": [gold substrings], "doc"?: id}` over a seeds
  directory; empty `answers` means the articles do not answer and the right response is to
  decline.
- WikiQA's TSV (QuestionID, Question, DocumentID, SentenceID, Sentence, Label), also TREC-QA in
  that form: each document becomes a seed with one candidate sentence per line, and each
  question is asked of its own document, as in the standard protocol.
- SQuAD 2.0 JSON: each article becomes a seed (paragraphs separated by blank lines), each
  question is asked of its article, and a sentence is right when it holds the gold answer's
  start; questions without answers should be declined.

Metrics: hit@1 / hit@k and MRR on answerable questions, MAP (WikiQA form), the share of
unanswerable questions declined, and precision / recall / F1 of answering: an answer counts as
correct when `found` is true and the first quote is right. The training script
(bench/train_answers.py) reads the same sets through `load_question_set`.
"""

from __future__ import annotations

import csv
import json
import statistics
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from .answering.answer import answer_question
from .errors import CorpusError
from .indexing.index import CorpusIndex
from .indexing.store import open_index
from .meaning import meaning_of
from .models import Answer

if TYPE_CHECKING:
    from .meaning.sentences import Meaning

__all__ = [
    "Case",
    "EvalReport",
    "QuestionSet",
    "average_precision",
    "evaluate_file",
    "load_question_set",
    "normalise",
]


class EvalReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    questions: int
    answerable: int
    unanswerable: int
    hit_at_1: float  # the first quote is right (whether or not the bot claims an answer)
    hit_at_k: float
    k: int
    mrr: float
    map: float | None  # WikiQA only: mean average precision over the document's sentences
    declined: float | None  # share of unanswerable questions declined (not answered)
    # Of those declined, the share offered a closest passage (marked as not an answer)
    # rather than told that the articles do not answer.
    declined_with_closest: float | None = None
    precision: float  # of `found`: answers that are right / answers given
    recall: float  # right answers / answerable questions
    f1: float
    median_ms: float
    misses: tuple[str, ...] = ()  # one line per wrong or wrongly declined question
    # Asked of every article (no `doc`) with the article it is about given: the share of those
    # answerable questions whose first quote comes from that article.
    article_first: float | None = None


# Whether a sentence (its text and its character span in the document) answers the case.
GoldTest = Callable[[str, int, int], bool]


@dataclass
class Case:
    label: str
    question: str
    doc: str | None
    is_gold: GoldTest
    answerable: bool
    # WikiQA: the document's candidate lines (normalised) and whether each is correct.
    lines: tuple[tuple[str, bool], ...] = ()
    # The article the question is about, when it is asked of all of them (`doc` is None).
    source_doc: str | None = None


@dataclass
class QuestionSet:
    index: CorpusIndex
    cases: list[Case]
    with_map: bool  # WikiQA-form: every question has a document of candidate lines
    # The encoder's vectors, every candidate encoded when asked: the answers a collection
    # encoded ahead gives (None: no encoder, words only).
    meaning: Meaning | None = None


def evaluate_file(
    path: Path, *, seeds_dir: Path, top: int = 3, vectors_dir: Path | None = None
) -> EvalReport:
    """Evaluate `path`: .jsonl against `seeds_dir`; WikiQA .tsv or SQuAD .json with their own
    documents. Sentence vectors are kept in `vectors_dir` (the cache directory) between runs."""
    with load_question_set(path, seeds_dir=seeds_dir, vectors_dir=vectors_dir) as questions:
        return _evaluate(questions, top=max(top, 1))


@contextmanager
def load_question_set(
    path: Path, *, seeds_dir: Path, vectors_dir: Path | None = None, encoder: bool = True
) -> Iterator[QuestionSet]:
    """The question set in `path` with the index its questions are asked of, and (with
    `encoder`, when it is installed) that index's meaning stage, its vectors kept in
    `vectors_dir`."""
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".tab", ".json"):
        with tempfile.TemporaryDirectory(prefix="quotebot-eval-") as seeds:
            loader = _wikiqa_cases if suffix != ".json" else _squad_cases
            cases = loader(path, Path(seeds))
            index = open_index(Path(seeds), cache_dir=None).index
            meaning = _meaning(index, vectors_dir) if encoder else None
            yield QuestionSet(index, cases, suffix != ".json", meaning)
        return
    cases = _jsonl_cases(path)
    index = open_index(seeds_dir, cache_dir=None).index
    yield QuestionSet(index, cases, False, _meaning(index, vectors_dir) if encoder else None)


def _meaning(index: CorpusIndex, vectors_dir: Path | None) -> Meaning | None:
    meaning = meaning_of(index, vectors_dir, ahead=False, question_time_limit=None, prepare=False)
    if meaning is not None:
        meaning.build(sentences=False)  # the articles' vectors, to find the article asked about
    return meaning


def _evaluate(questions: QuestionSet, *, top: int) -> EvalReport:
    cases = questions.cases
    if not cases:
        raise CorpusError("The question file has no questions.")
    ranks: list[int | None] = []  # 1-based rank of the first right quote, per answerable case
    average_precisions: list[float] = []
    declined = answered = correct = closest = 0
    misses: list[str] = []
    timings: list[float] = []
    own_article: list[bool] = []  # first quote from the article asked about, per case asked so
    depth = max(top, 50) if questions.with_map else top
    for case in cases:
        started = time.perf_counter()
        answer = answer_question(
            questions.index, case.question, top=depth, doc_id=case.doc, meaning=questions.meaning
        )
        timings.append(time.perf_counter() - started)
        right = [case.is_gold(q.text, q.citation.start, q.citation.end) for q in answer.quotes]
        answered += answer.found
        if not case.answerable:
            declined += not answer.found
            closest += answer.outcome == "closest"
            if answer.found:
                misses.append(f"answered, should decline: {case.label} -> {_first(answer)}")
            continue
        rank = right.index(True) + 1 if True in right else None
        ranks.append(rank)
        if case.doc is None and case.source_doc:
            first_doc = answer.quotes[0].citation.doc_id if answer.quotes else None
            own_article.append(first_doc == case.source_doc)
        if answer.found and rank == 1:
            correct += 1
        else:
            kind = {"answer": "wrong", "closest": "only the closest passage", "none": "declined"}
            misses.append(f"{kind[answer.outcome]}: {case.label} -> {_first(answer)}")
        if questions.with_map:
            quoted = [normalise(q.text) for q in answer.quotes]
            average_precisions.append(average_precision(quoted, case.lines))
    answerable = len(ranks)
    precision = correct / answered if answered else 0.0
    recall = correct / answerable if answerable else 0.0
    unanswerable = len(cases) - answerable
    return EvalReport(
        questions=len(cases),
        answerable=answerable,
        unanswerable=unanswerable,
        hit_at_1=_share(sum(r == 1 for r in ranks), answerable),
        hit_at_k=_share(sum(r is not None and r <= top for r in ranks), answerable),
        k=top,
        mrr=_share(sum(1 / r for r in ranks if r), answerable),
        map=statistics.fmean(average_precisions) if average_precisions else None,
        declined=_share(declined, unanswerable) if unanswerable else None,
        declined_with_closest=_share(closest, declined) if declined else None,
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        median_ms=round(statistics.median(timings) * 1000, 3),
        misses=tuple(misses),
        article_first=_share(sum(own_article), len(own_article)) if own_article else None,
    )


def average_precision(quoted: list[str], lines: tuple[tuple[str, bool], ...]) -> float:
    """AP over the document's lines as the shared WikiQA scorer ranks them: the lines of the
    quotes (normalised texts, best first) in order, then the other wrong lines, then the right
    lines never quoted."""
    ranked: list[int] = []
    for text in quoted:
        line = next((i for i, (t, _) in enumerate(lines) if text in t and i not in ranked), None)
        if line is not None:
            ranked.append(line)
    ranked += [i for i, (_, gold) in enumerate(lines) if i not in ranked and not gold]
    ranked += [i for i in range(len(lines)) if i not in ranked]
    gold_count = sum(gold for _, gold in lines)
    hits, total = 0, 0.0
    for rank, line in enumerate(ranked, start=1):
        if lines[line][1]:
            hits += 1
            total += hits / rank
    return total / gold_count if gold_count else 0.0


def _share(count: float, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def _first(answer: Answer) -> str:
    return repr(answer.quotes[0].text[:90]) if answer.quotes else "(no candidate)"


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.split()).casefold()


def _jsonl_cases(path: Path) -> list[Case]:
    cases = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"Cannot read the question file {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question, gold = row["question"], [normalise(g) for g in row.get("answers", [])]
            if not isinstance(question, str):
                raise TypeError(question)
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise CorpusError(
                f"{path}, line {number}: expected "
                '{"question": "...", "answers": ["gold substring", ...]}'
            ) from exc
        cases.append(
            Case(
                label=f"{row.get('id', number)} {question!r}",
                question=question,
                doc=row.get("doc"),
                is_gold=lambda text, _s, _e, gold=gold: any(g in normalise(text) for g in gold),
                answerable=bool(gold),
                source_doc=row.get("source_doc"),
            )
        )
    return cases


def _wikiqa_cases(path: Path, seeds: Path) -> list[Case]:
    questions: dict[str, dict] = {}
    documents: dict[str, dict[str, str]] = {}
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                q = questions.setdefault(
                    row["QuestionID"],
                    {"q": row["Question"], "doc": row["DocumentID"], "gold": set()},
                )
                documents.setdefault(row["DocumentID"], {})[row["SentenceID"]] = row["Sentence"]
                if int(row.get("Label") or 0):
                    q["gold"].add(row["SentenceID"])
    except (OSError, KeyError, ValueError, TypeError, csv.Error) as exc:
        raise CorpusError(f"Cannot read {path} as WikiQA TSV: {exc}") from exc
    # Seed names are made here, never taken from the file: a DocumentID may hold "../".
    seed_of = {doc: f"d{number}" for number, doc in enumerate(documents)}
    for doc, sentences in documents.items():
        text = "\n".join(s.strip() for s in sentences.values()) + "\n"
        (seeds / f"{seed_of[doc]}.txt").write_text(text, encoding="utf-8")
    cases = []
    for qid, q in questions.items():
        lines = tuple(
            (normalise(text), sid in q["gold"]) for sid, text in documents[q["doc"]].items()
        )
        gold_lines = [line for line, gold in lines if gold]
        cases.append(
            Case(
                label=f"{qid} {q['q']!r}",
                question=q["q"],
                doc=seed_of[q["doc"]],
                # A quote is one sentence of a candidate line: right when inside a gold line.
                is_gold=lambda text, _s, _e, gold=gold_lines: any(
                    normalise(text) in g for g in gold
                ),
                answerable=bool(gold_lines),
                lines=lines,
            )
        )
    return cases


def _squad_cases(path: Path, seeds: Path) -> list[Case]:
    """SQuAD 2.0 articles as seeds, laid out as ../shared/eval/score_squad.py does."""
    try:
        articles = json.loads(path.read_text(encoding="utf-8-sig"))["data"]
        cases = []
        for number, article in enumerate(articles):
            doc = f"a{number}"
            parts, offset = [], 0
            for paragraph in article["paragraphs"]:
                context = paragraph["context"].strip()
                lead = len(paragraph["context"]) - len(paragraph["context"].lstrip())
                for qa in paragraph["qas"]:
                    starts = sorted(
                        {offset + a["answer_start"] - lead for a in qa.get("answers", [])}
                    )
                    cases.append(
                        Case(
                            label=f"{qa['id']} {qa['question']!r}",
                            question=qa["question"],
                            doc=doc,
                            is_gold=lambda _t, s, e, starts=starts: any(s <= x < e for x in starts),
                            answerable=bool(starts),
                        )
                    )
                parts.append(context)
                offset += len(context) + 2
            (seeds / f"{doc}.txt").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorpusError(f"Cannot read {path} as SQuAD 2.0 JSON: {exc}") from exc
    return cases
