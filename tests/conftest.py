"""Builders shared by the tests: seed directories and corpora made from small texts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corpus import Corpus
from corpus.meaning.encoder import configure as configure_encoder
from corpus.sources.addresses import parse_networks

PROJECT = Path(__file__).resolve().parent.parent
ARTICLE_ID = "niger-coup-2023"
ARTICLE = PROJECT / "seeds" / f"{ARTICLE_ID}.txt"
# The private ranges tests let fetches reach: the local web servers (tests/local_site.py).
LOOPBACK = "127.0.0.0/8,::1/128"
LOOPBACK_NETWORKS = parse_networks(LOOPBACK)


# Most tests are about what surrounds the answers, not their quality: they run without the
# sentence encoder (encoding every test's articles afresh would make the suite six times
# slower), in this process and in the CLI processes they start. The tests of the meaning stage,
# of answer quality and of every shown example ask for it with the `encoder` fixture.
os.environ["ENCODER"] = "off"
configure_encoder(enabled=False)


@pytest.fixture
def encoder(monkeypatch: pytest.MonkeyPatch):
    """The sentence encoder on, as a user has it, here and in CLI processes started by
    `run_cli`."""
    monkeypatch.setenv("ENCODER", "on")
    configure_encoder(enabled=True)
    yield
    configure_encoder(enabled=False)


def require_kernel(module: object, name: str) -> None:
    """Skip a test of the C kernel `name` where `pip install .` could not build it (no C
    compiler), and fail instead under CI=true, whose machines have one."""
    if module is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} was not built: is a C compiler installed?")
        pytest.skip(f"{name} is not built here (no C compiler): the Python path is tested")


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


def report_texts(documents: int, lines: int) -> dict[str, str]:
    """Many long plain articles, for builds slow enough to interrupt: `documents` of `lines`
    sentences each."""
    return {
        f"doc{n:03d}": " ".join(
            f"Report {n} line {i} says the harbour council met about ferries and bridges."
            for i in range(lines)
        )
        for n in range(documents)
    }


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
    tmp_path: Path,
    *args: str,
    allow_private: bool = False,
    timeout: float = 60,
    settings: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` as a user runs it, with its data, cache and home in `tmp_path`
    (never the real ones) and no seeds folder or fetch setting from outside; `allow_private`
    lets it fetch from the loopback ranges, `settings` adds environment variables."""
    outside = {"SEEDS_DIR", "FETCH_ALLOW_PRIVATE", "FETCH_PRIVATE_NETWORKS", "XDG_DATA_HOME",
               "XDG_CACHE_HOME"}  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in outside}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        CACHE_DIR=str(tmp_path / "cache"),
        HOME=str(tmp_path / "home"),
        PYTHONIOENCODING="utf-8",
    )
    if allow_private:
        env["FETCH_PRIVATE_NETWORKS"] = LOOPBACK
    env.update(settings or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=PROJECT,
        env=env,
        timeout=timeout,
    )


# PostgreSQL for the tests of the PostgreSQL backend: the server the project's machines run
# (127.0.0.1:5432, trust authentication, a database named test), or QUOTEBOT_TEST_POSTGRES.
TEST_POSTGRES = os.environ.get(
    "QUOTEBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def postgres_url():
    """A PostgreSQL URL whose tables live in a schema of their own, dropped afterwards. Where
    no PostgreSQL answers, the test is skipped saying why; under CI=true it fails instead."""
    import uuid

    try:
        import psycopg
    except ImportError as error:
        _no_postgres(f"psycopg is not installed ({error})")
    schema = f"quotebot_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(TEST_POSTGRES, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
    except psycopg.Error as error:
        _no_postgres(f"PostgreSQL at {TEST_POSTGRES} did not answer ({error})")
    separator = "&" if "?" in TEST_POSTGRES else "?"
    yield f"{TEST_POSTGRES}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(TEST_POSTGRES, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """The storage suite runs on both backends: None (SQLite files in the data directory),
    then a PostgreSQL schema of the test's own."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


def _no_postgres(why: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI=true: {why}")
    pytest.skip(f"no PostgreSQL to test against: {why}")
