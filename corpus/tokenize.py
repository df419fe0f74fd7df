"""Stage 3: the one tokenizer, used for passages, sentences, questions and topics alike.

Case folding, Unicode compatibility forms, apostrophes (Mali’s → mali, don’t → dont), English
stopwords and Snowball stemming (PyStemmer, compiled, nothing downloaded). Text is only
normalised for matching; quotes always show the original characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import Stemmer

__all__ = [
    "STOPWORDS",
    "TOKENIZER_VERSION",
    "TermNumbering",
    "acronym_words",
    "content_words",
    "stem",
    "term_spans",
    "tokenize",
]

# Bump when tokenisation changes, so cached indexes built with the old rules are rebuilt.
TOKENIZER_VERSION = 2

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})

_STOPWORD_TEXT = """
a about above after again against all almost also am among an and any are aren't around as at
be became because been before being below between both but by can can't cannot could couldn't
did didn't do does doesn't doing don't down during each either else ever every few for from
further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself
him himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its itself
just let's many may me might more most much must mustn't my myself neither no nor not now of off
often on once only or other otherwise ought our ours ourselves out over own per perhaps quite
rather really same shall shan't she she'd she'll she's should shouldn't since so some such than
that that's the their theirs them themselves then there there's these they they'd they'll
they're they've this those though through thus to too under until up upon us very was wasn't we
we'd we'll we're we've were weren't what what's whatever when when's whenever where where's
whereas wherever whether which while who who's whoever whom whose why why's will with within
without won't would wouldn't yet you you'd you'll you're you've your yours yourself yourselves
tell told say said says know please anything something
"""
# Stored the way tokens look after apostrophe handling, so "don't" and "dont" both match.
STOPWORDS = frozenset(w.replace("'", "") for w in _STOPWORD_TEXT.split()) | frozenset(
    _STOPWORD_TEXT.split()
)

_stemmer = Stemmer.Stemmer("english")


# Stems by word. A plain dict is the fastest cache here; it is emptied if it grows past
# _STEM_CACHE_LIMIT entries (a corpus's vocabulary is usually far smaller).
_stems: dict[str, str] = {}
_STEM_CACHE_LIMIT = 1_000_000


def stem(word: str) -> str:
    found = _stems.get(word)
    if found is None:
        if len(_stems) >= _STEM_CACHE_LIMIT:
            _stems.clear()
        found = _stems[word] = _stemmer.stemWord(word)
    return found


def content_words(text: str) -> list[str]:
    """The folded, unstemmed words of `text` that carry meaning, in order. Each distinct word
    is folded once and remembered (`_WordFolds`), as `tokenize` remembers stems."""
    text = _normalised(text)
    found = _TOKEN.findall(text)
    words = list(map(_word_folds.__getitem__, found))
    if _DEPENDS_ON_TEXT in words:  # "US" in capitals: a name, unless the text shouts
        keep = not _is_shouting(text)
        words = [
            (_fold(original)[0] if keep else "") if value == _DEPENDS_ON_TEXT else value
            for original, value in zip(found, words, strict=True)
        ]
    return list(filter(None, words))


def tokenize(text: str) -> list[str]:
    """Stems of the content words of `text`, in order, repeats kept (BM25 counts them).

    The same as stemming `content_words(text)`, but each distinct word is worked out once and
    remembered (`_WordStems`), so a corpus of millions of sentences costs little more than
    finding its words."""
    text = _normalised(text)
    found = _TOKEN.findall(text)
    stems = list(map(_word_stems.__getitem__, found))
    if _DEPENDS_ON_TEXT in stems:  # "US" in capitals: a name, unless the text shouts
        keep = not _is_shouting(text)
        stems = [
            (stem(_fold(word)[0]) if keep else "") if value == _DEPENDS_ON_TEXT else value
            for word, value in zip(found, stems, strict=True)
        ]
    return list(filter(None, stems))


class TermNumbering:
    """Tokenises many texts at once, numbering terms as it meets them, across calls: this is
    how an index reads a corpus. The tokens are exactly `tokenize`'s. (A stopword in capitals
    is numbered after the rest of its call, so callers that need the order of first
    appearance work it out from the numbers: corpus/indexing/analysis.py.)

    Speed comes from doing per word only what C does: punctuation becomes space
    (`str.translate`), `str.split` cuts the text into chunks, and a dict maps each chunk to
    its term's number; the Python rules (`_fold`, stemming) run once per distinct chunk.
    A chunk is almost always one word; the regular expression splits the others ("3.5",
    "U.S.", "word—word"), once each. Texts with an underscore, which the word pattern treats
    specially, go through the pattern whole."""

    def __init__(self) -> None:
        self.terms: list[str] = []  # number -> term
        self._numbers: dict[str, int] = {}
        self._chunks = _ChunkNumbers(self)
        # Chunks holding several words: their (number, word) pairs.
        self.spelled: dict[str, tuple[tuple[int, str], ...]] = {}
        # Chunks holding an acronym word are coded _ACRONYMS - i: entry i is their number
        # and their acronym words, so a batch finds its acronyms without another pass.
        self.acronym_chunks: list[tuple[int, frozenset[str]]] = []

    def number(self, term: str) -> int:
        number = self._numbers.get(term)
        if number is None:
            number = self._numbers[term] = len(self.terms)
            self.terms.append(term)
        return number

    def tokenize_many(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, set[str]]:
        """(term numbers, tokens per text, acronym words): text i's tokens are the terms of
        its slice; the acronym words are `acronym_words(texts)`."""
        # Apostrophes are unified by the same table that turns punctuation into space (one
        # pass, not two); neither the case rules nor acronyms look at apostrophes.
        normalised = [_compatible(text) for text in texts]
        chunks: list[str] = []
        sizes = []
        acronyms: set[str] = set()
        for text in normalised:
            if "_" in text:  # words as the pattern finds them, marked as not chunks
                words = _TOKEN.findall(text.translate(_APOSTROPHES))
                found = [_WORD_MARK + word for word in words]
                acronyms.update(a.casefold() for a in _ACRONYM_WORD.findall(text))
            else:
                found = text.translate(_SPACES).split()
            chunks += found
            sizes.append(len(found))
        ids = np.array(list(map(self._chunks.__getitem__, chunks)), dtype=np.int64)
        coded = ids <= _ACRONYMS
        if coded.any():
            entries = [self.acronym_chunks[_ACRONYMS - code] for code in ids[coded].tolist()]
            ids[coded] = [number for number, _ in entries]
            acronyms.update(*(words for _, words in entries))
        text_of = np.repeat(np.arange(len(texts)), sizes)
        capitals: dict[int, str] = {}  # position -> word, for stopwords in capitals
        if (ids == _CAPITALS).any() or (ids == _SEVERAL).any():
            ids, text_of, capitals = self._spell_out(ids, text_of, chunks)
        for i, word in capitals.items():  # "US": a name, unless the text shouts
            keep = not _is_shouting(normalised[text_of[i]])
            ids[i] = self.number(stem(_fold(word)[0])) if keep else -1
        kept = ids >= 0
        counts = np.bincount(text_of[kept], minlength=len(texts))
        return ids[kept].astype(np.int32), counts, acronyms

    def _spell_out(
        self, ids: np.ndarray, text_of: np.ndarray, chunks: list[str]
    ) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        """Chunks of several words replaced by their words' numbers; and the stopwords in
        capitals, by position, for the caller to settle."""
        several = np.flatnonzero(ids == _SEVERAL)
        spelled = [self.spelled[chunks[i]] for i in several.tolist()]
        lengths = np.ones(len(ids), dtype=np.int64)
        lengths[several] = [len(pairs) for pairs in spelled]
        starts = np.cumsum(lengths) - lengths
        capitals = {
            int(starts[i]): _TOKEN.findall(chunks[i])[0]
            for i in np.flatnonzero(ids == _CAPITALS).tolist()
        }
        ids, text_of = np.repeat(ids, lengths), np.repeat(text_of, lengths)
        for start, pairs in zip(starts[several].tolist(), spelled, strict=True):
            for offset, (number, word) in enumerate(pairs):
                ids[start + offset] = number
                if number == _CAPITALS:
                    capitals[start + offset] = word
        return ids, text_of, capitals


class _ChunkNumbers(dict[str, int]):
    """Chunk of text -> its term's number: -1 when it holds no kept word, _CAPITALS for a
    stopword in capitals, _SEVERAL when it holds more than one word (see `spelled`)."""

    def __init__(self, owner: TermNumbering) -> None:
        super().__init__()
        self.owner = owner

    def __missing__(self, chunk: str) -> int:
        if chunk.startswith(_WORD_MARK):  # a word the pattern found: one word, no acronyms
            self[chunk] = value = self._word_number(chunk[1:])
            return value
        words = _TOKEN.findall(chunk)
        if len(words) == 1:
            value = self._word_number(words[0])
        elif not words:
            value = -1
        else:
            self.owner.spelled[chunk] = tuple((self._word_number(w), w) for w in words)
            value = _SEVERAL
        # A chunk never spans white space or punctuation other than ' and ., so the pattern
        # finds in it exactly what it finds there in the whole text.
        acronyms = _ACRONYM_WORD.findall(chunk)
        if acronyms:
            entries = self.owner.acronym_chunks
            entries.append((value, frozenset(a.casefold() for a in acronyms)))
            value = _ACRONYMS - (len(entries) - 1)
        self[chunk] = value
        return value

    def _word_number(self, found: str) -> int:
        word, kind = _fold(found)
        if kind is _KEPT:
            return self.owner.number(stem(word))
        return -1 if kind is _DROPPED else _CAPITALS


_CAPITALS, _SEVERAL, _ACRONYMS = -2, -3, -10
_WORD_MARK = "\0"  # _SPACES makes it a space, and no word holds it: never in a chunk
# A word of two to eight capitals ("ECOWAS", the "US" of "U.S." is not one): it may stand for
# a run of capitalised words elsewhere in the corpus (corpus/indexing/acronyms.py).
_ACRONYM_WORD = re.compile(r"\b[A-Z]{2,8}\b")


def acronym_words(texts: Iterable[str]) -> set[str]:
    """The acronym words of these texts, folded; what `TermNumbering.tokenize_many` finds."""
    return {a.casefold() for t in texts for a in _ACRONYM_WORD.findall(_normalised(t))}


# Punctuation that never belongs to a word, as space. Apostrophes and periods stay: they may
# join a word ("don't", "U.S."). The underscore is a word character to the pattern, so texts
# holding one are not split this way at all.
_SPACES = {
    **str.maketrans(
        dict.fromkeys(
            [c for c in map(chr, range(128)) if not c.isalnum() and c not in "'._`"]
            + list(
                "\u00a0\u00ab\u00bb\u00b7\u2010\u2011\u2012\u2013\u2014\u2015\u201c\u201d"
                "\u201e\u2026"
            ),
            " ",
        )
    ),
    **_APOSTROPHES,
}


def _normalised(text: str) -> str:
    text = _compatible(text)
    return text.translate(_APOSTROPHES) if not text.isascii() or "`" in text else text


def _compatible(text: str) -> str:
    """Unicode compatibility forms folded (NFKC), which changes nothing in ASCII."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


_KEPT, _DROPPED, _CAPITAL_STOPWORD = object(), object(), object()


def _fold(found: str) -> tuple[str, object]:
    """A word as found in normalised text, folded; and whether it is kept, dropped, or a
    stopword written in capitals ("US", "IT"), which is a name unless the whole text shouts."""
    original = found.replace(".", "") if "." in found else found  # U.S. -> US
    word = original.casefold()
    if "'" in word:
        if word.endswith("'s"):
            word = word[:-2]
        word = word.replace("'", "")
    if word in STOPWORDS:
        capitals = 2 <= len(original) <= 5 and original.isupper()
        return word, _CAPITAL_STOPWORD if capitals else _DROPPED
    if len(word) < 2 and not word.isdigit():
        return word, _DROPPED
    return word, _KEPT


class _WordStems(dict[str, str]):
    """Word as found in normalised text -> its stem, "" when the word is dropped, or
    _DEPENDS_ON_TEXT for a stopword in capitals. Filled on first sight of each word, and
    emptied past _STEM_CACHE_LIMIT entries, like the stem cache."""

    def __missing__(self, found: str) -> str:
        if len(self) >= _STEM_CACHE_LIMIT:
            self.clear()
        word, kind = _fold(found)
        value = stem(word) if kind is _KEPT else "" if kind is _DROPPED else _DEPENDS_ON_TEXT
        self[found] = value
        return value


class _WordFolds(dict[str, str]):
    """Word as found in normalised text -> the word folded, "" when it is dropped, or
    _DEPENDS_ON_TEXT for a stopword in capitals; bounded like `_WordStems`."""

    def __missing__(self, found: str) -> str:
        if len(self) >= _STEM_CACHE_LIMIT:
            self.clear()
        word, kind = _fold(found)
        value = word if kind is _KEPT else "" if kind is _DROPPED else _DEPENDS_ON_TEXT
        self[found] = value
        return value


# No stem or folded word contains a NUL character, so this mark cannot be mistaken for one.
_DEPENDS_ON_TEXT = "\0"
_word_stems = _WordStems()
_word_folds = _WordFolds()
# A word: letters or digits, possibly joined by inner apostrophes (o'brien, don't); or a dotted
# acronym (U.S., U.N.), which is one word.
_TOKEN = re.compile(r"\b(?:[^\W\d_]\.){2,}(?!\w)|[^\W_]+(?:'[^\W_]+)*")


_ORIGINAL_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def term_spans(text: str, terms: set[str] | frozenset[str]) -> list[tuple[int, int]]:
    """Character spans of the words of `text` whose stems are among `terms` (for highlighting
    what matched). Offsets are into `text` as given; nothing is normalised in place."""
    if not terms:
        return []
    matches = list(_ORIGINAL_WORD.finditer(text))
    # An ASCII word reads the same in normalised text: its stem comes from the tokenizer's
    # cache. Only the others ("Niger’s") are tokenised again; a few of them split further.
    stems = [
        _word_stems[m[0]] if m[0].isascii() else _single(tokenize(m[0]) or [""]) for m in matches
    ]
    spans = []
    for match, value in zip(matches, stems, strict=True):
        if value == _DEPENDS_ON_TEXT:  # a stopword in capitals ("US") counts here
            value = stem(_fold(match[0])[0])
        if value in terms if isinstance(value, str) else not terms.isdisjoint(value):
            spans.append(match.span())
    return spans


def _single(stems: list[str]) -> str | list[str]:
    return stems[0] if len(stems) == 1 else stems


def _is_shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) > 0.6 * len(letters)
