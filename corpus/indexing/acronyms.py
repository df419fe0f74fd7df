"""Acronyms the articles define themselves: "The Economic Community of West African States" ↔
"ECOWAS", "the United States" ↔ "US".

An all-capitals word counts as defined when a run of capitalised words somewhere in the corpus
spells it with their initials (small linking words such as "of" may lend theirs). Nothing comes
from outside the corpus, so an acronym means what these articles mean by it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..tokenize import acronym_words, tokenize

__all__ = ["acronyms_from_evidence", "capitalised_runs", "find_acronyms"]

_LINKERS = frozenset("of the and for on in de du des la le".split())
_PHRASE = re.compile(
    r"[A-Z][\w’'-]*(?:\s+(?:(?:of|the|and|for|on|in|de|du|des|la|le)\s+)*[A-Z][\w’'-]*)+"
)


def find_acronyms(texts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Map each defined acronym's stem to the stems of its long form (the first one found)."""
    texts = list(texts)
    return acronyms_from_evidence(
        acronym_words(texts), [phrase for text in texts for phrase in capitalised_runs(text)]
    )


def capitalised_runs(text: str) -> list[str]:
    """The runs of capitalised words in `text`, in order: what may spell out an acronym.
    Gathered document by document as a build reads them; the acronyms themselves come from
    the tokenizer (`acronym_words`)."""
    return _PHRASE.findall(text)


def acronyms_from_evidence(acronyms: set[str], phrases: list[str]) -> dict[str, tuple[str, ...]]:
    """The acronyms among `acronyms` that a run in `phrases` spells out, with the stems of
    the first such run."""
    found: dict[str, tuple[str, ...]] = {}
    # Only spellings on the way to a known acronym are followed.
    prefixes = {a[:n] for a in acronyms for n in range(1, len(a) + 1)}
    # Names recur across a collection: each distinct run is spelled out once, in the order
    # first seen (the first run that spells an acronym is its long form).
    for phrase in dict.fromkeys(phrases):
        words = phrase.split()[:_MAX_WORDS]
        for initials, long_form in _spellings(words, prefixes):
            if initials in acronyms and initials not in found:
                stems = tuple(tokenize(" ".join(long_form)))
                key = tokenize(initials.upper())
                if key and stems and stems != tuple(key):
                    found[initials] = stems
    return {tokenize(a.upper())[0]: stems for a, stems in found.items()}


_MAX_WORDS = 12
_MAX_LETTERS = 8


def _spellings(words: list[str], prefixes: set[str]) -> Iterable[tuple[str, list[str]]]:
    """Every (initials, run of words) where the run starts and ends with a capitalised word
    and the initials begin some acronym (`prefixes`); linking words inside may lend their
    initial or not."""
    for start, first in enumerate(words):
        if _is_linker(first) or first[0].casefold() not in prefixes:
            continue
        partial = [(first[0].casefold(), start)]
        for end in range(start + 1, len(words)):
            word = words[end]
            initial = word[0].casefold()
            if _is_linker(word):
                partial = partial + [
                    (p + initial, e) for p, e in partial if p + initial in prefixes
                ]
                continue
            partial = [
                (p + initial, end)
                for p, _ in partial
                if len(p) < _MAX_LETTERS and p + initial in prefixes
            ]
            if not partial:
                break
            for initials, last in partial:
                yield initials, words[start : last + 1]


def _is_linker(word: str) -> bool:
    return word.casefold() in _LINKERS
