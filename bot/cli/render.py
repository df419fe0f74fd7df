"""Answers, summaries and statistics as terminal text. Pure functions of the models."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from corpus import AHEAD_LIMIT, tokenize_text
from corpus.models import Answer, CorpusStats, Quote, Summary, VectorStatus

if TYPE_CHECKING:  # a question needs neither: not imported to answer one
    from corpus import EvalReport

__all__ = [
    "render_answer",
    "render_eval",
    "render_stats",
    "render_summary",
    "render_vectors",
    "terminal_safe",
]

NOT_FOUND_HINT = (
    "Try rephrasing with words the article would use, or get an overview with: "
    "python -m bot summary"
)


def not_found_hint(program: str, where: str = "") -> str:
    """The decline hint, naming the command as the user ran it (and the same articles)."""
    return NOT_FOUND_HINT.replace("python -m bot summary", f"{program} summary{where}")


CHAT_HINT = "Try rephrasing with words the article would use, or get an overview with: :summary"


BOLD, RESET = "\033[1m", "\033[0m"

# Control characters other than newline and tab, and C1 controls: an article or a question
# holding an escape sequence must not reach the terminal raw. The only sequences that pass
# are the bold and reset that this module adds for highlights.
_CONTROL = re.compile(r"(\x1b\[[01]m)|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Text to print: every other control character shown as a visible escape."""
    return _CONTROL.sub(lambda m: m[1] or f"\\x{ord(m[0]):02x}", text)


def render_answer(
    answer: Answer,
    *,
    color: bool = False,
    explain: bool = False,
    asked_for: int | None = None,
    hint: str = NOT_FOUND_HINT,
) -> str:
    """The answering quotes with citation markers and sources. `color` bolds the words that
    matched (ANSI, for terminals); `explain` adds each quote's score breakdown, and for a
    declined question the nearest sentences with theirs; `asked_for` is the number of quotes
    asked for, so that showing fewer says why; `hint` follows a decline. A follow-up says
    first which earlier question it was read with."""
    if answer.follows:
        shown = render_answer(
            answer.model_copy(update={"follows": None}),
            color=color,
            explain=explain,
            asked_for=asked_for,
            hint=hint,
        )
        return f"{FOLLOWS.format(earlier=answer.follows)}\n\n{shown}"
    if answer.outcome == "closest" and answer.quotes:
        closest = _quotes_with_sources(
            [answer.quotes[0]], color=color, explain=explain, question=_asked(answer)
        )
        return (
            f"{answer.reason}\n\n{closest}\n\n"
            f"(Shown as the closest passage, not as an answer: the model is "
            f"{answer.confidence:.0%} sure it answers, and answers only when surer.)\n"
            f"{hint}"
        )
    if not answer.found:
        declined = f"{answer.reason}\n{hint}"
        if explain and answer.quotes:
            nearest = _quotes_with_sources(
                list(answer.quotes), color=color, explain=True, question=_asked(answer)
            )
            declined += (
                f"\n\nThe nearest sentences, and why each fell short (the model is "
                f"{answer.confidence:.0%} sure the first answers, and answers only when "
                f"surer):\n\n{nearest}"
            )
        return declined
    quotes = [q for q in answer.quotes if q.answers_question]
    answered = _quotes_with_sources(quotes, color=color, explain=explain, question=_asked(answer))
    lines = [answered, _confidence_line(answer)]
    if asked_for is not None and len(quotes) < asked_for:
        lines.append(
            f"({len(quotes)} of the {asked_for} quotes asked for: the others do not answer "
            "the question well enough; --json lists them all.)"
        )
    return "\n".join(lines)


def _asked(answer: Answer) -> str:
    """The question as it was read (a follow-up: with the earlier one's words)."""
    return answer.read_as or answer.question


def _confidence_line(answer: Answer) -> str:
    """How sure the model is, for every answer, so a reader can weigh it (or, for a broad
    question, that a rule chose the lead)."""
    if answer.basis == "lead":
        return LEAD_BASIS
    if answer.basis == "naming":
        return NAMING_BASIS
    return f"Confidence that the first quote answers: {answer.confidence:.0%}"


FOLLOWS = "(Read with your earlier question: “{earlier}”)"
LEAD_BASIS = "A broad question: these are the opening sentences of the article about it."
NAMING_BASIS = (
    "A broad question: these are the first sentences of the article about it that name it."
)


def render_summary(summary: Summary, *, color: bool = False) -> str:
    if not summary.found:
        hint = "\nTry a broader topic, or leave the topic out." if summary.topic else ""
        return f"{summary.reason}{hint}"
    return _quotes_with_sources(list(summary.quotes), color=color, explain=False)


def stats_json(stats: CorpusStats, cache_status: str, seconds: float) -> dict:
    return {
        "cache_status": cache_status,
        "seconds": round(seconds, 4),
        **stats.model_dump(mode="json"),
    }


def render_stats(stats: CorpusStats, cache_status: str, seconds: float) -> str:
    lines = [
        f"Index {cache_status} in {seconds * 1000:.1f} ms "
        f"(content hash {stats.content_hash[:12]}, built {stats.built_at:%Y-%m-%d %H:%M:%S} UTC)",
        f"{len(stats.documents)} document(s), {stats.sentences} sentences, "
        f"{stats.passages} passages, {stats.vocabulary} distinct terms",
    ]
    if cache_status != "reused":
        reused = len(stats.documents) - stats.documents_read
        lines.append(f"{stats.documents_read} document(s) read, {reused} unchanged and reused")
    if len(stats.documents) > 20:  # thousands of files: a summary, not a listing
        lines.append("(per-document lines omitted for more than 20 documents)")
        return "\n".join(lines)
    for doc in stats.documents:
        lines.append(
            f"  {doc.id}: {doc.title!r}, {doc.characters:,} characters, "
            f"{doc.paragraphs} paragraphs, {doc.sentences} sentences, {doc.passages} passages"
        )
    return "\n".join(lines)


def render_vectors(status: VectorStatus) -> str:
    """One line: what the answers use for meaning."""
    line = f"Sentence encoder: {status.encoder}; "
    if not status.in_use:
        return line + "answers match words only."
    if not status.ahead:
        return line + (
            f"{status.sentences:,} sentences are more than {AHEAD_LIMIT:,}, so candidates "
            "are encoded when asked."
        )
    line += (
        f"{status.encoded:,} vector(s) encoded in {status.seconds:.1f} s, "
        f"{status.missing:,} missing."
    )
    if status.save_error:
        line += f" They could not be saved, so they will be encoded again: {status.save_error}."
    return line


def render_eval(report: EvalReport, *, show_misses: bool = False) -> str:
    r = report
    # What members get comes first: an answer given, and right. Ranking is the diagnosis.
    headline = f"answered and right {r.recall:.3f} of {r.answerable} answerable"
    if r.declined is not None:
        headline += f"   declined {r.declined:.3f} of {r.unanswerable} unanswerable"
        if r.declined_with_closest:
            headline += f" ({r.declined_with_closest:.3f} of them with a closest passage)"
    lines = [
        headline,
        f"{r.questions} questions: {r.answerable} answerable, {r.unanswerable} not",
        f"hit@1 {r.hit_at_1:.3f}   hit@{r.k} {r.hit_at_k:.3f}   MRR {r.mrr:.3f}"
        + (f"   MAP {r.map:.4f}" if r.map is not None else ""),
    ]
    if r.declined is not None:
        lines.append(f"declined {r.declined:.3f} of the unanswerable")
    if r.article_first is not None:
        lines.append(f"the right article first for {r.article_first:.3f} of the answerable")
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


def _quotes_with_sources(
    quotes: list[Quote], *, color: bool, explain: bool, question: str = ""
) -> str:
    blocks = []
    for n, quote in enumerate(quotes, start=1):
        block = f"“{_highlighted(quote, color)}” [{n}]"
        if quote.lead_in:
            same_paragraph = quote.lead_in.citation.paragraph == quote.citation.paragraph
            joiner = " " if same_paragraph else "”\n“"
            block = f"“{quote.lead_in.text}{joiner}{block[1:]}"
        if explain and quote.explanation:
            block += "\n" + _explanation(quote, question)
        blocks.append(block)
    return "\n\n".join(blocks) + f"\n\n{_sources(quotes)}"


def _highlighted(quote: Quote, color: bool) -> str:
    if not color or not quote.highlights:
        return quote.text
    parts, position = [], 0
    for start, end in quote.highlights:
        parts += [quote.text[position:start], BOLD, quote.text[start:end], RESET]
        position = end
    return "".join([*parts, quote.text[position:]])


def surface_words(quote: Quote, question: str = "") -> dict[str, str]:
    """Each matched stem as the quote spells it ("rais" → "raises"), else as the question
    does, for people to read."""
    words: dict[str, str] = {}
    for start, end in quote.highlights:
        word = quote.text[start:end]
        for term in tokenize_text(word):
            words.setdefault(term, word)
    for word in _WORD.findall(question):
        for term in tokenize_text(word):
            words.setdefault(term, word)
    return words


_WORD = re.compile(r"[\w’'.-]+")

# The score's parts in words: each is the sum of the answer model's features for one thing it
# weighs (corpus/answering/features.py). Summed, they read as people expect: the model weighs
# features that overlap against each other, and alone "coverage" or "match" came out
# negative for a sentence that holds the whole question.
SCORE_PARTS = {
    "the question's words in it and its article": (
        "match",
        "adjacency",
        "related",
        "counted",
        "coverage",
        "context",
        "article",
        "missing",
        "asked",
        "unnamed",
    ),
    "the kind of answer asked for": ("expected", "definition"),
    "words close in meaning to the question's": ("meaning", "meaning_gap", "soft", "soft_asked"),
    "its meaning beside the question's": ("encoder", "encoder_gap"),
    "its article's meaning beside the question's": ("encoder_article", "encoder_article_gap"),
    "where it stands in its article": ("framing", "lead"),
    "its length": ("length",),
}


def _score_parts(features: dict[str, float]) -> str:
    """The score's parts in words, largest first, signed."""
    parts = {
        name: sum(features.get(f, 0.0) for f in members) for name, members in SCORE_PARTS.items()
    }
    shown = sorted((p for p in parts.items() if abs(p[1]) >= 0.005), key=lambda p: -abs(p[1]))
    return "; ".join(f"{name} {value:+.2f}" for name, value in shown)


def _explanation(quote: Quote, question: str = "") -> str:
    assert quote.explanation is not None
    if quote.explanation.rule:
        return f"    why: {quote.explanation.rule}"
    words = surface_words(quote, question)
    ranked = sorted(quote.explanation.terms.items(), key=lambda kv: -kv[1])
    shared = ", ".join(f"“{words.get(term, term)}” {value:.2f}" for term, value in ranked)
    stand_ins = "; ".join(
        f"{', '.join(words.get(s, s) for s in held)} for “{words.get(term, term)}”"
        for term, held in quote.explanation.stand_ins.items()
    )
    return (
        f"    why: it shares {shared or 'no word'} with the question, and holds "
        f"{quote.coverage:.0%} of it (by the weight of its words)\n"
        + (f"    related words: {stand_ins}\n" if stand_ins else "")
        + f"    score {quote.score:.2f}: {_score_parts(quote.explanation.features)}"
    )


def _sources(quotes: list[Quote]) -> str:
    """One heading per document, then each marker's paragraph and sentence."""
    by_document: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for n, quote in enumerate(quotes, start=1):
        c = quote.citation
        titles[c.doc_id] = c.title
        lead = quote.lead_in.citation if quote.lead_in else None
        context = (
            f" (with paragraph {lead.paragraph}, sentence {lead.sentence} before it, for context)"
            if lead
            else ""
        )
        by_document.setdefault(c.doc_id, []).append(
            f"  [{n}] paragraph {c.paragraph}, sentence {c.sentence}{context}"
        )
    blocks = [
        f"Source: {titles[doc_id]} ({doc_id})\n" + "\n".join(lines)
        for doc_id, lines in by_document.items()
    ]
    return "\n".join(blocks)
