"""Turning what a person typed into a question the index can search, or a polite refusal."""

from __future__ import annotations

import unicodedata

from .errors import BadQuestionError

__all__ = ["DEFAULT_MAX_QUESTION_CHARS", "clean_question"]

DEFAULT_MAX_QUESTION_CHARS = 1000


def clean_question(text: str, max_chars: int = DEFAULT_MAX_QUESTION_CHARS) -> str:
    """The question with control and formatting characters removed and white space folded.

    Raises BadQuestionError for an empty question or one longer than `max_chars` (counted
    after cleaning, so stray control characters do not count against the user).
    """
    visible = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn")
    )
    cleaned = " ".join(visible.split())
    if not cleaned:
        raise BadQuestionError("Please type a question, for example: Who leads Mali's army?")
    if len(cleaned) > max_chars:
        raise BadQuestionError(
            f"That question is {len(cleaned):,} characters long; the limit is {max_chars:,}. "
            "Please ask something shorter."
        )
    return cleaned
