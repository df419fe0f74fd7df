"""Articles in Markdown, HTML and PDF: their text extracted, their metadata read, their quotes
verbatim slices of the stored text, and a broken or empty file named in a warning."""

from __future__ import annotations

import datetime

from corpus import Corpus
from corpus.ingest.loader import load_seeds
from tests.conftest import make_seeds

PAGE = """<!doctype html>
<html><head>
<title>Ferry news | Harbour Times</title>
<meta name="author" content="Jo Bloggs">
<meta property="og:site_name" content="Harbour Times">
<meta property="article:published_time" content="2024-05-01T08:00:00Z">
<link rel="canonical" href="https://example.org/news/ferry">
<script>document.write("never run")</script>
</head><body>
<nav><a href="/">Home</a> | <a href="/about">About us</a> | Subscribe now</nav>
<article>
<h1>Council approves the winter ferry timetable</h1>
<p>The harbour council met on Monday evening in the old town hall.</p>
<p>It approved the new winter ferry timetable, which starts in November.</p>
<p>Residents welcomed the <b>change</b>, the mayor, Ana Ruiz, said after the vote.</p>
</article>
<footer>Copyright 2024 Harbour Times. All rights reserved.</footer>
</body></html>
"""

MARKDOWN = """# Council approves the winter ferry timetable

The harbour council met on **Monday** evening in the [old town hall](https://example.org).

* It approved the new winter ferry timetable.
* Residents welcomed the `change`.

```
code that is not prose
```
"""


def _pdf(lines: list[str], title: str | None = "Ferry report") -> bytes:
    """A one-page PDF with these lines of text (Helvetica), offsets and all, and `title`
    in its metadata (none if None)."""
    text = "\n".join(f"({line}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td\n{text}\nET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (%s) >>" % title.encode() if title else b"<< >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_a_web_page_gives_its_main_text_and_metadata(tmp_path):
    (document,) = load_seeds(make_seeds(tmp_path, {"ferry.html": PAGE})).documents
    assert document.title == "Council approves the winter ferry timetable"
    assert (document.author, document.source) == ("Jo Bloggs", "Harbour Times")
    assert document.date == datetime.date(2024, 5, 1)
    assert document.url == "https://example.org/news/ferry"
    assert "It approved the new winter ferry timetable" in document.text
    for boilerplate in ("Subscribe now", "About us", "Copyright", "never run", "<"):
        assert boilerplate not in document.text


def test_markdown_gives_its_prose_without_the_markup(tmp_path):
    (document,) = load_seeds(make_seeds(tmp_path, {"ferry.md": MARKDOWN})).documents
    assert document.title == "Council approves the winter ferry timetable"
    assert "met on Monday evening in the old town hall." in document.text
    assert "It approved the new winter ferry timetable." in document.text
    for markup in ("**", "](", "`", "* It", "code that is not prose", "#"):
        assert markup not in document.text


def test_a_pdf_gives_its_text_with_lines_joined_into_paragraphs(tmp_path):
    lines = [
        "The harbour council met on Monday evening in the old town",
        "hall, and it approved the new winter ferry timetable.",
    ]
    (document,) = load_seeds(make_seeds(tmp_path, {"report.pdf": _pdf(lines)})).documents
    assert document.title == "Ferry report"
    assert "in the old town hall, and it approved the new winter ferry timetable." in (
        document.text
    )


def test_a_pdf_without_a_title_is_named_by_its_headline_kept_apart_from_its_text(tmp_path):
    lines = [
        "Ferry strike called off",
        "The union and the harbour board reached a deal on Monday night after",
        "talks that lasted eleven hours, the union's leader, Ana Ruiz, said.",
    ]
    pdf = {"2024-05-report.pdf": _pdf(lines, title=None)}
    (document,) = load_seeds(make_seeds(tmp_path, pdf)).documents
    assert document.title == "Ferry strike called off"  # not the file's name
    assert document.text.startswith("Ferry strike called off\n\nThe union and the harbour")
    corpus = Corpus.open(tmp_path)
    first = corpus.ask("Who said the union reached a deal?").quotes[0]
    assert first.text.startswith("The union and the harbour board")


def test_answers_from_every_format_are_verbatim_and_cited(tmp_path):
    seeds = make_seeds(
        tmp_path,
        {
            "page.html": PAGE,
            "notes.md": MARKDOWN.replace("ferry", "bus"),
            "report.pdf": _pdf(["The tram depot closed on Friday after the storm."]),
        },
    )
    corpus = Corpus.open(seeds)
    expected = {
        "When does the winter ferry timetable start?": "page",
        "Where did the council meet about the bus timetable?": "notes",
        "When did the tram depot close?": "report",
    }
    for question, doc_id in expected.items():
        answer = corpus.ask(question)
        first = answer.quotes[0]
        assert first.citation.doc_id == doc_id, (question, first.text)
        stored = corpus.index.document_text(doc_id)
        assert stored[first.citation.start : first.citation.end] == first.text


def test_broken_and_empty_files_of_each_format_are_named_and_the_rest_loads(tmp_path):
    seeds = make_seeds(
        tmp_path,
        {
            "good": "The ferry left on time.",
            "broken.pdf": b"%PDF-1.4 this is not really a PDF",
            "empty.html": "<html><body><nav>Home</nav></body></html>",
            "blank.md": "```\nonly code\n```\n",
            "twice.txt": "The first file named twice.",
            "twice.md": "The second file named twice.",
        },
    )
    result = load_seeds(seeds)
    assert sorted(d.id for d in result.documents) == ["good", "twice"]
    refused = {p.path.name: p.problem for p in result.problems}
    assert set(refused) == {"broken.pdf", "empty.html", "blank.md", "twice.txt"}
    assert "could not be read as a PDF" in refused["broken.pdf"]
    assert "no article text" in refused["empty.html"] and "no article text" in refused["blank.md"]
    assert "same name as twice.md" in refused["twice.txt"]


def test_distinct_words_are_counted_exactly_across_windows_and_cases():
    from corpus.ingest.formats import _DISTINCT_WINDOW, _has_more_distinct_words

    # Words spread over several counting windows, each also in capitals (the same word once
    # folded), one non-ASCII word whose fold differs ("Straße" and "STRASSE" are one).
    words = [f"word{n:06d}" for n in range(15_000)]
    text = " ".join(words + [w.upper() for w in words]) + " Straße STRASSE"
    assert len(text) > 3 * _DISTINCT_WINDOW
    assert not _has_more_distinct_words(text, 15_001)
    assert _has_more_distinct_words(text, 15_000)
    glued = "x" * (2 * _DISTINCT_WINDOW)  # one word longer than a window is one word
    assert not _has_more_distinct_words(glued + " y", 2)
    assert _has_more_distinct_words(glued + " y z", 2)


def test_paragraphs_and_sentence_ends_are_counted_exactly_at_their_limits():
    from corpus.ingest.segment import has_more_paragraphs, has_more_sentence_ends

    assert not has_more_paragraphs("a\n\n" * 10 + "a", 10)
    assert has_more_paragraphs("a\n\n" * 11 + "a", 10)
    # Many line breaks but few paragraphs: the pattern decides, not the count of breaks.
    assert not has_more_paragraphs("a\nb\n" * 50 + "\n\nc", 10)
    assert not has_more_sentence_ends("Ok. " * 10, 10)
    assert has_more_sentence_ends("Ok. " * 11, 10)
    assert not has_more_sentence_ends("3.5 and 4.5 and 5.5 " * 20, 10)  # no ends at all
