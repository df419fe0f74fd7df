"""Reading an untrusted article file in a child process, within a time and a memory limit.

Why a process: whoever can add an article (a server's admin, a followed feed's author) chooses
the bytes that the third-party parsers (trafilatura and lxml, pypdf) read, and a crafted file
can make their work huge. That work cannot be stopped from another thread, and it would hold
the interpreter lock that every other server's requests need. A child process can be stopped:
it is killed at the deadline, its address space is capped, and it runs on a core of its own,
so one hostile file neither stalls the bot nor starves another server's work.

Adds read this way (corpus/sources/library.py), and the bot's index of an article just added
(bot/discord/service.py), so that no server's file is parsed on the interpreter lock that
serves every server; a file that was read within the limits once is read in-process when a
whole collection's index is rebuilt. PDFs always, and web pages and Markdown that are gzip or of
`ISOLATE_HTML_FROM` bytes or more; smaller ones and plain text are read in-process,
where the cost is small and linear in the size (starting the child costs about 0.3 s).

The child (`python -m corpus.ingest.isolation SECONDS MEMORY`) reads a JSON line naming the
file and then its bytes on standard input, and writes one JSON line: what `extract` returned,
or the problem that made it refuse the file.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..errors import SeedFileError
from .formats import HTML_SUFFIXES, MARKDOWN_SUFFIXES, PDF_SUFFIXES, Extracted, extract
from .limits import is_gzip, megabytes

__all__ = [
    "ISOLATE_HTML_FROM",
    "READ_MEMORY_BYTES",
    "READ_SECONDS",
    "extract_isolated",
    "needs_isolation",
]

# Wall-clock seconds a file may take to read. A 5 MB page of 28,000 paragraphs takes about 5 s
# on a busy two-core machine; PDFs are bounded by their pages and text (formats.py) well below.
READ_SECONDS = 30.0
# The child's address space. Reading a 5 MB page of 28,000 paragraphs fits in 200 MB; the rest
# is room, not a target.
READ_MEMORY_BYTES = 1024 * 2**20
ISOLATE_HTML_FROM = 256 * 1024


def needs_isolation(path: Path, raw: bytes) -> bool:
    """PDFs, and web pages and Markdown that are large or gzip (a small file can inflate to
    5 MB): their parsers' cost can grow faster than the file."""
    suffix = path.suffix.casefold()
    if suffix in PDF_SUFFIXES:
        return True
    parsed = suffix in HTML_SUFFIXES or suffix in MARKDOWN_SUFFIXES
    return parsed and (len(raw) >= ISOLATE_HTML_FROM or is_gzip(raw))


def extract_isolated(
    path: Path,
    raw: bytes,
    *,
    seconds: float = READ_SECONDS,
    memory_bytes: int = READ_MEMORY_BYTES,
) -> Extracted:
    """What `extract(path, raw)` returns, worked out in a child process that is killed after
    `seconds` and may use at most `memory_bytes`. Raises SeedFileError naming the file and why
    (as `extract` does, and when a limit is reached)."""
    header = json.dumps({"name": path.name}).encode() + b"\n"
    # A Ctrl-C while the reader starts waits until it has: then it takes the reader with it.
    held = _hold_interrupts()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", __name__, repr(seconds), str(memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_child_environment(),
            start_new_session=True,  # a Ctrl-C at the terminal is for the parent to handle
        )
    except OSError as error:
        _release_interrupts(held)
        raise SeedFileError(path, f"could not be read (no reader process: {error})") from None
    try:
        _release_interrupts(held)
        output, _ = child.communicate(header + raw, timeout=seconds)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise SeedFileError(
            path,
            f"took longer than {seconds:g} seconds to read, so it was not added (it is too "
            "large or made to be slow to read)",
        ) from None
    except BaseException:  # a Ctrl-C or a cancelled request: the reader goes too
        child.kill()
        child.wait()
        raise
    return _result(path, output, child.returncode, memory_bytes)


def _hold_interrupts() -> set[int] | None:
    """Hold Ctrl-C back (in the main thread, where Python raises it), returning the signal
    mask to restore; None where there is nothing to hold."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        return None
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}))


def _release_interrupts(held: set[int] | None) -> None:
    """Let a Ctrl-C held back by `_hold_interrupts` through (it is raised now)."""
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _child_environment() -> dict[str, str]:
    """The parent's, with this package importable wherever the parent found it, and numeric
    libraries kept to one thread (the child only parses)."""
    package_root = str(Path(__file__).resolve().parents[2])
    found = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": package_root + (os.pathsep + found if found else ""),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }


def _result(path: Path, output: bytes, returncode: int, memory_bytes: int) -> Extracted:
    try:
        answer = json.loads(output)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "problem" in answer:
        raise SeedFileError(path, str(answer["problem"]))
    if returncode != 0 or not isinstance(answer, dict) or "extracted" not in answer:
        how = f"signal {-returncode}" if returncode < 0 else f"exit status {returncode}"
        raise SeedFileError(
            path,
            f"could not be read (the reader stopped with {how}; it may need more than "
            f"{megabytes(memory_bytes)})",
        )
    fields = answer["extracted"]
    if fields.get("date"):
        fields["date"] = datetime.date.fromisoformat(fields["date"])
    return Extracted(**fields)


def _serve(seconds: float, memory_bytes: int) -> int:
    """The child's side: limits first, then one file read and answered."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    cpu = int(seconds) + 1  # a second bound, should the parent be gone
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    header = json.loads(sys.stdin.buffer.readline())
    path = Path(str(header["name"]))
    raw = sys.stdin.buffer.read()
    try:
        extracted = extract(path, raw)
    except SeedFileError as error:
        answer: dict[str, object] = {"problem": error.problem}
    except MemoryError:
        answer = {"problem": f"needs more than {megabytes(memory_bytes)} of memory to read"}
    else:
        fields = dataclasses.asdict(extracted)
        fields["date"] = extracted.date.isoformat() if extracted.date else None
        answer = {"extracted": fields}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_serve(float(sys.argv[1]), int(sys.argv[2])))
