"""Scale benchmark: BM25 retrieval over 1k to 1M synthetic passages, ours against rank-bm25.

    python bench/scale.py                      # 1k, 10k, 100k, 1M (about 10 minutes)
    python bench/scale.py --sizes 1000 10000   # quicker
    python bench/scale.py --answer-sizes 1000 10000 100000   # also the whole answer path

Passages are drawn from a fixed-seed generator: words from a Zipf-distributed vocabulary of
200,000, so a few words are everywhere and most are rare, as in real text; the 100 commonest
stand in for stopwords and are dropped, leaving about 50 content words a passage. Queries are
2 to 5 content words from the same distribution. Each engine runs in its own
process, so its peak memory (max RSS) is its own. For every size the table shows build time,
save and load time, size on disk, peak memory, median and p99 query latency over 1,000
queries (`--queries`), and the speed-up over rank-bm25's `get_scores` over all passages (what
`get_top_n` does), measured on the first 200 of the same queries (30 from 1M on: it takes
seconds a query); bm25s and tantivy are measured as peers when they are installed
(`pip install ".[bench]"`). Every query rank-bm25 answered has its top 10 (positions, and
scores to 1e-9) compared with ours; the `same` column counts the agreements.

With --answer-sizes, whole seed directories are generated (100 passages' worth of sentences per
file, by a process of their own) and indexed by another process with its worker processes (one
per core); building and saving the cache are timed apart. Memory while building is shown as
the whole process tree's peak, sampled every 10 ms (and, in brackets, of its own pages: not
those of files it maps, which the kernel can drop), and as each process's own peak (the main
process, the largest worker; pages a forked worker shares with its parent count in both).
A second process then opens the cached index, as a restarted bot would, and times
`Corpus.ask` end to end (tokenizing the question, retrieval, sentence scoring, the decline
decision). Every timed question is new to that process: a first pass of 200 (it also brings the
mapped cache's pages in; the very first question after reopening is shown apart), then 200
other new ones (the steady state), then those 200 again, shown apart and labelled as repeated
questions (what caches make of them). Its memory is what serving takes.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported late in the children, after the engine is chosen
    from corpus import Corpus

VOCABULARY = 200_000
ZIPF_EXPONENT = 1.07
# The commonest words stand in for stopwords, which the tokenizer drops from real text and
# questions; they are drawn (so the rest keep their Zipf frequencies) and then left out.
STOPWORD_RANKS = 100
SEED = 20231126
QUERIES = 200


def vocabulary() -> list[str]:
    # Word-like strings that the stemmer leaves alone and no stopword list contains.
    letters = "bcdfgklmnprstvz"
    vowels = "aeiou"
    words = []
    for n in range(VOCABULARY):
        word, k = "", n
        for _ in range(4):
            word += letters[k % 15] + vowels[(k // 15) % 5]
            k //= 75
        words.append(word + "x")
    return words


def zipf_probabilities() -> np.ndarray:
    weights = 1.0 / np.arange(1, VOCABULARY + 1) ** ZIPF_EXPONENT
    return weights / weights.sum()


CHUNK = 20_000  # passages generated at a time, so the generator's own memory stays small


def passage_chunks(size: int):
    """Token ids of the passages, a chunk at a time: (concatenated ids, start offsets). About
    100 words are drawn per passage, of which about 50 remain once the stopword stand-ins go.
    Each chunk has its own seed, so any size is a prefix of any larger one."""
    probabilities = zipf_probabilities()
    for first in range(0, size, CHUNK):
        count = min(CHUNK, size - first)
        rng = np.random.default_rng([SEED, first])
        lengths = rng.integers(60, 141, size=count)
        passage_of = np.repeat(np.arange(count), lengths)
        tokens = rng.choice(VOCABULARY, size=len(passage_of), p=probabilities)
        keep = tokens >= STOPWORD_RANKS
        tokens, passage_of = tokens[keep].astype(np.int32), passage_of[keep]
        yield tokens, np.searchsorted(passage_of, np.arange(count + 1))


def queries(batch: int = 0) -> list[list[str]]:
    """QUERIES queries; each batch is a different draw (batch 0 is the BM25 comparison's)."""
    rng = np.random.default_rng(SEED + 1 + 1000 * batch)
    words = vocabulary()
    probabilities = zipf_probabilities()
    content = probabilities[STOPWORD_RANKS:] / probabilities[STOPWORD_RANKS:].sum()
    return [
        [
            words[STOPWORD_RANKS + i]
            for i in rng.choice(len(content), size=rng.integers(2, 6), p=content)
        ]
        for _ in range(QUERIES)
    ]


def token_lists(size: int):
    words = vocabulary()
    for tokens, offsets in passage_chunks(size):
        for i in range(len(offsets) - 1):
            yield [words[t] for t in tokens[offsets[i] : offsets[i + 1]].tolist()]


# One engine, in its own process


def run_engine(engine: str, size: int, out: Path, query_limit: int) -> dict:
    # Batches 1 and 2 are the answer path's; the BM25 comparison draws from 0, then from 3 on.
    batches = [0, *range(3, 3 + query_limit // QUERIES)]
    asked = [query for batch in batches for query in queries(batch)][:query_limit]
    result: dict = {"engine": engine, "size": size}
    # Build times exclude generating the words: time the generator alone, and subtract.
    started = time.perf_counter()
    for _ in token_lists(size):
        pass
    generating = time.perf_counter() - started
    started = time.perf_counter()
    if engine == "ours":
        from corpus.indexing.bm25 import Bm25Postings

        index = Bm25Postings.build(token_lists(size), k1=1.5, b=0.75, epsilon=0.25)

        def search(query: list[str]) -> list[tuple[int, float]]:
            return index.top(query, 10)

    elif engine == "rank-bm25":
        from rank_bm25 import BM25Okapi

        index = BM25Okapi(list(token_lists(size)))

        def search(query: list[str]) -> list[tuple[int, float]]:
            # What get_top_n does: score every passage, sort. The exact comparable top 10
            # (passages sharing a query word, ties by position) is read off these scores.
            scores = index.get_scores(query)
            np.argsort(scores)[::-1][:10]
            candidates = np.flatnonzero(scores != 0)
            best = candidates[np.argsort(-scores[candidates], kind="stable")[:10]]
            return [(int(p), float(scores[p])) for p in best]

    elif engine == "bm25s":
        import bm25s

        # Robertson's IDF is rank-bm25's without the floor; bm25s is here for speed, and its
        # float32 scores are not expected to match to 1e-9.
        index = bm25s.BM25(method="robertson", k1=1.5, b=0.75)
        index.index(list(token_lists(size)), show_progress=False)

        def search(query: list[str]) -> list[tuple[int, float]]:
            known = [t for t in query if t in index.vocab_dict]
            if not known:
                return []
            docs, scores = index.retrieve([known], k=10, show_progress=False)
            return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True)]

    elif engine == "tantivy":
        return _run_tantivy(size, out, asked, generating)
    else:
        raise SystemExit(f"unknown engine {engine}")
    result["build_s"] = time.perf_counter() - started - generating
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "index.pickle"
        t0 = time.perf_counter()
        with path.open("wb") as handle:
            pickle.dump(index, handle, protocol=pickle.HIGHEST_PROTOCOL)
        result["save_s"] = time.perf_counter() - t0
        result["disk_mb"] = path.stat().st_size / 1e6
        del index  # measure the reload alone, not the old and new copies side by side
        t0 = time.perf_counter()
        with path.open("rb") as handle:
            index = pickle.load(handle)
        result["load_s"] = time.perf_counter() - t0
    latencies, tops = [], []
    for query in asked:
        t0 = time.perf_counter()
        top = search(query)
        latencies.append(time.perf_counter() - t0)
        tops.append(top)
    result["median_ms"] = statistics.median(latencies) * 1000
    result["p99_ms"] = _p99(latencies) * 1000
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["queries"] = len(asked)
    out.write_text(json.dumps({**result, "tops": tops}))
    return result


def _run_tantivy(size: int, out: Path, asked: list[list[str]], generating: float) -> dict:
    """tantivy (Rust, Lucene's BM25) through its Python binding, indexed on disk with term
    frequencies and no positions, one writer thread per core. Its IDF is Lucene's, so its
    scores are not rank-bm25's. The timed part is the search itself (the top 10's document
    addresses); reading each hit's stored passage number is left out of the time."""
    import tantivy

    with tempfile.TemporaryDirectory() as scratch:
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
        builder.add_integer_field("position", stored=True)
        schema = builder.build()
        started = time.perf_counter()
        index = tantivy.Index(schema, path=scratch)
        writer = index.writer(heap_size=500_000_000, num_threads=os.cpu_count() or 1)
        for position, tokens in enumerate(token_lists(size)):
            writer.add_document(tantivy.Document(body=" ".join(tokens), position=position))
        writer.commit()
        writer.wait_merging_threads()
        build_s = time.perf_counter() - started - generating
        disk_mb = sum(f.stat().st_size for f in Path(scratch).iterdir()) / 1e6
        t0 = time.perf_counter()
        index = tantivy.Index.open(scratch)
        index.reload()
        searcher = index.searcher()
        load_s = time.perf_counter() - t0
        latencies, tops = [], []
        for query in asked:
            terms = [
                (tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", word))
                for word in query
            ]
            t0 = time.perf_counter()
            hits = searcher.search(tantivy.Query.boolean_query(terms), 10).hits
            latencies.append(time.perf_counter() - t0)
            tops.append([(searcher.doc(address)["position"][0], score) for score, address in hits])
    result = {
        "engine": "tantivy",
        "size": size,
        "build_s": build_s,
        "save_s": 0.0,  # written to disk as it builds
        "load_s": load_s,
        "disk_mb": disk_mb,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": _p99(latencies) * 1000,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "queries": len(asked),
    }
    out.write_text(json.dumps({**result, "tops": tops}))
    return result


# The whole answer path


def run_answer_seeds(size: int, work: Path) -> None:
    """Write the seed files (in a process of their own, so that the build's memory is the
    build's alone)."""
    seeds = work / "seeds"
    seeds.mkdir()
    write_seeds(seeds, size)


def write_seeds(directory: Path, size: int) -> None:
    """`size` passages' worth of seed files in `directory`, 100 passages' sentences a file
    (bench/discord_load.py writes its corpus with this too)."""
    per_file = 100
    paragraphs: list[str] = []
    for number, passage in enumerate(token_lists(size)):
        # Two sentences a passage: passages of three sentences overlapping by one then number
        # about as many as these.
        half = len(passage) // 2
        first, second = " ".join(passage[:half]), " ".join(passage[half:])
        paragraphs.append(f"{first.capitalize()}. {second.capitalize()}.")
        if len(paragraphs) == per_file or number == size - 1:
            (directory / f"doc{number // per_file:06d}.txt").write_text("\n".join(paragraphs))
            paragraphs = []


def run_answer_build(size: int, work: Path, out: Path) -> dict:
    """Build the index (and its cache) from the seed files: reading and hashing the files,
    segmenting, tokenising and the BM25 postings count as building; writing the cache file
    as saving. Memory is sampled for the whole process tree (this process and its workers)
    every 10 ms: all resident pages, and the process's own (anonymous) ones, which leave
    out pages of files the build maps (the spilled arrays, the cache), which the kernel can
    drop and read again."""
    from corpus import Corpus
    from corpus.indexing.analysis import build_workers

    sampler = _TreeMemory()
    sampler.start()
    corpus = Corpus.open(work / "seeds", cache_dir=work / "cache", encoder=False)
    sampler.stop()
    result = {
        "build_s": corpus.open_seconds - corpus.save_seconds,
        "save_s": corpus.save_seconds,
        "workers": build_workers(),
        "passages": len(corpus.index.passages),
        "cache_mb": sum(f.stat().st_size for f in (work / "cache").iterdir()) / 1e6,
        "build_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # Worker processes, reaped once the build is done: the largest one's peak.
        "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "tree_peak_mb": sampler.peak_total / 1024,
        "tree_own_peak_mb": sampler.peak_own / 1024,
    }
    out.write_text(json.dumps(result))
    return result


class _TreeMemory:
    """The largest resident memory this process and its descendants held at once, sampled
    every 10 ms (kB): in all, and of anonymous pages only."""

    def __init__(self) -> None:
        self.peak_total = self.peak_own = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(0.01):
            total = own = 0
            for pid in _tree(os.getpid()):
                fields = _status(pid)
                total += fields.get("VmRSS", 0)
                own += fields.get("RssAnon", 0)
            self.peak_total = max(self.peak_total, total)
            self.peak_own = max(self.peak_own, own)


def _tree(pid: int) -> list[int]:
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    waiting += [int(child) for child in handle.read().split()]
        except OSError:
            continue
    return found


def _status(pid: int) -> dict[str, int]:
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "RssAnon"):
                    fields[name] = int(value.split()[0])
    except OSError:
        pass
    return fields


def run_answer_serve(size: int, work: Path, out: Path) -> dict:
    """In a fresh process, as a restarted bot would: open the cached index and answer."""
    from bot.settings import load_settings
    from corpus import Corpus
    from corpus.threads import limit_blas_threads

    limit_blas_threads(load_settings(discord=False).blas_threads)  # as the bot does
    t0 = time.perf_counter()
    corpus = Corpus.open(work / "seeds", cache_dir=work / "cache", encoder=False)
    reopen_s = time.perf_counter() - t0
    # Every timed question is new to the process, except in the pass labelled repeated. The
    # first pass after a restart also brings the mapped cache's pages in from disk; the second
    # asks other new questions with the pages in (the steady state a bot sees); the third asks
    # the second's again, which is what caches make of a repeated question.
    first_pass = _answer_latencies(corpus, queries(1))
    steady = _answer_latencies(corpus, queries(2))
    repeated = _answer_latencies(corpus, queries(2))
    result = {
        "reopen_s": reopen_s,
        "first_question_ms": first_pass[0] * 1000,
        "median_ms": statistics.median(steady) * 1000,
        "p99_ms": _p99(steady) * 1000,
        "first_pass_median_ms": statistics.median(first_pass) * 1000,
        "first_pass_p99_ms": _p99(first_pass) * 1000,
        "repeated_median_ms": statistics.median(repeated) * 1000,
        "serving_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **_resident_split(),
    }
    out.write_text(json.dumps(result))
    return result


def _answer_latencies(corpus: Corpus, asked: list[list[str]]) -> list[float]:
    """Each question's seconds, in the order asked."""
    latencies = []
    for query in asked:
        t0 = time.perf_counter()
        corpus.ask(" ".join(query))
        latencies.append(time.perf_counter() - t0)
    return latencies


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _resident_split() -> dict[str, float]:
    """Resident memory now, split into the process's own (anonymous) pages and pages of
    mapped files: the index cache is mapped, and its pages that queries touched count as
    resident, but they are the file's, shared and given back whenever memory is short."""
    fields = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            if name in ("RssAnon", "RssFile"):
                fields[name] = int(value.split()[0]) / 1024
    return {"own_mb": fields.get("RssAnon", 0.0), "mapped_mb": fields.get("RssFile", 0.0)}


# The driver


def child(args: list[str]) -> dict | None:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.json"
        command = [sys.executable, __file__, "--child", *args, "--out", str(out)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"  {' '.join(args)} failed: {done.stderr.strip().splitlines()[-1:]}")
            return None
        return json.loads(out.read_text())


def agreement(ours: dict, reference: dict) -> str:
    same = 0
    for a, b in zip(ours["tops"], reference["tops"], strict=False):
        if [p for p, _ in a] == [p for p, _ in b] and np.allclose(
            [s for _, s in a], [s for _, s in b], rtol=0, atol=1e-9
        ):
            same += 1
    return f"{same}/{len(reference['tops'])}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--answer-sizes", type=int, nargs="*", default=[])
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "SIZE"))
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    if args.child:
        engine, size = args.child[0], int(args.child[1])
        if engine == "answer-seeds":
            run_answer_seeds(size, args.work)
            args.out.write_text("{}")
        elif engine == "answer-build":
            run_answer_build(size, args.work, args.out)
        elif engine == "answer-serve":
            run_answer_serve(size, args.work, args.out)
        else:
            run_engine(engine, size, args.out, args.queries)
        return

    peers = []
    for peer in ("bm25s", "tantivy"):
        try:
            __import__(peer)
            peers.append(peer)
        except ImportError:
            print(f"({peer} is not installed: pip install '.[bench]' to measure it as a peer)")
    header = (
        "| passages | engine | build s | save s | load s | disk MB | peak MB "
        "| median ms | p99 ms | speed-up | same top-10 |"
    )
    print(header)
    print("|" + "---|" * 11)
    for size in args.sizes:
        # rank-bm25 scores every passage for every query: fewer queries at the largest sizes.
        reference_queries = min(args.queries, QUERIES) if size <= 100_000 else 30
        reference = child(["rank-bm25", str(size), "--queries", str(reference_queries)])
        rows = [("ours", child(["ours", str(size), "--queries", str(args.queries)]))]
        rows += [(peer, child([peer, str(size), "--queries", str(args.queries)])) for peer in peers]
        for name, result in [*rows, ("rank-bm25", reference)]:
            if result is None:
                continue
            speed_up = f"{reference['median_ms'] / result['median_ms']:.0f}×" if reference else "?"
            if name == "ours" and reference:
                same = agreement(result, reference)
            else:
                same = "—" if name == "rank-bm25" else "other IDF"
            print(
                f"| {size:,} | {name} | {result['build_s']:.2f} | {result['save_s']:.2f} "
                f"| {result['load_s']:.2f} | {result['disk_mb']:.0f} | {result['peak_mb']:.0f} "
                f"| {result['median_ms']:.3f} | {result['p99_ms']:.3f} | {speed_up} | {same} |",
                flush=True,
            )
    if args.answer_sizes:
        print()
        print(
            "| passages | build s (workers) | save s | cache MB "
            "| peak MB building: whole tree (its own pages) | main + largest worker | reopen s "
            "| MB serving: own + mapped cache | new questions: median answer ms | p99 ms "
            "| first question after reopening ms | first pass after reopening: median, p99 ms "
            "| repeated questions: median ms |"
        )
        print("|" + "---|" * 13)
        for size in args.answer_sizes:
            with tempfile.TemporaryDirectory() as work:
                seeded = child(["answer-seeds", str(size), "--work", work]) is not None
                built = child(["answer-build", str(size), "--work", work]) if seeded else None
                served = child(["answer-serve", str(size), "--work", work]) if built else None
            if built and served:
                print(
                    f"| {built['passages']:,} | {built['build_s']:.1f} ({built['workers']}) "
                    f"| {built['save_s']:.1f} | {built['cache_mb']:.0f} "
                    f"| {built['tree_peak_mb']:.0f} ({built['tree_own_peak_mb']:.0f}) "
                    f"| {built['build_peak_mb']:.0f} + {built['worker_peak_mb']:.0f} "
                    f"| {served['reopen_s']:.2f} "
                    f"| {served['own_mb']:.0f} + {served['mapped_mb']:.0f} "
                    f"| {served['median_ms']:.3f} | {served['p99_ms']:.3f} "
                    f"| {served['first_question_ms']:.1f} "
                    f"| {served['first_pass_median_ms']:.3f}, {served['first_pass_p99_ms']:.3f} "
                    f"| {served['repeated_median_ms']:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
