"""Speed of answers on the bundled article, words only (ENCODER=off): in-process latency and a
fresh CLI process. bench/meaning_speed.py measures them with the sentence encoder.

    python bench/answer_speed.py [--seeds DIR] [--rounds N]

Prints numbers; it asserts nothing (targets: in-process median ≤ 1 ms, warm CLI ≤ 0.3 s).
Also prints what loading the answer model's data costs, once per process: the model's
weights, WordNet's files and the word vectors.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus import Corpus
from corpus.answering.lexicon import wordnet
from corpus.answering.scorer import answer_model
from corpus.answering.vectors import word_vectors

QUESTIONS = [
    "Who is the head of the Wagner Group?",
    "Where will the army chiefs meet?",
    "What did Putin stress during the conversation?",
    "Which countries keep troops in Niger?",
    "What is the population of Niger?",
    "How do I bake bread?",
    "What did the coup leaders revoke?",
    "Why does Niger matter to global powers?",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=Path, default=Path("seeds"))
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()

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
        latencies = []
        for _ in range(args.rounds):
            for question in QUESTIONS:
                t0 = time.perf_counter()
                corpus.ask(question)
                latencies.append(time.perf_counter() - t0)
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99)]
        print(
            f"in-process answer: median {statistics.median(latencies) * 1000:.3f} ms, "
            f"p99 {p99 * 1000:.3f} ms over {len(latencies)} questions"
        )
        cli = [sys.executable, "-m", "bot", "ask", "--seeds", str(args.seeds), QUESTIONS[0]]
        env = {**os.environ, "CACHE_DIR": cache, "ENCODER": "off"}
        subprocess.run(cli, capture_output=True, check=True, env=env)  # warms the cache
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run(cli, capture_output=True, check=True, env=env)
            runs.append(time.perf_counter() - t0)
        print(f"fresh CLI process, warm cache: median {statistics.median(runs):.3f} s of 5 runs")


if __name__ == "__main__":
    main()
