"""Files made to cost far more than their size: PDFs whose pages share one huge content stream,
gzip that inflates past the size limit, pages that name files on this machine, a feed of
100,000 items. Each is driven the way an attacker would: `python -m bot add` in a second
process, a Discord upload, a feed from a real local web server."""

from __future__ import annotations

import gzip
import io
import json
import random
import sqlite3
import string

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from corpus.ingest.formats import (
    MAX_DISTINCT_WORDS,
    MAX_MARKDOWN_MARKS,
    MAX_PAGE_ELEMENTS,
    MAX_PARAGRAPHS,
    MAX_SENTENCES,
    MAX_TEXT_CHARS,
)
from corpus.ingest.limits import MAX_BYTES
from corpus.sources.feeds import MAX_FEED_ITEMS, MAX_NEW_ITEMS
from tests.conftest import run_cli
from tests.discord_harness import running_bot
from tests.fake_discord import slash
from tests.local_site import serve
from tests.test_discord import no_logged_errors, plain  # noqa: F401 - the autouse fixture
from tests.test_discord_articles import ADMIN, final_reply, run

# Generous: the old code took minutes for each of these files; the new one takes seconds.
NO_HANG = 120


def page_stream(lines: int, tag: str = "") -> bytes:
    """A content stream of `lines` numbered lines of text (Helvetica as /F1)."""
    body = b"".join(
        b"(Line %d%s of the council report on the tram budget.) Tj 0 -14 Td\n" % (n, tag.encode())
        for n in range(lines)
    )
    return b"BT /F1 12 Tf 72 720 Td\n" + body + b"ET"


def pdf_of_pages(pages: int, lines: int, *, shared: bool) -> bytes:
    """A PDF of `pages` pages of the same text: one content stream object that every page
    points at (`shared`), or a copy of it per page (so no page shares an object)."""
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    data = page_stream(lines)
    stream_ref = None
    for _ in range(pages):
        if stream_ref is None or not shared:
            stream = DecodedStreamObject()
            stream.set_data(data)
            stream_ref = writer._add_object(stream.flate_encode())  # small, as files are
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Contents")] = stream_ref
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def added(result) -> dict:
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    return json.loads(line)


def test_a_pdf_whose_pages_all_share_one_content_stream_is_read_as_one_page(tmp_path):
    # 500 pages pointing at one 200 KB stream: the old code read the stream 500 times
    # (minutes) and indexed 80 MB of the same text.
    lines = 3000
    document = pdf_of_pages(500, lines, shared=True)
    assert len(document) < 300_000
    (tmp_path / "report.pdf").write_bytes(document)
    result = run_cli(tmp_path, "add", str(tmp_path / "report.pdf"), "--json", timeout=NO_HANG)
    article = added(result)
    # The page's text once: one sentence a line, not 500 times as many.
    assert lines <= article["sentences"] < 2 * lines


def test_a_pdf_whose_pages_repeat_in_separate_streams_is_refused_as_too_long(tmp_path):
    # No shared object to notice, so each page is read; the text budget stops it.
    lines = 700  # about 40,000 characters a page
    pages = MAX_TEXT_CHARS // (lines * 50) + 10
    (tmp_path / "copies.pdf").write_bytes(pdf_of_pages(pages, lines, shared=False))
    result = run_cli(tmp_path, "add", str(tmp_path / "copies.pdf"), timeout=NO_HANG)
    assert result.returncode == 2
    assert "copies.pdf" in result.stderr
    assert f"is too long: more than {MAX_TEXT_CHARS:,} characters of text" in result.stderr
    assert "Traceback" not in result.stderr


def web_page(paragraphs: int) -> bytes:
    body = "".join(
        f"<p>Paragraph {n}: the harbour council approved the winter ferry timetable again.</p>"
        for n in range(paragraphs)
    )
    return (
        "<!doctype html><html><head><title>Ferry timetable</title></head>"
        f"<body><article><h1>Ferry timetable</h1>{body}</article></body></html>"
    ).encode()


def test_a_gzip_web_page_that_inflates_past_the_limit_is_refused(tmp_path):
    page = web_page(80_000)  # about 6.5 MB
    assert len(page) > MAX_BYTES
    bomb = gzip.compress(page, 9)
    assert len(bomb) < MAX_BYTES // 20
    (tmp_path / "bomb.html").write_bytes(bomb)
    result = run_cli(tmp_path, "add", str(tmp_path / "bomb.html"), timeout=NO_HANG)
    assert result.returncode == 2
    assert "bomb.html" in result.stderr
    assert "is gzip-compressed, and it decompresses to more than 5 MB" in result.stderr
    assert "Traceback" not in result.stderr


def test_gzip_text_and_pages_within_the_limit_are_read_as_their_content(tmp_path):
    (tmp_path / "small.html").write_bytes(gzip.compress(web_page(30)))
    story = "The harbour council approved the winter ferry timetable on Monday.\n"
    (tmp_path / "note.txt").write_bytes(gzip.compress(story.encode()))
    result = run_cli(
        tmp_path, "add", str(tmp_path / "small.html"), str(tmp_path / "note.txt"), "--json"
    )
    assert result.returncode == 0, result.stderr
    page, note = (json.loads(line) for line in result.stdout.splitlines())
    assert page["title"] == "Ferry timetable" and page["sentences"] >= 30
    assert note["sentences"] == 1
    asked = run_cli(tmp_path, "ask", "When was the ferry timetable approved?", "--doc", note["id"])
    assert "approved the winter ferry timetable on Monday" in asked.stdout


def test_a_gzip_bomb_uploaded_to_discord_is_refused_with_the_reason(tmp_path):
    bomb = gzip.compress(web_page(80_000), 9)

    async def scenario():
        async with running_bot(tmp_path, COOLDOWN_RATE="100") as env:
            attached = env.fake.attachment("bomb.html", bomb, "text/html")
            refused = await final_reply(
                env.fake, slash("article", "add", file=attached), permissions=ADMIN
            )
            assert refused["content"].startswith("Not added")
            assert "decompresses to more than 5 MB" in refused["content"]

    run(scenario())


def test_a_page_naming_files_on_this_machine_does_not_read_them(tmp_path):
    # An external entity, an XInclude and a DTD: the HTML parser must resolve none of them.
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-MARKER from the host's disk")
    body = " ".join(["The harbour council approved the winter ferry timetable."] * 6)
    page = f"""<?xml version="1.0"?>
<!DOCTYPE html SYSTEM "{secret.as_uri()}" [<!ENTITY leak SYSTEM "{secret.as_uri()}">]>
<html xmlns:xi="http://www.w3.org/2001/XInclude"><head><title>Ferry</title></head>
<body><article><p>{body} &leak;</p><xi:include href="{secret.as_uri()}" parse="text"/>
<p>{body}</p></article></body></html>"""
    (tmp_path / "entities.html").write_text(page)
    result = run_cli(tmp_path, "add", str(tmp_path / "entities.html"), "--json")
    article = added(result)
    asked = run_cli(tmp_path, "summary", "--length", "long", "--doc", article["id"])
    assert "SECRET" not in asked.stdout + asked.stderr


def test_a_feed_of_100000_items_is_read_only_as_far_as_its_first_entries(tmp_path):
    # Newest first, as feeds are; relative links keep 100,000 items under the 5 MB limit.
    items = "".join(f"<item><link>/a/{n}</link></item>" for n in range(100_000))
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Flood</title><link>/</link>'
        f"{items}</channel></rss>"
    ).encode()
    article = "<html><head><title>Story {n}</title></head><body><article><h1>Story {n}</h1>"
    article += "<p>Item {n}: the harbour council approved the winter ferry timetable on "
    article += "Monday, after a long debate about the cost of the new boats.</p></article>"
    html = {"Content-Type": "text/html; charset=utf-8"}
    routes = {f"/a/{n}": (200, html, article.format(n=n).encode()) for n in range(50)}
    routes["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, feed)
    with serve(routes) as site:
        result = run_cli(
            tmp_path, "feed", "add", site.url("/feed.xml"), allow_private=True, timeout=NO_HANG
        )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "data" / "quotebot.db") as db:
        (recorded,) = db.execute("SELECT COUNT(*) FROM feed_items").fetchone()
        taken = {row[0] for row in db.execute("SELECT url FROM articles WHERE url IS NOT NULL")}
    assert recorded == MAX_FEED_ITEMS
    assert taken == {site.url(f"/a/{n}") for n in range(MAX_NEW_ITEMS)}  # the newest


def test_text_of_words_that_never_repeat_is_refused_before_it_is_indexed(tmp_path):
    # Memory grows with the different words (1 KB each): 5 MB of them took 900 MB.
    rng = random.Random(7)
    words = {"".join(rng.choices(string.ascii_lowercase, k=9)) for _ in range(60_000)}
    assert len(words) > MAX_DISTINCT_WORDS
    (tmp_path / "words.txt").write_text(" ".join(sorted(words)))
    result = run_cli(tmp_path, "add", str(tmp_path / "words.txt"), timeout=NO_HANG)
    assert result.returncode == 2
    assert f"has more than {MAX_DISTINCT_WORDS:,} different words" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_page_of_tiny_elements_is_refused_before_it_is_read(tmp_path):
    # trafilatura's work grows with the elements: 1 MB of them took 40 s and 250 MB.
    cells = "".join(f"<p><b>{n}</b> x</p>" for n in range(MAX_PAGE_ELEMENTS // 2 + 10))
    page = f"<html><body><article><h1>Soup</h1>{cells}</article></body></html>"
    (tmp_path / "soup.html").write_text(page)
    result = run_cli(tmp_path, "add", str(tmp_path / "soup.html"), timeout=NO_HANG)
    assert result.returncode == 2
    assert f"has more than {MAX_PAGE_ELEMENTS:,} HTML elements" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_tiny_gzip_markdown_list_bomb_is_refused_before_it_is_parsed(tmp_path):
    # 1 KB of gzip, 1 MB of "- a" lines: markdown-it took 22 s and 600 MB for it.
    (tmp_path / "list.md").write_bytes(gzip.compress(b"- a\n" * 262_144, 9))
    assert (tmp_path / "list.md").stat().st_size < 2_000
    result = run_cli(tmp_path, "add", str(tmp_path / "list.md"), timeout=NO_HANG)
    assert result.returncode == 2
    assert f"has more than {MAX_PARAGRAPHS:,} paragraphs" in result.stderr
    assert "Traceback" not in result.stderr


def test_markdown_of_emphasis_marks_is_refused_before_it_is_parsed(tmp_path):
    (tmp_path / "marks.md").write_text("*a **b _c " * 20_000)
    result = run_cli(tmp_path, "add", str(tmp_path / "marks.md"), timeout=NO_HANG)
    assert result.returncode == 2
    assert f"has more than {MAX_MARKDOWN_MARKS:,} emphasis and code marks" in result.stderr


def test_text_of_countless_tiny_paragraphs_or_sentences_is_refused(tmp_path):
    # The index keeps several objects a paragraph and a sentence: 5 MB of "a" paragraphs took
    # 800 MB, and 5 MB of "Ok. " 600 MB.
    (tmp_path / "paragraphs.txt").write_text("a\n\n" * (MAX_PARAGRAPHS + 10))
    (tmp_path / "sentences.txt").write_text("Ok. " * (MAX_SENTENCES + 10))
    for name, what in (("paragraphs.txt", "paragraphs"), ("sentences.txt", "sentences")):
        result = run_cli(tmp_path, "add", str(tmp_path / name), timeout=NO_HANG)
        assert result.returncode == 2, result.stderr
        assert what in result.stderr and "more than an article has" in result.stderr
    listed = run_cli(tmp_path, "list", "--json")
    assert "paragraphs" not in listed.stdout and "sentences" not in listed.stdout
