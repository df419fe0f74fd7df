"""The corpus's one error hierarchy. Messages are written for the person who can fix the cause.

Front ends catch `CorpusError` in exactly one place and show `str(error)`; anything else is a bug
and gets logged with its traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BadQuestionError",
    "CorpusError",
    "DamagedIndexError",
    "NoSeedsError",
    "SeedFileError",
    "UnknownDocumentError",
]


class CorpusError(Exception):
    """Base class: an expected problem with input, seeds or settings."""


class SeedFileError(CorpusError):
    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"Seed file {path}: {problem}")


class NoSeedsError(CorpusError):
    def __init__(self, directory: Path, problem: str) -> None:
        self.directory = directory
        super().__init__(f"No articles to answer from: {problem} ({directory}).")


class UnknownDocumentError(CorpusError):
    def __init__(self, doc_id: str, known: list[str]) -> None:
        shown = ", ".join(known[:10]) + (" …" if len(known) > 10 else "")
        super().__init__(f"There is no document with id {doc_id!r}. Known ids: {shown}.")


class BadQuestionError(CorpusError):
    """The question itself cannot be searched (empty, too long)."""


class DamagedIndexError(CorpusError):
    """A stored text no longer matches its hash: nothing from it may be shown. The corpus
    rebuilds its index when it meets one."""

    def __init__(self, doc_id: str) -> None:
        super().__init__(
            f"The stored copy of the article “{doc_id}” is damaged; the index is being rebuilt. "
            "Please ask again in a moment."
        )
        self.doc_id = doc_id
