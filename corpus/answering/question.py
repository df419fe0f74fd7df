"""Turning what a person typed into a question the index can search, or a polite refusal."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from ..errors import BadQuestionError
from ..tokenize import content_words, stem
from .lexicon import related_stems

__all__ = [
    "DEFAULT_MAX_QUESTION_CHARS",
    "LONGEST_ALLOWED_QUESTION",
    "AnalysedQuestion",
    "ExpectedAnswer",
    "analyse_question",
    "clean_question",
    "too_long",
]

# The one place the question-length limit is set: the default (MAX_QUESTION_LENGTH in the
# settings may change it) and the most a setting may allow (Discord's own limit on a command
# option is 6,000 characters).
DEFAULT_MAX_QUESTION_CHARS = 500
LONGEST_ALLOWED_QUESTION = 4000


def clean_question(text: str, max_chars: int = DEFAULT_MAX_QUESTION_CHARS) -> str:
    """The question with control and formatting characters removed and white space folded.

    Raises BadQuestionError for an empty question or one longer than `max_chars` (counted
    after cleaning, so stray control characters do not count against the user).
    """
    if text.isascii() and text.isprintable():  # the usual case: nothing to remove
        visible = text
    else:
        visible = "".join(
            " " if ch.isspace() else ch
            for ch in text
            if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn")
        )
    unmarked = _EMPHASIS.sub(r"\2", _MENTION.sub(" ", visible))
    cleaned = " ".join(unmarked.split())
    if not cleaned:
        raise BadQuestionError("Please type a question, for example: Who leads Mali's army?")
    if len(cleaned) > max_chars:
        raise BadQuestionError(too_long(len(cleaned), max_chars))
    return cleaned


# Chat markup that is not part of a question: Discord mentions of users, roles and channels,
# @everyone and @here; and markdown emphasis around words ("**Bazoum**" is Bazoum).
_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|@(?:everyone|here)\b")
_EMPHASIS = re.compile(r"(?<!\w)(\*\*|__|~~|\|\||\*|_|`)(?=\S)(.+?)(?<=\S)\1(?!\w)")


def too_long(length: int, limit: int) -> str:
    """The polite refusal for a question over the length limit (the bot also checks it before
    a question reaches the corpus, so that it costs no cooldown)."""
    return (
        f"That question is {length:,} characters long; the limit is {limit:,}. "
        "Please ask something shorter."
    )


ExpectedAnswer = Literal["person", "time", "number", "place", "money", "score"]

# What kind of answer a question's opening asks for. Only openings that say it plainly.
_EXPECTS: list[tuple[ExpectedAnswer, re.Pattern[str]]] = [
    # Before "number": "how much did it cost" wants an amount of money, not any number.
    (
        "money",
        re.compile(
            r"^how much (?:money|cash|revenue|profit|\w+ (?:cost|pay|paid|earn|make|made|raise|"
            r"spend|spent|sell|sold|charge|lose|lost|fetch|win|won|get|receive|invest))"
            r"|^how much (?:does|did|do|will|would|is|was|are|were) .*\b(?:cost|pay|paid|earn|"
            r"worth|make|made|raise|spend|charge|lose|invest|owe|fine|price)"
            r"|^(?:what|which) (?:price|cost|fee|salary|fine|revenue|profit|sum)\b"
        ),
    ),
    (
        "score",
        re.compile(
            r"^(?:what|whats|what's) (?:was |is )?(?:the )?(?:final |full-time |half-time )?"
            r"(?:score|scoreline|result)\b|^how did .* (?:end|finish)\b"
        ),
    ),
    ("person", re.compile(r"^(?:who|whom|whose)\b|^(?:what|which) (?:person|man|woman|leader)\b")),
    (
        "time",
        re.compile(
            r"^when\b|^(?:(?:on|in|at|by|since|until|from) )?(?:what|which) "
            r"(?:year|date|month|day|time|century|decade|period)\b"
            r"|^how long ago\b|^since when\b"
        ),
    ),
    (
        "number",
        re.compile(
            r"^how (?:many|much|old|long|far|big|large|tall|high|often|fast|deep|wide)\b"
            r"|^(?:what|which) (?:percentage|percent|number|amount|population|size)\b"
        ),
    ),
    (
        "place",
        re.compile(
            r"^where\b|^(?:what|which|in what|in which) "
            r"(?:country|countries|city|cities|state|place|region|continent|town|capital)\b"
        ),
    ),
]
# The word naming the kind of answer: the content word right after a leading which/what, or
# the thing counted after "how many".
_ANSWER_TYPE = re.compile(
    r"^\W*(?:(?:which|what)\s+|how\s+many\s+(?:more\s+|other\s+)?)([^\W\d_]+)\b",
    re.IGNORECASE,
)
# Questions that want the gist, not a fact: "What happened in Niger?", "What is this about?"
_BROAD = re.compile(
    r"^\W*(?:what(?:'s|’s| is| was)? (?:happened|happening|going on)|what (?:is|was) "
    r"(?:this|the|that) (?:article|story|report|news)\b|what(?:'s|’s| is) the (?:story|deal|news)"
    r"|(?:tell me|give me the gist) about|what (?:is|was) (?:this|it) (?:all )?about"
    r"|what(?:'s|’s| is) (?:new|up) with|summari[sz]e)",
    re.IGNORECASE,
)
_GIST_WORDS = frozenset(
    stem(w)
    for w in "happen happened happening going go story news article report deal gist "
    "summarise summarize summary new tell".split()
)
# Questions answered by yes or no, settled by the sentence that states the fact.
_YES_NO = re.compile(
    r"^\W*(?:did|does|do|is|was|are|were|has|have|had|will|would|can|could|should|"
    r"may|might)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AnalysedQuestion:
    """A cleaned question and what the answer scorer needs to know about it."""

    text: str
    words: tuple[str, ...]  # content words, folded, unstemmed, in order
    terms: tuple[str, ...]  # their stems
    answer_type: str | None  # stem of "which *countries*"-style words, if any
    expects: ExpectedAnswer | None
    mentioned: frozenset[str]  # every folded word of the question, stopwords included
    # Stems of multi-word names ("Burkina Faso", "Vladimir Putin"): one thing, not several.
    names: tuple[tuple[str, ...], ...] = ()
    # Stems of the capitalised words after the first: what the question names, as opposed to
    # what it asks about them ("Who is the *president* of France?").
    named: frozenset[str] = frozenset()
    # Stems of words that mean the same as a term (WordNet synonyms, irregular forms), by term;
    # never for what the question names: "Bush" is a person, not a shrub.
    related: dict[str, frozenset[str]] = field(default_factory=dict)
    broad: bool = False  # wants the gist: "What happened in Niger?"
    yes_no: bool = False  # "Did Okafor win?"
    # Stem of the thing counted in "how many *firefighters*", if any.
    counted: str | None = None

    @property
    def subject(self) -> tuple[str, ...]:
        """A broad question's subject: its terms without the words that ask for the gist
        ("happened", "story", "article")."""
        return tuple(t for t in self.terms if t not in _GIST_WORDS)


def analyse_question(text: str, max_chars: int = DEFAULT_MAX_QUESTION_CHARS) -> AnalysedQuestion:
    cleaned = clean_question(text, max_chars)
    words = tuple(content_words(cleaned))
    opening = " ".join(cleaned.casefold().split()[:8]).lstrip("¿¡\"'“‘(")
    expects = next((kind for kind, pattern in _EXPECTS if pattern.match(opening)), None)
    match = _ANSWER_TYPE.match(cleaned)
    type_words = content_words(match.group(1)) if match else []
    terms = tuple(stem(w) for w in words)
    named = frozenset(stem(w) for w in content_words(" ".join(_CAPITALISED.findall(cleaned))))
    broad = bool(_BROAD.match(cleaned))
    answer_type = stem(type_words[0]) if type_words and not broad else None
    counted = answer_type if opening.startswith("how many") else None
    return AnalysedQuestion(
        text=cleaned,
        words=words,
        terms=terms,
        answer_type=answer_type,
        expects=expects,
        mentioned=frozenset(_FOLDED_WORD.findall(cleaned.casefold())),
        names=_names(cleaned),
        named=named,
        related=_related(words, terms, named),
        broad=broad,
        yes_no=bool(_YES_NO.match(cleaned)),
        counted=counted,
    )


def _related(
    words: tuple[str, ...], terms: tuple[str, ...], named: frozenset[str]
) -> dict[str, frozenset[str]]:
    """Each term's related stems that are not terms of the question themselves."""
    own = set(terms)
    related: dict[str, frozenset[str]] = {}
    for word, term in zip(words, terms, strict=True):
        if term in named:
            continue
        found = related_stems(word) - own
        if found:
            related[term] = related.get(term, frozenset()) | found
    return related


_CAPITALISED = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'-]*")
_NAME_RUN = re.compile(r"(?<!^)\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)+")


def _names(question: str) -> tuple[tuple[str, ...], ...]:
    """Runs of two or more capitalised words after the first word, as stems."""
    names = []
    for run in _NAME_RUN.findall(question):
        stems = tuple(stem(w) for w in content_words(run))
        if len(stems) >= 2:
            names.append(stems)
    return tuple(names)


_FOLDED_WORD = re.compile(r"[^\W_]+")
