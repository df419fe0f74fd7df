"""How soon an article added by URL is answerable in a big collection, and what is re-read.

    python bench/add_speed.py                       # 10,000 articles (builds once, ~2 min)
    python bench/add_speed.py --articles 2000       # quicker

A collection of N articles is made in a scratch data directory from the BBC News archive in
../shared/corpora/bbc-news (read only: each archive article is used several times with a line
of its own, so that every file is a different article) and indexed once, as the bot would
have it. Then a news page of our own is served on 127.0.0.1 and added the way `/article add`
adds it (CorpusService: store in the library, index the new article on its own and swap that in,
then bring the collection's index up to date in the background), several times, each time a
new page. The table shows the download, the time from the end of the download until a question
about the page is answered from it, how long the background catch-up took after that, and how
many articles the catch-up read (should be 1).

Target (issue #12): answerable within 1 s of its download, and no other article re-read.
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import ipaddress
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bot.discord.service import CorpusService, Scope, collection_of  # noqa: E402
from corpus import Corpus  # noqa: E402
from corpus.ingest.bundled import bundled_seeds_dir  # noqa: E402
from corpus.sources.fetch import fetch  # noqa: E402
from corpus.sources.library import Library  # noqa: E402

GUILD = 1

ARCHIVE = PROJECT.parent / "shared" / "corpora" / "bbc-news"

PAGE = """<!doctype html><html><head><title>Harbour report {n}</title>
<meta property="og:site_name" content="Bench Courier"></head><body>
<nav>Home | News | Sport</nav><article><h1>Harbour report {n}</h1>
<p>The Quillon harbour board number {n} approved a new breakwater on Tuesday evening.</p>
<p>Engineers said the breakwater {n} would take three years to build and cost forty million.</p>
<p>Fishermen welcomed the decision, saying storms had damaged their boats every winter.</p>
</article><footer>Copyright Bench Courier</footer></body></html>"""


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGE.format(n=self.path.strip("/").removeprefix("page-")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def make_collection(library: Library, count: int) -> Path:
    """N article files in the collection's directory (straight into it, as a big import
    would be; the library's own add is what is measured)."""
    directory = library.seeds_dir(collection_of(GUILD))
    sources = sorted(ARCHIVE.glob("*.txt"))
    if not sources:
        raise SystemExit(f"The BBC archive is not at {ARCHIVE}.")
    for n in range(count):
        text = sources[n % len(sources)].read_text(encoding="utf-8", errors="replace")
        (directory / f"a{n:05d}.txt").write_text(
            f"{text.rstrip()}\n\nArchive copy {n} of the bench collection.\n", encoding="utf-8"
        )
    return directory


async def measure(service: CorpusService, port: int, adds: int) -> list[tuple]:
    rows = []
    for n in range(adds):
        t0 = time.perf_counter()
        fetched = fetch(
            f"http://127.0.0.1:{port}/page-{n}",
            private_networks=[ipaddress.ip_network("127.0.0.0/8")],
        )
        t1 = time.perf_counter()
        added = await service.add_file(GUILD, f"page-{n}.html", fetched.body)
        t2 = time.perf_counter()
        question = f"What did the Quillon harbour board number {n} approve?"
        pinned = await service.ask(question, scope=Scope(GUILD))
        t3 = time.perf_counter()
        quotes = pinned.answer.quotes
        ok = bool(quotes) and quotes[0].citation.doc_id == added.article.id
        # The collection's own index catches up in the background: wait for it, and see how
        # many articles it read.
        while service._servers[GUILD].fresh is not None:
            await asyncio.sleep(0.05)
        t4 = time.perf_counter()
        caught_up = service._servers[GUILD].corpus
        assert caught_up is not None
        rows.append((t1 - t0, t3 - t1, t2 - t1, t3 - t2, t4 - t3, caught_up, ok))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--adds", type=int, default=5)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="quotebot-add-"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        library = Library(scratch / "data")
        cache = scratch / "cache"
        directory = make_collection(library, args.articles)
        started = time.perf_counter()
        corpus = Corpus.open(directory, cache_dir=cache, encoder=False)
        print(
            f"{args.articles:,} articles, {len(corpus.index.passages):,} passages: "
            f"built in {time.perf_counter() - started:.1f} s"
        )
        service = CorpusService.open(
            bundled_seeds_dir(),
            cache_dir=cache,
            max_question_chars=1000,
            library=library,
        )
        try:
            rows = asyncio.run(measure(service, server.server_address[1], args.adds))
        finally:
            service.close()
        print()
        print("add  download  answerable  (store+index it, answer)  caught up after  read  ok")
        for n, (down, ready, store, ask, catch, caught, ok) in enumerate(rows, 1):
            print(
                f"{n:>3}  {down * 1000:5.0f} ms  {ready:8.2f} s  ({store * 1000:5.0f} ms, "
                f"{ask * 1000:4.0f} ms)  {catch:13.2f} s  {caught.index.analysed_documents:>4}"
                f"  {'yes' if ok else 'NO'}"
            )
        median = statistics.median(r[1] for r in rows)
        read = max(r[5].index.analysed_documents for r in rows)
        print()
        print(
            f"median answerable after download: {median:.2f} s (target 1 s); articles the "
            f"catch-up read per add: {read} (target 1); answered from the new page: "
            f"{sum(r[6] for r in rows)}/{len(rows)}"
        )
    finally:
        server.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
