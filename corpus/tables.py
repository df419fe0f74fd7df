"""Columnar storage for the index's paragraphs, sentences, passages and tokens.

A corpus of a million passages has millions of sentences; as Python objects they would take
gigabytes and seconds to unpickle. Here each field is one numpy array, and the familiar models
(`Sentence`, `Passage`, `Paragraph`) are made only when one is asked for. The tables behave as
read-only sequences, so code that indexes `index.sentences[i]` does not care.

Tables are filled a document at a time (`append_*`), then `freeze()` turns the growing arrays
into numpy arrays.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import ClassVar, TypeVar, overload

import numpy as np

from .models import Paragraph, Passage, Sentence

__all__ = ["DocumentTexts", "ParagraphTable", "PassageTable", "SentenceTable", "TokenTable"]

T = TypeVar("T")


class DocumentTexts:
    """Document ids and texts by document number, the texts packed into one byte array.

    Each text is stored with the narrowest fixed width that holds all its characters (1, 2 or 4
    bytes, as CPython itself does), so character offsets map straight to byte offsets and a
    sentence is decoded from exactly its own bytes. Packed this way, the texts pickle as one
    buffer, which the index cache maps from disk instead of loading (corpus/store.py).
    """

    _CODECS: ClassVar[dict[int, str]] = {1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._pieces: list[bytes] = []
        self._offsets = array("q")
        self._lengths = array("q")
        self._widths = array("b")
        self._size = 0
        self.blob: np.ndarray = np.zeros(0, dtype=np.uint8)

    def add(self, doc_id: str, text: str) -> int:
        width = _width(text)
        encoded = text.encode(self._CODECS[width])
        self.ids.append(doc_id)
        self._pieces.append(encoded)
        self._offsets.append(self._size)
        self._lengths.append(len(text))
        self._widths.append(width)
        self._size += len(encoded)
        return len(self.ids) - 1

    def freeze(self) -> None:
        self.blob = np.frombuffer(b"".join(self._pieces), dtype=np.uint8)
        self._pieces = []
        self._offsets = np.asarray(self._offsets, dtype=np.int64)
        self._lengths = np.asarray(self._lengths, dtype=np.int64)
        self._widths = np.asarray(self._widths, dtype=np.int8)

    def __len__(self) -> int:
        return len(self.ids)

    def length(self, doc: int) -> int:
        return int(self._lengths[doc])

    def slice(self, doc: int, start: int, end: int) -> str:
        width = int(self._widths[doc])
        offset = int(self._offsets[doc])
        data = self.blob[offset + start * width : offset + end * width]
        return data.tobytes().decode(self._CODECS[width])

    def text(self, doc: int) -> str:
        return self.slice(doc, 0, self.length(doc))


def _width(text: str) -> int:
    if text.isascii():
        return 1
    widest = max(map(ord, text))
    return 1 if widest < 0x100 else 2 if widest < 0x10000 else 4


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

    def __init__(self, documents: DocumentTexts) -> None:
        self.documents = documents
        self._columns: dict[str, array | np.ndarray] = {f: array("i") for f in self._int_fields}

    def __len__(self) -> int:
        return len(self._columns[self._int_fields[0]])

    def freeze(self) -> None:
        self._columns = {
            name: np.asarray(column, dtype=np.int32) if isinstance(column, array) else column
            for name, column in self._columns.items()
        }

    def column(self, name: str) -> np.ndarray:
        return np.asarray(self._columns[name])

    def _value(self, name: str, i: int) -> int:
        return int(self._columns[name][i])


class SentenceTable(_Table[Sentence]):
    _int_fields = ("doc", "paragraph", "in_paragraph", "number", "start", "end")

    def append_document(self, doc: int, sentences: list[Sentence]) -> None:
        c = self._columns
        for s in sentences:
            c["doc"].append(doc)
            c["paragraph"].append(s.paragraph)
            c["in_paragraph"].append(s.number_in_paragraph)
            c["number"].append(s.number)
            c["start"].append(s.start)
            c["end"].append(s.end)

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

    def append_document(self, doc: int, paragraphs: list[Paragraph]) -> None:
        c = self._columns
        for p in paragraphs:
            c["doc"].append(doc)
            c["number"].append(p.number)
            c["start"].append(p.start)
            c["end"].append(p.end)

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

    def append_document(
        self, doc: int, passages: list[Passage], sentences: list[Sentence], offset: int
    ) -> None:
        c = self._columns
        for p in passages:
            c["doc"].append(doc)
            c["first"].append(p.first)
            c["last"].append(p.last)
            c["first_number"].append(sentences[p.first - offset].number)
            c["last_number"].append(sentences[p.last - offset].number)

    def _row(self, i: int) -> Passage:
        c = self._columns
        doc_id = self.documents.ids[int(c["doc"][i])]
        return Passage(
            id=f"{doc_id}:{int(c['first_number'][i])}-{int(c['last_number'][i])}",
            doc_id=doc_id,
            first=int(c["first"][i]),
            last=int(c["last"][i]),
        )

    def sentences_by_passage(self, sentence_count: int) -> tuple[np.ndarray, np.ndarray]:
        """CSR from sentence to the passages that hold it: (pointers, passage positions)."""
        first, last = self.column("first"), self.column("last")
        sizes = last - first + 1
        passage_of = np.repeat(np.arange(len(first)), sizes)
        within = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        sentence_of = np.repeat(first, sizes) + within
        order = np.argsort(sentence_of, kind="stable")
        pointers = np.zeros(sentence_count + 1, dtype=np.int64)
        np.cumsum(np.bincount(sentence_of, minlength=sentence_count), out=pointers[1:])
        return pointers, passage_of[order].astype(np.int32)


class TokenTable(_Rows[list[str]]):
    """Each sentence's tokens, stored as term ids in one array."""

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.vocabulary: dict[str, int] = {}
        self._ids: array | np.ndarray = array("i")
        self._pointers: array | np.ndarray = array("q", [0])

    def append(self, tokens: list[str]) -> None:
        try:
            ids = list(map(self.vocabulary.__getitem__, tokens))  # usually all known already
        except KeyError:
            ids = [self._term_id(token) for token in tokens]
        self._ids.extend(ids)
        self._pointers.append(len(self._ids))

    def _term_id(self, token: str) -> int:
        term = self.vocabulary.get(token)
        if term is None:
            term = self.vocabulary[token] = len(self.terms)
            self.terms.append(token)
        return term

    def freeze(self) -> None:
        self._ids = np.asarray(self._ids, dtype=np.int32)
        self._pointers = np.asarray(self._pointers, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._pointers) - 1

    def ids(self, i: int) -> np.ndarray:
        return np.asarray(self._ids[int(self._pointers[i]) : int(self._pointers[i + 1])])

    def _row(self, i: int) -> list[str]:
        terms = self.terms
        start, end = int(self._pointers[i]), int(self._pointers[i + 1])
        return [terms[t] for t in self._ids[start:end].tolist()]

    def total(self) -> int:
        return len(self._ids)

    def all_ids(self) -> np.ndarray:
        """Every sentence's term ids, concatenated (frozen tables only)."""
        return np.asarray(self._ids)

    def pointers(self) -> np.ndarray:
        """Sentence i's ids are all_ids()[pointers[i]:pointers[i + 1]]."""
        return np.asarray(self._pointers)
