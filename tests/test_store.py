"""The index cache: reused while seeds are unchanged, rebuilt when they change or break."""

from __future__ import annotations

import os

from corpus import Corpus
from corpus.indexing.store import cache_path
from tests.conftest import make_seeds


def open_corpus(seeds, cache):
    return Corpus.open(seeds, cache_dir=cache)


def test_first_open_builds_second_reuses(tmp_path):
    seeds = make_seeds(tmp_path / "seeds", {"a": "Goats eat grass. Sharks eat fish."})
    first = open_corpus(seeds, tmp_path / "cache")
    second = open_corpus(seeds, tmp_path / "cache")
    assert (first.cache_status, second.cache_status) == ("built", "reused")
    assert second.index.content_hash == first.index.content_hash
    assert second.ask("What do sharks eat?").quotes[0].text == "Sharks eat fish."


def test_adding_an_article_reads_only_that_file(tmp_path):
    """The other files' sizes and times are unchanged, so their documents come from the cache:
    a file rewritten behind the index's back with the same size and time is proof it was not
    read again (its old text stays indexed)."""
    seeds = make_seeds(tmp_path / "seeds", {"a": "Goats eat grass.", "b": "Owls eat mice."})
    cache = tmp_path / "cache"
    open_corpus(seeds, cache)
    before = os.stat(seeds / "a.txt")
    (seeds / "a.txt").write_text("Goats eat maize.", encoding="utf-8")  # same length
    os.utime(seeds / "a.txt", ns=(before.st_atime_ns, before.st_mtime_ns))
    make_seeds(seeds, {"c": "Sharks eat fish."})
    added = open_corpus(seeds, cache)
    assert added.cache_status == "rebuilt" and added.index.analysed_documents == 1
    assert added.ask("What do sharks eat?").quotes[0].text == "Sharks eat fish."
    assert added.ask("What do goats eat?").quotes[0].text == "Goats eat grass."


def test_changed_added_or_removed_seed_rebuilds(tmp_path):
    seeds = make_seeds(tmp_path / "seeds", {"a": "Goats eat grass."})
    cache = tmp_path / "cache"
    open_corpus(seeds, cache)
    (seeds / "a.txt").write_text("Goats eat hay.", encoding="utf-8")
    changed = open_corpus(seeds, cache)
    assert changed.cache_status == "rebuilt"
    assert changed.ask("What do goats eat?").quotes[0].text == "Goats eat hay."
    make_seeds(seeds, {"b": "Sharks eat fish."})
    added = open_corpus(seeds, cache)
    assert added.cache_status == "rebuilt" and set(added.index.spans) == {"a", "b"}
    (seeds / "b.txt").unlink()
    removed = open_corpus(seeds, cache)
    assert removed.cache_status == "rebuilt" and set(removed.index.spans) == {"a"}
    assert open_corpus(seeds, cache).cache_status == "reused"


def test_metadata_change_rebuilds(tmp_path):
    seeds = make_seeds(tmp_path / "seeds", {"a": "Goats eat grass."})
    open_corpus(seeds, tmp_path / "cache")
    (seeds / "a.meta.toml").write_text('title = "Goats"\n', encoding="utf-8")
    reopened = open_corpus(seeds, tmp_path / "cache")
    assert reopened.cache_status == "rebuilt"
    assert reopened.index.documents[0].title == "Goats"


def test_corrupt_cache_is_rebuilt_with_a_warning(tmp_path, caplog):
    seeds = make_seeds(tmp_path / "seeds", {"a": "Goats eat grass."})
    cache = tmp_path / "cache"
    open_corpus(seeds, cache)
    cache_path(cache, seeds).write_bytes(b"\x80\x05garbage")
    reopened = open_corpus(seeds, cache)
    assert reopened.cache_status == "rebuilt"
    assert "could not be read" in caplog.text
    assert open_corpus(seeds, cache).cache_status == "reused"


def test_cache_from_another_version_is_rebuilt(tmp_path, caplog):
    seeds = make_seeds(tmp_path / "seeds", {"a": "Goats eat grass."})
    cache = tmp_path / "cache"
    open_corpus(seeds, cache)
    cached = cache_path(cache, seeds)
    header = len(b"QUOTEBOT-INDEX\n")
    data = bytearray(cached.read_bytes())
    data[header : header + 8] = (999).to_bytes(8, "little")  # a format from the future
    cached.write_bytes(bytes(data))
    assert open_corpus(seeds, cache).cache_status == "rebuilt"
    assert "another version" in caplog.text


def test_unwritable_cache_still_answers(tmp_path, caplog):
    seeds = make_seeds(tmp_path / "seeds", {"a": "Goats eat grass."})
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    corpus = open_corpus(seeds, blocker)
    assert corpus.ask("What do goats eat?").found
    assert "Could not save the index cache" in caplog.text


def test_only_changed_and_new_files_are_read_again(tmp_path):
    texts = {f"doc{n}": f"Report number {n} says goats eat grass." for n in range(5)}
    seeds = make_seeds(tmp_path / "seeds", texts)
    cache = tmp_path / "cache"
    assert open_corpus(seeds, cache).stats().documents_read == 5
    (seeds / "doc2.txt").write_text("Report two now says sharks eat fish.", encoding="utf-8")
    make_seeds(seeds, {"doc9": "A new report says zebras eat leaves."})
    changed = open_corpus(seeds, cache)
    assert changed.cache_status == "rebuilt"
    assert changed.stats().documents_read == 2  # doc2 changed, doc9 new; four reused
    assert changed.ask("What do sharks eat?").quotes[0].citation.doc_id == "doc2"
    assert changed.ask("What do zebras eat?").quotes[0].citation.doc_id == "doc9"
    fresh = Corpus.open(seeds)  # the same answers as a build from nothing
    for question in ("What do goats eat?", "What do sharks eat?"):
        assert changed.ask(question) == fresh.ask(question)


def test_progress_is_reported_as_batches_of_documents_are_done(tmp_path, monkeypatch):
    monkeypatch.setattr(
        "corpus.indexing.index.BATCH_CHARACTERS", 20
    )  # two 10-character texts a batch
    seeds = make_seeds(tmp_path / "seeds", {f"d{n}": "Text here." for n in range(5)})
    calls = []
    Corpus.open(seeds, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_touched_but_unchanged_files_reuse_the_cache(tmp_path):
    seeds = make_seeds(tmp_path / "seeds", {"a": "Goats eat grass.", "b": "Sharks eat fish."})
    cache = tmp_path / "cache"
    open_corpus(seeds, cache)
    (seeds / "a.txt").touch()
    os.utime(seeds / "a.txt", ns=(1, 1))  # a new time, same content
    assert open_corpus(seeds, cache).cache_status == "reused"
    assert open_corpus(seeds, cache).cache_status == "reused"


def test_unchanged_files_are_not_read_again(tmp_path):
    """When sizes and times match, the cache is trusted without opening a seed file (as make
    and git trust them): a rewrite that keeps both is not noticed; `index --rebuild` is."""
    seeds = make_seeds(tmp_path / "seeds", {"a": "Goats eat grass.", "b": "Sharks eat fish."})
    cache = tmp_path / "cache"
    open_corpus(seeds, cache)
    stamp = (seeds / "b.txt").stat()
    (seeds / "b.txt").write_text("Sharks eat fish!", encoding="utf-8")  # same size
    os.utime(seeds / "b.txt", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    reopened = open_corpus(seeds, cache)
    assert reopened.cache_status == "reused"
    assert reopened.ask("What do sharks eat?").quotes[0].text == "Sharks eat fish."


def test_problems_are_reported_again_when_the_cache_is_reused(tmp_path):
    seeds = make_seeds(tmp_path / "seeds", {"good": "Goats eat grass.", "bad": b"\xff\xfe"})
    cache = tmp_path / "cache"
    assert [p.path.name for p in open_corpus(seeds, cache).problems] == ["bad.txt"]
    reopened = open_corpus(seeds, cache)
    assert reopened.cache_status == "reused"
    assert [p.path.name for p in reopened.problems] == ["bad.txt"]


def test_changing_the_passage_settings_rebuilds_the_passage_windows(tmp_path):
    from corpus import IndexConfig

    text = " ".join(f"Sentence {n} tells of goats." for n in range(1, 10))
    seeds = make_seeds(tmp_path / "seeds", {"a": text})
    cache = tmp_path / "cache"
    three = Corpus.open(seeds, cache_dir=cache, config=IndexConfig(passage_sentences=3))
    two = Corpus.open(
        seeds, cache_dir=cache, config=IndexConfig(passage_sentences=2, passage_overlap=0)
    )
    assert two.cache_status == "rebuilt"
    assert two.index.content_hash != three.index.content_hash

    def windows(corpus):
        columns = corpus.index.passages.column
        return list(zip(columns("first").tolist(), columns("last").tolist(), strict=True))

    assert windows(three) == [(0, 2), (2, 4), (4, 6), (6, 8)]
    assert windows(two) == [(0, 1), (2, 3), (4, 5), (6, 7), (7, 8)]
    again = Corpus.open(
        seeds, cache_dir=cache, config=IndexConfig(passage_sentences=2, passage_overlap=0)
    )
    assert again.cache_status == "reused" and windows(again) == windows(two)
