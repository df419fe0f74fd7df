"""Stage 2: split a document into paragraphs and sentences, as character offsets into its text.

Nothing here edits text: a sentence is whatever lies between two offsets of the original, so a
quote is always `document.text[start:end]`.
"""

from __future__ import annotations

import itertools
import re

from .limits import more_than

__all__ = [
    "has_more_paragraphs",
    "has_more_sentence_ends",
    "is_dangling",
    "paragraph_spans",
    "segment_text",
    "sentence_spans",
]

# A blank line separates paragraphs when the text has any; otherwise every line is one
# (news feeds and the WikiQA layout put one paragraph, or one sentence, per line).
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
_BLOCK_SEPARATOR = re.compile(r"(?:\r?\n[ \t\r\f\v]*){2,}")
_LINE_SEPARATOR = re.compile(r"\r?\n|\r|\u2028|\u2029")
_LINE_BREAKS = ("\n", "\r", "\u2028", "\u2029")
_BLANK = " \t\f\v"  # what a blank line may hold (and \r, handled by the patterns)

# Candidate sentence ends: terminal punctuation, closing quotes or brackets, then white space.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)")
_TERMINALS = (".", "!", "?", "\u2026")

# Words whose period never ends a sentence: titles and other abbreviations that precede a name
# or a number.
_NEVER_FINAL = frozenset(
    "mr mrs ms dr prof st gen col lt sgt capt maj cmdr adm rep sen gov rev hon pres fr "
    "no nos vol fig pp approx dept est jan feb mar apr jun jul aug sep sept oct nov dec "
    "vs mt ft".split()
)
# After a dotted acronym (U.S., U.N.) a capital usually starts a name ("U.S. Army"); only these
# openers show that a new sentence began instead.
_SENTENCE_OPENERS = frozenset(
    "the a an this that these those it he she they we i in on at but however yet so and "
    "there its his her their our after before when while since as if".split()
)
_DOTTED = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]?$")
_OPENING = "\"'\u201c\u2018([¿¡"
_NEXT_WORD = re.compile(r"\s*[\"'\u201c\u2018(]*(\w+)")


def has_more_paragraphs(text: str, limit: int) -> bool:
    """Whether `text` has more than `limit` paragraphs (counting its separators as
    `paragraph_spans` finds them, no further, and making none)."""
    # Every separator holds a line break: texts with few of them (all articles) are let
    # through by counting characters, which is many times quicker than the pattern.
    if sum(map(text.count, _LINE_BREAKS)) <= limit:
        return False
    separator = _BLOCK_SEPARATOR if _BLANK_LINE.search(text) else _LINE_SEPARATOR
    return more_than(separator.finditer(text), limit)


def has_more_sentence_ends(text: str, limit: int) -> bool:
    """Whether `text` has more than `limit` candidate sentence ends: never fewer than its
    sentences (an abbreviation's period is a candidate that does not end one)."""
    if sum(map(text.count, _TERMINALS)) <= limit:  # each end holds one of them
        return False
    return more_than(_SENTENCE_END.finditer(text), limit)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph, without surrounding white space; empty ones dropped."""
    if "\r" in text or "\u2028" in text or "\u2029" in text:
        return _paragraph_spans_by_pattern(text)
    return _paragraph_spans_by_line(text)


def _paragraph_spans_by_pattern(text: str) -> list[tuple[int, int]]:
    separator = _BLOCK_SEPARATOR if _BLANK_LINE.search(text.strip()) else _LINE_SEPARATOR
    spans: list[tuple[int, int]] = []
    position = 0
    for match in separator.finditer(text):
        spans.extend(_trimmed(text, position, match.start()))
        position = match.end()
    spans.extend(_trimmed(text, position, len(text)))
    return spans


def _paragraph_spans_by_line(text: str) -> list[tuple[int, int]]:
    """The same spans as the patterns give, for text whose only line break is "\n",
    worked out from its lines (a regular expression scans such long text far slower)."""
    lines = text.split("\n")
    starts = list(itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    blank = [not line.strip(_BLANK) for line in lines]
    interior = text.strip().split("\n")[1:-1]
    if not any(not line.strip(_BLANK) for line in interior):  # no blank line: one per line
        return [
            (start + len(line) - len(line.lstrip()), start + len(line.rstrip()))
            for line, start in zip(lines, starts, strict=True)
            if not line.isspace() and line
        ]
    spans: list[tuple[int, int]] = []
    first = None
    for i, is_blank in enumerate([*blank, True]):  # a blank after the last line
        if not is_blank and first is None:
            first = i
        elif is_blank and first is not None:
            spans.extend(_trimmed(text, starts[first], starts[i - 1] + len(lines[i - 1])))
            first = None
    return spans


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each sentence within text[start:end]; the spans cover all its words."""
    spans: list[tuple[int, int]] = []
    sentence_start = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if _ends_sentence(text, match.start(), match.end(), end):
            spans.extend(_trimmed(text, sentence_start, match.end()))
            sentence_start = match.end()
    spans.extend(_trimmed(text, sentence_start, end))
    return spans


def segment_text(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int, int, int]]]:
    """A document's paragraphs as (start, end), and its sentences as (paragraph number,
    number in the paragraph, start, end); numbers from 1. Plain tuples: a big corpus has
    millions of sentences, and the index stores them as columns anyway.

    The same sentences as `sentence_spans` gives paragraph by paragraph, found with one pass
    of the pattern over the whole text: a sentence end never spans white space, and white
    space is all that lies between paragraphs."""
    paragraphs = paragraph_spans(text)
    sentences: list[tuple[int, int, int, int]] = []
    ends = _SENTENCE_END.finditer(text)
    end = next(ends, None)
    for p_number, (p_start, p_end) in enumerate(paragraphs, start=1):
        spans: list[tuple[int, int]] = []
        sentence_start = p_start
        while end is not None and end.start() < p_end:
            if end.start() >= p_start and _ends_sentence(text, end.start(), end.end(), p_end):
                spans.extend(_trimmed(text, sentence_start, end.end()))
                sentence_start = end.end()
            end = next(ends, None)
        spans.extend(_trimmed(text, sentence_start, p_end))
        sentences += [(p_number, n, start, stop) for n, (start, stop) in enumerate(spans, 1)]
    return paragraphs, sentences


def _ends_sentence(text: str, punct_start: int, punct_end: int, limit: int) -> bool:
    following = _next_visible(text, punct_end, limit)
    if following is None:
        return True
    if following.islower() or following in ",;:":
        return False
    if not (following.isupper() or following.isdigit() or following in _OPENING):
        # Scripts without case (CJK, Arabic, emoji) cannot tell us; trust the punctuation.
        return not following.isalpha() or not following.isascii()
    if text[punct_start] != ".":
        return True
    word = _word_before(text, punct_start)
    if word in _NEVER_FINAL or (len(word) == 1 and word.isalpha()):
        return False  # "Dr. Smith", "J. Smith"
    if _DOTTED.match(word):
        return _next_word(text, punct_end, limit) in _SENTENCE_OPENERS
    return True


def _next_visible(text: str, position: int, limit: int) -> str | None:
    while position < limit and text[position].isspace():
        position += 1
    return text[position] if position < limit else None


def _word_before(text: str, position: int) -> str:
    start = position
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in _OPENING:
        start -= 1
    return text[start:position].lower()


def _next_word(text: str, position: int, limit: int) -> str:
    match = _NEXT_WORD.match(text, position, limit)
    return match.group(1).lower() if match else ""


def _trimmed(text: str, start: int, end: int) -> list[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if start < end else []


# A pronoun as the one who speaks, right after what was said: "“...,” she said", "..., he
# told reporters". (Not any pronoun before "said": "Officials said they told him" names them.)
_SPEAKING = (
    r"(?:said|says|added|adds|told|tells|explained|explains|wrote|writes|argued|argues|"
    r"insisted|insists|warned|warns|noted|notes|asked|asks|replied|replies|stressed|stresses|"
    r"continued|continues|claimed|claims|announced|announces|recalled|recalls)"
)
_PRONOUN_SAID = re.compile(rf"[,\"'\u201d\u2019]\s+(?:he|she|they)\s+{_SPEAKING}\b")
# A pronoun as the subject after a short opening phrase: "In 2019, she became ...".
_PRONOUN_AFTER_OPENING = re.compile(r"[^.!?\n]{1,60}?,\s+(?:he|she|they)\s")

# First words that point back at the sentence before.
_DANGLING_OPENERS = frozenset(
    "this that these those it its he she they his her their them him both such also however "
    "but yet still moreover furthermore meanwhile instead thus therefore hence so and or nor "
    "then there another".split()
)


def is_dangling(text: str) -> bool:
    """Whether the sentence points back, so that quoted alone it would leave the reader
    asking what it refers to: it opens with such a word ("This", "They", "However"), a
    pronoun is its subject after an opening phrase ("In 2019, she became ..."), or a pronoun
    said it ("“We will not leave,” she said.")."""
    first = text.lstrip("\"'\u201c\u2018([").split(maxsplit=1)
    word = first[0].rstrip(",;:").casefold().replace("\u2019", "'") if first else ""
    if word.split("'")[0] in _DANGLING_OPENERS:
        return True
    return bool(_PRONOUN_SAID.search(text) or _PRONOUN_AFTER_OPENING.match(text))
