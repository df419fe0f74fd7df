"""Adding articles from links and files to collections: fetched safely from a local web server
(127.0.0.1 only), stored in the data directory's SQLite database, listed, removed, asked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from corpus import Corpus
from corpus.sources.fetch import MAX_BYTES, FetchError, fetch
from corpus.sources.library import Library, LibraryError
from tests.conftest import LOOPBACK_NETWORKS, PROJECT, run_cli
from tests.local_site import serve
from tests.test_formats import PAGE

ROUTES: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/ferry.html": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE.encode()),
    "/menu.html": (200, {"Content-Type": "text/html"}, b"<html><nav>Home</nav></html>"),
    "/picture.png": (200, {"Content-Type": "image/png"}, b"\x89PNG...."),
    "/huge.txt": (200, {"Content-Type": "text/plain"}, b"word " * (MAX_BYTES // 5 + 10)),
    "/moved": (302, {"Location": "/ferry.html"}, b""),
    "/loop": (302, {"Location": "/loop"}, b""),
    "/to-ftp": (302, {"Location": "ftp://example.org/file"}, b""),
    "/missing": (404, {"Content-Type": "text/html"}, b"not here"),
    "/feed.xml": (200, {"Content-Type": "application/rss+xml"}, b"<rss version='2.0'/>"),
}


@pytest.fixture(scope="module")
def site():
    with serve(ROUTES) as running:
        yield running


def url(site, path: str) -> str:
    return site.url(path)


def test_a_page_is_fetched_with_an_honest_user_agent_following_redirects(site):
    fetched = fetch(url(site, "/moved"), private_networks=LOOPBACK_NETWORKS)
    assert fetched.url.endswith("/ferry.html") and fetched.suffix == ".html"
    assert b"winter ferry timetable" in fetched.body
    assert site.requests[-1][1].startswith("quotebot/")


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/picture.png", "not a web page, text, Markdown or PDF"),
        ("/huge.txt", "larger than 5 MB"),
        ("/loop", "redirects more than 5 times"),
        ("/to-ftp", "Only http and https"),
        ("/missing", "HTTP 404"),
    ],
)
def test_what_is_not_fetched_and_why(site, path, problem):
    with pytest.raises(FetchError, match=problem):
        fetch(url(site, path), private_networks=LOOPBACK_NETWORKS)


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.1:9/x", "http://localhost:9/x", "http://[::1]:9/", "http://10.0.0.1/"],
)
def test_local_and_private_addresses_are_refused_unless_allowed(target):
    with pytest.raises(FetchError, match="private or local address"):
        fetch(target)


def test_an_unreachable_server_is_named(site):
    closed = f"http://127.0.0.1:{site.port + 1}/"
    with pytest.raises(FetchError, match="could not be fetched"):
        fetch(closed, private_networks=LOOPBACK_NETWORKS, timeout=2)


def test_the_library_stores_lists_deduplicates_and_removes(site, tmp_path, database_url):
    library = Library(tmp_path / "data", database_url=database_url)
    fetched = fetch(url(site, "/ferry.html"), private_networks=LOOPBACK_NETWORKS)
    article, new = library.add(
        "harbour",
        fetched.body,
        fetched.suffix,
        wanted_id="ferry",
        url=fetched.url,
        fetched_at=fetched.fetched_at,
    )
    assert new and article.id == "ferry" and article.source == "Harbour Times"
    assert article.published == "2024-05-01" and article.fetched_at
    again, new = library.add("harbour", fetched.body, ".html", wanted_id="other")
    assert not new and again.id == "ferry"
    assert [a.id for a in library.articles("harbour")] == ["ferry"]
    assert library.articles("default") == [] and library.collections() == ["harbour"]
    stored = tmp_path / "data" / "texts" / f"{article.sha256}.html"
    assert stored.read_bytes() == fetched.body
    library.remove("harbour", "ferry")
    assert library.articles("harbour") == [] and not stored.exists()
    with pytest.raises(LibraryError, match="no article “ferry”"):
        library.remove("harbour", "ferry")


def test_a_failed_add_leaves_the_collection_as_it_was(tmp_path, database_url):
    library = Library(tmp_path / "data", database_url=database_url)
    library.add("c", b"The council met on Monday.", ".txt", wanted_id="first")
    before = sorted(p.name for p in (tmp_path / "data" / "collections" / "c").iterdir())
    with pytest.raises(LibraryError, match="no article text"):
        library.add("c", b"<html><nav>Home</nav></html>", ".html", wanted_id="menu")
    with pytest.raises(LibraryError, match="not a collection name"):
        library.add("../etc", b"Text.", ".txt", wanted_id="x")
    after = sorted(p.name for p in (tmp_path / "data" / "collections" / "c").iterdir())
    assert before == after and [a.id for a in library.articles("c")] == ["first"]


def _cli(tmp_path, *args: str, allow: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, *args, allow_private=allow)


def test_add_list_ask_and_remove_from_the_command_line(site, tmp_path):
    refused = _cli(tmp_path, "add", url(site, "/ferry.html"), allow=False)
    assert refused.returncode == 2 and "FETCH_PRIVATE_NETWORKS" in refused.stderr
    added = _cli(tmp_path, "add", url(site, "/ferry.html"), "--collection", "harbour")
    assert added.returncode == 0, added.stderr
    assert "Added ferry: 'Council approves the winter ferry timetable' (4 paragraphs" in (
        added.stdout
    )
    again = _cli(tmp_path, "add", url(site, "/ferry.html"), "--collection", "harbour", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["added"] is False
    again = _cli(tmp_path, "add", url(site, "/ferry.html"), "--collection", "harbour")
    assert again.stdout.startswith("Already in “harbour” as ferry")
    listed = json.loads(_cli(tmp_path, "list", "--collection", "harbour", "--json").stdout)
    assert [(a["id"], a["url"]) for a in listed] == [("ferry", url(site, "/ferry.html"))]
    answer = json.loads(
        _cli(
            tmp_path,
            "ask",
            "--json",
            "--collection",
            "harbour",
            "When does the winter ferry timetable start?",
        ).stdout
    )
    assert answer["found"] and "starts in November" in answer["quotes"][0]["text"]
    assert answer["quotes"][0]["citation"]["doc_id"] == "ferry"
    removed = _cli(tmp_path, "remove", "ferry", "--collection", "harbour")
    assert "Removed ferry" in removed.stdout
    empty = _cli(tmp_path, "list", "--collection", "harbour")
    assert "has no articles yet" in empty.stdout
    asked = _cli(tmp_path, "ask", "--collection", "harbour", "Who?")
    assert asked.returncode == 2 and "has no articles yet" in asked.stderr
    # A typo is not an empty collection: it says so, and what there is.
    for command in ("ask", "list"):
        typo = _cli(tmp_path, command, "--collection", "harbor", *(["Who?"] * (command == "ask")))
        assert typo.returncode == 2
        assert "There is no collection “harbor”. Did you mean “harbour”?" in typo.stderr


def test_a_decline_hint_names_the_same_collection(site, tmp_path):
    _cli(tmp_path, "add", url(site, "/ferry.html"), "--collection", "harbour")
    declined = _cli(tmp_path, "ask", "--collection", "harbour", "What is the capital of Peru?")
    assert declined.stdout.rstrip().endswith("python -m bot summary --collection harbour")
    feed = _cli(tmp_path, "add", url(site, "/feed.xml"))
    assert "follow it as a feed instead" in feed.stderr
    assert feed.stderr.count(url(site, "/feed.xml")) <= 1  # named once, not twice
    bare = _cli(tmp_path, "add", "example.org/news/story")
    assert "for a link, start it with https://" in bare.stderr


def test_adding_a_file_keeps_its_metadata(tmp_path):
    article = Path(PROJECT / "seeds" / "niger-coup-2023.txt")
    added = _cli(tmp_path, "add", str(article))
    assert "'Putin urges peaceful resolution as Niger coup crisis deepens'" in added.stdout
    missing = _cli(tmp_path, "add", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2 and "cannot be read" in missing.stderr


def test_a_damaged_database_is_named_not_a_traceback(tmp_path):
    data = tmp_path / "data"
    Library(data)
    (data / "quotebot.db").write_bytes(b"this is not a database at all " * 100)
    for wal in data.glob("quotebot.db-*"):
        wal.unlink()
    with pytest.raises(LibraryError, match="cannot be used"):
        Library(data)


def test_links_the_metadata_file_would_refuse_are_stored_so_that_it_reads_back(tmp_path, site):
    # An upper-case scheme, and a link of over 2,000 characters: the metadata file written
    # with them was refused by every later read ("Ignoring metadata file"), and the article's
    # citation lost its link.
    long_path = "/ferry.html?edition=" + "x" * 3_000
    site.routes[long_path] = (200, {"Content-Type": "text/plain"}, b"The long edition.\n")
    upper = url(site, "/ferry.html").replace("http://", "HTTP://", 1)
    for link in (upper, url(site, long_path)):
        added = run_cli(tmp_path, "add", link, allow_private=True)
        assert added.returncode == 0, added.stderr
    listed = json.loads(run_cli(tmp_path, "list", "--json").stdout)
    urls = {article["id"]: article.get("url") for article in listed}
    assert url(site, "/ferry.html") in urls.values()  # the scheme in lower case
    assert None in urls.values()  # the overlong link is not kept
    asked = run_cli(tmp_path, "ask", "When does the ferry run?")
    assert "Ignoring metadata" not in asked.stderr, asked.stderr


def test_changes_made_elsewhere_are_told_once_per_collection_and_copied_here(
    tmp_path, database_url
):
    """Another process (with PostgreSQL, on another machine: its own data directory) adds
    and removes; this one learns which collections changed, not its own changes, and its
    copy of a collection agrees with the database when opened."""
    here = Library(tmp_path / "data", database_url=database_url)
    there_dir = tmp_path / ("data" if database_url is None else "elsewhere")
    there = Library(there_dir, database_url=database_url)
    start = here.last_change()
    there.add("c", b"The council met on Monday.", ".txt", wanted_id="council")
    there.add("c", b"The ferry runs all winter.", ".txt", wanted_id="ferry")
    here.add("d", b"The library reopened.", ".txt", wanted_id="library")
    number, changes = here.changes_since(start)
    assert [change.collection for change in changes] == ["c"]
    assert here.changes_since(number) == (number, [])
    folder = here.seeds_dir("c")
    assert (folder / "council.txt").read_bytes() == b"The council met on Monday."
    assert Corpus.open(folder, cache_dir=tmp_path / "cache").stats().documents[0].id == "council"
    there.remove("c", "ferry")
    number, changes = here.changes_since(number)
    assert [change.collection for change in changes] == ["c"]
    assert sorted(p.name for p in here.seeds_dir("c").iterdir()) == [
        "council.meta.toml",
        "council.txt",
    ]
    assert there.drop_collection("c") == 1 and here.collections() == ["d"]
    assert [change.collection for change in here.changes_since(number)[1]] == ["c"]


def test_with_postgresql_the_texts_are_in_the_database(tmp_path, postgres_url):
    import psycopg

    library = Library(tmp_path / "data", database_url=postgres_url)
    library.add("c", b"The council met on Monday.", ".txt", wanted_id="council")
    library.add("d", b"The council met on Monday.", ".txt", wanted_id="same")
    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT count(*) FROM texts").fetchone() == (1,)
        assert not (tmp_path / "data" / "quotebot.db").exists()
    library.remove("c", "council")  # still held by "d"
    library.remove("d", "same")
    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT count(*) FROM texts").fetchone() == (0,)
    library.close()
