"""Stage 4: group a document's sentences into overlapping windows, the passages BM25 scores."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["window_bounds"]


@lru_cache(maxsize=4096)
def window_bounds(count: int, size: int, overlap: int) -> tuple[tuple[int, int], ...]:
    """(first, last) sentence of each window over a document of `count` sentences, numbered
    from 0: windows of `size` sentences sharing `overlap` with the one before.

    The last window is shifted back so it is full whenever the document has `size` sentences,
    and every sentence lies in at least one window. Documents of the same length share the
    answer, hence the cache.
    """
    if count <= 0:
        return ()
    stride = size - overlap
    starts = list(range(0, max(count - overlap, 1), stride))
    if starts[-1] + size < count:
        starts.append(count - size)
    windows: list[tuple[int, int]] = []
    for start in starts:
        start = max(0, min(start, count - size))
        window = (start, min(start + size, count) - 1)
        if not windows or windows[-1] != window:
            windows.append(window)
    return tuple(windows)
