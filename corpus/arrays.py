"""Small array helpers shared by the pipeline's stages."""

from __future__ import annotations

import numpy as np

__all__ = ["sorted_unique"]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending. A sort and a comparison: faster here than numpy's
    hashing `unique`, whose first call in a process also imports numpy.ma (25 ms of every
    command-line question)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]
