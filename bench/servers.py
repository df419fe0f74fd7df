"""Ten servers with their own collections in one bot process, against one server with them all.

    python bench/servers.py                  # 1,000 BBC articles (about 1 min)
    python bench/servers.py --articles 500

The same articles (from ../shared/corpora/bbc-news, read only) are given once to a single
server, and once split between ten servers (a tenth each). Each setup runs in a process of its
own, through the bot's CorpusService as a question from Discord goes: the indexes are built
first, then the process's memory (RSS, after building and a garbage collection) is read, and
each server is asked questions about its own articles (an article's headline made a question),
each once, after a warm-up question per server. Memory should follow the number of articles, not of
servers, and answers should be as fast with ten as with one.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
ARCHIVE = PROJECT.parent / "shared" / "corpora" / "bbc-news"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_setup(servers: int, articles: int) -> dict:
    from bot.discord.service import CorpusService, Scope, collection_of
    from corpus.ingest.bundled import bundled_seeds_dir
    from corpus.sources.library import Library

    scratch = Path(tempfile.mkdtemp(prefix="quotebot-servers-"))
    try:
        library = Library(scratch / "data")
        sources = sorted(ARCHIVE.glob("*.txt"))[:articles]
        if len(sources) < articles:
            raise SystemExit(f"The BBC archive at {ARCHIVE} has fewer than {articles} articles.")
        questions: dict[int, list[str]] = {}
        for n, path in enumerate(sources):
            guild = 1 + n % servers
            directory = library.seeds_dir(collection_of(guild))
            text = path.read_text(encoding="utf-8", errors="replace")
            (directory / path.name).write_text(text, encoding="utf-8")
            headline = text.strip().splitlines()[0]
            if len(questions.setdefault(guild, [])) < 200 // servers:
                questions[guild].append(f"{headline}?")
        before = _rss_mb()
        service = CorpusService.open(
            bundled_seeds_dir(),
            cache_dir=scratch / "cache",
            max_question_chars=1000,
            library=library,
        )

        async def serve() -> list[float]:
            for guild in questions:  # open (build) every server's index first
                await service.corpora(Scope(guild))
            gc.collect()
            for guild in questions:  # warm up each server with a question of its own
                await service.ask("What did the minister say on Monday?", scope=Scope(guild))
            timings = []
            for guild, asked in questions.items():
                for question in asked:  # each asked once: no memo helps it
                    started = time.perf_counter()
                    await service.ask(question, scope=Scope(guild))
                    timings.append(time.perf_counter() - started)
            return timings

        timings = asyncio.run(serve())
        service.close()
        return {
            "servers": servers,
            "articles": articles,
            "rss_mb": _rss_mb(),
            "rss_before_mb": before,
            "median_ms": statistics.median(timings) * 1000,
            "p95_ms": statistics.quantiles(timings, n=20)[-1] * 1000,
            "questions": len(timings),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.setup:
        print(json.dumps(run_setup(args.setup, args.articles)))
        return
    rows = []
    for servers in (1, 10):
        out = subprocess.run(
            [sys.executable, __file__, "--setup", str(servers), "--articles", str(args.articles)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{args.articles:,} articles in one process, through CorpusService")
    print("servers  memory (RSS)  of it, before the indexes  answer median  p95  questions")
    for row in rows:
        print(
            f"{row['servers']:>7}  {row['rss_mb']:8.0f} MB  {row['rss_before_mb']:18.0f} MB"
            f"  {row['median_ms']:10.1f} ms  {row['p95_ms']:5.1f} ms  {row['questions']:>5}"
        )
    one, ten = rows
    print(
        f"\nten servers against one: memory x{ten['rss_mb'] / one['rss_mb']:.2f}, "
        f"median answer x{ten['median_ms'] / one['median_ms']:.2f}"
    )


if __name__ == "__main__":
    main()
