"""What the meaning stage costs: loading the encoder, answering unseen questions with it,
a fresh `quotebot ask`, an article just added, and memory.

    python bench/meaning_speed.py [--archive DIR] [--cache DIR] [--threads N]

Every question is asked once, so each is new to the process: its vector is encoded while it
waits (only a repeated question would come from the in-process cache, and none is repeated).
Prints numbers; asserts nothing. Targets (issue 17): a collection whose vectors are built,
median ≤ 25 ms a question on one core including the encoder; candidates encoded when asked,
≤ 300 ms; fresh `quotebot ask` ≤ 0.6 s; an added article answerable with the model within 2 s;
memory ≤ +250 MB.

`--archive` (e.g. ../shared/corpora/bbc-news) measures an archive too, with its vectors in
`--cache` (build them first with `quotebot index --seeds DIR`, which prints how long that took).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data"


def _questions(*files: Path) -> list[tuple[str, str | None]]:
    """Distinct questions of these sets, with the document they name (if any)."""
    seen, questions = set(), []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row["question"] not in seen:
                    seen.add(row["question"])
                    questions.append((row["question"], row.get("doc")))
    return questions


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timings(corpus, questions: list[tuple[str, str | None]]) -> list[float]:
    times = []
    for question, doc in questions:
        started = time.perf_counter()
        corpus.ask(question, doc_id=doc if doc in corpus.index.spans else None)
        times.append(time.perf_counter() - started)
    return times


def _report(label: str, times: list[float]) -> None:
    times = sorted(times)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"{label}: median {statistics.median(times) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms "
        f"over {len(times)} unseen questions"
    )


def _memory_probe(seeds: Path, cache: Path, encoder: str) -> None:
    """In a process of its own: open `seeds`, answer ten questions, print the memory it
    holds then (resident set)."""
    from corpus import Corpus
    from corpus.meaning.encoder import configure

    configure(enabled=encoder == "on")
    corpus = Corpus.open(seeds, cache_dir=cache)
    if corpus.meaning is not None:
        corpus.meaning.stop()
    for question, _ in _questions(DATA / "bbc_test_questions.jsonl")[:10]:
        corpus.ask(question)
    print(_rss_mb())


def _resident_mb(seeds: Path, cache: Path, encoder: str) -> float:
    probe = [sys.executable, __file__, "--memory-probe", encoder, "--archive", str(seeds)]
    done = subprocess.run([*probe, "--cache", str(cache)], capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--archive", type=Path)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory-probe", choices=["on", "off"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--question-time-limits",
        type=int,
        nargs="+",
        help="candidates encoded when asked, for a collection too big to encode ahead "
        "(default: the shipped QUESTION_TIME_LIMIT)",
    )
    args = parser.parse_args()
    if args.memory_probe:
        return _memory_probe(args.archive, args.cache, args.memory_probe)
    os.environ["ENCODER_THREADS"] = str(args.threads)  # for the `quotebot ask` runs
    before = _rss_mb()

    from corpus import Corpus
    from corpus.meaning.encoder import configure, load_encoder
    from corpus.meaning.sentences import QUESTION_TIME_LIMIT

    configure(threads=args.threads)
    args.question_time_limits = args.question_time_limits or [QUESTION_TIME_LIMIT]

    with tempfile.TemporaryDirectory() as scratch:
        cache = args.cache or Path(scratch) / "cache"
        started = time.perf_counter()
        load_encoder(Path(scratch) / "first")  # the weight file is hashed: not remembered yet
        took = time.perf_counter() - started
        print(f"load the encoder, checking the weights' SHA-256: {took:.3f} s")
        timed = (
            "import time; t = time.perf_counter(); from pathlib import Path; "
            "from corpus.meaning.encoder import load_encoder; "
            f"load_encoder(Path({str(Path(scratch) / 'first')!r})); "
            "print(time.perf_counter() - t)"
        )
        loads = [
            float(subprocess.run([sys.executable, "-c", timed], capture_output=True, text=True,
                                 cwd=ROOT, check=True).stdout)
            for _ in range(5)
        ]  # fmt: skip
        print(
            "load it in a fresh process, the weights' check remembered: median "
            f"{statistics.median(loads):.3f} s of 5 (imports included)"
        )
        print(f"RSS before {before:.0f} MB, with the encoder {_rss_mb():.0f} MB")

        questions = _questions(
            DATA / "article_questions.jsonl",
            DATA / "niger_user_questions.jsonl",
            DATA / "paraphrase_questions.jsonl",
        )
        corpus = Corpus.open(ROOT / "seeds", cache_dir=cache)
        meaning = corpus.meaning
        assert meaning is not None and meaning.wait(600) and meaning.complete
        _report("bundled article, vectors built ahead", _timings(corpus, questions))
        without = Corpus.open(ROOT / "seeds", cache_dir=cache, encoder=False)
        _report("bundled article, words only", _timings(without, questions))

        # An article just added: the in-memory corpus the bot answers from at once.
        text = (ROOT / "tests" / "data" / "fresh_e" / "tornado.txt").read_text(encoding="utf-8")
        from corpus.ingest.loader import article_document

        started = time.perf_counter()
        fresh = Corpus.of_documents([article_document(Path("tornado.txt"), text.encode())])
        fresh.ask("How many people died in the tornado?")
        sentences = len(fresh.index.sentences)
        print(
            f"article just added ({sentences} sentences): answered with the model "
            f"{time.perf_counter() - started:.2f} s after it was added"
        )

        cli = [sys.executable, "-m", "bot", "ask", "--seeds", str(ROOT / "seeds")]
        env = {**os.environ, "CACHE_DIR": str(cache)}
        # As an installed copy runs: `pip install .` compiles the modules' bytecode, which an
        # environment with PYTHONDONTWRITEBYTECODE would otherwise compile again every run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([*cli, "Who is Niger's president?"], capture_output=True, env=env)
        runs = []
        for question, _ in questions[:7]:
            t0 = time.perf_counter()
            subprocess.run([*cli, question], capture_output=True, check=True, env=env)
            runs.append(time.perf_counter() - t0)
        median = statistics.median(runs)
        print(f"fresh `quotebot ask`, unseen questions: median {median:.3f} s of 7")

        if args.archive:
            questions = _questions(
                DATA / "bbc_test_questions.jsonl", DATA / "bbc_fresh_questions.jsonl"
            )
            started = time.perf_counter()
            archive = Corpus.open(args.archive, cache_dir=cache)
            meaning = archive.meaning
            assert meaning is not None
            print(
                f"archive: {len(archive.index.sentences):,} sentences, opened in "
                f"{time.perf_counter() - started:.1f} s, {meaning.missing():,} vectors missing"
            )
            if meaning.building:
                meaning.stop()
            if meaning.missing() == 0:
                _report("archive, vectors built ahead", _timings(archive, questions))
            off = _resident_mb(args.archive, cache, "off")
            on = _resident_mb(args.archive, cache, "on")
            print(
                f"resident memory after opening the archive and answering 10 questions: "
                f"{off:.0f} MB words only, {on:.0f} MB with the encoder and its vectors "
                f"(+{on - off:.0f} MB)"
            )
            # Past AHEAD_LIMIT sentences, candidates are encoded when asked: the same archive
            # treated so, its vectors kept in memory only (nothing encoded before).
            asked = Corpus.open(args.archive, cache_dir=cache, encoder=False)
            from corpus.meaning import Meaning
            from corpus.meaning.store import VectorStore

            encoder = load_encoder()
            for limit in args.question_time_limits:
                # A store of its own each time: nothing encoded before, for any limit.
                store = VectorStore(None, encoder.name, encoder.dimension)
                asked.meaning = Meaning(
                    asked.index, encoder, store, ahead=False, question_time_limit=limit
                )
                label = f"archive, the best {limit} candidates encoded when asked"
                _report(label, _timings(asked, questions))


if __name__ == "__main__":
    main()
