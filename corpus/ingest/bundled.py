"""Where the bundled article is: inside the installed package, or in a checkout's `seeds/`.

A wheel installs `seeds/` as `corpus/bundled/` (pyproject's package-dir), so the installed
command finds the article from any directory; running from a checkout finds `seeds/` beside
the `corpus` package.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled_seeds_dir"]

_PACKAGE = Path(__file__).resolve().parent.parent


def bundled_seeds_dir() -> Path:
    installed = _PACKAGE / "bundled"
    return installed if installed.is_dir() else _PACKAGE.parent / "seeds"
