"""Follow-up questions: "when was that?", "what about his brother?", "and in 2005?" read with
the exchange before them.

A follow-up points back (a pronoun, "that", "there") or leaves out what the last question
said ("and France?", "what about last year?"). It is read extractively: the earlier
question's words are carried forward beside the new ones, never rewritten into a new
question, and the article the earlier answer quoted is asked first. A question that names
its own subject stands alone, whatever came before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..models import Answer
from ..tokenize import content_words

__all__ = ["Exchange", "FollowUp", "points_back", "read_follow_up"]


@dataclass(frozen=True)
class Exchange:
    """What a follow-up may be read with: the question as the member typed it, as it was
    read (with the words of the one before, if it was itself a follow-up), and the article
    its answer quoted first."""

    question: str
    doc_id: str | None = None
    read_as: str | None = None
    # Where the sentence its answer quoted first starts in that article: a follow-up asks
    # for something more, so that sentence is not its answer again.
    quoted_start: int | None = None

    @classmethod
    def of(cls, answer: Answer) -> Exchange:
        """The exchange `answer` closed."""
        if not answer.quotes:
            return cls(answer.question, read_as=answer.read_as)
        citation = answer.quotes[0].citation
        return cls(answer.question, citation.doc_id, answer.read_as, citation.start)


@dataclass(frozen=True)
class FollowUp:
    """A question as it is to be asked: `text` (the member's words, then the earlier
    question's carried forward), the article to ask first, and the earlier question it was
    read with (None: it stands alone)."""

    text: str
    doc_id: str | None = None
    earlier: str | None = None
    quoted_start: int | None = None  # the earlier answer's sentence, in `doc_id`


def read_follow_up(question: str, previous: Exchange | None) -> FollowUp:
    """`question`, read with `previous` when it points back to it: its own words, then the
    earlier question's (each once). Carrying only the earlier names, or nothing but the
    article, or letting new names and numbers replace the earlier ones, each did worse on
    the dev half of tests/data/followup_questions.jsonl (bench/followups.py)."""
    if previous is None or not points_back(question):
        return FollowUp(question)
    carried = _carried_words(previous.read_as or previous.question, set(content_words(question)))
    text = f"{question} {' '.join(carried)}" if carried else question
    return FollowUp(text, previous.doc_id, previous.question, previous.quoted_start)


def points_back(question: str) -> bool:
    """Whether the question leans on the one before: it refers back ("he", "it", "that",
    "there", "the same") or leaves out what it asks about ("and France?", "what about last
    year?", "how about the second one?")."""
    folded = " ".join(question.casefold().replace("’", "'").split())
    if _ELLIPTICAL.match(folded) or _ASKED_OF_THAT.search(folded):
        return True
    words = set(_WORD.findall(folded))
    if words & _REFERRING or _BARE_THAT.search(folded):
        return True
    # One word of substance and no name: "what time?", "how much?" ask about what came before.
    return len(content_words(question)) <= 1 and not _NAME.search(question[1:])


def _carried_words(earlier: str, own: set[str]) -> list[str]:
    """The earlier question's content words, as it spelled them, each once, but those the
    new question has itself (`own`, folded)."""
    carried = []
    for word in _WORD_AS_TYPED.findall(earlier):
        folded = content_words(word)
        if folded and folded[0] not in own and word not in carried:
            carried.append(word)
    return carried


_WORD = re.compile(r"[a-z0-9']+")
_WORD_AS_TYPED = re.compile(r"[^\W_][\w'’.-]*[^\W_]|[^\W_]")
# Words that refer to something said before.
_REFERRING = frozenset(
    "he she they him her his hers them their theirs it its it's he's she's they're "
    "there those these such same".split()
)
# "that" and "this" alone, or before a verb or the question mark: "when was that?", "why did
# this happen" (not "that firm", which names the thing).
_BARE_THAT = re.compile(
    r"\b(?:that|this)\b(?=\s*(?:[?.!]|$|\s(?:is|was|were|are|happen\w*|mean\w*|cost\w*|"
    r"take|took|come|came|start\w*|end\w*|be|been|do|did|does)\b))"
)
# "what does that cover?", "was this true?": "that" or "this" as what is asked about, a word
# or none before the end (not "does that firm make tyres", which names the firm).
_ASKED_OF_THAT = re.compile(
    r"\b(?:does|did|do|is|was|were|will|would|can|could|has|had|have)\s+(?:that|this)"
    r"(?:\s+\w+)?\s*[?.!]*$"
)
_NAME = re.compile(r"\b[A-Z]")
# Questions that leave out what they ask about: "and ...", "what about ...", "how about ...".
_ELLIPTICAL = re.compile(r"^(?:and|but|or|also|so)\b|^(?:what|how)\s+about\b|^what\s+of\b")
