"""Three bot processes (shards 0, 1 and 2 of 3) sharing one PostgreSQL database.

    python bench/cluster.py                          # both measurements, default sizes
    python bench/cluster.py --changes 50             # only: changes made elsewhere
    python bench/cluster.py --servers 1000 --asks 1000 --adds 100   # only: the load
    python bench/cluster.py --servers 100 --rate 50  # the load at 50 interactions/s
    python bench/cluster.py --database-url postgresql://user@host:5432/db --encoder off

Each measurement runs in a PostgreSQL schema of its own, made for it and dropped afterwards
(CREATE SCHEMA quotebot_bench_<random> in the database of --database-url, default
postgresql://postgres@127.0.0.1:5432/test). Three real `python -m bot run` processes are
started as on three machines (each its own DATA_DIR, CACHE_DIR and HOME, DATABASE_URL the
same) against the fake Discord of the test suite (tests/fake_discord.py) on 127.0.0.1.
Nothing leaves this machine.

--changes N: a library change reaches the process that owns the collection. One server per
process; the shard-1 server is asked once (so its process holds that server's collection
open); then N times, one after another, this process (another machine, with a data directory
of its own) waits a random 0 to --gap seconds (default 1; the processes check every 0.5 s),
then adds an article to that collection through corpus.sources.library.Library. The
time from `add` returning to the shard-1 process logging "Took in a change to server-<id>
made elsewhere" (its stderr is read as it comes, each line stamped when read) is printed as
median, p90 and worst; target under 2 s. Then the last note is asked about.

--servers N --asks A --adds D: N servers per process (3N in all). Once every shard is ready
(the start-up time is printed), A /ask (each a question not asked before) and D /article add
(each a small new .txt attachment, from an admin) are spread at random (seeded) over the 3N
servers, interleaved, and dispatched in one burst (or --rate per second). For each
interaction: the acknowledgement time (the first interaction callback the fake receives for
its token, less the moment it was dispatched) and the answer time (the first message with
content or an embed). Discord gives up on an interaction not acknowledged within 3 s. Meanwhile
pg_stat_activity is sampled every ~10 ms from a connection of its own: the share of samples
in which at least one of the bots' connections (told apart by application_name) was running
a statement, how many were on average, how many waited for a lock (and which advisory lock),
and how many sat in an open transaction between statements; pg_stat_database's xact_commit
says how many transactions the database committed (the WHOLE database: other users of it
count too; the rate measured in 5 idle seconds before is taken out), and pg_stat_user_tables
the scans and rows written in the schema's own tables. The CPU each process used, every 2 s,
is printed too.

The times are as the fake Discord sees them: it runs in this process, on the same CPUs as
the bots and PostgreSQL. Real Discord does not wait for these CPUs, so once the bots are
started the fake's thread runs at nice --fake-nice (default -5, where allowed; 0 leaves it);
how late its event loop woke during the burst is printed. --logs DIR keeps each process's
log (lines stamped with seconds since its start). The first line says which code ran (the
commit, and a hash of uncommitted changes to bot/ and corpus/): compare only like with like.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

import psycopg  # noqa: E402

from corpus.sources.database import _PARTS, _lock_of  # noqa: E402
from corpus.sources.library import Library  # noqa: E402
from tests.fake_discord import (  # noqa: E402
    FakeDiscord,
    channel_of,
    guild_on_shard,
    interaction_payload,
    shard_of,
    slash,
)

COUNT = 3
TOKEN = "fake-token-for-cluster-bench.abcdefghijklmnop"
DEFAULT_DATABASE = os.environ.get(
    "QUOTEBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
ADMIN = 0x400 | 0x800 | 0x80000000 | 0x8  # view, send, use commands, administrator
SETTINGS = {
    "COOLDOWN_RATE": "100",  # the most a member may ask per COOLDOWN_SECONDS
    "ARTICLE_ADDS_PER_HOUR": "10000",  # the most settings allow
}
# Words of the bundled article (seeds/niger-coup-2023.txt), for questions it can answer.
ARTICLE_WORDS = (
    "army chiefs meet Ghana Niger coup Putin Mali Bazoum Wagner intervention ECOWAS uranium "
    "France troops Sahel Goita Prigozhin Russia military leaders president flags rallies "
    "agreements diplomacy resolution mercenaries colonial"
).split()
TEMPLATES = (
    "Where will {r1} {r2} meet about {f1}?",
    "What did {r1} say about {r2} and {f1} {f2}?",
    "Why did {r1} and {f1} talk about {r2}?",
    "Who leads the {r1} {r2} of {f1} {f2}?",
    "When will the {r1} discuss {r2} with {f1}?",
)


def made_up_word(rng: random.Random) -> str:
    """A word no article holds: three or four syllables of letters."""
    syllables = [
        rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.choice((3, 4)))
    ]
    return "".join(syllables).capitalize()


def questions(rng: random.Random, count: int) -> list[str]:
    """`count` questions, none the same: real words of the bundled article, made-up ones."""
    made: list[str] = []
    seen: set[str] = set()
    while len(made) < count:
        r1, r2 = rng.sample(ARTICLE_WORDS, 2)
        question = rng.choice(TEMPLATES).format(
            r1=r1, r2=r2, f1=made_up_word(rng), f2=made_up_word(rng)
        )
        if question not in seen:
            seen.add(question)
            made.append(question)
    return made


def describe(name: str, seconds: list[float]) -> str:
    if not seconds:
        return f"{name}: none"
    ordered = sorted(seconds)

    def at(q: float) -> str:
        return f"{ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000:.0f} ms"

    median = statistics.median(ordered) * 1000
    return (
        f"{name} (n={len(ordered)}): min {at(0)}, median {median:.0f} ms, p90 {at(0.9)}, "
        f"p99 {at(0.99)}, max {at(1)}"
    )


# The database


def with_options(base: str, **options: str) -> str:
    separator = "&" if "?" in base else "?"
    return base + separator + "&".join(f"{k}={v}" for k, v in options.items())


def lock_name(key: int) -> str:
    """An advisory lock the bots hold other than a store's: a server's own (two numbers, the
    first corpus/sources/database.py's _PARTS), or by its number."""
    return "a server's own lock" if key >> 32 == _PARTS else f"lock {key}"


@contextlib.contextmanager
def fresh_schema(base: str):
    """A schema of its own: (its URL for the bots, the application_name their connections
    carry); dropped afterwards."""
    schema = f"quotebot_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        url = with_options(base, options=f"-csearch_path%3D{schema}", application_name=schema)
        yield url, schema
    finally:
        with psycopg.connect(base, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


class Sampler(threading.Thread):
    """pg_stat_activity every `every` seconds, from a connection of its own: how many of the
    connections named `application` were running a statement, how many of those were
    waiting for a lock, how many other connections to the database were running one, and
    how many of `application`'s were in a transaction between statements (the client's
    turn: its Python code runs while the transaction, and any lock it took, stays open)."""

    QUERY = (
        "SELECT count(*) FILTER (WHERE application_name = %s AND state = 'active'), "
        "count(*) FILTER (WHERE application_name = %s AND state = 'active' "
        "AND wait_event_type = 'Lock'), "
        "count(*) FILTER (WHERE application_name <> %s AND state = 'active'), "
        "count(*) FILTER (WHERE application_name = %s AND state = 'idle in transaction') "
        "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    # Which advisory locks the bots' connections wait for (summed over the samples).
    WAITS = (
        "SELECT (l.classid::bigint << 32) | l.objid::bigint, count(*) FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
        "AND NOT l.granted AND a.application_name = %s GROUP BY 1"
    )

    def __init__(self, base: str, application: str, every: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.base, self.application, self.every = base, application, every
        self.samples: list[tuple[int, int, int, int]] = []
        self.lock_waits: Counter[int] = Counter()
        self.done = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.base, autocommit=True) as db:
            self.ready.set()
            next_at = time.monotonic()
            while not self.done.is_set():
                row = db.execute(self.QUERY, (self.application,) * 4).fetchone()
                assert row is not None
                self.samples.append((int(row[0]), int(row[1]), int(row[2]), int(row[3])))
                if row[1]:
                    for key, waiting in db.execute(self.WAITS, (self.application,)):
                        self.lock_waits[int(key)] += int(waiting)
                next_at += self.every
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                else:
                    next_at = time.monotonic()

    def stop(self) -> None:
        self.done.set()
        self.join()


def activity(samples: list[tuple[int, int, int, int]], span: float) -> str:
    """What the Sampler's samples say."""
    if not samples:
        return "no samples"
    active = [sample[0] for sample in samples]
    between = [sample[3] for sample in samples]
    busy = sum(n > 0 for n in active) / len(samples)
    held = sum(a + b > 0 for a, b in zip(active, between, strict=True)) / len(samples)
    others = sum(sample[2] > 0 for sample in samples) / len(samples)
    return (
        f"{len(samples)} samples over {span:.1f} s ({span / len(samples) * 1000:.1f} ms apart); "
        f"at least one of the bots' statements active in {busy:.1%} of them, "
        f"{statistics.mean(active):.2f} active on average (of which "
        f"{statistics.mean(sample[1] for sample in samples):.2f} waiting for a lock), "
        f"most at once {max(active)}; bots' connections idle inside an open transaction "
        f"(the client's turn) {statistics.mean(between):.2f} on average; a statement active "
        f"or a transaction open in {held:.1%}; other sessions of the database active in "
        f"{others:.1%}"
    )


@dataclass
class Counts:
    """pg_stat_database's xact_commit (the whole database's), and what pg_stat_user_tables
    says of the schema's own tables: scans (sequential and by index), rows written."""

    commits: int
    scans: int
    written: int

    def __sub__(self, other: Counts) -> Counts:
        return Counts(
            self.commits - other.commits, self.scans - other.scans, self.written - other.written
        )


def counts(base: str, schema: str) -> Counts:
    """The statistics as they stand now (backends send theirs when idle, within ~10 s)."""
    with psycopg.connect(base, autocommit=True) as db:
        db.execute("SELECT pg_stat_clear_snapshot()")
        (commits,) = db.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone() or (0,)
        row = db.execute(
            "SELECT COALESCE(SUM(seq_scan + COALESCE(idx_scan, 0)), 0), "
            "COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) "
            "FROM pg_stat_user_tables WHERE schemaname = %s",
            (schema,),
        ).fetchone()
        assert row is not None
        return Counts(int(commits), int(row[0]), int(row[1]))


# The bot processes


@dataclass
class Line:
    at: float  # time.monotonic() when it was read
    text: str


class Cluster:
    """The bot processes, one per shard, their logs read as they come (never left to fill a
    pipe), each line stamped with the moment it was read."""

    def __init__(self, work: Path, fake: FakeDiscord, database_url: str, **settings: str):
        self.work, self.fake, self.database_url = work, fake, database_url
        self.settings = settings
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        self.started: dict[int, float] = {}
        self.logs: dict[int, list[Line]] = {shard: [] for shard in range(COUNT)}
        self._readers: list[asyncio.Task] = []
        self._changed = asyncio.Condition()

    async def start(self, shard: int) -> None:
        home = self.work / f"machine-{shard}"
        outside = {"SEEDS_DIR", "DISCORD_TOKEN", "XDG_DATA_HOME", "XDG_CACHE_HOME", "DATA_DIR",
                   "CACHE_DIR", "FETCH_PRIVATE_NETWORKS", "HOST_GUILD_ID"}  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k not in outside}
        env.update(
            DISCORD_API_BASE_URL=self.fake.api_url,
            DISCORD_GATEWAY_URL=self.fake.gateway_url,
            DISCORD_TOKEN=TOKEN,
            DATA_DIR=str(home / "data"),
            CACHE_DIR=str(home / "cache"),
            HOME=str(home),
            DATABASE_URL=self.database_url,
            LOG_LEVEL="INFO",
            SHARD_COUNT=str(COUNT),
            SHARD_IDS=str(shard),
            PYTHONUNBUFFERED="1",
            **self.settings,
        )
        self.started[shard] = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=PROJECT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            limit=1 << 22,  # a long line must not stop the reading
        )
        self.processes[shard] = process
        self._readers.append(asyncio.ensure_future(self._read(shard, process)))

    async def _read(self, shard: int, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        while True:
            try:
                line = await process.stderr.readline()
            except ValueError:  # longer than the limit: the rest of it comes next
                line = await process.stderr.read(1 << 20)
            if not line:
                return
            at = time.monotonic()
            async with self._changed:
                self.logs[shard].append(Line(at, line.decode(errors="replace")))
                self._changed.notify_all()

    def matching(self, shard: int, text: str) -> list[Line]:
        return [line for line in self.logs[shard] if text in line.text]

    async def wait_lines(self, shard: int, text: str, count: int, timeout: float) -> Line | None:
        """The `count`-th line (from 1) holding `text`, once logged; None after `timeout`."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: len(self.matching(shard, text)) >= count),
                    timeout,
                )
        found = self.matching(shard, text)
        return found[count - 1] if len(found) >= count else None

    def rss_mb(self, shard: int) -> float:
        try:
            status = Path(f"/proc/{self.processes[shard].pid}/status").read_text()
        except OSError:
            return float("nan")
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.terminate()
        for process in self.processes.values():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 30)
            if process.returncode is None:
                os.kill(process.pid, signal.SIGKILL)
                await process.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)

    def save(self, directory: Path, name: str) -> None:
        """Each process's log, every line with its seconds since the process started."""
        directory.mkdir(parents=True, exist_ok=True)
        for shard, lines in self.logs.items():
            began = self.started.get(shard, 0.0)
            (directory / f"{name}-shard{shard}.log").write_text(
                "".join(f"{line.at - began:9.3f} {line.text}" for line in lines), encoding="utf-8"
            )

    def report_errors(self) -> None:
        """How many WARNING lines each process logged (the commonest), and a tail of each
        process's log that holds a traceback or an ERROR line."""
        for shard, lines in self.logs.items():
            warnings = Counter(
                re.sub(r"\d+", "N", line.text.strip())[:140]
                for line in lines
                if line.text.startswith("WARNING")
            )
            if warnings:
                print(f"shard {shard}: {sum(warnings.values())} WARNING line(s), commonest:")
                for text, times in warnings.most_common(5):
                    print(f"  {times} x {text}")
        for shard, lines in self.logs.items():
            bad = [line.text for line in lines if "Traceback" in line.text or "ERROR" in line.text]
            code = self.processes[shard].returncode if shard in self.processes else None
            if not bad:
                print(f"shard {shard}: no Traceback or ERROR in its log (exit status {code})")
                continue
            print(
                f"shard {shard}: {len(bad)} line(s) with Traceback or ERROR (exit status {code});"
            )
            first = [line.rstrip() for line in bad[:5]]
            print("  first of them:\n    " + "\n    ".join(first))
            tail = "".join(line.text for line in lines[-40:])
            print(f"  the last 40 lines of its log:\n{tail}")


async def start_cluster(
    work: Path, fake: FakeDiscord, database_url: str, timeout: float, **settings: str
) -> tuple[Cluster, float]:
    """The three processes started and ready (every shard sent its servers by the fake, and
    each process printed "Ready:"); the seconds that took."""
    cluster = Cluster(work, fake, database_url, **settings)
    began = time.monotonic()
    for shard in range(COUNT):
        await cluster.start(shard)
    try:
        await fake.wait_ready_shards(COUNT, timeout=timeout)
    except AssertionError:
        said = {s: "".join(line.text for line in lines[-10:]) for s, lines in cluster.logs.items()}
        await cluster.stop()
        raise SystemExit(
            f"the processes did not all connect within {timeout:.0f} s: {said}"
        ) from None
    sent_all = time.monotonic() - began
    for shard in range(COUNT):
        left = max(1.0, timeout - (time.monotonic() - began))
        if await cluster.wait_lines(shard, "Ready: logged in", 1, left) is None:
            tail = "".join(line.text for line in cluster.logs[shard][-20:])
            await cluster.stop()
            raise SystemExit(f"shard {shard} never printed Ready within {timeout:.0f} s:\n{tail}")
    ready = max(cluster.matching(s, "Ready: logged in")[0].at for s in range(COUNT)) - began
    print(f"  the fake had sent every shard its servers after {sent_all:.1f} s")
    for shard in range(COUNT):
        line = cluster.matching(shard, "Ready: logged in")[0]
        servers = re.search(r"in (\d+) server", line.text)
        print(
            f"  shard {shard}: Ready after {line.at - began:.1f} s, in "
            f"{servers.group(1) if servers else '?'} server(s), RSS {cluster.rss_mb(shard):.0f} MB"
        )
    return cluster, ready


class LoopLag:
    """How late this process's event loop (the fake Discord's, and the log readers') wakes
    from 10 ms sleeps: a late loop stamps requests late."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            self.lags.append(time.monotonic() - before - 0.01)

    def stop(self) -> str:
        if self._task is not None:
            self._task.cancel()
        if not self.lags:
            return "no samples"
        ordered = sorted(self.lags)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"median {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms late"
        )


class CpuWatch:
    """Every `every` seconds: the CPU each bot process used (its threads together, % of one
    core) and how busy the whole machine was (% of all cores), from /proc."""

    def __init__(self, pids: list[int], every: float = 2.0) -> None:
        self.pids, self.every = pids, every
        self.rows: list[tuple[float, list[float], float]] = []
        self._task: asyncio.Task | None = None
        self._tick = os.sysconf("SC_CLK_TCK")

    def _process(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self._tick

    @staticmethod
    def _machine() -> tuple[float, float]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        began = time.monotonic()
        before = [self._process(pid) for pid in self.pids]
        busy_before, total_before = self._machine()
        while True:
            await asyncio.sleep(self.every)
            now = [self._process(pid) for pid in self.pids]
            busy, total = self._machine()
            self.rows.append(
                (
                    time.monotonic() - began,
                    [(a - b) / self.every * 100 for a, b in zip(now, before, strict=True)],
                    (busy - busy_before) / max(1, total - total_before) * 100,
                )
            )
            before, busy_before, total_before = now, busy, total

    def stop(self) -> list[str]:
        if self._task is not None:
            self._task.cancel()
        if not self.rows:
            return []
        lines = [f"    seconds from the start:  {' '.join(f'{t:4.0f}' for t, _, _ in self.rows)}"]
        for number in range(len(self.pids)):
            cells = " ".join(f"{row[1][number]:4.0f}" for row in self.rows)
            lines.append(f"    shard {number} (% of a core): {cells}")
        lines.append(
            f"    machine (% of all):     {' '.join(f'{m:4.0f}' for _, _, m in self.rows)}"
        )
        return lines


# Interactions and what the fake received for them


@dataclass
class Sent:
    kind: str  # "ask" or "add"
    guild: int
    at: float
    ack_at: float | None = None
    ack_type: int | None = None
    callbacks: int = 0
    final_at: float | None = None
    final: dict[str, Any] = field(default_factory=dict)


class Tracker:
    """Reads the fake's requests as they come (only the new ones each time) and notes, for
    each interaction's token, its first callback and its first message (content or embed)."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.sent: dict[str, Sent] = {}
        self._seen = 0

    def scan(self) -> None:
        requests = self.fake.requests
        while self._seen < len(requests):
            request = requests[self._seen]
            self._seen += 1
            parts = request.path.split("/")
            if len(parts) < 4 or parts[1] not in ("interactions", "webhooks"):
                continue
            sent = self.sent.get(parts[3])
            if sent is None:
                continue
            body = request.body if isinstance(request.body, dict) else {}
            if parts[1] == "interactions":
                sent.callbacks += 1
                if sent.ack_at is None:
                    sent.ack_at, sent.ack_type = request.received_at, body.get("type")
                data = body.get("data") if body.get("type") == 4 else None
            else:
                data = body
            if (
                request.status == 200
                and isinstance(data, dict)
                and (data.get("content") or data.get("embeds"))
                and sent.final_at is None
            ):
                sent.final_at, sent.final = request.received_at, data

    async def dispatch(self, kind: str, guild: int, data: dict, **fields: Any) -> str:
        payload = interaction_payload(data, guild_id=guild, channel_id=channel_of(guild), **fields)
        self.sent[payload["token"]] = Sent(kind, guild, time.monotonic())
        await self.fake.dispatch("INTERACTION_CREATE", payload)
        return payload["token"]

    async def wait_all(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.scan()
            if all(s.final_at is not None for s in self.sent.values()):
                return True
            await asyncio.sleep(0.02)
        self.scan()
        return False


def quoted(data: dict[str, Any]) -> str:
    """An answer's quoted text, markdown emphasis taken out."""
    embeds = data.get("embeds") or []
    text = embeds[0].get("description") or "" if embeds else ""
    return re.sub(r"[*_\\]", "", text)


# 1. A change made elsewhere reaches the owning process


async def measure_changes(args: argparse.Namespace, work: Path) -> None:
    print(f"== {args.changes} changes made elsewhere, each reaching the shard-1 process ==")
    rng = random.Random(args.seed)
    guilds = [guild_on_shard(shard, COUNT) for shard in range(COUNT)]
    assert [shard_of(g, COUNT) for g in guilds] == [0, 1, 2]
    g1 = guilds[1]
    text = f"Took in a change to server-{g1} made elsewhere"
    with fresh_schema(args.database_url) as (url, _schema):
        fake = FakeDiscord(guild_ids=list(guilds))
        await fake.start()
        cluster: Cluster | None = None
        library: Library | None = None
        try:
            cluster, ready = await start_cluster(
                work / "changes", fake, url, 120, ENCODER=args.encoder, **SETTINGS
            )
            print(f"  three processes ready in {ready:.1f} s (ENCODER={args.encoder})")
            tracker = Tracker(fake)
            token = await tracker.dispatch(
                "ask", g1, slash("ask", question="Where will army chiefs meet?")
            )
            await tracker.wait_all(60)
            first = tracker.sent[token]
            print(
                "  first /ask in the shard-1 server (opens its collection there): "
                + (
                    f"answered after {(first.final_at - first.at) * 1000:.0f} ms"
                    if first.final_at is not None
                    else "NOT answered"
                )
                + (", quoting the bundled article" if "Ghana" in quoted(first.final) else "")
            )
            library = await asyncio.to_thread(
                Library, work / "changes" / "bench-machine" / "data", database_url=url
            )
            delays: list[float] = []
            missed = 0
            words: set[str] = set()
            last: tuple[str, str] = ("", "")
            for i in range(args.changes):
                name, place = made_up_word(rng), made_up_word(rng)
                while name in words or place in words or name == place:
                    name, place = made_up_word(rng), made_up_word(rng)
                words |= {name, place}
                body = (
                    f"Harbour note {i}\n\nThe {name} ferry to {place} sails at {i % 12 + 1} "
                    f"o'clock on Tuesdays, the harbour office said.\n"
                ).encode()
                # A pause first, of a random length: right after the last change was taken
                # in, an add would always wait nearly a whole check period (0.5 s).
                await asyncio.sleep(rng.uniform(0, args.gap))
                before = len(cluster.matching(1, text))

                def add(body: bytes = body, i: int = i) -> float:
                    assert library is not None
                    library.add(f"server-{g1}", body, ".txt", wanted_id=f"note-{i}")
                    return time.monotonic()

                t0 = await asyncio.to_thread(add)
                line = await cluster.wait_lines(1, text, before + 1, args.change_timeout)
                if line is None:
                    missed += 1
                    print(f"  change {i}: not taken in within {args.change_timeout:.0f} s")
                    continue
                delays.append(line.at - t0)
                last = (name, place)
            print(
                f"  {len(delays)} of {args.changes} changes taken in"
                + (f", {missed} not within {args.change_timeout:.0f} s" if missed else "")
            )
            if delays:
                ordered = sorted(delays)
                p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
                print(
                    f"  add returned -> owning process took it in: median "
                    f"{statistics.median(delays) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, "
                    f"worst {max(delays) * 1000:.0f} ms, best {min(delays) * 1000:.0f} ms "
                    f"(target: under 2 s; {sum(d >= 2 for d in delays)} at or over 2 s)"
                )
                shown = [f"{d * 1000:.0f}" for d in delays]
                if len(shown) > 20:
                    shown = [*shown[:10], "...", *shown[-10:]]
                print("  in order (ms): " + " ".join(shown))
            others = [s for s in (0, 2) if cluster.matching(s, f"server-{g1}")]
            print(
                "  shards 0 and 2 never mentioned that server: "
                + ("yes" if not others else f"NO (shard(s) {others} did)")
            )
            if last[0]:
                name, place = last
                question = f"When does the {name} ferry to {place} sail?"
                token = await tracker.dispatch("ask", g1, slash("ask", question=question))
                await tracker.wait_all(60)
                answer = tracker.sent[token]
                found = place in quoted(answer.final)
                print(
                    f"  /ask {question!r} answered with a quote from the last note: "
                    + ("yes" if found else f"no ({quoted(answer.final)[:200]!r})")
                )
        finally:
            if library is not None:
                library.close()
            if cluster is not None:
                await cluster.stop()
            await fake.stop()
    if cluster is not None:
        if args.logs:
            cluster.save(args.logs, "changes")
        cluster.report_errors()


# 2. Many servers, a burst of interactions


async def measure_servers(args: argparse.Namespace, work: Path) -> None:
    n = args.servers
    print(
        f"== {COUNT} processes x {n} servers; {args.asks} /ask and {args.adds} /article add "
        + ("in one burst" if not args.rate else f"at {args.rate:g} per second")
        + f" (ENCODER={args.encoder}) =="
    )
    rng = random.Random(args.seed)
    guilds = [guild_on_shard(shard, COUNT, i) for shard in range(COUNT) for i in range(n)]
    with fresh_schema(args.database_url) as (url, schema):
        fake = FakeDiscord(guild_ids=guilds)
        await fake.start()
        cluster: Cluster | None = None
        try:
            cluster, ready = await start_cluster(
                work / "servers", fake, url, args.start_timeout, ENCODER=args.encoder, **SETTINGS
            )
            print(f"  start-up: three processes with {n} servers each ready in {ready:.1f} s")
            if args.fake_nice:
                # Discord is not on these CPUs: the fake Discord (this thread, and the
                # sampler's thread started from it) goes first, so that what it stamps is the
                # bots' time, not its own wait for a CPU. The bots, started before, keep theirs.
                try:
                    os.setpriority(os.PRIO_PROCESS, 0, args.fake_nice)
                    print(f"  the fake Discord's thread runs at nice {args.fake_nice}")
                except OSError as error:
                    print(f"  could not set the fake Discord's nice value ({error}); left as is")
            # The interactions, made before the clock starts.
            asked = questions(rng, args.asks)
            plan: list[tuple[str, int, dict, dict]] = []
            for question in asked:
                guild = rng.choice(guilds)
                plan.append(("ask", guild, slash("ask", question=question), {}))
            for i in range(args.adds):
                guild = rng.choice(guilds)
                body = (
                    f"Market notice {i}\n\nThe {made_up_word(rng)} market in {made_up_word(rng)} "
                    f"opens at {i % 12 + 1} o'clock on Saturdays, the council said.\n"
                ).encode()
                file = fake.attachment(f"notice-{i}.txt", body)
                plan.append(
                    ("add", guild, slash("article", "add", file=file), {"permissions": ADMIN})
                )
            rng.shuffle(plan)
            # Idle: the statistics of start-up flushed, then the idle rate of commits.
            await asyncio.sleep(11)
            idle_from = time.monotonic()
            idle_start = await asyncio.to_thread(counts, args.database_url, schema)
            idle_sampler = Sampler(args.database_url, schema)
            idle_sampler.start()
            await asyncio.sleep(5)
            await asyncio.to_thread(idle_sampler.stop)
            idle_to = time.monotonic()
            before = await asyncio.to_thread(counts, args.database_url, schema)
            idle = before - idle_start
            idle_rate = (idle.commits - len(idle_sampler.samples)) / (idle_to - idle_from)
            sampler = Sampler(args.database_url, schema)
            sampler.start()
            await asyncio.to_thread(sampler.ready.wait, 10)
            tracker = Tracker(fake)
            lag = LoopLag()
            lag.start()
            cpu = CpuWatch([cluster.processes[shard].pid for shard in range(COUNT)])
            cpu.start()
            cpu_before = os.times()
            began = time.monotonic()
            for number, (kind, guild, data, fields) in enumerate(plan):
                if args.rate:
                    pause = began + number / args.rate - time.monotonic()
                    if pause > 0:
                        await asyncio.sleep(pause)
                await tracker.dispatch(kind, guild, data, user_id=10_000 + number, **fields)
            dispatched = time.monotonic() - began
            finished = await tracker.wait_all(args.answer_timeout)
            wall = time.monotonic() - began
            cpu_after = os.times()
            lagged = lag.stop()
            cpu_lines = cpu.stop()
            await asyncio.to_thread(sampler.stop)
            ended = time.monotonic()
            await asyncio.sleep(11)  # the backends flush their statistics when idle
            after_at = time.monotonic()
            after = await asyncio.to_thread(counts, args.database_url, schema)
            sent = list(tracker.sent.values())
            print(
                f"  {len(sent)} interactions dispatched in {dispatched * 1000:.0f} ms; "
                + (
                    "all answered"
                    if finished
                    else f"NOT all answered within {args.answer_timeout:.0f} s"
                )
                + f"; wall time to the last answer {wall:.1f} s, "
                f"{len(sent) / wall:.1f} interactions/s"
            )
            for kind, name in (("ask", "/ask"), ("add", "/article add")):
                done = [s.final_at - began for s in sent if s.kind == kind and s.final_at]
                if done:
                    print(
                        f"  {name}: first answer {min(done):.1f} s, last {max(done):.1f} s "
                        "after the first dispatch"
                    )
                mine = [s for s in sent if s.kind == kind]
                acks = [s.ack_at - s.at for s in mine if s.ack_at is not None]
                answers = [s.final_at - s.at for s in mine if s.final_at is not None]
                deferred = sum(s.ack_type == 5 for s in mine)
                print(
                    f"  {name}: {len(mine)} sent, {len(acks)} acknowledged ({deferred} deferred "
                    f"first), {len(answers)} answered"
                )
                if kind == "ask":
                    quotes = sum(bool(s.final.get("embeds")) for s in mine)
                    print(
                        f"    {quotes} answered with an embed, "
                        f"{len(answers) - quotes} with text only"
                    )
                    buttonless = sum(
                        bool(s.final.get("embeds"))
                        and "vote:" not in str(s.final.get("components"))
                        for s in mine
                    )
                    print(f"    {buttonless} answers with an embed came without their vote buttons")
                    texts = Counter(
                        str(s.final.get("content"))[:100]
                        for s in mine
                        if s.final and not s.final.get("embeds")
                    )
                    for text, times in texts.most_common(3):
                        print(f"    {times} x text: {text!r}")
                else:
                    added = sum(str(s.final.get("content", "")).startswith("Added") for s in mine)
                    print(f'    {added} answered "Added ..."')
                    others = {
                        str(s.final.get("content", ""))[:120]
                        for s in mine
                        if s.final and not str(s.final.get("content", "")).startswith("Added")
                    }
                    for text in sorted(others)[:5]:
                        print(f"    other answer: {text!r}")
                again = sum(s.callbacks > 1 for s in mine)
                if again:
                    print(
                        f"    {again} got more than one callback (an acknowledgement tried again)"
                    )
                print("    " + describe("acknowledged after", acks))
                print("    " + describe("answered after", answers))
                print(f"    acknowledged later than 3 s: {sum(a > 3 for a in acks)} (target: none)")
            own = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
            print(
                f"  this process (the fake Discord): {own:.1f} CPU s during the burst; its event "
                f"loop woke {lagged}"
            )
            samples = sampler.samples
            if cpu_lines:
                print(f"  CPU use every {cpu.every:.0f} s from the first dispatch:")
                print("\n".join(cpu_lines))
            print("  the database's share of the time (pg_stat_activity sampled):")
            print("    during the burst: " + activity(samples, ended - began))
            print(f"    idle, the 5 s before: {activity(idle_sampler.samples, 5.0)}")
            if sampler.lock_waits:
                names = {
                    _lock_of(store, schema): f"the {store} writers' lock"
                    for store in ("state", "library")
                }
                print(
                    "    waiting for an advisory lock, connections x samples: "
                    + ", ".join(
                        f"{names.get(key, lock_name(key))} {times}"
                        for key, times in sampler.lock_waits.most_common()
                    )
                )
            burst = after - before
            commits = burst.commits - len(samples)
            idle_part = idle_rate * (after_at - idle_to)
            print(
                f"  transactions committed (pg_stat_database.xact_commit, the WHOLE database, "
                f"other users included): {commits} from the burst's start to "
                f"{after_at - ended:.0f} s after its end (the sampler's own {len(samples)} "
                f"taken out); about {idle_part:.0f} of them at the rate measured idle before "
                f"({idle_rate:.1f}/s); about {commits - idle_part:.0f} left, "
                f"{(commits - idle_part) / max(1, len(sent)):.1f} per interaction"
            )
            print(
                f"  the schema's own tables (pg_stat_user_tables): {burst.scans} scans and "
                f"{burst.written} rows written in that time ({idle.scans} scans and "
                f"{idle.written} rows in the 5 s idle before); "
                f"{burst.scans / max(1, len(sent)):.1f} scans per interaction"
            )
            for shard in range(COUNT):
                print(f"  shard {shard}: RSS {cluster.rss_mb(shard):.0f} MB after the burst")
        finally:
            if cluster is not None:
                await cluster.stop()
            await fake.stop()
    if cluster is not None:
        if args.logs:
            cluster.save(args.logs, "servers")
        cluster.report_errors()


def code_state() -> str:
    """The commit, and the uncommitted changes to the product's code (bot/, corpus/) if any:
    numbers are comparable only between runs of the same code."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True, text=True
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "diff", "HEAD", "--", "bot", "corpus"],
            cwd=PROJECT,
            capture_output=True,
            text=True,
        ).stdout
    except OSError as error:
        return f"unknown ({error})"
    if not diff:
        return f"commit {commit}, no uncommitted changes to bot/ or corpus/"
    files = diff.count("\ndiff --git ") + diff.startswith("diff --git ")
    digest = hashlib.sha1(diff.encode()).hexdigest()[:10]
    return f"commit {commit} with uncommitted changes to {files} file(s) (diff sha1 {digest})"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, help="changes made elsewhere (default 50)")
    parser.add_argument("--servers", type=int, help="servers per process (default 1000)")
    parser.add_argument("--asks", type=int, default=1000)
    parser.add_argument("--adds", type=int, default=100)
    parser.add_argument(
        "--rate", type=float, default=0, help="interactions per second (0: all in one burst)"
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--encoder", choices=("on", "off"), default="on")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--fake-nice",
        type=int,
        default=-5,
        help="nice value for the fake Discord's thread once the bots run (0: leave it)",
    )
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this folder")
    parser.add_argument("--start-timeout", type=float, default=900)
    parser.add_argument("--answer-timeout", type=float, default=900)
    parser.add_argument("--change-timeout", type=float, default=30)
    parser.add_argument(
        "--gap", type=float, default=1.0, help="each change waits a random 0..GAP s first"
    )
    args = parser.parse_args()
    if args.changes is None and args.servers is None:
        args.changes, args.servers = 50, 1000
    print(f"PostgreSQL: {re.sub(r'//[^@/]*@', '//…@', args.database_url)}; {os.cpu_count()} CPUs")
    print(f"code: {code_state()}")
    work = Path(tempfile.mkdtemp(prefix="quotebot-cluster-"))
    try:
        if args.changes:
            await measure_changes(args, work)
        if args.servers:
            await measure_servers(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
