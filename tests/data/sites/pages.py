"""The fixture news pages (pages.json): what each should give, and a web server for them.

Each article page `<name>.html` has `<name>.expected.txt`, its body as a reader would read it
(one sentence a line, a blank line between paragraphs), and `<name>.boilerplate.txt`, text on
the page that must never be quoted (one a line). The server listens on 127.0.0.1 only.
Used by tests/test_extraction.py, tests/test_fetch.py and bench/extraction.py.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from tests.local_site import Route

HERE = Path(__file__).resolve().parent
# The share of an article's sentences its extracted text must hold, verbatim.
SENTENCE_TARGET = 0.95


@dataclass(frozen=True)
class Page:
    file: str
    content_type: str  # the Content-Type header it is served with
    article: bool
    held_out: bool  # not used to choose the extractor's settings; the tests use it end to end
    title: str | None = None
    author: str | None = None
    date: str | None = None
    site: str | None = None
    url: str | None = None  # its canonical URL

    @property
    def name(self) -> str:
        return Path(self.file).stem

    @property
    def path(self) -> str:
        """Where the server has it."""
        return f"/news/{self.file}"

    @cached_property
    def body(self) -> bytes:
        return (HERE / self.file).read_bytes()

    @cached_property
    def sentences(self) -> list[str]:
        return _lines(HERE / f"{self.name}.expected.txt")

    @cached_property
    def paragraphs(self) -> list[list[str]]:
        text = (HERE / f"{self.name}.expected.txt").read_text(encoding="utf-8")
        return [block.split("\n") for block in text.strip().split("\n\n")]

    @cached_property
    def boilerplate(self) -> list[str]:
        return _lines(HERE / f"{self.name}.boilerplate.txt")

    @property
    def published(self) -> datetime.date | None:
        return datetime.date.fromisoformat(self.date) if self.date else None


def _lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_pages() -> list[Page]:
    manifest = json.loads((HERE / "pages.json").read_text(encoding="utf-8"))
    return [Page(**entry) for entry in manifest["pages"]]


def missing_sentences(text: str, page: Page) -> list[str]:
    """The page's expected sentences that are not in `text` verbatim."""
    return [sentence for sentence in page.sentences if sentence not in text]


def boilerplate_in(text: str, page: Page) -> list[str]:
    """The page's boilerplate lines found in `text`, as whole words ("Homes" is not found in
    "homeless", "Advertisement" is found in "Advertisement - scroll to continue")."""
    return [
        line
        for line in page.boilerplate
        if re.search(rf"(?<!\w){re.escape(line)}(?!\w)", text) is not None
    ]


def page_routes(pages: list[Page]) -> dict[str, Route]:
    return {page.path: (200, {"Content-Type": page.content_type}, page.body) for page in pages}
