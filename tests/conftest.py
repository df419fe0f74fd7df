"""Builders shared by the tests: seed directories and corpora made from small texts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corpus import Corpus

PROJECT = Path(__file__).resolve().parent.parent
ARTICLE_ID = "niger-coup-2023"
ARTICLE = PROJECT / "seeds" / f"{ARTICLE_ID}.txt"


def make_seeds(directory: Path, texts: dict[str, str | bytes]) -> Path:
    """A seeds directory with one file per entry: name (without .txt) → text or raw bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        path = directory / (name if "." in name else f"{name}.txt")
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return directory


def build_corpus(directory: Path, texts: dict[str, str]) -> Corpus:
    return Corpus.open(make_seeds(directory, texts))


@pytest.fixture(scope="session")
def article_text() -> str:
    return ARTICLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def article_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    seeds = tmp_path_factory.mktemp("seeds")
    shutil.copy(ARTICLE, seeds)
    shutil.copy(ARTICLE.with_name(f"{ARTICLE_ID}.meta.toml"), seeds)
    return Corpus.open(seeds)


def run_cli(
    tmp_path: Path, *args: str, allow_private: bool = False, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` as a user runs it, with its data, cache and home in `tmp_path`
    (never the real ones) and no seeds folder or fetch setting from outside."""
    outside = {"SEEDS_DIR", "FETCH_ALLOW_PRIVATE", "XDG_DATA_HOME", "XDG_CACHE_HOME"}
    env = {k: v for k, v in os.environ.items() if k not in outside}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        CACHE_DIR=str(tmp_path / "cache"),
        HOME=str(tmp_path / "home"),
        PYTHONIOENCODING="utf-8",
    )
    if allow_private:
        env["FETCH_ALLOW_PRIVATE"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=PROJECT,
        env=env,
        timeout=timeout,
    )
