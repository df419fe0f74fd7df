"""Article extraction on the fixture news pages (tests/data/sites), against the target.

    python bench/extraction.py

Serves the pages on 127.0.0.1, adds each as `add URL` does (fetch, then the collection's
store, then the index), and prints per page the share of the article's sentences found
verbatim in the stored text and the number of boilerplate lines found in it (cookie banners,
menus, comments, ads, sign-up boxes, related headlines); then the overall figures against the
target: at least 95% of each article's sentences, and no boilerplate line. A page with no
article must be refused. Exits 1 when the target is missed.
"""

from __future__ import annotations

import ipaddress
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus import Corpus, CorpusError
from corpus.sources.fetch import fetch
from corpus.sources.library import Library
from tests.data.sites.pages import (
    SENTENCE_TARGET,
    boilerplate_in,
    load_pages,
    missing_sentences,
    page_routes,
)
from tests.local_site import serve


def main() -> int:
    pages = load_pages()
    rows: list[tuple[str, str, str, str]] = []
    met = True
    found_total = sentences_total = boilerplate_total = boilerplate_lines = 0
    with tempfile.TemporaryDirectory() as scratch, serve(page_routes(pages)) as site:
        library = Library(Path(scratch) / "data")
        for page in pages:
            name = page.name + (" (held out)" if page.held_out else "")
            try:
                fetched = fetch(
                    site.url(page.path), private_networks=[ipaddress.ip_network("127.0.0.0/8")]
                )
                article, _ = library.add(
                    "bench", fetched.body, fetched.suffix, wanted_id=page.name, url=fetched.url
                )
            except CorpusError as error:
                refused = not page.article
                met &= refused
                verdict = "refused, as it should be" if refused else f"FAILED: {error}"
                rows.append((name, "-", "-", verdict))
                continue
            if not page.article:
                met = False
                rows.append((name, "-", "-", "FAILED: read as an article"))
                continue
            corpus = Corpus.open(library.seeds_dir("bench"), encoder=False)
            text = corpus.index.document_text(article.id)
            found = len(page.sentences) - len(missing_sentences(text, page))
            leaked = len(boilerplate_in(text, page))
            share = found / len(page.sentences)
            ok = share >= SENTENCE_TARGET and not leaked
            met &= ok
            found_total += found
            sentences_total += len(page.sentences)
            boilerplate_total += leaked
            boilerplate_lines += len(page.boilerplate)
            rows.append(
                (
                    name,
                    f"{found}/{len(page.sentences)} ({share:.0%})",
                    f"{leaked} of {len(page.boilerplate)}",
                    "meets the target" if ok else "MISSES the target",
                )
            )
    header = ("page", "sentences found", "boilerplate found", "")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    articles = sum(page.article for page in pages)
    print(
        f"\noverall: {found_total}/{sentences_total} sentences "
        f"({found_total / sentences_total:.1%}) over {articles} articles; "
        f"{boilerplate_total} of {boilerplate_lines} boilerplate lines found"
    )
    print(
        f"target:  at least {SENTENCE_TARGET:.0%} of each article's sentences and no "
        f"boilerplate line, a page with no article refused: {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
