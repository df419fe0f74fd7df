"""Stage 1a: an article file's text and metadata, whatever its format.

Every quote is a slice of the text returned here, which is what the index stores: plain text,
paragraphs separated by blank lines.

- `.txt`: the text as decoded (UTF-8; a byte-order mark dropped), untouched.
- `.md`, `.markdown`: the prose of headings, paragraphs, list items and quotes (markdown-it-py's
  parse), without the markup; link and emphasis text kept, code blocks and images left out.
  The first heading is the title.
- `.html`, `.htm`: the main text and the metadata (title, author, date, site, canonical URL),
  extracted by trafilatura, which parses offline; menus, footers and scripts are left out and
  nothing on the page is run.
- `.pdf`: each page's text (pypdf), lines of a paragraph joined, pages apart.

Extraction fails with a `SeedFileError` naming the file and why, never a traceback.
"""

from __future__ import annotations

import datetime
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SeedFileError

__all__ = ["SUFFIXES", "Extracted", "extract"]

_log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt",)
MARKDOWN_SUFFIXES = (".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
SUFFIXES = TEXT_SUFFIXES + MARKDOWN_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES
# A PDF longer than this is refused: extraction time grows with it, and hostile files can
# claim millions of pages.
MAX_PDF_PAGES = 2_000
# Fewer words than this from a web page are its menus and links, not an article: trafilatura
# falls back to whatever text a page has.
MIN_PAGE_WORDS = 15


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
    if suffix in MARKDOWN_SUFFIXES:
        extracted = _markdown(_decoded(path, raw))
    elif suffix in HTML_SUFFIXES:
        extracted = _html(path, raw)
    elif suffix in PDF_SUFFIXES:
        extracted = _pdf(path, raw)
    else:
        extracted = Extracted(_decoded(path, raw))
    if not extracted.text.strip():
        raise SeedFileError(path, "has no article text" if suffix != ".txt" else "is empty")
    return extracted


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
        document = trafilatura.bare_extraction(
            raw, with_metadata=True, include_comments=False, include_tables=False
        )
    except Exception as exc:  # a parser's failure on a hostile page is that page's problem
        raise SeedFileError(path, f"could not be read as a web page ({exc})") from exc
    if document is None:
        raise SeedFileError(path, "has no article text (nothing on the page reads as one)")
    found = document.as_dict()
    lines = [" ".join(line.split()) for line in (found.get("text") or "").splitlines()]
    text = "\n\n".join(line for line in lines if line)
    if len(text.split()) < MIN_PAGE_WORDS:  # what is left of a page without an article
        raise SeedFileError(path, "has no article text (the page holds menus or links only)")
    return Extracted(
        text,
        title=_clean(found.get("title")),
        author=_clean(found.get("author")),
        site=_clean(found.get("sitename")),
        date=_date(found.get("date")),
        url=_web_url(found.get("url")),
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


# ---------------------------------------------------------------- PDF


def _pdf(path: Path, raw: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise SeedFileError(path, "is an encrypted PDF; save an unencrypted copy")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise SeedFileError(path, f"has more than {MAX_PDF_PAGES:,} pages")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except SeedFileError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise SeedFileError(path, f"could not be read as a PDF ({exc})") from exc
    paragraphs = [p for page in pages for p in _reflowed(page)]
    return Extracted("\n\n".join(paragraphs), title=_clean(title))


def _reflowed(page: str) -> list[str]:
    """A page's paragraphs: its lines joined, a paragraph ending at a blank line or at a line
    that ends a sentence and is clearly shorter than the page's usual line."""
    lines = [" ".join(line.split()) for line in page.splitlines()]
    widths = sorted(len(line) for line in lines if line)
    usual = widths[len(widths) * 3 // 4] if widths else 0
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line)
        if line.endswith((".", "!", "?", "”", '"')) and len(line) < 0.8 * usual:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs
