"""Columnar storage for the index's paragraphs, sentences, passages and tokens.

A corpus of a million passages has millions of sentences; as Python objects they would take
gigabytes and seconds to unpickle. Here each field is one numpy array, and the familiar models
(`Sentence`, `Passage`, `Paragraph`) are made only when one is asked for. The tables behave as
read-only sequences, so code that indexes `index.sentences[i]` does not care.

Tables are filled a batch of documents at a time (`append_rows`, whole columns), then
`freeze()` joins the pieces into one array per column.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar, TypeVar, overload

import numpy as np

from ..models import Paragraph, Passage, Sentence
from .spill import Spill

__all__ = ["DocumentTexts", "ParagraphTable", "PassageTable", "SentenceTable", "TokenTable"]

T = TypeVar("T")


class DocumentTexts:
    """Document ids and texts by document number, the texts packed into one byte array.

    Each text is stored with the narrowest fixed width that holds all its characters (1, 2 or 4
    bytes, as CPython itself does), so character offsets map straight to byte offsets and a
    sentence is decoded from exactly its own bytes. Packed this way, the texts pickle as one
    buffer, which the index cache maps from disk instead of loading (corpus/indexing/store.py).
    """

    _CODECS: ClassVar[dict[int, str]] = {1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}

    def __init__(self, spill_to: Path | None = None) -> None:
        self.ids: list[str] = []
        # SHA-256 of each text's stored bytes: a quote is shown only from a text that still
        # matches (`verify`), so a damaged cache can never put words in an article's mouth.
        self.digests: list[str] = []
        self._verified: set[int] = set()
        # The texts as they are added, in a file in `spill_to` if given (corpus/indexing/spill.py).
        self._spill: Spill | None = Spill(np.uint8, spill_to)
        self._offsets = array("q")
        self._lengths = array("q")
        self._widths = array("b")
        self.blob: np.ndarray = np.zeros(0, dtype=np.uint8)

    def add(self, doc_id: str, text: str) -> int:
        assert self._spill is not None, "texts are added before freeze()"
        width, encoded = _encoded(text)
        self.ids.append(doc_id)
        self.digests.append(hashlib.sha256(encoded).hexdigest())
        self._offsets.append(len(self._spill))  # bytes of the texts before this one
        self._spill.append(np.frombuffer(encoded, np.uint8))
        self._lengths.append(len(text))
        self._widths.append(width)
        return len(self.ids) - 1

    def discard(self) -> None:
        """Give up a build: the texts spilled so far go."""
        if self._spill is not None:
            self._spill.discard()

    def freeze(self) -> None:
        if self._spill is not None:
            self.blob = self._spill.finish()
            self._spill = None
        self._offsets = np.asarray(self._offsets, dtype=np.int64)
        self._lengths = np.asarray(self._lengths, dtype=np.int64)
        self._widths = np.asarray(self._widths, dtype=np.int8)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_verified"]  # each process checks for itself
        state.pop("_spill", None)  # only while texts are added
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._verified = set()

    def verify(self, doc: int) -> bool:
        """Whether the document's stored bytes still hash to what was stored (each document
        is hashed once per process)."""
        if doc in self._verified:
            return True
        offset, width, length = int(self._offsets[doc]), int(self._widths[doc]), self.length(doc)
        if width not in self._CODECS or offset < 0 or offset + width * length > len(self.blob):
            return False
        stored = self.blob[offset : offset + width * length]
        if hashlib.sha256(memoryview(stored)).hexdigest() != self.digests[doc]:
            return False
        self._verified.add(doc)
        return True

    def check_consistency(self) -> None:
        """Cheap structural checks of the frozen arrays; raises ValueError."""
        n = len(self.ids)
        if not (len(self.digests) == len(self._offsets) == len(self._lengths) == n):
            raise ValueError("document columns differ in length")
        if n and (
            (self._lengths < 0).any()
            or (self._offsets < 0).any()
            or not np.isin(self._widths, list(self._CODECS)).all()
            or (self._offsets + self._lengths * self._widths).max() > len(self.blob)
        ):
            raise ValueError("document offsets point outside the texts")

    def __len__(self) -> int:
        return len(self.ids)

    def length(self, doc: int) -> int:
        return int(self._lengths[doc])

    def lengths(self) -> np.ndarray:
        return np.asarray(self._lengths)

    def slice(self, doc: int, start: int, end: int) -> str:
        width = int(self._widths[doc])
        offset = int(self._offsets[doc])
        data = self.blob[offset + start * width : offset + end * width]
        return data.tobytes().decode(self._CODECS[width])

    def text(self, doc: int) -> str:
        return self.slice(doc, 0, self.length(doc))


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _encoded(text: str) -> tuple[int, bytes]:
    """The text in the narrowest fixed width that holds it (1, 2 or 4 bytes a character),
    found by trying the codecs, which scan in C."""
    try:
        return 1, text.encode("latin-1")
    except UnicodeEncodeError:
        pass
    encoded = text.encode("utf-16-le")
    if len(encoded) == 2 * len(text):  # no character needed a surrogate pair
        return 2, encoded
    return 4, text.encode("utf-32-le")


class _Rows(Sequence[T]):
    """A read-only sequence whose rows are made on demand by `_row`."""

    def _row(self, i: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return [self._row(j) for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._row(i)

    def __iter__(self) -> Iterator[T]:
        return (self._row(i) for i in range(len(self)))


class _Table(_Rows[T]):
    _int_fields: tuple[str, ...] = ()

    def __init__(self, documents: DocumentTexts, spill_to: Path | None = None) -> None:
        self.documents = documents
        self._columns: dict[str, np.ndarray] = {}
        self._pending: dict[str, Spill] = {f: Spill(np.int32, spill_to) for f in self._int_fields}
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def _append_columns(self, **columns: np.ndarray) -> None:
        """Rows to add, a column at a time (every field, equal lengths)."""
        for name in self._int_fields:
            self._pending[name].append(columns[name])
        self._length += len(columns[self._int_fields[0]])

    def freeze(self) -> None:
        self._columns = {name: spill.finish() for name, spill in self._pending.items()}
        self._pending = {}

    def discard(self) -> None:
        """Give up a build: the rows spilled so far go."""
        for spill in self._pending.values():
            spill.discard()

    def column(self, name: str) -> np.ndarray:
        return self._columns[name]

    def _value(self, name: str, i: int) -> int:
        return int(self._columns[name][i])


class SentenceTable(_Table[Sentence]):
    _int_fields = ("doc", "paragraph", "in_paragraph", "number", "start", "end")

    def append_rows(
        self,
        doc: np.ndarray,
        paragraph: np.ndarray,
        in_paragraph: np.ndarray,
        number: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
    ) -> None:
        self._append_columns(
            doc=doc,
            paragraph=paragraph,
            in_paragraph=in_paragraph,
            number=number,
            start=start,
            end=end,
        )

    def text(self, i: int) -> str:
        c = self._columns
        return self.documents.slice(int(c["doc"][i]), int(c["start"][i]), int(c["end"][i]))

    def number(self, i: int) -> int:
        """Position of sentence `i` in its document, from 1."""
        return self._value("number", i)

    def _row(self, i: int) -> Sentence:
        c = self._columns
        doc = int(c["doc"][i])
        start, end = int(c["start"][i]), int(c["end"][i])
        return Sentence(
            doc_id=self.documents.ids[doc],
            paragraph=int(c["paragraph"][i]),
            number_in_paragraph=int(c["in_paragraph"][i]),
            number=int(c["number"][i]),
            start=start,
            end=end,
            text=self.documents.slice(doc, start, end),
        )


class ParagraphTable(_Table[Paragraph]):
    _int_fields = ("doc", "number", "start", "end")

    def append_rows(
        self, doc: np.ndarray, number: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> None:
        self._append_columns(doc=doc, number=number, start=start, end=end)

    def _row(self, i: int) -> Paragraph:
        c = self._columns
        return Paragraph(
            doc_id=self.documents.ids[int(c["doc"][i])],
            number=int(c["number"][i]),
            start=int(c["start"][i]),
            end=int(c["end"][i]),
        )


class PassageTable(_Table[Passage]):
    _int_fields = ("doc", "first", "last", "first_number", "last_number")

    def append_rows(
        self,
        doc: np.ndarray,
        first: np.ndarray,
        last: np.ndarray,
        first_number: np.ndarray,
        last_number: np.ndarray,
    ) -> None:
        self._append_columns(
            doc=doc, first=first, last=last, first_number=first_number, last_number=last_number
        )

    def _row(self, i: int) -> Passage:
        c = self._columns
        doc_id = self.documents.ids[int(c["doc"][i])]
        return Passage(
            id=f"{doc_id}:{int(c['first_number'][i])}-{int(c['last_number'][i])}",
            doc_id=doc_id,
            first=int(c["first"][i]),
            last=int(c["last"][i]),
        )


class TokenTable(_Rows[list[str]]):
    """Each sentence's tokens, stored as term ids in one array. Terms are numbered in order of
    first appearance, the order rank-bm25's IDF is computed in."""

    def __init__(self, spill_to: Path | None = None) -> None:
        self.terms: list[str] = []
        self.vocabulary: dict[str, int] = {}
        self._pending_ids = Spill(np.int32, spill_to)
        self._pending_counts: list[np.ndarray] = []
        self._ids: np.ndarray = np.zeros(0, dtype=np.int32)
        self._pointers: np.ndarray = np.zeros(1, dtype=np.int64)

    def number_terms(self, terms: list[str]) -> np.ndarray:
        """The ids of `terms`, numbering those not seen before in the order given."""
        vocabulary, known = self.vocabulary, self.terms
        ids = list(map(vocabulary.get, terms))  # most are known after the first documents
        for i in [i for i, t in enumerate(ids) if t is None]:  # `terms` are distinct
            ids[i] = vocabulary[terms[i]] = len(known)
            known.append(terms[i])
        return np.asarray(ids, dtype=np.int32)

    def append_rows(self, counts: np.ndarray, ids: np.ndarray) -> None:
        """Sentences with `counts` tokens each, their ids concatenated (already this table's
        numbering)."""
        self._pending_counts.append(np.asarray(counts, dtype=np.int64))
        self._pending_ids.append(ids)

    def discard(self) -> None:
        """Give up a build: the rows spilled so far go."""
        self._pending_ids.discard()

    def freeze(self) -> None:
        counts = _joined(self._pending_counts, np.int64)
        self._ids = self._pending_ids.finish()
        self._pointers = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=self._pointers[1:])
        self._pending_ids, self._pending_counts = Spill(np.int32), []

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_pending_ids"], state["_pending_counts"]  # only while rows are added
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._pending_ids, self._pending_counts = Spill(np.int32), []

    def __len__(self) -> int:
        return len(self._pointers) - 1 + sum(map(len, self._pending_counts))

    def ids(self, i: int) -> np.ndarray:
        return np.asarray(self._ids[int(self._pointers[i]) : int(self._pointers[i + 1])])

    def _row(self, i: int) -> list[str]:
        terms = self.terms
        start, end = int(self._pointers[i]), int(self._pointers[i + 1])
        return [terms[t] for t in self._ids[start:end].tolist()]

    def total(self) -> int:
        return len(self._ids) + len(self._pending_ids)

    def all_ids(self) -> np.ndarray:
        """Every sentence's term ids, concatenated (frozen tables only)."""
        return np.asarray(self._ids)

    def pointers(self) -> np.ndarray:
        """Sentence i's ids are all_ids()[pointers[i]:pointers[i + 1]]."""
        return np.asarray(self._pointers)

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The term ids of `rows` concatenated, the row (0..len(rows)-1) each id belongs to,
        and each row's length: one gather, no loop over the rows (frozen tables only)."""
        starts, ends = self._pointers[rows], self._pointers[np.asarray(rows) + 1]
        lengths = ends - starts
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        ids = self._ids[offsets + np.arange(int(lengths.sum()))]
        return ids, np.repeat(np.arange(len(lengths)), lengths), lengths
