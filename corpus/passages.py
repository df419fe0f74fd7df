"""Stage 4: group a document's sentences into overlapping windows, the passages BM25 scores."""

from __future__ import annotations

from .models import Passage, Sentence

__all__ = ["make_passages"]


def make_passages(sentences: list[Sentence], offset: int, size: int, overlap: int) -> list[Passage]:
    """Windows of `size` sentences that share `overlap` with the previous one.

    `sentences` are one document's, in order; `offset` is the position of the first of them in
    the index's sentence list. The last window is shifted back so it is full whenever the
    document has `size` sentences, and every sentence lies in at least one window.
    """
    if not sentences:
        return []
    stride = size - overlap
    count = len(sentences)
    starts = list(range(0, max(count - overlap, 1), stride))
    if starts[-1] + size < count:
        starts.append(count - size)
    passages = []
    for start in starts:
        start = max(0, min(start, count - size))
        last = min(start + size, count) - 1
        first_sentence, last_sentence = sentences[start], sentences[last]
        passage = Passage(
            id=f"{first_sentence.doc_id}:{first_sentence.number}-{last_sentence.number}",
            doc_id=first_sentence.doc_id,
            first=offset + start,
            last=offset + last,
        )
        if not passages or passages[-1].id != passage.id:
            passages.append(passage)
    return passages
