"""Small array helpers shared by the pipeline's stages."""

from __future__ import annotations

import numpy as np

__all__ = ["TermCounts", "sorted_unique"]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending. A sort and a comparison: faster here than numpy's
    hashing `unique`, whose first call in a process also imports numpy.ma (25 ms of every
    command-line question)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


class TermCounts:
    """A count per term id, added to batch by batch while a build meets new terms (so the
    ids grow): one array, not one per batch."""

    def __init__(self) -> None:
        self._counts = np.zeros(0, dtype=np.int64)

    def add(self, terms: np.ndarray, counts: np.ndarray) -> None:
        """Add `counts` to `terms` (distinct ids)."""
        if not len(terms):
            return
        needed = int(terms.max()) + 1
        if needed > len(self._counts):
            grown = np.zeros(max(needed, 2 * len(self._counts)), dtype=np.int64)
            grown[: len(self._counts)] = self._counts
            self._counts = grown
        self._counts[terms] += counts

    def of(self, term_count: int) -> np.ndarray:
        """The counts of terms 0 to term_count - 1."""
        counts = np.zeros(term_count, dtype=np.int64)
        known = min(term_count, len(self._counts))
        counts[:known] = self._counts[:known]
        return counts
