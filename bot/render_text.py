"""Answers, summaries and statistics as terminal text. Pure functions of the models."""

from __future__ import annotations

from corpus.evaluate import EvalReport
from corpus.models import Answer, CorpusStats, Quote, Summary

__all__ = ["render_answer", "render_eval", "render_stats", "render_summary"]

NOT_FOUND_HINT = (
    "Try rephrasing with words the article would use, or get an overview with: "
    "python -m bot summary"
)


def render_answer(answer: Answer) -> str:
    if not answer.found:
        return f"{answer.reason}\n{NOT_FOUND_HINT}"
    return _quotes_with_sources([q for q in answer.quotes if q.answers_question])


def render_summary(summary: Summary) -> str:
    if not summary.found:
        return f"{summary.reason}\nTry a broader topic, or leave the topic out."
    return _quotes_with_sources(list(summary.quotes))


def render_stats(stats: CorpusStats, cache_status: str, seconds: float) -> str:
    lines = [
        f"Index {cache_status} in {seconds * 1000:.1f} ms "
        f"(content hash {stats.content_hash[:12]}, built {stats.built_at:%Y-%m-%d %H:%M:%S} UTC)",
        f"{len(stats.documents)} document(s), {stats.sentences} sentences, "
        f"{stats.passages} passages, {stats.vocabulary} distinct terms",
    ]
    for doc in stats.documents:
        lines.append(
            f"  {doc.id}: {doc.title!r}, {doc.characters:,} characters, "
            f"{doc.paragraphs} paragraphs, {doc.sentences} sentences, {doc.passages} passages"
        )
    return "\n".join(lines)


def render_eval(report: EvalReport, *, show_misses: bool = False) -> str:
    r = report
    lines = [
        f"{r.questions} questions: {r.answerable} answerable, {r.unanswerable} not",
        f"hit@1 {r.hit_at_1:.3f}   hit@{r.k} {r.hit_at_k:.3f}   MRR {r.mrr:.3f}"
        + (f"   MAP {r.map:.4f}" if r.map is not None else ""),
    ]
    if r.declined is not None:
        lines.append(f"declined {r.declined:.3f} of the unanswerable")
    lines.append(
        f"answering: precision {r.precision:.3f}  recall {r.recall:.3f}  F1 {r.f1:.3f}"
        "   (right = found and the first quote is right)"
    )
    lines.append(f"median answer time {r.median_ms:.3f} ms")
    if show_misses and r.misses:
        lines += ["", *r.misses]
    elif r.misses:
        lines.append(f"{len(r.misses)} miss(es); --show lists them")
    return "\n".join(lines)


def citation_label(quote: Quote) -> str:
    c = quote.citation
    return f"{c.title} ({c.doc_id}), paragraph {c.paragraph}, sentence {c.sentence}"


def _quotes_with_sources(quotes: list[Quote]) -> str:
    body = "\n\n".join(f"“{q.text}” [{n}]" for n, q in enumerate(quotes, start=1))
    return f"{body}\n\n{_sources(quotes)}"


def _sources(quotes: list[Quote]) -> str:
    """One heading per document, then each marker's paragraph and sentence."""
    by_document: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for n, quote in enumerate(quotes, start=1):
        c = quote.citation
        titles[c.doc_id] = c.title
        by_document.setdefault(c.doc_id, []).append(
            f"  [{n}] paragraph {c.paragraph}, sentence {c.sentence}"
        )
    blocks = [
        f"Source: {titles[doc_id]} ({doc_id})\n" + "\n".join(lines)
        for doc_id, lines in by_document.items()
    ]
    return "\n".join(blocks)
