"""Several writers share one data directory (the bot, `add` and `feed poll` from cron): however
they meet, and wherever one is killed, no article is lost, the folders and the database agree,
and every listed article is answered.

The writers are real processes: a small script that uses the library as the bot does (cheap to
start, so many rounds fit), and the command line itself for a few rounds.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from corpus import Corpus
from corpus.sources.library import Library
from tests.conftest import PROJECT, run_cli

# Pages that differ only in one number; each has its own content and the same file name.
PAGE = (
    "<html><head><title>Ferry report {n}</title></head><body><article>"
    "<p>The harbour council met on Monday and approved {n} new ferry sailings for the winter.</p>"
    "<p>Councillors said the new timetable starts in November and costs {n} thousand.</p>"
    "</article></body></html>"
)
# The same as plain text, quicker to read, for the many rounds of killing a writer.
TEXT = (
    "Ferry report {n}\n\nThe harbour council met on Monday and approved {n} new ferry sailings "
    "for the winter.\n\nCouncillors said the new timetable starts in November and costs {n} "
    "thousand.\n"
)
QUESTION = "What did the harbour council approve?"

# Does what each line of stdin asks to "news" (`add PATH` or `remove ID`), and prints what
# happened.
WRITER = """
import json, sys
from pathlib import Path
from corpus.sources.library import Library, LibraryError
library = Library(Path(sys.argv[1]))
print("ready", flush=True)
for line in sys.stdin:
    action, _, what = line.strip().partition(" ")
    try:
        if action == "add":
            path = Path(what)
            body = path.read_bytes()
            article, new = library.add("news", body, path.suffix, wanted_id=path.stem)
        else:
            article, new = library.remove("news", what), False
    except LibraryError as error:
        print(json.dumps({"refused": str(error)}), flush=True)
    except Exception as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
    else:
        print(json.dumps({"id": article.id, "new": new}), flush=True)
"""

# Adds page after page to "news" and removes every third one, until it is killed; prints the
# number of each page once it is in. It reads a page before it is ready, so that the kill
# falls among adds and removes, not in importing what reads one.
ENDLESS_WRITER = """
import itertools, sys
from pathlib import Path
from corpus.sources.library import Library
from corpus.ingest.loader import article_document
library = Library(Path(sys.argv[1]))
article_document(Path("warm.txt"), sys.argv[2].format(n=0).encode())
print("ready", flush=True)
for n in itertools.count():
    article, _ = library.add(
        "news", sys.argv[2].format(n=n).encode(), ".txt", wanted_id="story"
    )
    if n % 3 == 2:
        library.remove("news", article.id)
    print(n, flush=True)
"""


def _page(directory: Path, n: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "story.html"
    path.write_text(PAGE.format(n=n), encoding="utf-8")
    return path


def _python(script: str, *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=PROJECT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n", process.stderr and process.stderr.read()
    return process


def _at_once(writers: list[subprocess.Popen[str]], lines: list[str]) -> list[dict]:
    """Give each writer its line, as nearly at the same moment as can be, and read what each
    did."""
    for writer, line in zip(writers, lines, strict=True):
        assert writer.stdin is not None
        writer.stdin.write(f"{line}\n")
        writer.stdin.flush()
    return [json.loads(writer.stdout.readline()) for writer in writers]  # type: ignore[union-attr]


def _assert_folder_and_database_agree(data: Path) -> None:
    """Checked from outside the library: each row has its collection file (the stored text,
    with the row's hash) and metadata file, nothing else is in the folders (no leftover
    temporaries), and the stored texts are exactly those the rows use."""
    with sqlite3.connect(data / "quotebot.db") as db:
        rows = db.execute("SELECT collection, id, sha256, suffix FROM articles").fetchall()
    wanted: dict[str, set[str]] = {}
    for collection, article_id, sha256, suffix in rows:
        wanted.setdefault(collection, set()).update(
            {f"{article_id}{suffix}", f"{article_id}.meta.toml"}
        )
        linked = (data / "collections" / collection / f"{article_id}{suffix}").read_bytes()
        assert hashlib.sha256(linked).hexdigest() == sha256, (collection, article_id)
    for folder in (data / "collections").iterdir():
        assert set(os.listdir(folder)) == wanted.get(folder.name, set()), folder.name
    texts = {f"{sha256}{suffix}" for _, _, sha256, suffix in rows}
    assert set(os.listdir(data / "texts")) == texts


def _assert_every_listed_article_is_answered(data: Path, collection: str = "news") -> None:
    listed = [a.id for a in Library(data).articles(collection)]
    corpus = Corpus.open(data / "collections" / collection)
    assert not corpus.problems, corpus.problems
    assert sorted(d.id for d in corpus.stats().documents) == sorted(listed)
    for article_id in listed:
        answer = corpus.ask(QUESTION, doc_id=article_id)
        assert answer.found and answer.quotes[0].citation.doc_id == article_id, article_id


def test_two_processes_adding_pages_of_one_file_name_both_get_in(tmp_path):
    data = tmp_path / "data"
    Library(data)
    adders = [_python(WRITER, str(data)) for _ in range(2)]
    for round_number in range(50):
        same = round_number % 5 == 4  # then both add the very same page
        pages = [
            _page(
                tmp_path / f"round{round_number}" / f"writer{k}", round_number * 2 + k * (not same)
            )
            for k in range(2)
        ]
        results = _at_once(adders, [f"add {page}" for page in pages])
        assert all("id" in r for r in results), (round_number, results)
        if same:
            assert sorted(r["new"] for r in results) == [False, True], results
            assert results[0]["id"] == results[1]["id"]
        else:
            assert all(r["new"] for r in results), results
            assert results[0]["id"] != results[1]["id"]
    for adder in adders:
        adder.communicate(timeout=30)
        assert adder.returncode == 0
    assert len(Library(data).articles("news")) == 50 * 2 - 10
    _assert_folder_and_database_agree(data)
    _assert_every_listed_article_is_answered(data)


def test_two_processes_removing_one_article_and_adding_another_meet_safely(tmp_path):
    """One article removed by two writers at once: one removes it, the other is told it is
    not there. And a remove beside an add that may take the freed id: each gets its own."""
    data = tmp_path / "data"
    library = Library(data)
    writers = [_python(WRITER, str(data)) for _ in range(2)]
    for round_number in range(20):
        article, _ = library.add(
            "news", PAGE.format(n=round_number).encode(), ".html", wanted_id="story"
        )
        if round_number % 2:
            results = _at_once(writers, [f"remove {article.id}"] * 2)
            assert sorted(results, key=len) == [
                {"refused": f"There is no article “{article.id}” in the collection “news”."},
                {"id": article.id, "new": False},
            ], results
        else:
            page = _page(tmp_path / f"round{round_number}", 1000 + round_number)
            removed, added = _at_once(writers, [f"remove {article.id}", f"add {page}"])
            assert removed["id"] == article.id and added["new"], (removed, added)
    for writer in writers:
        writer.communicate(timeout=30)
    assert len(library.articles("news")) == 10
    _assert_folder_and_database_agree(data)
    _assert_every_listed_article_is_answered(data)


def test_two_command_lines_adding_pages_of_one_file_name_both_get_in(tmp_path):
    """The attack as it was: `add a/story.html & add b/story.html` on one data directory."""
    assert run_cli(tmp_path, "list").returncode == 0
    for round_number in range(2):
        pages = [
            _page(tmp_path / f"r{round_number}" / w, round_number * 2 + k)
            for k, w in enumerate("ab")
        ]
        with ThreadPoolExecutor(2) as pool:
            runs = list(
                pool.map(
                    lambda page: run_cli(tmp_path, "add", str(page), "--collection", "news"), pages
                )
            )
        for run in runs:
            assert run.returncode == 0 and run.stdout.startswith("Added story"), run.stderr
    listed = json.loads(run_cli(tmp_path, "list", "--collection", "news", "--json").stdout)
    assert len(listed) == 4
    questions = "".join(json.dumps({"question": QUESTION, "doc": a["id"]}) + "\n" for a in listed)
    batch = tmp_path / "questions.jsonl"
    batch.write_text(questions, encoding="utf-8")
    asked = run_cli(tmp_path, "ask", "--collection", "news", "--batch", str(batch))
    answers = [json.loads(line) for line in asked.stdout.splitlines()]
    assert [a["quotes"][0]["citation"]["doc_id"] for a in answers] == [a["id"] for a in listed]
    _assert_folder_and_database_agree(tmp_path / "data")


def test_threads_of_one_process_add_to_one_collection_and_to_others(tmp_path):
    library = Library(tmp_path / "data")
    jobs = [("news", n) for n in range(24)] + [("news", n) for n in range(0, 24, 3)]
    jobs += [(f"other{n % 2}", n) for n in range(8)]
    random.Random(16).shuffle(jobs)

    def add(job: tuple[str, int]) -> tuple[str, str, bool]:
        collection, n = job
        article, new = library.add(
            collection, PAGE.format(n=n).encode(), ".html", wanted_id="story"
        )
        return collection, article.id, new

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(add, jobs))
    by_page: dict[tuple[str, int], set[str]] = {}
    for job, (_, article_id, _) in zip(jobs, results, strict=True):
        by_page.setdefault(job, set()).add(article_id)
    assert all(len(ids) == 1 for ids in by_page.values())  # a page has one id, added once
    assert sum(new for _, _, new in results) == len(by_page) == 24 + 8
    _assert_folder_and_database_agree(tmp_path / "data")
    for collection in ("news", "other0", "other1"):
        _assert_every_listed_article_is_answered(tmp_path / "data", collection)


def test_a_writer_killed_at_any_moment_leaves_a_library_that_opens_whole(tmp_path):
    """kill -9 at random moments of adding and removing (seeded): opening the library then
    finds the folders and the database agreeing, every listed article answered, and the
    article that was on its way can be added again."""
    rng = random.Random(1616)
    for round_number in range(20):
        data = tmp_path / f"round{round_number}"
        writer = _python(ENDLESS_WRITER, str(data), TEXT)
        time.sleep(rng.uniform(0.0, 0.25))
        writer.send_signal(signal.SIGKILL)
        done, _ = writer.communicate(timeout=30)
        on_its_way = len(done.split())
        library = Library(data)  # opening repairs what the killed writer left
        _assert_folder_and_database_agree(data)
        again, _ = library.add(
            "news", TEXT.format(n=on_its_way).encode(), ".txt", wanted_id="story"
        )
        fresh, new = library.add("news", TEXT.format(n=10_000).encode(), ".txt", wanted_id="story")
        listed = {a.id for a in library.articles("news")}
        assert new and {again.id, fresh.id} <= listed
        _assert_folder_and_database_agree(data)
        _assert_every_listed_article_is_answered(data)


def _no_bigger_files_than(limit: int):
    def apply() -> None:  # in the child: a write past `limit` fails with EFBIG, no signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_is_named_and_leaves_the_collection_as_it_was(tmp_path):
    small = _page(tmp_path / "small", 1)
    assert run_cli(tmp_path, "add", str(small), "--collection", "news").returncode == 0
    big = tmp_path / "big" / "report.txt"
    big.parent.mkdir()
    big.write_text("The council approved the ferry timetable again today.\n" * 20_000)
    env = {k: v for k, v in os.environ.items() if k not in {"SEEDS_DIR", "XDG_DATA_HOME"}}
    env.update(DATA_DIR=str(tmp_path / "data"), CACHE_DIR=str(tmp_path / "cache"))
    full = subprocess.run(
        [sys.executable, "-m", "bot", "add", str(big), "--collection", "news"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_no_bigger_files_than(256 * 1024),
    )
    assert full.returncode == 2, full.stderr
    assert "could not be saved in the data directory" in full.stderr
    assert str(tmp_path / "data") in full.stderr and "File too large" in full.stderr
    assert "Unexpected error" not in full.stderr and "Traceback" not in full.stderr
    listed = json.loads(run_cli(tmp_path, "list", "--collection", "news", "--json").stdout)
    assert [a["id"] for a in listed] == ["story"]
    _assert_folder_and_database_agree(tmp_path / "data")


OPENER = """
import sys, time
from pathlib import Path
from corpus.sources.library import Library, LibraryError
go = Path(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
try:
    Library(Path(sys.argv[1]))
except LibraryError as error:
    print(error)
    sys.exit(2)
"""


def test_processes_opening_a_new_data_directory_at_once_all_open_it(tmp_path):
    # Each schema step was applied by whoever read the old version first, outside the lock:
    # one of three processes now and then failed with "table feeds already exists".
    for round_ in range(8):
        go = tmp_path / f"go-{round_}"
        data = tmp_path / f"data-{round_}"
        openers = [_python(OPENER, str(data), str(go)) for _ in range(4)]  # each ready
        go.touch()
        outcomes = [opener.communicate(timeout=60) for opener in openers]
        assert [opener.returncode for opener in openers] == [0] * 4, outcomes
        with sqlite3.connect(data / "quotebot.db") as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == 4


# Opens one collection over and over, with the shared database, until told to stop.
SHARED_OPENER = """
import sys
from pathlib import Path
from corpus.sources.library import Library
library = Library(Path(sys.argv[1]), database_url=sys.argv[2])
print("ready", flush=True)
opened = 0
while not Path(sys.argv[3]).exists():
    library.seeds_dir("c")
    opened += 1
print(opened, flush=True)
"""


def test_with_postgresql_a_process_sharing_the_data_directory_never_undoes_a_change(
    tmp_path, postgres_url
):
    """The command line beside the bot, one data directory and PostgreSQL: one process
    brings its copy of a collection up to date again and again while the other adds and
    removes. No added article loses its files, none removed gets them back, and no text
    outlives the articles that held it."""
    data, stop = tmp_path / "data", tmp_path / "stop"
    library = Library(data, database_url=postgres_url)
    library.seeds_dir("c")
    opener = _python(SHARED_OPENER, str(data), postgres_url, str(stop))
    try:
        for n in range(40):
            article, _ = library.add(
                "c", f"Notice {n}: the ferry runs.".encode(), ".txt", wanted_id=f"n{n}"
            )
            meta, link = library._collection_files(article)
            assert meta.exists() and link.exists(), n
            if n % 2:
                library.remove("c", article.id)
                assert not meta.exists() and not link.exists(), n
    finally:
        stop.touch()
        out, err = opener.communicate(timeout=60)
    assert opener.returncode == 0 and int(out) > 0, err
    library.repair()
    kept = {f"{a.sha256}.txt" for a in library.articles("c")} | {
        f"{a.sha256}{a.suffix}" for a in library.articles("default")
    }
    assert set(os.listdir(data / "texts")) == kept
    assert len(library.articles("c")) == 20
