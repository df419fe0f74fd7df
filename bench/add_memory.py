"""Peak memory of `python -m bot add FILE` for inputs made to be heavy, against the bound.

    python bench/add_memory.py                 # every input, 5 MB each (a few minutes)
    python bench/add_memory.py --mb 1          # smaller inputs, quicker
    python bench/add_memory.py --only words prose

Each input is added to a fresh data directory by `python -m bot add` in its own process, the
way a host runs it; the peak resident memory of that process (its own, from `os.wait4`, or
that of it and the child process that reads PDFs and large pages together, sampled every
10 ms, whichever is larger) is compared with the bound from issue 16: 20 × the size of the
article's decoded text + 150 MB.
"Decoded text" is the text the article's format gives (corpus/ingest/formats.py), measured in
this process first; an input refused as too long is listed with its refusal, and its bound
uses the text it would have had (the file's size).

Inputs: unique words with no sentence ends; ordinary prose (the bundled article repeated with
numbered sentences); as many different words as an article may have, then prose; a big web
page; a page of tiny elements; a Markdown file; a PDF whose 500 pages share one content
stream; a PDF whose one stream inflates to 70 MB; and a gzip web page that inflates past the
limit.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from corpus.errors import SeedFileError  # noqa: E402
from corpus.ingest.formats import MAX_DISTINCT_WORDS, extract  # noqa: E402

MB = 1024 * 1024
BASE_MB = 150
PER_TEXT_BYTE = 20
PROSE = (PROJECT / "seeds" / "niger-coup-2023.txt").read_text(encoding="utf-8")


def unique_words(size: int) -> bytes:
    """Distinct random words, spaces only: no sentence or paragraph ever ends."""
    rng = random.Random(16)
    words, total = [], 0
    while total < size:
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 10)))
        words.append(word)
        total += len(word) + 1
    return " ".join(words).encode()[:size]


def prose(size: int) -> bytes:
    """News prose: the bundled article's paragraphs, numbered so that none repeats."""
    paragraphs = [p for p in PROSE.split("\n\n") if p.strip()]
    out, total, n = [], 0, 0
    while total < size:
        paragraph = f"Part {n}. " + paragraphs[n % len(paragraphs)]
        out.append(paragraph)
        total += len(paragraph.encode()) + 2
        n += 1
    return "\n\n".join(out).encode()[:size]


def most_words(size: int) -> bytes:
    """As many different words as an article may have, then prose up to `size`: the most
    vocabulary and the most text at once."""
    words = unique_words(int(MAX_DISTINCT_WORDS * 0.95) * 8)
    return words + b".\n\n" + prose(max(size - len(words) - 3, 0))


def web_page(size: int) -> bytes:
    body = prose(int(size * 0.99) - 500).decode(errors="ignore").split("\n\n")  # tags fit
    paragraphs = "".join(f"<p>{p}</p>\n" for p in body)
    return (
        "<!doctype html><html><head><title>A long report</title></head><body><article>"
        f"<h1>A long report</h1>{paragraphs}</article></body></html>"
    ).encode()


def tag_soup(size: int) -> bytes:
    """A page of tiny elements: the most elements a page of this size can hold."""
    cells = "".join(f"<p><b>{n % 97}</b><i>x</i></p>" for n in range(size // 24))
    return f"<html><body><article><h1>Soup</h1>{cells}</article></body></html>".encode()[:size]


def markdown(size: int) -> bytes:
    body = prose(int(size * 0.99) - 100).decode(errors="ignore").split("\n\n")
    return ("# A long report\n\n" + "\n\n".join(f"- {p}" for p in body)).encode()


def shared_stream_pdf(size: int) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    resources = _helvetica(writer)
    lines = b"".join(b"(Line %d of the report on the tram budget.) Tj 0 -14 Td\n" % n
                     for n in range(3000))  # fmt: skip
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 72 720 Td\n" + lines + b"ET")
    shared = writer._add_object(stream)
    for _ in range(500):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Contents")] = shared
        page[NameObject("/Resources")] = resources
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def inflating_pdf(size: int) -> bytes:
    """A 0.1 MB PDF whose one content stream inflates to 70 MB of text operators."""
    import zlib

    from pypdf import PdfWriter
    from pypdf.generic import NameObject, NumberObject, StreamObject

    writer = PdfWriter()
    operators = b"BT /F1 12 Tf 72 720 Td\n" + b"(x) Tj\n" * (70_000_000 // 7) + b"ET"
    stream = StreamObject()
    stream._data = zlib.compress(operators, 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream[NameObject("/Length")] = NumberObject(len(stream._data))
    page = writer.add_blank_page(612, 792)
    page[NameObject("/Contents")] = writer._add_object(stream)
    page[NameObject("/Resources")] = _helvetica(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _helvetica(writer: object) -> object:
    """Resources naming Helvetica as /F1, without which pypdf reads no text."""
    from pypdf.generic import DictionaryObject, NameObject

    font = writer._add_object(  # type: ignore[attr-defined]
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    return DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})


def gzip_page(size: int) -> bytes:
    return gzip.compress(web_page(max(size, 6 * MB)), 9)


INPUTS: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "words": ("words.txt", unique_words),
    "prose": ("prose.txt", prose),
    "vocab": ("vocab.txt", most_words),
    "html": ("page.html", web_page),
    "soup": ("soup.html", tag_soup),
    "md": ("notes.md", markdown),
    "pdf": ("shared.pdf", shared_stream_pdf),
    "zpdf": ("inflating.pdf", inflating_pdf),
    "gzip": ("bomb.html", gzip_page),
}


def decoded_size(name: str, raw: bytes) -> tuple[int, str]:
    """The article's text size in bytes (UTF-8), and what extraction said if it refused."""
    try:
        return len(extract(Path(name), raw).text.encode()), ""
    except SeedFileError as error:
        return len(raw), error.problem


# The child is started by a small go-between: on Linux a process's peak RSS counts what it
# inherited at fork, so a child forked from this (big) process would report this one's size.
# Besides the `add` process's own peak (from `os.wait4`), the go-between samples the resident
# memory of `add` and every process under it (the child that reads PDFs and large pages) every
# 10 ms: the peak of that sum is what the machine must hold.
_GO_BETWEEN = """
import os, subprocess, sys, time
PAGE = os.sysconf("SC_PAGE_SIZE")

def tree(root):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found

def resident(pid):
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0

child = subprocess.Popen(sys.argv[2:])
tree_peak = 0
while True:
    done, status, usage = os.wait4(child.pid, os.WNOHANG)
    if done:
        break
    tree_peak = max(tree_peak, sum(resident(pid) for pid in tree(child.pid)))
    time.sleep(0.01)
with open(sys.argv[1], "w") as report:
    report.write(f"{usage.ru_maxrss * 1024} {tree_peak} {os.waitstatus_to_exitcode(status)}")
"""


_ADD = (sys.executable, "-m", "bot", "add")


def peak_of_add(path: Path, scratch: Path) -> tuple[int, float, int, str]:
    """Peak RSS (bytes: of `add` alone, or of it and its reading child together, whichever is
    larger), seconds, exit status and last line of output of one `add`."""
    env = {k: v for k, v in os.environ.items() if k not in ("SEEDS_DIR", "FETCH_ALLOW_PRIVATE")}
    env.update(DATA_DIR=str(scratch / "data"), CACHE_DIR=str(scratch / "cache"))
    report = scratch / "peak"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _GO_BETWEEN, str(report), *_ADD, str(path)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    own, together, status = (int(part) for part in report.read_text().split())
    last = ((done.stdout + done.stderr).strip().splitlines() or [""])[-1]
    return max(own, together), seconds, status, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=5.0, help="size of each input (default 5)")
    parser.add_argument("--only", nargs="*", choices=list(INPUTS), help="these inputs only")
    args = parser.parse_args()
    size = int(args.mb * MB)
    print(
        f"{'input':8} {'file MB':>8} {'text MB':>8} {'peak MB':>8} {'bound MB':>9} "
        f"{'ok':>4} {'s':>6}  outcome"
    )
    for key in args.only or list(INPUTS):
        name, make = INPUTS[key]
        raw = make(size)
        text_bytes, refusal = decoded_size(name, raw)
        with tempfile.TemporaryDirectory(prefix="add-memory-") as scratch:
            path = Path(scratch) / name
            path.write_bytes(raw)
            peak, seconds, status, last = peak_of_add(path, Path(scratch))
        bound = PER_TEXT_BYTE * text_bytes + BASE_MB * MB
        outcome = f"exit {status}: {last[:90]}"
        print(
            f"{key:8} {len(raw) / MB:8.2f} {text_bytes / MB:8.2f} {peak / MB:8.0f} "
            f"{bound / MB:9.0f} {'pass' if peak <= bound else 'FAIL':>4} {seconds:6.1f}  "
            f"{outcome}" + (f" (refused: {refusal[:60]})" if refusal else "")
        )


if __name__ == "__main__":
    main()
