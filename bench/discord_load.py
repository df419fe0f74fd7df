"""Load test: 500 /ask interactions at once against the bot over a 100k-passage corpus.

    python bench/discord_load.py [--passages 100000] [--interactions 500]
    python bench/discord_load.py --passages 1000000 --work DIR  # keeps the corpus in DIR
    python bench/discord_load.py --summaries 6 --article-mb 2   # /ask beside slow /summary

Every /ask carries a question the bot has not been asked before (the scale benchmark's
generator, a fresh draw per 200). With --work, the seed files and the index cache are kept in
DIR and reused by the next run with the same --passages (bench/scale.py's answer-seeds and
answer-build children write the same layout), so a 1M-passage corpus is written and indexed
once.

With --summaries, the corpus also holds one long article of --article-mb megabytes; that many
members call /summary (long) at once, then the /ask interactions follow, and the acknowledgement
and answer times of the /ask calls are printed beside what the summaries got.

Runs the real bot (`python -m bot run`) as its own process against the fake Discord of the
test suite (tests/fake_discord.py) on 127.0.0.1, fires every interaction over the gateway in one
burst, each from a different user, and prints how long Discord would have waited for each
acknowledgement (the interaction callback: an answer, or a "thinking" deferral) and for each
answer. Discord gives up on an interaction not acknowledged within 3 s. Nothing leaves this
machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

import scale  # noqa: E402

from tests.fake_discord import FakeDiscord, interaction_payload, slash  # noqa: E402

TOKEN = "load-test-token-0000000000000000000"


def describe(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)

    def ms(q: float) -> str:
        return f"{ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000:.0f} ms"

    median = statistics.median(ordered) * 1000
    return (
        f"{name}: min {ms(0)}, median {median:.0f} ms, p90 {ms(0.9)}, p99 {ms(0.99)}, max {ms(1)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=500)
    parser.add_argument("--summaries", type=int, default=0)
    parser.add_argument("--article-mb", type=float, default=2.0)
    parser.add_argument("--work", type=Path, help="keep (and reuse) the corpus here")
    parser.add_argument(
        "--words-only", action="store_true", help="ENCODER=off: the lexical answer path alone"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        seeds, cache = work / "seeds", work / "cache"
        started = time.perf_counter()
        if not seeds.is_dir():
            seeds.mkdir(parents=True)
            scale.write_seeds(seeds, args.passages)
        if args.summaries:
            from summary_speed import article

            (seeds / "long-article.txt").write_text(article(args.article_mb), encoding="utf-8")
        env = {
            **os.environ,
            "SEEDS_DIR": str(seeds),
            "CACHE_DIR": str(cache),
            "DISCORD_TOKEN": TOKEN,
            "COOLDOWN_RATE": "100",
            "LOG_LEVEL": "WARNING",
            "ENCODER": "off" if args.words_only else "on",
        }
        subprocess.run(
            [sys.executable, "-m", "bot", "index"],
            cwd=PROJECT,
            env=env,
            check=True,
            capture_output=True,
        )
        print(
            f"corpus of {args.passages:,} passages written and indexed in "
            f"{time.perf_counter() - started:.0f} s"
        )
        fake = FakeDiscord()
        await fake.start()
        env.update(DISCORD_API_BASE_URL=fake.api_url, DISCORD_GATEWAY_URL=fake.gateway_url)
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=PROJECT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_for(lambda: fake.registered_commands and fake.sessions, 120, "bot")
            await asyncio.sleep(2.5)  # let the bot finish its start-up (guild wait)
            batches = range(1 + args.interactions // scale.QUERIES)
            questions = [" ".join(q) for b in batches for q in scale.queries(100 + b)]
            summaries: dict[str, float] = {}
            for n in range(args.summaries):
                payload = interaction_payload(slash("summary", length="long"), user_id=5_000 + n)
                summaries[payload["token"]] = time.monotonic()
                await fake.dispatch("INTERACTION_CREATE", payload)
            sent: dict[str, tuple[str, float]] = {}
            for n in range(args.interactions):
                payload = interaction_payload(
                    slash("ask", question=questions[n]), user_id=10_000 + n
                )
                sent[payload["token"]] = (payload["id"], time.monotonic())
                await fake.dispatch("INTERACTION_CREATE", payload)
            burst = time.monotonic() - min(t for _, t in sent.values())

            def finished() -> bool:
                return all(_answer(fake, token) for token in sent) and all(
                    _final(fake, token) for token in summaries
                )

            # Discord keeps an interaction's follow-up open for 15 minutes.
            try:
                await fake.wait_for(finished, timeout=900, what="all answers")
            except AssertionError:
                print("not every interaction was answered within 15 minutes; as it stood:")
            acks, answers, deferred = [], [], 0
            for token, (_, at) in sent.items():
                callbacks = [r for r in fake.responses_to(token) if "/callback" in r.path]
                if callbacks:
                    acks.append(callbacks[0].received_at - at)
                    deferred += callbacks[0].body["type"] == 5
                answer = _answer(fake, token)
                if answer is not None:
                    answers.append(answer.received_at - at)
            print(
                f"{len(sent)} interactions sent in {burst * 1000:.0f} ms; {len(acks)} "
                f"acknowledged ({deferred} deferred first), {len(answers)} answered"
            )
            if acks:
                print(describe("acknowledged after", acks))
            if answers:
                print(describe("answered after", answers))
            late = sum(a > 3.0 for a in acks)
            print(f"acknowledged later than 3 s: {late}")
            if summaries:
                outcomes = [_final(fake, token) for token in summaries]
                done = [
                    r.received_at - summaries[t] for t, r in zip(summaries, outcomes, strict=True)
                ]
                given = sum(bool(_data(r).get("embeds")) for r in outcomes)
                print(
                    f"{len(summaries)} /summary calls: {given} summarised, "
                    f"{len(summaries) - given} told to wait; " + describe("finished after", done)
                )
        finally:
            bot.terminate()
            await bot.wait()
            await fake.stop()


def _data(request) -> dict:
    body = request.body or {}
    data = body.get("data", body) if "/callback" in request.path else body
    return data if isinstance(data, dict) else {}


def _final(fake: FakeDiscord, token: str):
    """The last message the bot sent for this interaction (an embed, or a refusal)."""
    for request in reversed(fake.responses_to(token)):
        data = _data(request)
        if request.status == 200 and (data.get("embeds") or data.get("content")):
            return request
    return None


def _answer(fake: FakeDiscord, token: str):
    """The request that carried the answer: a callback with the embed, or the follow-up."""
    for request in fake.responses_to(token):
        body = request.body or {}
        data = body.get("data", body) if "/callback" in request.path else body
        if isinstance(data, dict) and data.get("embeds") and request.status == 200:
            return request
    return None


if __name__ == "__main__":
    asyncio.run(main())
