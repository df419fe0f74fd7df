"""Speed of answers on the bundled article, words only (ENCODER=off): in-process latency and a
fresh CLI process. bench/meaning_speed.py measures them with the sentence encoder.

    python bench/answer_speed.py [--seeds DIR] [--rounds N]

Every question timed in-process is new to the process: the distinct questions of our sets
about the bundled article (tests/data), each asked once; the first one after opening is shown
apart. The same questions asked again `--rounds` times are shown apart too, labelled as
repeated (what caches make of them). Each CLI run asks a question no earlier run asked.
Prints numbers; it asserts nothing (targets: in-process median ≤ 1 ms, warm CLI ≤ 0.35 s).
Also prints what loading the answer model's data costs, once per process: the model's
weights, WordNet's files and the word vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.settings import load_settings
from corpus import Corpus
from corpus.answering.lexicon import wordnet
from corpus.answering.scorer import answer_model
from corpus.answering.vectors import word_vectors
from corpus.threads import limit_blas_threads

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
# Our question sets about the bundled article.
SETS = (
    "article_questions.jsonl",
    "niger_user_questions.jsonl",
    "paraphrase_questions.jsonl",
    "decline_questions.jsonl",
)


def new_questions() -> list[str]:
    """The distinct questions of SETS, in file order."""
    seen: dict[str, None] = {}
    for name in SETS:
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                seen.setdefault(json.loads(line)["question"], None)
    return list(seen)


def _summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"median {statistics.median(ordered) * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms "
        f"over {len(ordered)} questions"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=Path, default=Path("seeds"))
    parser.add_argument("--rounds", type=int, default=3, help="repeated-question rounds")
    args = parser.parse_args()
    limit_blas_threads(load_settings(discord=False).blas_threads)  # as the bot does

    for name, load in (
        ("answer model", answer_model),
        ("WordNet", wordnet),
        ("word vectors", word_vectors),
    ):
        t0 = time.perf_counter()
        load()
        print(f"load {name}: {(time.perf_counter() - t0) * 1000:.1f} ms")
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        corpus = Corpus.open(args.seeds, cache_dir=Path(cache), encoder=False)
        print(f"open (build + save): {(time.perf_counter() - started) * 1000:.1f} ms")
        questions = new_questions()
        latencies = []
        for question in questions:
            t0 = time.perf_counter()
            corpus.ask(question)
            latencies.append(time.perf_counter() - t0)
        print(f"in-process answer, new questions: {_summary(latencies)}")
        print(f"  the first question after opening: {latencies[0] * 1000:.3f} ms")
        repeated = []
        for _ in range(args.rounds):
            for question in questions:
                t0 = time.perf_counter()
                corpus.ask(question)
                repeated.append(time.perf_counter() - t0)
        print(f"in-process answer, repeated questions (cached figure): {_summary(repeated)}")
        ask = [sys.executable, "-m", "bot", "ask", "--seeds", str(args.seeds.resolve())]
        env = {**os.environ, "CACHE_DIR": cache, "ENCODER": "off"}
        # As an installed copy runs: `pip install .` compiles the modules' bytecode, which an
        # environment with PYTHONDONTWRITEBYTECODE would otherwise compile again every run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        warm = [*ask, "Who is Niger's president?"]  # builds the cache; not among `questions`
        # Run from a directory of their own, as a user would (not the repository's root).
        subprocess.run(warm, capture_output=True, check=True, env=env, cwd=cache)
        runs = []
        for question in questions[-7:]:  # none of them asked by a process of this cache before
            t0 = time.perf_counter()
            subprocess.run([*ask, question], capture_output=True, check=True, env=env, cwd=cache)
            runs.append(time.perf_counter() - t0)
        print(f"fresh CLI process, warm cache: median {statistics.median(runs):.3f} s of 7 runs")
        floor = []
        for _ in range(7):  # what any numpy and pydantic program pays, for comparison
            t0 = time.perf_counter()
            floor_run = [sys.executable, "-c", "import numpy, pydantic"]
            subprocess.run(floor_run, check=True, env=env, cwd=cache)
            floor.append(time.perf_counter() - t0)
        floor_s = statistics.median(floor)
        print(f"  beside: python -c 'import numpy, pydantic', median {floor_s:.3f} s")


if __name__ == "__main__":
    main()
