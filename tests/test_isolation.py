"""Untrusted files are read in a child process that a deadline and a memory cap can stop
(corpus/ingest/isolation.py): the same text as reading in-process, and a clear refusal, with no
process left behind, when a limit is reached."""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus.errors import SeedFileError
from corpus.ingest.formats import extract
from corpus.ingest.isolation import ISOLATE_HTML_FROM, extract_isolated, needs_isolation
from corpus.sources.library import Library
from tests.test_formats import _pdf

FERRY = "The harbour ferry will run every twenty minutes from Monday, the council said."


def _big_page(paragraphs: int) -> bytes:
    body = "".join(
        f"<p>{FERRY} Crossing number {n} leaves the north quay on time.</p>"
        for n in range(paragraphs)
    )
    return (
        "<html><head><title>Ferry timetable</title></head>"
        f"<body><article>{body}</article></body></html>"
    ).encode()


def test_which_files_are_read_apart():
    assert needs_isolation(Path("a.pdf"), b"%PDF")
    assert needs_isolation(Path("a.HTML"), b"x" * ISOLATE_HTML_FROM)
    assert not needs_isolation(Path("a.html"), b"x" * (ISOLATE_HTML_FROM - 1))
    assert not needs_isolation(Path("a.txt"), b"x" * 10 * ISOLATE_HTML_FROM)
    assert needs_isolation(Path("a.html"), gzip.compress(b"<p>small, but it could inflate</p>"))


def test_a_page_read_apart_gives_what_reading_it_here_gives():
    page = _big_page(3000)
    assert len(page) >= ISOLATE_HTML_FROM
    assert extract_isolated(Path("ferry.html"), page) == extract(Path("ferry.html"), page)


def test_a_pdf_read_apart_gives_its_text_and_its_refusal():
    pdf = _pdf(["The tram depot closed on Friday after the storm."])
    assert extract_isolated(Path("r.pdf"), pdf) == extract(Path("r.pdf"), pdf)
    with pytest.raises(SeedFileError, match="could not be read as a PDF"):
        extract_isolated(Path("broken.pdf"), b"%PDF-1.4 this is not really a PDF")


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (from /proc, so no helper process is counted)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (name) state ppid ...": the name may hold spaces, so split after it.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def test_a_reader_past_its_deadline_is_killed_and_the_file_refused():
    before = _children(os.getpid())
    started = time.monotonic()
    with pytest.raises(SeedFileError, match=r"took longer than 0\.2 seconds to read"):
        # Starting the child alone takes longer than this deadline.
        extract_isolated(Path("ferry.html"), _big_page(3000), seconds=0.2)
    # Given up at the deadline, not after the work (generous: it proves no wait for it).
    assert time.monotonic() - started < 5
    assert _children(os.getpid()) <= before  # killed and reaped


def test_a_reader_past_its_memory_cap_is_refused():
    # However the parser takes running out (its own error, or none and no text), the file is
    # refused with a SeedFileError, never a crash of the caller.
    with pytest.raises(SeedFileError):
        extract_isolated(Path("ferry.html"), _big_page(40000), memory_bytes=100 * 2**20)


def test_adding_a_large_page_reads_it_apart(tmp_path):
    article, new = Library(tmp_path / "data").add(
        "harbour", _big_page(3000), ".html", wanted_id="ferry"
    )
    assert new and article.title == "Ferry timetable"


def test_a_ctrl_c_while_reading_takes_the_reader_with_it():
    script = (
        "import sys; from pathlib import Path; "
        "from corpus.ingest.isolation import extract_isolated; "
        "extract_isolated(Path('a.html'), sys.stdin.buffer.read())"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE)
    assert parent.stdin is not None
    parent.stdin.write(_big_page(40000))  # several seconds of reading
    parent.stdin.close()
    deadline = time.monotonic() + 30
    while not (readers := _children(parent.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert readers, "the reader never started"
    parent.send_signal(signal.SIGINT)
    parent.wait(timeout=30)
    for pid in readers:  # killed with the parent's request, not left to finish
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
