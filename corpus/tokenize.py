"""Stage 3: the one tokenizer, used for passages, sentences, questions and topics alike.

Case folding, Unicode compatibility forms, apostrophes (Mali’s → mali, don’t → dont), English
stopwords and Snowball stemming (PyStemmer, compiled, nothing downloaded). Text is only
normalised for matching; quotes always show the original characters.
"""

from __future__ import annotations

import re
import unicodedata

import Stemmer

__all__ = ["STOPWORDS", "TOKENIZER_VERSION", "content_words", "stem", "term_spans", "tokenize"]

# Bump when tokenisation changes, so cached indexes built with the old rules are rebuilt.
TOKENIZER_VERSION = 1

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
# A word: letters or digits, possibly joined by inner apostrophes (o'brien, don't).
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# Dotted acronyms (U.S., U.N.) become one word before punctuation splits them apart.
_DOTTED_ACRONYM = re.compile(r"\b(?:[^\W\d_]\.){2,}(?!\w)")

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
    """The folded, unstemmed words of `text` that carry meaning, in order."""
    if not text.isascii():  # NFKC changes nothing in ASCII, and costs a pass
        text = unicodedata.normalize("NFKC", text)
    text = text.translate(_APOSTROPHES)
    if "." in text:
        text = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    shouting: bool | None = None  # worked out only if a word in capitals needs it
    words: list[str] = []
    append = words.append
    for original in _WORD.findall(text):
        word = original.casefold()
        if "'" in word:
            if word.endswith("'s"):
                word = word[:-2]
            word = word.replace("'", "")
        if word in STOPWORDS:
            # "US" or "IT" written in capitals is a name, not the pronoun, unless the whole
            # text is written in capitals.
            if not (2 <= len(original) <= 5 and original.isupper()):
                continue
            if shouting is None:
                shouting = _is_shouting(text)
            if shouting:
                continue
        if len(word) < 2 and not word.isdigit():
            continue
        append(word)
    return words


def tokenize(text: str) -> list[str]:
    """Stems of the content words of `text`, in order, repeats kept (BM25 counts them)."""
    cached = _stems.get
    return [cached(word) or stem(word) for word in content_words(text)]


_ORIGINAL_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def term_spans(text: str, terms: set[str] | frozenset[str]) -> list[tuple[int, int]]:
    """Character spans of the words of `text` whose stems are among `terms` (for highlighting
    what matched). Offsets are into `text` as given; nothing is normalised in place."""
    if not terms:
        return []
    spans = []
    for match in _ORIGINAL_WORD.finditer(text):
        word = match.group(0)
        # Most words are plain: stem them directly; the rest go through the full tokenizer.
        if word.isascii() and word.isalnum():
            folded = word.casefold()
            stems = [] if folded in STOPWORDS and not word.isupper() else [stem(folded)]
        else:
            stems = tokenize(word)
        if any(t in terms for t in stems):
            spans.append(match.span())
    return spans


def _is_shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) > 0.6 * len(letters)
