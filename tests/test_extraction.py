"""Articles extracted from pages shaped like real news sites (tests/data/sites): each page is
served on 127.0.0.1 and added as `add URL` adds it, and the stored text must hold at least 95%
of the article's sentences verbatim, none of the page's boilerplate (cookie banners, menus,
comments, ads, sign-up boxes, related headlines), and the page's metadata. End to end, the
command line adds a page no setting was chosen on and answers from it with a verbatim quote."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
from pathlib import Path

import lxml.html
import pytest

from bot.cli.main import main
from corpus import Corpus
from corpus.ingest.formats import extract
from tests.conftest import LOOPBACK, run_cli
from tests.data.sites.pages import (
    SENTENCE_TARGET,
    Page,
    boilerplate_in,
    load_pages,
    missing_sentences,
    page_routes,
)
from tests.local_site import serve

PAGES = load_pages()
ARTICLES = [p for p in PAGES if p.article and not p.held_out]
(HELD_OUT,) = [p for p in PAGES if p.held_out]


def _visible_text(page: Page) -> str:
    charset = re.search(r"charset=([\w-]+)", page.content_type)
    tree = lxml.html.fromstring(page.body.decode(charset.group(1) if charset else "utf-8"))
    for hidden in tree.xpath("//script|//style"):
        hidden.drop_tree()
    return " ".join(tree.text_content().split())


@pytest.mark.parametrize("page", [p for p in PAGES if p.article], ids=lambda p: p.name)
def test_each_fixture_is_coherent(page):
    """What a test looks for is on the page, and no boilerplate line is in the article, so
    that every test below can pass and can fail."""
    visible = _visible_text(page)
    assert len(page.paragraphs) >= 4 and len(page.sentences) >= 5
    assert [s for s in page.sentences if s not in visible] == []
    assert [b for b in page.boilerplate if b not in visible] == []
    article = "\n".join(page.sentences)
    assert boilerplate_in(article, page) == []
    assert page.title and page.author and page.site and page.url and page.published


def test_the_charset_page_names_its_charset_only_in_the_header():
    (page,) = [p for p in PAGES if "windows-1252" in p.content_type]
    assert b"charset" not in page.body.lower() and b"encoding=" not in page.body
    text = page.body.decode("cp1252")
    assert "’" in text and "é" in text and "£" in text
    with pytest.raises(UnicodeDecodeError):
        page.body.decode("utf-8")


def test_a_saved_page_is_decoded_by_its_meta_charset_as_browsers_decode_it(tmp_path):
    """A page labelled ISO-8859-1 is read as windows-1252, as browsers read it: its curly
    quotes are bytes Latin-1 makes control characters of."""
    (page,) = [p for p in PAGES if "windows-1252" in p.content_type]
    saved = page.body.replace(b"<head>", b'<head>\n<meta charset="ISO-8859-1">', 1)
    text = extract(tmp_path / "saved.html", saved).text
    assert "A crème brûlée made at a small café on Ashcombe’s high street" in text
    assert missing_sentences(text, page) == []


def test_links_inside_the_article_are_dropped_and_its_sentences_kept(tmp_path):
    page = """<html><body><article><h1>Harbour wall to be rebuilt</h1>
    <p>The council agreed on Monday to rebuild the harbour wall next year at a cost of two
    million pounds, after <a href="/storm">the winter storms</a> breached it twice.</p>
    <p><strong>Read more:</strong> <a href="/a">Harbour wall collapse: what we know</a></p>
    <ul><li><a href="/b">Fishermen count the cost of the winter storms on the coast</a></li>
    <li><a href="/c">Sea defences across the county to be reviewed</a></li></ul>
    <ul><li>Work will begin in March and take nine months.</li>
    <li>The road along the <a href="/front">sea front</a> will close for a month.</li></ul>
    <p>The harbour master said boats would be moved to the inner basin while the work
    went on, and the ferry would keep to its timetable.</p></article></body></html>"""
    text = extract(tmp_path / "wall.html", page.encode()).text
    for sentence in (
        "after the winter storms breached it twice.",
        "Work will begin in March and take nine months.",
        "The road along the sea front will close for a month.",
        "the ferry would keep to its timetable.",
    ):
        assert sentence in text
    for link in ("Read more", "what we know", "Fishermen count", "Sea defences"):
        assert link not in text


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    """Every article page added to one collection by `add URL` (in process), and the text
    the index stores for each, by page name."""
    root = tmp_path_factory.mktemp("extraction")
    environment = {
        "DATA_DIR": str(root / "data"),
        "CACHE_DIR": str(root / "cache"),
        "HOME": str(root / "home"),
        "FETCH_PRIVATE_NETWORKS": LOOPBACK,
    }
    output, errors = io.StringIO(), io.StringIO()
    with (
        serve(page_routes(ARTICLES)) as site,
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(output),
        contextlib.redirect_stderr(errors),
    ):
        for key, value in environment.items():
            patch.setenv(key, value)
        patch.delenv("SEEDS_DIR", raising=False)
        urls = [site.url(page.path) for page in ARTICLES]
        code = main(["add", *urls, "--collection", "sites", "--json"])
    assert code == 0, errors.getvalue()
    stored = [json.loads(line) for line in output.getvalue().splitlines()]
    assert [a["url"] for a in stored] == urls
    corpus = Corpus.open(root / "data" / "collections" / "sites", cache_dir=root / "cache")
    return {
        page.name: (article, corpus.index.document_text(article["id"]), root / "data")
        for page, article in zip(ARTICLES, stored, strict=True)
    }


@pytest.mark.parametrize("page", ARTICLES, ids=lambda p: p.name)
def test_the_stored_text_holds_the_article_verbatim(added, page):
    _, text, _ = added[page.name]
    missing = missing_sentences(text, page)
    share = 1 - len(missing) / len(page.sentences)
    assert share >= SENTENCE_TARGET, f"{share:.0%} of the sentences; missing: {missing}"


@pytest.mark.parametrize("page", ARTICLES, ids=lambda p: p.name)
def test_the_stored_text_holds_no_boilerplate(added, page):
    _, text, _ = added[page.name]
    assert boilerplate_in(text, page) == []


@pytest.mark.parametrize("page", ARTICLES, ids=lambda p: p.name)
def test_the_metadata_is_picked_up(added, page):
    article, _, data_dir = added[page.name]
    assert article["title"] == page.title
    assert article["author"] == page.author
    assert article["source"] == page.site
    assert article["published"] == page.date
    # The collection keeps the URL it was fetched from; the canonical one is in the page.
    stored = data_dir / "texts" / f"{article['sha256']}{article['suffix']}"
    assert extract(stored, stored.read_bytes()).url == page.url


def test_the_paywall_teaser_gives_the_teaser_only(added):
    (page,) = [p for p in ARTICLES if "paywall" in p.name]
    _, text, _ = added[page.name]
    assert text.split("\n\n") == [" ".join(p) for p in page.paragraphs]


def _cli(tmp_path: Path, *args: str, allow: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, *args, allow_private=allow, timeout=120)


def test_a_held_out_page_is_added_and_quoted_verbatim_from_the_command_line(tmp_path):
    with serve(page_routes([HELD_OUT])) as site:
        url = site.url(HELD_OUT.path)
        refused = _cli(tmp_path, "add", url, allow=False)
        assert refused.returncode == 2
        assert "private or local address" in refused.stderr
        assert "FETCH_PRIVATE_NETWORKS" in refused.stderr
        assert not (tmp_path / "data" / "texts").exists() or not any(
            (tmp_path / "data" / "texts").iterdir()
        )
        added = _cli(tmp_path, "add", url)
    assert added.returncode == 0, added.stderr
    assert HELD_OUT.title in added.stdout
    asked = _cli(
        tmp_path,
        "ask",
        "When will the walk-in clinic in Millbrook open?",
        "--collection",
        "default",
        "--json",
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["found"] and answer["quotes"]
    first = answer["quotes"][0]
    assert first["text"] in HELD_OUT.sentences  # one whole sentence of the page, verbatim
    assert "1 July" in first["text"]
    assert first["citation"]["url"] == url
    for quote in answer["quotes"]:
        assert quote["citation"]["url"] == url
        assert boilerplate_in(quote["text"], HELD_OUT) == []
        assert any(quote["text"] in sentence for sentence in HELD_OUT.sentences), quote["text"]
    assert not (tmp_path / "home").exists()  # nothing written to the home directory
