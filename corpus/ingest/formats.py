"""Stage 1a: an article file's text and metadata, whatever its format.

Every quote is a slice of the text returned here, which is what the index stores: plain text,
paragraphs separated by blank lines.

- `.txt`: the text as decoded (UTF-8; a byte-order mark dropped), untouched.
- `.md`, `.markdown`: the prose of headings, paragraphs, list items and quotes (markdown-it-py's
  parse), without the markup; link and emphasis text kept, code blocks and images left out.
  The first heading is the title.
- `.html`, `.htm`: the main text and the metadata (title, author, date, site, canonical URL),
  extracted by trafilatura, which parses offline; menus, footers and scripts are left out and
  nothing on the page is run. Before it reads the page, boxes that are never the article
  (newsletter sign-ups, promotions, paywall notices, media players) are pruned; after, a
  paragraph that is (nearly) all link text, as "Read more: <headline>" and teaser lists are,
  is dropped, so a section page of links is refused rather than read as an article. The page
  is decoded by its byte-order mark, as UTF-8 if it is valid UTF-8, else by the charset its
  `<meta>` declares, and only then by trafilatura's guess. A page of more than
  `MAX_PAGE_ELEMENTS` elements is refused before it is read, and one over 1 MB is read without
  trafilatura's fallback extractors, which copy its text again word by word.
- `.pdf`: each page's text (pypdf), lines of a paragraph joined, pages apart. A content
  stream that several pages share is read once, and a page whose text is exactly an earlier
  page's adds nothing (a quote comes from the first), so a file of 2,000 pages pointing at one
  stream costs one page. The whole reading has a wall-clock budget, `PDF_SECONDS`, checked as
  pypdf hands over each piece of text, and stops as soon as the text passes `MAX_TEXT_CHARS`.
- A `.txt`, `.md` or `.html` file that is gzip (the bytes 1f 8b) is inflated only up to
  `MAX_BYTES` (corpus/ingest/limits.py), as a fetched page is; the parsers are only ever given
  text, never bytes they could inflate themselves.

Every format's text is at most `MAX_TEXT_CHARS` characters (as many as an upload has bytes),
with at most `MAX_DISTINCT_WORDS` different words: the index's memory grows with both, about
25 bytes per character of text and 1 KB per different word (its vocabulary, postings and
cache entries). Prose of that length has far fewer different words (a 3 MB novel has about
20,000); 5 MB of words that never repeat would have 600,000 and take 900 MB to index.

Extraction fails with a `SeedFileError` naming the file and why, never a traceback.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime
import io
import logging
import re
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SeedFileError
from . import encodings
from .limits import MAX_BYTES, DecodedTooLarge, gunzip_limited, is_gzip, more_than
from .segment import has_more_paragraphs, has_more_sentence_ends

__all__ = [
    "MAX_DISTINCT_WORDS",
    "MAX_MARKDOWN_MARKS",
    "MAX_PAGE_ELEMENTS",
    "MAX_PARAGRAPHS",
    "MAX_SENTENCES",
    "MAX_TEXT_CHARS",
    "PDF_SECONDS",
    "SUFFIXES",
    "Extracted",
    "decode_declared",
    "extract",
]

_log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt",)
MARKDOWN_SUFFIXES = (".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
SUFFIXES = TEXT_SUFFIXES + MARKDOWN_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES
# A PDF longer than this is refused: extraction time grows with it, and hostile files can
# claim millions of pages.
MAX_PDF_PAGES = 2_000
# The most text one article may have, in characters, whatever its format: as many as an upload
# may have bytes, so any text file that may be sent is read whole, and a PDF or a page cannot
# make more.
MAX_TEXT_CHARS = MAX_BYTES
# The most different words (runs of letters and digits, case folded) one article may have.
MAX_DISTINCT_WORDS = 50_000
_WORD = re.compile(r"\w+")
_NON_WORD = re.compile(r"\W")
_NON_BLANK = re.compile(r"\S+")
# The most time reading one PDF may take (wall clock); a page is abandoned mid-way past it.
# Below the deadline of the child process that reads an added file (isolation.READ_SECONDS,
# 30 s), so a slow PDF is told why; it bounds a PDF read in-process (an index rebuild) too.
PDF_SECONDS = 20.0
# A page larger than this is read by trafilatura's own extractor only, without comparing it
# with its fallbacks (readability, jusText): they copy the page's whole text again, word by
# word, which took a 5 MB page past the memory bound (20 bytes per byte of text + 150 MB).
# A page with this much text is an article by trafilatura's main rules already.
_FALLBACK_BYTES = 1024 * 1024
# A page with more elements than this is refused before trafilatura reads it: its work and
# memory grow with the elements (about 1.3 KB each), and 1 MB of tiny elements took 40 s and
# 250 MB. A long news or encyclopaedia page has a few thousand.
MAX_PAGE_ELEMENTS = 30_000
# An article has at most this many paragraphs and sentences (counted as candidate sentence
# ends): 5 MB of news prose has about 25,000 one-sentence paragraphs at most, and 45,000
# sentences.
MAX_PARAGRAPHS = 30_000
MAX_SENTENCES = 100_000
# Markdown with more emphasis, strike-through and code marks than this is refused unparsed.
MAX_MARKDOWN_MARKS = 50_000
_MARKDOWN_BLOCK = re.compile(r"^[ \t]{0,3}(?:[-*+][ \t]|\d{1,9}[.)][ \t]|#{1,6}[ \t]|>)", re.M)
_MARKDOWN_MARK = re.compile(r"[*_~`]")
_START_TAG = re.compile(r"<[A-Za-z]")
_TOO_MANY_ELEMENTS = (
    f"has more than {MAX_PAGE_ELEMENTS:,} HTML elements, more than any article page has; it "
    "is not read"
)
# Fewer words than this from a web page are its menus and links, not an article: trafilatura
# falls back to whatever text a page has.
MIN_PAGE_WORDS = 15
# A paragraph is a link, not prose, when this share of its words is link text and at most
# `_LINK_LABEL_WORDS` are not ("Read more: <headline>", "Related: <headline>", a teaser), or
# when `_ALL_LINK_SHARE` of it is.
_LINK_SHARE = 0.5
_LINK_LABEL_WORDS = 4
_ALL_LINK_SHARE = 0.8


@dataclass(frozen=True)
class Extracted:
    """An article's stored text and what the file says about it (None: it does not say)."""

    text: str
    title: str | None = None
    author: str | None = None
    site: str | None = None
    date: datetime.date | None = None
    url: str | None = None
    notes: list[str] = field(default_factory=list)


def extract(path: Path, raw: bytes) -> Extracted:
    suffix = path.suffix.casefold()
    if suffix not in PDF_SUFFIXES and is_gzip(raw):
        raw = _gunzipped(path, raw)
    if suffix in MARKDOWN_SUFFIXES:
        source = _decoded(path, raw)
        _check_markdown(path, source)
        extracted = _markdown(source)
    elif suffix in HTML_SUFFIXES:
        extracted = _html(path, raw)
    elif suffix in PDF_SUFFIXES:
        extracted = _pdf(path, raw)
    else:
        extracted = Extracted(_decoded(path, raw))
    if not extracted.text.strip():
        raise SeedFileError(path, "has no article text" if suffix != ".txt" else "is empty")
    if len(extracted.text) > MAX_TEXT_CHARS:
        raise SeedFileError(path, _too_long())
    if _has_more_distinct_words(extracted.text, MAX_DISTINCT_WORDS):
        raise SeedFileError(
            path,
            f"has more than {MAX_DISTINCT_WORDS:,} different words, which prose of any length "
            "does not; it is not read as an article",
        )
    _check_pieces(path, extracted.text)
    return extracted


def _check_pieces(path: Path, text: str) -> None:
    """Refuse a text of more paragraphs or sentences than an article has: the index keeps
    several objects for each (about 450 bytes), so 5 MB of "a" paragraphs took 800 MB.
    Counted without making them: the separators between paragraphs, and every candidate
    sentence end (more than there are sentences, as abbreviations do not end one)."""
    if has_more_paragraphs(text, MAX_PARAGRAPHS):
        raise SeedFileError(path, _too_many("paragraphs", MAX_PARAGRAPHS))
    if has_more_sentence_ends(text, MAX_SENTENCES):
        raise SeedFileError(path, _too_many("sentences", MAX_SENTENCES))


def _check_markdown(path: Path, source: str) -> None:
    """Refuse Markdown whose parse would cost far more than its size: markdown-it's tokens
    grow with list items, headings and quotes (1 MB of "- a" lines took 22 s and 600 MB) and
    with emphasis marks. Counted in the source before it is parsed."""
    if more_than(_MARKDOWN_BLOCK.finditer(source), MAX_PARAGRAPHS):
        raise SeedFileError(path, _too_many("paragraphs", MAX_PARAGRAPHS))
    if more_than(_MARKDOWN_MARK.finditer(source), MAX_MARKDOWN_MARKS):
        raise SeedFileError(path, _too_many("emphasis and code marks", MAX_MARKDOWN_MARKS))


def _too_many(what: str, limit: int) -> str:
    return f"has more than {limit:,} {what}, more than an article has; it is not read"


def _has_words(text: str, count: int) -> bool:
    """Whether `text` has `count` words, counted no further (`text.split()` on a long page
    would make a string of every word: 50 MB for 5 MB of text)."""
    return more_than(_NON_BLANK.finditer(text), count - 1)


def _has_more_distinct_words(text: str, limit: int) -> bool:
    """Whether `text` has more than `limit` different words. Read a window at a time, so
    the count never holds more than a window's words and `limit` distinct ones; a window's
    words are found and told apart in C, and only the distinct ones are folded."""
    if (len(text) + 1) // 2 <= limit:  # words need a character between them: no more fit
        return False
    words: set[str] = set()
    start = 0
    while start < len(text):
        end = _window_end(text, start + _DISTINCT_WINDOW)
        window = text[start:end]
        if window.isascii():  # folding cannot move a word boundary: fold it all in C
            words.update(_WORD.findall(window.lower()))
        else:
            words.update(word.casefold() for word in set(_WORD.findall(window)))
        if len(words) > limit:
            return True
        start = end
    return False


# Characters read at once when counting distinct words: at most ~13,000 words' strings.
_DISTINCT_WINDOW = 65_536


def _window_end(text: str, end: int) -> int:
    """`end`, moved on to the next character that is not part of a word, so that no word
    is cut in two."""
    if end >= len(text):
        return len(text)
    match = _NON_WORD.search(text, end)
    return match.start() if match else len(text)


def _too_long() -> str:
    return f"is too long: more than {MAX_TEXT_CHARS:,} characters of text; split it"


def _gunzipped(path: Path, raw: bytes) -> bytes:
    """A gzip file's content, inflated no further than an article may be long."""
    try:
        return gunzip_limited(raw, MAX_BYTES)
    except DecodedTooLarge as error:
        raise SeedFileError(path, f"is gzip-compressed, and {error}") from error
    except zlib.error as error:
        raise SeedFileError(path, f"is damaged gzip data ({error})") from error


def _decoded(path: Path, raw: bytes) -> str:
    try:
        # utf-8-sig drops a byte-order mark, which would otherwise start the first quote.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SeedFileError(
            path,
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}); "
            "save it as UTF-8",
        ) from exc


# ---------------------------------------------------------------- Markdown


_PROSE_BLOCKS = {"heading_open", "paragraph_open"}


def _markdown(source: str) -> Extracted:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(source)
    paragraphs: list[str] = []
    title = None
    for i, token in enumerate(tokens):
        if token.type not in _PROSE_BLOCKS or i + 1 >= len(tokens):
            continue
        text = _inline_text(tokens[i + 1].children or [])
        if not text:
            continue
        if token.type == "heading_open" and title is None:
            title = text
        paragraphs.append(text)
    return Extracted("\n\n".join(paragraphs), title=title)


def _inline_text(children: list) -> str:
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


# ---------------------------------------------------------------- HTML


def _html(path: Path, raw: bytes) -> Extracted:
    import trafilatura

    try:
        source = _as_text(_html_source(raw))
        # Counted in the text before the parser builds a tree: a start tag makes at most one
        # element, so this many (twice the limit, leaving room for tags in scripts and
        # comments) is sure to be too many, and a page of tiny elements costs no tree at all.
        if more_than(_START_TAG.finditer(source), 2 * MAX_PAGE_ELEMENTS):
            raise SeedFileError(path, _TOO_MANY_ELEMENTS)
        tree = trafilatura.load_html(source)
        if tree is None:
            raise SeedFileError(path, "has no article text (nothing on the page reads as one)")
        if more_than(tree.iter(), MAX_PAGE_ELEMENTS):
            raise SeedFileError(path, _TOO_MANY_ELEMENTS)
        links = _link_words(tree)
        # trafilatura copies the tree it is given, so `tree` stays whole for the link counts.
        document = trafilatura.bare_extraction(
            tree,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            prune_xpath=_NEVER_ARTICLE,
            fast=len(raw) > _FALLBACK_BYTES,
            # Only a date the page states: not a guess from a copyright line or a year in
            # its text ("Copyright 2024" made every undated page 1 January 2024).
            date_extraction_params={
                "original_date": True,
                "extensive_search": False,
                "max_date": datetime.date.today().isoformat(),
            },
        )
    except SeedFileError:
        raise
    except Exception as exc:  # a parser's failure on a hostile page is that page's problem
        raise SeedFileError(path, f"could not be read as a web page ({exc})") from exc
    if document is None:
        raise SeedFileError(path, "has no article text (nothing on the page reads as one)")
    found = document.as_dict()
    lines = [" ".join(line.split()) for line in (found.get("text") or "").splitlines()]
    text = "\n\n".join(line for line in lines if line and not _is_link(line, links))
    if not _has_words(text, MIN_PAGE_WORDS):  # what is left of a page without an article
        raise SeedFileError(path, "has no article text (the page holds menus or links only)")
    return Extracted(
        text,
        title=_clean(found.get("title")),
        author=_clean(found.get("author")),
        site=_clean(found.get("sitename")),
        date=_date(found.get("date")),
        url=_web_url(found.get("url")),
    )


def _html_source(raw: bytes) -> str | bytes:
    """The page as text when its encoding is known (a byte-order mark, valid UTF-8, or the
    charset a `<meta>` declares); otherwise the bytes, for trafilatura to guess from."""
    for mark, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
                           (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if raw.startswith(mark):
            return raw.decode(encoding, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _META_CHARSET.search(raw[:4096])
    text = decode_declared(raw, declared.group(1).decode("ascii")) if declared else None
    return raw if text is None else text


_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


def decode_declared(raw: bytes, label: str) -> str | None:
    """`raw` decoded as the charset `label` names (as an HTTP header, `<meta>` or XML
    declaration gives it), or None when the label is none of the WHATWG Encoding Standard's
    (corpus/ingest/encodings.py: never a Python-only codec such as punycode) or the bytes are
    not in that charset."""
    encoding = encodings.lookup(label)
    if encoding is None:
        return None
    try:
        return encodings.decode(raw, encoding, strict=encoding is not encodings.REPLACEMENT)
    except UnicodeDecodeError:
        return None


def _tokens(*names: str) -> str:
    """An XPath test: the class, id or data-component holds one of these words (a class's
    hyphens and underscores count as spaces, so "post-signup__box" holds "signup")."""
    tests = []
    for attribute in ("@class", "@id", "@data-component"):
        words = f"concat(' ', translate({attribute}, '-_ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
        words += "'  abcdefghijklmnopqrstuvwxyz'), ' ')"
        tests.extend(f"contains({words}, ' {name} ')" for name in names)
    return " or ".join(tests)


# Boxes that are never the article, whatever page they are on, and that trafilatura's own
# rules keep: sign-up and subscription prompts, promotions and "read more" links, paywall
# notices, media players' fallback text. Never a box holding the headline or much text.
_NEVER_ARTICLE = [
    ".//*[self::div or self::section or self::aside or self::form or self::p or self::figure]"
    f"[{_tokens('signup', 'sign up', 'promo', 'read more', 'readmore', 'paywall', 'regwall')}"
    f" or {_tokens('player', 'video player', 'media player')}]"
    "[not(.//h1)][string-length(normalize-space(.)) < 1500]"
]


def _link_words(tree: object) -> dict[str, tuple[int, int]]:
    """Each piece of text on the page (normalised) → its words and how many are link text;
    the least linked when the same text is on the page twice. One pass up the tree counts
    each element's text and link words, so only texts short enough to be a paragraph are
    ever put together (a long page is read in time linear in its size)."""
    elements = [e for e in tree.iter() if isinstance(e.tag, str)]  # type: ignore[attr-defined]
    inside_link = set()
    for element in elements:  # parents first
        parent = element.getparent()
        if parent is not None and (parent.tag == "a" or parent in inside_link):
            inside_link.add(element)
    counts: dict[object, tuple[int, int]] = {}  # element → (characters, link words)
    found: dict[str, tuple[int, int]] = {}
    for element in reversed(elements):  # children first
        characters, linked = len(element.text or ""), 0
        for child in element:
            child_characters, child_linked = counts.get(child, (0, 0))
            characters += child_characters + len(child.tail or "")
            linked += child_linked
        if element.tag == "a":
            linked = len((element.text_content() if characters <= 2000 else "x").split())
        counts[element] = (characters, linked)
        if characters > 2000 or element.tag in ("script", "style"):
            continue
        text = " ".join(element.text_content().split())
        words = len(text.split())
        if not words:
            continue
        share = words if element in inside_link or element.tag == "a" else min(linked, words)
        before = found.get(text)
        if before is None or share < before[1]:
            found[text] = (words, share)
    return found


def _is_link(line: str, links: dict[str, tuple[int, int]]) -> bool:
    words, linked = links.get(line.removeprefix("- "), (0, 0))  # a list item is "- " + text
    if not words:
        return False
    share = linked / words
    return share >= _ALL_LINK_SHARE or (
        share >= _LINK_SHARE and words - linked <= _LINK_LABEL_WORDS
    )


def _clean(value: object) -> str | None:
    text = " ".join(str(value).split()) if value else ""
    return text[:300] or None


def _date(value: object) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _web_url(value: object) -> str | None:
    text = str(value).strip() if value else ""
    return text if re.fullmatch(r"https?://\S{1,2000}", text) else None


def _as_text(source: str | bytes) -> str:
    """The page as text, decoded by trafilatura's guess when its encoding is not known. Never
    bytes: given bytes, trafilatura tries to inflate them (gzip, zlib, brotli) up to 20 MB,
    past the limit the page was read under."""
    if isinstance(source, str):
        return source
    from trafilatura.utils import detect_encoding

    for guess in detect_encoding(source):
        try:
            return source.decode(guess)
        except (LookupError, UnicodeDecodeError):
            continue
    return source.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- PDF


def _pdf(path: Path, raw: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        with _pdf_limits():
            reader = PdfReader(io.BytesIO(raw))
            if reader.is_encrypted:
                raise SeedFileError(path, "is an encrypted PDF; save an unencrypted copy")
            if len(reader.pages) > MAX_PDF_PAGES:
                raise SeedFileError(path, f"has more than {MAX_PDF_PAGES:,} pages")
            pages = _pdf_pages(path, reader.pages)
            title = reader.metadata.title if reader.metadata else None
    except SeedFileError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise SeedFileError(path, f"could not be read as a PDF ({exc})") from exc
    paragraphs = [p for page in pages for p in _reflowed(page)]
    return Extracted("\n\n".join(paragraphs), title=_clean(title))


# pypdf's own limits, lowered for text extraction (its defaults suit rendering): 100 KB of
# compressed content inflated to 70 MB and parsed into 2 million tokens took 200 MB. A page
# of text has thousands of tokens; a dense chart some hundred thousand.
_PDF_STREAM_BYTES = 20 * 1024 * 1024
_PDF_STREAM_TOKENS = 500_000


def _pdf_limits() -> contextlib.AbstractContextManager[object]:
    """pypdf's limits on decoded streams and content tokens, lowered (where the installed
    pypdf has `apply_configuration`; an older one keeps its own)."""
    try:
        from pypdf import apply_configuration
    except ImportError:
        return contextlib.nullcontext()
    stream = {
        f"{name}_maximum_output_length": _PDF_STREAM_BYTES
        for name in ("zlib", "lzw", "run_length", "brotli")
    }
    return apply_configuration(
        **stream,
        array_based_stream_maximum_output_length=_PDF_STREAM_BYTES,
        stream_parsing_work_maximum_count=_PDF_STREAM_TOKENS,
    )


class _OverBudget(Exception):
    """Raised from inside pypdf's text extraction to stop it: the text or time is spent."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _pdf_pages(path: Path, pages: Iterable[Any]) -> list[str]:
    """Each page's text, once: a page whose text is exactly an earlier page's is left out,
    and a content stream several pages share is read for the first of them only. Stops with
    a SeedFileError past `PDF_SECONDS` or `MAX_TEXT_CHARS`."""
    deadline = time.monotonic() + PDF_SECONDS
    spent = [0]  # characters handed over so far, the pages left out included

    def visit(text: str, *_: object) -> None:
        # pypdf calls this for each piece of text it finds, so a single huge page is stopped
        # part of the way through, not only between pages.
        spent[0] += len(text)
        if spent[0] > MAX_TEXT_CHARS:
            raise _OverBudget(_too_long())
        if time.monotonic() > deadline:
            raise _OverBudget(f"took more than {PDF_SECONDS:g} s to read; it is refused")

    read: dict[object, str] = {}  # a page's content stream and resources → its text
    seen: set[str] = set()
    texts = []
    try:
        for page in pages:
            key = _content_key(page)
            text = read.get(key) if key is not None else None
            if text is None:
                text = page.extract_text(visitor_text=visit) or ""
                if key is not None:
                    read[key] = text
            if text.strip() and text not in seen:
                seen.add(text)
                texts.append(text)
    except _OverBudget as over:
        raise SeedFileError(path, over.problem) from None
    return texts


def _content_key(page: Any) -> object | None:
    """What a page's text is made from, as a key: its content streams' object numbers and its
    resources (fonts decide the characters); None when the content is not a shared object."""
    from pypdf.generic import ArrayObject, IndirectObject

    contents = page.raw_get("/Contents") if "/Contents" in page else None
    if isinstance(contents, IndirectObject):
        streams: tuple[object, ...] = ((contents.idnum, contents.generation),)
    elif isinstance(contents, ArrayObject) and all(
        isinstance(part, IndirectObject) for part in contents
    ):
        streams = tuple((part.idnum, part.generation) for part in contents)
    else:
        return None
    resources = page.raw_get("/Resources") if "/Resources" in page else None
    if isinstance(resources, IndirectObject):
        return streams, (resources.idnum, resources.generation)
    # An inline dictionary: its text names each object it refers to by number.
    return streams, repr(resources)


def _is_heading(current: list[str], following: str, usual: int) -> bool:
    """Whether the paragraph so far is one short line without a sentence's end, followed by
    a line that starts anew: a headline or a heading, not to be glued onto what follows."""
    if len(current) != 1 or not following[:1].isupper():
        return False
    line = current[0]
    return len(line) < 0.6 * usual and not line.endswith((".", "!", "?", ",", ";", ":", "-"))


def _reflowed(page: str) -> list[str]:
    """A page's paragraphs: its lines joined, a paragraph ending at a blank line or at a line
    that ends a sentence and is clearly shorter than the page's usual line."""
    lines = [" ".join(line.split()) for line in page.splitlines()]
    widths = sorted(len(line) for line in lines if line)
    usual = widths[len(widths) * 3 // 4] if widths else 0
    paragraphs: list[str] = []
    current: list[str] = []
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line)
        ends_sentence = line.endswith((".", "!", "?", "”", '"'))
        if (ends_sentence and len(line) < 0.8 * usual) or _is_heading(current, following, usual):
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs
