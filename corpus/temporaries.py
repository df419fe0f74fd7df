"""Temporary files named after the process that writes them.

A file is written under a temporary name and renamed into place, so a reader never sees half
of it. A writer killed in between leaves its temporary behind; the name says which process
wrote it (`.<kind>-<pid>-<random>`), so a sweep can tell a leftover (its writer is gone) from a
file being written right now, and remove only the former.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

__all__ = ["is_abandoned", "process_is_running", "temporary_beside"]


def temporary_beside(path: Path, kind: str) -> Path:
    """A name no other writer (process or thread) can hold, in `path`'s directory (so the
    rename into place is atomic), hidden, and naming this process."""
    return path.with_name(f".{kind}-{os.getpid()}-{secrets.token_hex(8)}")


def is_abandoned(path: Path, kind: str, *, stale_seconds: float) -> bool:
    """Whether `path` is a temporary of `kind` whose writer is gone, or one older than
    `stale_seconds` whoever wrote it (a process id can be reused)."""
    prefix = f".{kind}-"
    if not path.name.startswith(prefix):
        return False
    pid_text = path.name[len(prefix) :].partition("-")[0]
    if not pid_text.isdigit() or not process_is_running(int(pid_text)):
        return True
    try:
        return time.time() - path.lstat().st_mtime > stale_seconds
    except OSError:
        return False


def process_is_running(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread may be writing; only staleness removes it
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone, or a number no process can have
        return False
    except PermissionError:
        return True  # another user's process
    return True
