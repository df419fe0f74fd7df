"""Files that are not what their names say: a FIFO or a device given to `add`, a FIFO in the
index cache's place, and a temporary left by a killed cache writer. None may hang a command,
exhaust its memory, or stay behind."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from corpus.indexing.store import cache_path
from tests.conftest import PROJECT, make_seeds, report_texts, run_cli

ARTICLE = "The harbour council met on Monday and approved two new ferry sailings for the winter."


def _memory_bounded(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` with at most 2 GB of memory, so that code reading a device without
    end fails quickly instead of taking the machine's memory."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))

    env = {k: v for k, v in os.environ.items() if k not in {"SEEDS_DIR", "XDG_DATA_HOME"}}
    env.update(DATA_DIR=str(tmp_path / "data"), CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
    )


def test_adding_a_fifo_or_a_device_is_refused_by_name(tmp_path):
    fifo = tmp_path / "story.txt"
    os.mkfifo(fifo)  # nobody will ever write to it: opening it to read would wait for ever
    refused = run_cli(tmp_path, "add", str(fifo), timeout=30)
    assert refused.returncode == 2
    assert f"{fifo}: is not a regular file (a pipe, socket or device)" in refused.stderr
    link = tmp_path / "zeros.txt"
    link.symlink_to("/dev/zero")
    for device in ("/dev/zero", str(link)):
        refused = _memory_bounded("add", device, tmp_path=tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert "is not a regular file (a pipe, socket or device)" in refused.stderr
    listed = run_cli(tmp_path, "list", "--json")
    assert [a["id"] for a in json.loads(listed.stdout)] == ["niger-coup-2023"]  # as it was


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:  # sparse: costs no disk, and would cost memory to read
        handle.truncate(6 * 2**20)
    refused = run_cli(tmp_path, "add", str(huge))
    assert refused.returncode == 2
    assert f"{huge}: is larger than 5 MB" in refused.stderr


def test_a_metadata_file_that_is_a_fifo_is_ignored_not_waited_on(tmp_path):
    story = tmp_path / "story.txt"
    story.write_text(ARTICLE, encoding="utf-8")
    os.mkfifo(tmp_path / "story.meta.toml")
    added = run_cli(tmp_path, "add", str(story), timeout=30)
    assert added.returncode == 0 and added.stdout.startswith("Added story"), added.stderr
    assert "Ignoring metadata file" in added.stderr and "not a regular file" in added.stderr


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    return make_seeds(tmp_path / "seeds", {"ferry": ARTICLE})


def test_a_cache_that_is_a_fifo_is_rebuilt_not_waited_on(seeds, tmp_path):
    assert run_cli(tmp_path, "index", "--seeds", str(seeds)).returncode == 0
    cache = cache_path(tmp_path / "cache", seeds)
    cache.unlink()
    os.mkfifo(cache)
    checked = run_cli(tmp_path, "verify", "--seeds", str(seeds), timeout=30)
    assert checked.returncode == 1 and "not a regular file" in checked.stdout
    asked = run_cli(tmp_path, "ask", "--seeds", str(seeds), "What did the council approve?")
    assert asked.returncode == 0 and "two new ferry sailings" in asked.stdout
    assert "could not be read (it is not a regular file); rebuilding it" in asked.stderr
    assert cache.is_file()  # the rebuilt cache took the FIFO's place


def test_a_killed_cache_writers_temporary_goes_when_the_cache_is_next_opened(tmp_path):
    texts = report_texts(30, 200)
    seeds = make_seeds(tmp_path / "seeds", texts)
    cache = tmp_path / "cache"
    assert run_cli(tmp_path, "index", "--seeds", str(seeds)).returncode == 0
    first = seeds / "doc000.txt"
    as_cached = first.stat()
    first.write_text("The ferry report was withdrawn.", encoding="utf-8")
    # Saves the changed index: killed while it writes, leaving the cache file half written.
    leftovers = _index_killed_once_it_writes(seeds, cache, ".index-*")
    # Another writer saving right now (this process, alive): its temporary must stay.
    busy = cache / f".index-{os.getpid()}-saving"
    busy.write_bytes(b"\0" * 100)
    # The file as the cache knows it (size and time), so the next open saves nothing.
    first.write_text(texts["doc000"], encoding="utf-8")
    os.utime(first, ns=(as_cached.st_atime_ns, as_cached.st_mtime_ns))
    opened = run_cli(tmp_path, "index", "--seeds", str(seeds), "--json")
    assert json.loads(opened.stdout)["cache_status"] == "reused", opened.stdout
    assert not any(leftover.exists() for leftover in leftovers)
    assert busy.exists()


def test_a_killed_builds_spilled_files_go_when_the_cache_is_next_opened(tmp_path):
    """A build writes its big arrays to files in the cache directory as it goes; killed
    half way, it leaves them. Each is locked while its build runs, so the next open removes
    them whatever process ids have been reused since, and leaves a running build's alone."""
    seeds = make_seeds(tmp_path / "seeds", report_texts(60, 400))
    cache = tmp_path / "cache"
    leftovers = _index_killed_once_it_writes(seeds, cache, ".spill-*")
    # A spilled file of a build running now (this process holds its lock): it stays.
    from corpus.indexing.spill import Spill

    running = Spill("int32", cache)
    running.append(np.arange(10))
    opened = run_cli(tmp_path, "index", "--seeds", str(seeds), "--json")
    assert json.loads(opened.stdout)["cache_status"] == "built", opened.stdout
    assert not any(leftover.exists() for leftover in leftovers)
    assert list(cache.glob(".spill-*")) == [running.path]
    running.discard()
    assert not list(cache.glob(".spill-*"))


def _index_killed_once_it_writes(seeds: Path, cache: Path, pattern: str) -> list[Path]:
    """`index` run in a process of its own, killed (SIGKILL) as soon as a file matching
    `pattern` appears in the cache directory: the files it left there."""
    writer = subprocess.Popen(
        [sys.executable, "-m", "bot", "index", "--seeds", str(seeds)],
        cwd=PROJECT,
        env={**os.environ, "CACHE_DIR": str(cache), "ENCODER": "off"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while writer.poll() is None and not list(cache.glob(pattern)):
        time.sleep(0.002)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    leftovers = list(cache.glob(pattern))
    assert leftovers, "the build ended before it wrote"
    return leftovers
