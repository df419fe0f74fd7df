"""The index cache can be damaged or hostile: it must never run code, never put words in an
article's mouth, and never leave half-written files behind."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus import Corpus, CorpusError
from corpus.indexing.cachefile import MAGIC
from corpus.indexing.store import CACHE_FORMAT, cache_path
from tests.conftest import ARTICLE, PROJECT, make_seeds, report_texts

QUESTIONS = (
    "Who leads Wagner Group?",
    "What did Putin stress?",
    "Where will the army chiefs meet?",
)


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    directory = tmp_path / "seeds"
    directory.mkdir()
    shutil.copy(ARTICLE, directory)
    shutil.copy(ARTICLE.with_name(ARTICLE.stem + ".meta.toml"), directory)
    return directory


def _shown_texts(corpus: Corpus) -> list[str]:
    """Every text the corpus would show for a few questions and a summary."""
    shown = []
    for question in QUESTIONS:
        answer = corpus.ask(question)
        for quote in answer.quotes:
            shown.append(quote.text)
            if quote.lead_in is not None:
                shown.append(quote.lead_in.text)
    shown.extend(q.text for q in corpus.summarize(length="long").quotes)
    return shown


def test_two_hundred_damaged_caches_never_show_words_the_article_lacks(seeds, tmp_path):
    # The article as read from disk here, independently of the loader and the index.
    on_disk = ARTICLE.read_text(encoding="utf-8")
    cache = tmp_path / "cache"
    Corpus.open(seeds, cache_dir=cache)
    path = cache_path(cache, seeds)
    pristine = path.read_bytes()
    rng = random.Random(20261201)
    outcomes = {"reused": 0, "rebuilt": 0}
    for _ in range(200):
        damaged = bytearray(pristine)
        at = rng.randrange(len(damaged) - 8)
        for i in range(at, at + 8):
            damaged[i] = rng.randrange(256)
        path.write_bytes(bytes(damaged))
        try:
            corpus = Corpus.open(seeds, cache_dir=cache)
            shown = _shown_texts(corpus)
        except CorpusError as error:  # a polite refusal is allowed; a crash is not
            pytest.fail(f"damage at byte {at} gave an error: {error}")
        assert shown, at
        for text in shown:
            assert text in on_disk, (at, text)
        outcomes["rebuilt" if corpus.cache_status == "rebuilt" else "reused"] += 1
    # Most flips land in the arrays or the manifest and are caught; a few hit padding.
    assert outcomes["rebuilt"] > 150, outcomes


def test_a_cache_holding_a_pickle_is_never_unpickled(seeds, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    cache = tmp_path / "cache"
    cache.mkdir()
    path = cache_path(cache, seeds)
    path.write_bytes(pickle.dumps(Payload()))
    corpus = Corpus.open(seeds, cache_dir=cache)
    assert corpus.cache_status == "rebuilt"
    assert not marker.exists()
    assert path.read_bytes().startswith(MAGIC)


def test_a_manifest_naming_a_foreign_class_is_refused(seeds, tmp_path, caplog):
    cache = tmp_path / "cache"
    cache.mkdir()
    # A well-formed file, digest and all, whose tree asks for something outside the index.
    manifest = json.dumps(
        {
            "extra": {"format": CACHE_FORMAT, "buffer_bytes": 0},
            "buffers": [],
            "arrays": [],
            "tree": {"object": "os.system", "state": {"str": {}}, "n": 0},
        }
    ).encode()
    data = MAGIC + len(manifest).to_bytes(8, "little")
    data += hashlib.blake2b(manifest, digest_size=16).digest() + manifest
    cache_path(cache, seeds).write_bytes(data)
    corpus = Corpus.open(seeds, cache_dir=cache)
    assert corpus.cache_status == "rebuilt"
    assert "may not hold" in caplog.text


def test_the_cache_is_readable_by_its_owner_only(seeds, tmp_path):
    cache = tmp_path / "cache"
    Corpus.open(seeds, cache_dir=cache)
    mode = cache_path(cache, seeds).stat().st_mode
    assert stat.S_IMODE(mode) & 0o077 == 0


def test_a_damaged_text_found_while_serving_is_rebuilt_before_it_is_shown(seeds, tmp_path):
    """Damage the stored text after the cache opened (as a background check might find it):
    the quote is checked against its document's hash and the index rebuilt."""
    on_disk = ARTICLE.read_text(encoding="utf-8")
    corpus = Corpus.open(seeds, cache_dir=tmp_path / "cache")
    corpus.index.texts.blob = corpus.index.texts.blob.copy()
    corpus.index.texts.blob[40:48] = list(b"XXXXXXXX")
    corpus.index.texts._verified.clear()
    answer = corpus.ask("What did Putin stress?")
    assert corpus.cache_status == "rebuilt"
    assert answer.quotes and all(q.text in on_disk for q in answer.quotes)


def test_stale_temporaries_of_dead_writers_are_swept(seeds, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = cache / f".index-{dead.pid}-abc123"
    leftover.write_bytes(b"\0" * 1000)
    alive = cache / f".index-{os.getppid()}-def456"  # a writer that still runs: kept
    alive.write_bytes(b"\0" * 10)
    Corpus.open(seeds, cache_dir=cache)
    assert not leftover.exists()
    assert alive.exists()


def test_ctrl_c_while_starting_exits_130_not_by_the_signal(tmp_path):
    """A Ctrl-C while Python is still importing the engine ends with "Interrupted." and exit
    code 130 at every moment, including the ones where CPython would otherwise end the process
    by SIGINT (a KeyboardInterrupt that hit exec() of a string inside dataclasses or typing)."""
    seeds = make_seeds(tmp_path / "seeds", {"doc": "The harbour council met about ferries."})
    for step in range(32):  # the moments that matter are narrow: try many
        delay = 0.08 + 0.02 * step
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "index", "--seeds", str(seeds)],
            cwd=PROJECT,
            env={**os.environ, "CACHE_DIR": str(tmp_path / "cache")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        time.sleep(delay)
        if process.poll() is not None:
            break  # started and finished before the signal: later moments are no different
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        if stderr.startswith("Fatal Python error: init_import_site"):
            continue  # the interpreter itself was not up yet: its message, before any of ours
        assert "Traceback" not in stderr, (delay, stderr)
        assert process.returncode in (0, 130), (delay, process.returncode, stderr)
        assert "Interrupted." in stderr or process.returncode == 0, (delay, stderr)


def test_ctrl_c_during_a_build_leaves_no_partial_file_and_no_traceback(tmp_path):
    """SIGINT at different moments of building and saving a corpus big enough to take a
    while: each run ends with "Interrupted." (or finishes), never a traceback, and no
    temporary file stays behind."""
    texts = report_texts(60, 400)
    seeds = make_seeds(tmp_path / "seeds", texts)
    for attempt, delay in enumerate((0.6, 0.9, 1.2, 1.5, 1.9, 2.4)):
        cache = tmp_path / f"cache{attempt}"
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "index", "--seeds", str(seeds)],
            cwd=PROJECT,
            env={**os.environ, "CACHE_DIR": str(cache)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # the signal goes to its whole group, as Ctrl-C does
        )
        time.sleep(delay)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert "Traceback" not in stderr, (delay, stderr)
        assert process.returncode in (0, 130), (delay, process.returncode, stderr)
        if process.returncode == 130:
            assert "Interrupted." in stderr
        assert not list(cache.glob(".index-*")) if cache.exists() else True, delay
