"""Measuring answer quality on a question file, the way a user meets the answers.

Two formats:
- JSON lines `{"id", "question", "answers": [gold substrings], "doc"?: id}`; empty `answers`
  means the articles do not answer and the right response is to decline.
- WikiQA's TSV (QuestionID, Question, DocumentID, SentenceID, Sentence, Label): each document
  becomes a seed with one candidate sentence per line, and each question is asked of its own
  document, as in the standard protocol.

Metrics: hit@1 / hit@k and MRR on answerable questions (a quote holds a gold substring, or is
a gold sentence), the share of unanswerable questions declined, and precision / recall / F1 of
answering: an answer counts as correct when `found` is true and the first quote is right.
"""

from __future__ import annotations

import csv
import json
import statistics
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from .answer import answer_question
from .errors import CorpusError
from .index import CorpusIndex
from .models import Answer
from .store import open_index

__all__ = ["EvalReport", "evaluate_file"]


class EvalReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    questions: int
    answerable: int
    unanswerable: int
    hit_at_1: float
    hit_at_k: float
    k: int
    mrr: float
    map: float | None  # WikiQA only: mean average precision over the document's sentences
    declined: float | None  # share of unanswerable questions declined
    precision: float  # of `found`: answers that are right / answers given
    recall: float  # right answers / answerable questions
    f1: float
    median_ms: float
    misses: tuple[str, ...] = ()  # one line per wrong or wrongly declined question


@dataclass
class _Case:
    label: str
    question: str
    doc: str | None
    is_gold: Callable[[str], bool]  # does this quote answer it?
    answerable: bool
    # WikiQA: the document's candidate lines (normalised) and whether each is correct.
    lines: tuple[tuple[str, bool], ...] = ()


def evaluate_file(path: Path, *, seeds_dir: Path, top: int = 3) -> EvalReport:
    """Evaluate `path` (.jsonl against `seeds_dir`, or WikiQA .tsv with its own documents)."""
    if path.suffix.lower() in (".tsv", ".tab"):
        with tempfile.TemporaryDirectory(prefix="quotebot-eval-") as seeds:
            cases = _wikiqa_cases(path, Path(seeds))
            index = open_index(Path(seeds), cache_dir=None).index
            return _evaluate(index, cases, top=max(top, 1), with_map=True)
    cases = _jsonl_cases(path)
    index = open_index(seeds_dir, cache_dir=None).index
    return _evaluate(index, cases, top=max(top, 1), with_map=False)


def _evaluate(index: CorpusIndex, cases: list[_Case], *, top: int, with_map: bool) -> EvalReport:
    if not cases:
        raise CorpusError("The question file has no questions.")
    ranks: list[int | None] = []  # 1-based rank of the first right quote, per answerable case
    average_precisions: list[float] = []
    declined = answered = correct = 0
    misses: list[str] = []
    timings: list[float] = []
    depth = max(top, 50) if with_map else top
    for case in cases:
        started = time.perf_counter()
        answer = answer_question(index, case.question, top=depth, doc_id=case.doc)
        timings.append(time.perf_counter() - started)
        right = [case.is_gold(q.text) for q in answer.quotes]
        answered += answer.found
        if not case.answerable:
            declined += not answer.found
            if answer.found:
                misses.append(f"answered, should decline: {case.label} -> {_first(answer)}")
            continue
        rank = right.index(True) + 1 if True in right else None
        ranks.append(rank)
        if answer.found and rank == 1:
            correct += 1
        else:
            misses.append(
                f"{'wrong' if answer.found else 'declined'}: {case.label} -> {_first(answer)}"
            )
        if with_map:
            average_precisions.append(_average_precision(answer, case.lines))
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
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        median_ms=round(statistics.median(timings) * 1000, 3),
        misses=tuple(misses),
    )


def _average_precision(answer: Answer, lines: tuple[tuple[str, bool], ...]) -> float:
    """AP over the document's lines as the shared WikiQA scorer ranks them: the lines of the
    quotes in order, then the other wrong lines, then the right lines never quoted."""
    ranked: list[int] = []
    for quote in answer.quotes:
        text = _normalise(quote.text)
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


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.split()).casefold()


def _jsonl_cases(path: Path) -> list[_Case]:
    cases = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"Cannot read the question file {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question, gold = row["question"], [_normalise(g) for g in row.get("answers", [])]
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise CorpusError(
                f"{path}, line {number}: expected "
                '{"question": "...", "answers": ["gold substring", ...]}'
            ) from exc
        cases.append(
            _Case(
                label=f"{row.get('id', number)} {question!r}",
                question=question,
                doc=row.get("doc"),
                is_gold=lambda text, gold=gold: any(g in _normalise(text) for g in gold),
                answerable=bool(gold),
            )
        )
    return cases


def _wikiqa_cases(path: Path, seeds: Path) -> list[_Case]:
    questions: dict[str, dict] = {}
    documents: dict[str, dict[str, str]] = {}
    try:
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                q = questions.setdefault(
                    row["QuestionID"],
                    {"q": row["Question"], "doc": row["DocumentID"], "gold": set()},
                )
                documents.setdefault(row["DocumentID"], {})[row["SentenceID"]] = row["Sentence"]
                if int(row.get("Label") or 0):
                    q["gold"].add(row["SentenceID"])
    except (OSError, KeyError, ValueError) as exc:
        raise CorpusError(f"Cannot read {path} as WikiQA TSV: {exc}") from exc
    for doc, sentences in documents.items():
        text = "\n".join(s.strip() for s in sentences.values()) + "\n"
        (seeds / f"{doc}.txt").write_text(text, encoding="utf-8")
    cases = []
    for qid, q in questions.items():
        lines = tuple(
            (_normalise(text), sid in q["gold"]) for sid, text in documents[q["doc"]].items()
        )
        gold_lines = [line for line, gold in lines if gold]
        cases.append(
            _Case(
                label=f"{qid} {q['q']!r}",
                question=q["q"],
                doc=q["doc"],
                # A quote is one sentence of a candidate line: right when inside a gold line.
                is_gold=lambda text, gold=gold_lines: any(_normalise(text) in g for g in gold),
                answerable=bool(gold_lines),
                lines=lines,
            )
        )
    return cases
