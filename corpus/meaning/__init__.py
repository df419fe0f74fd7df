"""Stage 5b: closeness in meaning, from a pretrained sentence encoder.

`encoder` loads the model (checked, offline, optional), `store` keeps encoded texts on disk by
their text, and `sentences` gives one index its sentences', articles' and questions' vectors.
The answer features (corpus/answering/features.py) read them; without an encoder, answers rank
on words alone.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..indexing.index import CorpusIndex
from .encoder import encoder_status, load_encoder
from .sentences import AHEAD_LIMIT, QUESTION_TIME_LIMIT, Meaning
from .store import VectorStore

__all__ = ["AHEAD_LIMIT", "Meaning", "encoder_status", "meaning_of"]


def meaning_of(
    index: CorpusIndex,
    cache_dir: Path | None,
    *,
    ahead: bool = True,
    question_time_limit: int | None = QUESTION_TIME_LIMIT,
    prepare: bool = True,
) -> Meaning | None:
    """The meaning stage for `index`, its vectors kept in `cache_dir` (in memory only without
    one); None when there is no encoder. With `prepare`, what is missing is encoded now (a
    little) or in the background (more)."""
    encoder = load_encoder(cache_dir)
    if encoder is None:
        return None
    meaning = Meaning(
        index,
        encoder,
        _store(cache_dir, encoder.name, encoder.dimension),
        ahead=ahead,
        question_time_limit=question_time_limit,
    )
    if prepare:
        meaning.prepare()
    return meaning


_stores: dict[tuple[Path | None, str], VectorStore] = {}
_stores_lock = threading.Lock()


def _store(cache_dir: Path | None, name: str, dimension: int) -> VectorStore:
    """One store per cache directory and encoder in a process, shared by its collections."""
    key = (cache_dir.resolve() if cache_dir is not None else None, name)
    with _stores_lock:
        if key not in _stores:
            _stores[key] = VectorStore(cache_dir, name, dimension)
        return _stores[key]
