"""Several bot processes sharing one PostgreSQL database: three real `quotebot run` processes,
shards 0, 1 and 2 of 3, each with a data directory of its own (as on three machines),
against one fake Discord whose three servers fall one on each shard."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from tests.conftest import LOOPBACK, PROJECT, run_cli
from tests.fake_discord import Channel as ChannelOption
from tests.fake_discord import FakeDiscord, channel_of, guild_on_shard, shard_of, slash
from tests.local_site import Site, answer, publish_feed, serve
from tests.test_discord_articles import ADMIN, final_reply, quoted

COUNT = 3
GUILDS = [guild_on_shard(shard, COUNT) for shard in range(COUNT)]
TOKEN = "fake-token-for-cluster-tests.abcdefghijklmnop"
FERRY = b"Night ferry returns\n\nThe night ferry to Orla returns in May, the harbour office said.\n"


class Cluster:
    """The bot processes, one per shard, their logs read as they come (never left to fill
    a pipe)."""

    def __init__(self, tmp_path: Path, fake: FakeDiscord, database_url: str, **settings: str):
        self.tmp_path, self.fake, self.database_url = tmp_path, fake, database_url
        self.settings = settings
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        self.logs: dict[int, list[str]] = {shard: [] for shard in range(COUNT)}
        self._readers: list[asyncio.Task] = []
        self._changed = asyncio.Condition()

    async def start(self, shard: int) -> None:
        home = self.tmp_path / f"machine-{shard}"
        env = {k: v for k, v in os.environ.items() if k not in ("SEEDS_DIR", "DISCORD_TOKEN")}
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
            # Its own server is the host's here, so its feeds may be read from 127.0.0.1.
            HOST_GUILD_ID=str(GUILDS[shard]),
            FETCH_PRIVATE_NETWORKS=LOOPBACK,
            COOLDOWN_RATE="100",
            FEED_POSTS_PER_HOUR="10000",
            **self.settings,
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=PROJECT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self.processes[shard] = process
        self._readers.append(asyncio.ensure_future(self._read(shard, process)))

    async def _read(self, shard: int, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            async with self._changed:
                self.logs[shard].append(line.decode(errors="replace"))
                self._changed.notify_all()

    async def wait_log(self, shard: int, text: str, timeout: float = 30) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: any(text in line for line in self.logs[shard])),
                    timeout,
                )
            except TimeoutError:
                tail = "".join(self.logs[shard][-30:])
                raise AssertionError(f"shard {shard} never logged {text!r}:\n{tail}") from None

    def kill(self, shard: int) -> None:
        os.kill(self.processes[shard].pid, signal.SIGKILL)

    async def stop(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.terminate()
        for process in self.processes.values():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 30)
            if process.returncode is None:
                process.kill()
        for reader in self._readers:
            reader.cancel()


@contextlib.asynccontextmanager
async def cluster_of_three(tmp_path: Path, database_url: str, **settings: str):
    assert [shard_of(guild, COUNT) for guild in GUILDS] == [0, 1, 2]
    fake = FakeDiscord(guild_ids=list(GUILDS))
    await fake.start()
    cluster = Cluster(tmp_path, fake, database_url, **settings)
    try:
        for shard in range(COUNT):
            await cluster.start(shard)
        try:
            await fake.wait_ready_shards(COUNT, timeout=90)
        except AssertionError:
            said = {shard: "".join(lines[-10:]) for shard, lines in cluster.logs.items()}
            raise AssertionError(f"the processes did not all connect: {said}") from None
        yield cluster
    finally:
        await cluster.stop()
        await fake.stop()
    for shard, lines in cluster.logs.items():
        assert not any("Traceback" in line for line in lines), (shard, "".join(lines[-40:]))


async def ask(fake: FakeDiscord, guild: int, question: str) -> dict:
    return await final_reply(
        fake, slash("ask", question=question), guild_id=guild, channel_id=channel_of(guild)
    )


def test_an_article_added_elsewhere_is_answered_by_the_servers_own_process(tmp_path, postgres_url):
    """The command line on a fourth machine adds an article to the shard-1 server's
    collection; that server's process hears of the change and answers from it, without a
    restart. The others never open that collection."""
    article = tmp_path / "ferry.txt"
    article.write_bytes(FERRY)
    guild = GUILDS[1]
    question = "When does the night ferry to Orla return?"

    async def scenario() -> None:
        async with cluster_of_three(tmp_path, postgres_url) as cluster:
            before = await ask(cluster.fake, guild, question)
            assert "Orla" not in quoted(before)
            added = await asyncio.to_thread(
                run_cli,
                tmp_path / "cli",
                "add",
                str(article),
                "--collection",
                f"server-{guild}",
                settings={"DATABASE_URL": postgres_url},
            )
            assert added.returncode == 0, added.stderr
            await cluster.wait_log(1, f"Took in a change to server-{guild} made elsewhere")
            after = await ask(cluster.fake, guild, question)
            assert "The night ferry to Orla returns in May" in quoted(after)
            for other in (0, 2):
                assert not any(f"server-{guild}" in line for line in cluster.logs[other])

    asyncio.run(scenario())


class FeedSite:
    """A feed whose items come one by one (newest first), each a story page; a story's page
    can be held back (its request waits) until the test lets it go."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.items: list[tuple[str, str, str]] = []
        self.publish("story-start")

    def publish(self, slug: str, *, held: threading.Event | None = None) -> None:
        """The item first in the feed; with `held`, its page answers only once that is set
        (in place before the feed lists the item)."""
        number = slug.rpartition("-")[2]
        self.items.insert(
            0, (slug, f"Harbour story {number}", f"Harbour story {number} happened on the quay.")
        )
        publish_feed(self.site, "/next.xml", self.items)  # the pages, and the feed to be
        if held is not None:
            route = self.site.routes[f"/story/{slug}"]

            def answer_when_released(handler) -> None:
                held.wait(60)
                answer(handler, *route)

            self.site.routes[f"/story/{slug}"] = answer_when_released
        self.site.routes["/feed.xml"] = self.site.routes["/next.xml"]

    def requests_for(self, slug: str) -> int:
        return sum(1 for path, _ in self.site.requests if path == f"/story/{slug}")


async def until_site(predicate, what: str) -> None:
    """The site's requests come on its own threads: looked at every 50 ms, for 30 s."""
    for _ in range(600):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def posted_titles(fake: FakeDiscord, guild: int) -> list[str]:
    return [
        request.body["embeds"][0]["title"]
        for request in fake.sent("POST", rf"/channels/{channel_of(guild)}/messages")
        if request.status == 200 and request.body and request.body.get("embeds")
    ]


def test_feed_items_are_posted_once_with_three_processes_polling_and_one_killed(
    tmp_path, postgres_url
):
    """Each server (one per process) follows the same feed into its own channel. Over 50
    rounds, each new item is posted once in each channel. Then the shard-1 process is
    killed (kill -9) while fetching an item; started again, it takes the poll over once its
    lease runs out, and the item is posted once there too, and nothing else twice."""
    settings = {
        "FEED_CHECK_SECONDS": "0.1",
        "FEED_INTERVAL_MINUTES": "0.002",  # each poll's lease: 0.12 s
        "FEED_POSTING_LEASE_SECONDS": "2",
    }

    async def scenario(site: FeedSite) -> None:
        async with cluster_of_three(tmp_path, postgres_url, **settings) as cluster:
            fake = cluster.fake
            for guild in GUILDS:
                followed = await final_reply(
                    fake,
                    slash(
                        "feed",
                        "add",
                        url=site.site.url("/feed.xml"),
                        channel=ChannelOption(channel_of(guild), guild_id=guild),
                    ),
                    permissions=ADMIN,
                    guild_id=guild,
                    channel_id=channel_of(guild),
                )
                assert followed["content"].startswith("Following **Valley Times**"), followed
            for number in range(50):
                site.publish(f"story-{number}")
                title = f"Harbour story {number}"
                await fake.wait_for(
                    lambda title=title: all(title in posted_titles(fake, g) for g in GUILDS),
                    timeout=30,
                    what=f"{title} posted in every server",
                )
            # kill -9 of the shard-1 process while it fetches an item.
            released = threading.Event()
            site.publish("story-50", held=released)
            await until_site(lambda: site.requests_for("story-50") == COUNT, "every fetch")
            cluster.kill(1)
            await cluster.processes[1].wait()
            released.set()
            for guild in (GUILDS[0], GUILDS[2]):
                await fake.wait_for(
                    lambda g=guild: "Harbour story 50" in posted_titles(fake, g), timeout=30
                )
            assert "Harbour story 50" not in posted_titles(fake, GUILDS[1])
            await cluster.start(1)  # as a supervisor would
            await fake.wait_for(
                lambda: "Harbour story 50" in posted_titles(fake, GUILDS[1]),
                timeout=60,
                what="the killed process's item posted after a restart",
            )
            site.publish("story-51")  # and it goes on as before
            await fake.wait_for(
                lambda: all("Harbour story 51" in posted_titles(fake, g) for g in GUILDS),
                timeout=30,
                what="story 51 everywhere",
            )
            wanted = [f"Harbour story {n}" for n in range(52)]
            for guild in GUILDS:
                assert sorted(posted_titles(fake, guild)) == sorted(wanted), guild

    with serve({}) as site:
        asyncio.run(scenario(FeedSite(site)))
