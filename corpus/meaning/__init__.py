"""Stage 5b: closeness in meaning, from a pretrained sentence encoder.

`encoder` loads the model (checked, offline, optional), `store` keeps encoded texts on disk by
their text, and `sentences` gives one index its sentences', articles' and questions' vectors.
The answer features (corpus/answering/features.py) read them; without an encoder, answers rank
on words alone.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .encoder import encoder_status, load_encoder
from .limits import QUESTION_TIME_LIMIT

if TYPE_CHECKING:  # imported when an encoder is loaded: a words-only question needs neither
    from ..indexing.index import CorpusIndex
    from .sentences import Meaning
    from .store import VectorStore

__all__ = ["Meaning", "encoder_status", "meaning_of"]


def __getattr__(name: str) -> object:
    if name == "Meaning":  # for `from corpus.meaning import Meaning` at run time
        from .sentences import Meaning

        return Meaning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from .sentences import Meaning

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
    from .store import VectorStore

    key = (cache_dir.resolve() if cache_dir is not None else None, name)
    with _stores_lock:
        if key not in _stores:
            _stores[key] = VectorStore(cache_dir, name, dimension)
        return _stores[key]
