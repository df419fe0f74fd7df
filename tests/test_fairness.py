"""One server's slow or heavy work never holds up another's: the fair pool on its own, and the
service with a real local web server whose links hang until the test lets them go.

No test here sleeps and then checks that nothing happened: a hang lasts until the test sets
an Event, so "server B finished while A's links still hang" is a fact, not a race; the only
times are generous limits on how long B may take, far below a hang that never ends."""

from __future__ import annotations

import asyncio
import datetime
import http.server
import threading
from collections.abc import Callable

import pytest

from bot.discord.fair import Busy, FairPool
from bot.discord.service import CorpusService, RequestRefused, Scope
from corpus.sources.library import Library
from tests.conftest import LOOPBACK_NETWORKS, make_seeds
from tests.local_site import Site, publish_feed, serve, story_page

GUILD_A = 300_000_000_000_000_001
GUILD_B = 300_000_000_000_000_002
PATIENCE = 15.0  # what B may take: a few seconds at most alone, and A's hangs never end


# The pool


def test_a_key_with_fifty_hanging_items_does_not_hold_up_another_keys_first():
    pool = FairPool("test", threads=2, per_key=1, max_waiting=100)
    gate = threading.Event()
    held = [pool.submit("a", gate.wait) for _ in range(50)]
    try:
        assert pool.submit("b", lambda: "b is done").result(timeout=PATIENCE) == "b is done"
        assert not any(item.done() for item in held)
    finally:
        gate.set()
    assert all(item.result(timeout=PATIENCE) for item in held)
    pool.shutdown()


def test_keys_take_turns_so_a_long_queue_delays_another_key_by_one_item():
    pool = FairPool("test", threads=1, per_key=1, max_waiting=100)
    gate = threading.Event()
    order: list[str] = []

    def step(name: str) -> Callable[[], None]:
        return lambda: order.append(name)

    started = threading.Event()
    first = pool.submit("a", lambda: (started.set(), gate.wait(), order.append("a1")))
    assert started.wait(PATIENCE)  # a1 holds the thread; the others queue behind it
    items = [pool.submit("a", step(f"a{n}")) for n in range(2, 6)]
    items += [pool.submit("b", step("b1")), pool.submit("b", step("b2"))]
    items.append(pool.submit("c", step("c1")))
    gate.set()
    for item in (first, *items):
        item.result(timeout=PATIENCE)
    assert order == ["a1", "a2", "b1", "c1", "a3", "b2", "a4", "a5"]
    pool.shutdown()


def test_a_key_runs_at_most_its_share_at_once_and_in_the_order_given():
    pool = FairPool("test", threads=8, per_key=2, max_waiting=100)
    gates = [threading.Event() for _ in range(3)]
    started = [threading.Event() for _ in range(3)]

    def hold(n: int) -> Callable[[], int]:
        return lambda: (started[n].set(), gates[n].wait(), n)[-1]

    held = [pool.submit("a", hold(n)) for n in range(3)]
    assert started[0].wait(PATIENCE) and started[1].wait(PATIENCE)
    # A free thread ran B's item, so A's third waits for its share, not for a thread.
    assert pool.submit("b", lambda: "b").result(timeout=PATIENCE) == "b"
    assert pool.waiting("a") == 1
    assert not started[2].is_set()
    gates[1].set()  # one of A's two is done: its third may start
    assert started[2].wait(PATIENCE)
    for gate in gates:
        gate.set()
    assert [item.result(timeout=PATIENCE) for item in held] == [0, 1, 2]
    pool.shutdown()


def test_a_full_queue_is_refused_for_that_key_only():
    pool = FairPool("test", threads=1, per_key=1, max_waiting=2)
    gate = threading.Event()
    started = threading.Event()
    running = pool.submit("a", lambda: (started.set(), gate.wait())[-1])
    assert started.wait(PATIENCE)
    waiting = [pool.submit("a", lambda: 1) for _ in range(2)]
    with pytest.raises(Busy) as refused:
        pool.submit("a", lambda: 1)
    assert refused.value.key == "a" and refused.value.waiting == 2
    follow_up = pool.submit("a", lambda: "internal", bounded=False)  # bounded by its cause
    other = pool.submit("b", lambda: "b")
    gate.set()
    assert running.result(timeout=PATIENCE) is True
    assert [w.result(timeout=PATIENCE) for w in waiting] == [1, 1]
    assert follow_up.result(timeout=PATIENCE) == "internal"
    assert other.result(timeout=PATIENCE) == "b"
    pool.shutdown()


def test_errors_reach_the_caller_and_the_thread_goes_on():
    pool = FairPool("test", threads=1, per_key=1, max_waiting=10)
    with pytest.raises(ZeroDivisionError):
        pool.submit("a", lambda: 1 / 0).result(timeout=PATIENCE)
    assert pool.submit("a", lambda: "next").result(timeout=PATIENCE) == "next"
    pool.shutdown()


def test_work_cancelled_while_waiting_never_runs():
    pool = FairPool("test", threads=1, per_key=1, max_waiting=10)
    gate = threading.Event()
    ran: list[str] = []

    async def scenario() -> None:
        running = pool.run("a", gate.wait)
        cancelled = pool.run("a", lambda: ran.append("cancelled"))
        cancelled.cancel()
        after = pool.run("a", lambda: ran.append("after"))
        gate.set()
        await running
        await after  # the same key, in order: the cancelled one would have run before
        assert ran == ["after"]

    asyncio.run(asyncio.wait_for(scenario(), PATIENCE))
    pool.shutdown()


def test_shutdown_cancels_what_waits_and_takes_no_more():
    pool = FairPool("test", threads=1, per_key=1, max_waiting=10)
    gate = threading.Event()
    started = threading.Event()
    running = pool.submit("a", lambda: (started.set(), gate.wait())[-1])
    assert started.wait(PATIENCE)
    waiting = pool.submit("b", lambda: "never")
    pool.shutdown()
    assert waiting.cancelled()
    with pytest.raises(RuntimeError):
        pool.submit("a", lambda: 1)
    gate.set()
    assert running.result(timeout=PATIENCE) is True


# The service, with a web server whose links hang


class Hang:
    """A route that answers like the slow sites of the attack: a status line, then one byte
    of a header every so often, until the test releases it (then it hangs up)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.serving = 0
        self._count = threading.Lock()

    def __call__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        with self._count:
            self.serving += 1
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
        handler.wfile.flush()
        while not self.released.wait(0.5):
            handler.wfile.write(b"x")
            handler.wfile.flush()


def publish(site: Site, path: str, items: list[tuple[str, str, str]]) -> None:
    """An RSS feed at `path` of these items (slug, title, first paragraph; newest first)."""
    publish_feed(site, path, items)


def open_service(tmp_path, **options) -> CorpusService:
    return CorpusService.open(
        make_seeds(tmp_path / "seeds", {"a": "The shared article is about owls."}),
        cache_dir=tmp_path / "cache",
        max_question_chars=500,
        library=Library(tmp_path / "data"),
        private_networks=lambda guild: LOOPBACK_NETWORKS,
        **options,
    )


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (generously) for something the other threads do."""
    async with asyncio.timeout(PATIENCE):
        while not condition():
            await asyncio.sleep(0.02)
    assert condition(), what


async def answers(service: CorpusService, guild_id: int, question: str, text: str) -> bool:
    answer = await service.ask(question, scope=Scope(guild_id))
    return any(text in quote.text for quote in answer.answer.quotes)


def test_while_one_servers_links_hang_another_server_adds_a_link_and_follows_a_feed(tmp_path):
    hang = Hang()
    with serve({f"/slow/{n}": hang for n in range(5)} | {"/feed/slow.xml": hang}) as site:
        publish(site, "/feed/b.xml", [("bridge", "Valley bridge reopens", "The bridge opened.")])
        story_page(site, "/news/ferry", "Night ferry returns", "The night ferry returns in May.")
        service = open_service(tmp_path)

        async def scenario() -> None:
            hanging = [
                asyncio.ensure_future(service.add_url(GUILD_A, site.url(f"/slow/{n}")))
                for n in range(5)
            ]
            hanging.append(
                asyncio.ensure_future(service.add_feed(GUILD_A, site.url("/feed/slow.xml"), None))
            )
            await until(lambda: hang.serving >= 3, "A's links and feed are being fetched")
            try:
                added = await asyncio.wait_for(
                    service.add_url(GUILD_B, site.url("/news/ferry")), PATIENCE
                )
                assert added.new and added.article.title == "Night ferry returns"
                followed = await asyncio.wait_for(
                    service.add_feed(GUILD_B, site.url("/feed/b.xml"), None), PATIENCE
                )
                assert [a.title for a in followed.added] == ["Valley bridge reopens"]
                assert await answers(service, GUILD_B, "When does the night ferry return?", "May")
                assert not any(h.done() for h in hanging)  # B did not wait for them
            finally:
                hang.released.set()
                await asyncio.gather(*hanging, return_exceptions=True)

        try:
            asyncio.run(asyncio.wait_for(scenario(), 60))
        finally:
            service.close()


def test_while_one_servers_feed_hangs_another_servers_poll_adds_its_new_article(tmp_path):
    hang = Hang()
    with serve({}) as site:
        publish(site, "/feed/a.xml", [("dam", "Dam inspected", "The dam was inspected.")])
        publish(site, "/feed/b.xml", [("bridge", "Valley bridge reopens", "The bridge opened.")])
        # Every feed is due again at once, so a poll reads both (A's first: it is older).
        service = open_service(tmp_path, feed_interval=datetime.timedelta(0))

        async def scenario() -> None:
            await service.add_feed(GUILD_A, site.url("/feed/a.xml"), None)
            await service.add_feed(GUILD_B, site.url("/feed/b.xml"), None)
            site.routes["/feed/a.xml"] = hang
            publish(
                site,
                "/feed/b.xml",
                [
                    ("ferry", "Night ferry returns", "The night ferry returns in May."),
                    ("bridge", "Valley bridge reopens", "The bridge opened."),
                ],
            )
            polling = asyncio.ensure_future(service.poll_feeds())
            try:
                await until(lambda: hang.serving >= 1, "A's feed is being read")
                async with asyncio.timeout(PATIENCE):
                    while not await answers(
                        service, GUILD_B, "When does the night ferry return?", "May"
                    ):
                        await asyncio.sleep(0.05)
                # B may follow another feed meanwhile, too.
                publish(site, "/feed/b2.xml", [("mill", "Mill reopens", "The old mill opened.")])
                followed = await asyncio.wait_for(
                    service.add_feed(GUILD_B, site.url("/feed/b2.xml"), None), PATIENCE
                )
                assert [a.title for a in followed.added] == ["Mill reopens"]
                assert hang.serving == 1 and not hang.released.is_set()  # A's poll still hangs
            finally:
                hang.released.set()
                results = await polling
            polled = {r.feed.url: r for r in results}
            assert [a.title for a in polled[site.url("/feed/b.xml")].added] == [
                "Night ferry returns"
            ]

        try:
            asyncio.run(asyncio.wait_for(scenario(), 60))
        finally:
            service.close()


def test_a_servers_adds_and_removals_meet_background_catch_ups_and_no_removed_article_is_quoted(
    tmp_path,
):
    """Adds at once, a removal among them, and the whole index catching up in the
    background meanwhile: every article still there is answerable at each step, and the
    removed one is never quoted once its removal is answered."""
    service = open_service(tmp_path)
    topics = ["lighthouse", "orchard", "bridge", "ferry", "market", "harbour"]

    def story(topic: str) -> bytes:
        text = f"# The {topic} story\n\nThe {topic} committee met on Monday about it.\n"
        return text.encode()

    async def quoted(topic: str) -> bool:
        return await answers(service, GUILD_A, f"What did the {topic} committee do?", topic)

    async def scenario() -> None:
        await service.add_file(GUILD_A, "first.md", story("lighthouse"))
        adds = [service.add_file(GUILD_A, f"{t}.md", story(t)) for t in topics[1:]]
        removal = service.remove(GUILD_A, "first")
        *added, removed = await asyncio.gather(*adds, removal)
        assert all(a.new for a in added) and removed.id == "first"
        for _ in range(2):  # at once, and again once every catch-up is done
            assert not await quoted("lighthouse")
            for topic in topics[1:]:
                assert await quoted(topic), topic
            await until(lambda: service._indexing.busy() == 0, "the index has caught up")

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        service.close()


def test_a_server_that_queues_too_many_links_is_refused_politely_and_others_are_not(tmp_path):
    hang = Hang()
    with serve({f"/slow/{n}": hang for n in range(40)}) as site:
        story_page(site, "/news/ferry", "Night ferry returns", "The night ferry returns in May.")
        service = open_service(tmp_path)

        async def scenario() -> None:
            hanging = []
            try:
                with pytest.raises(RequestRefused) as refused:
                    for n in range(40):
                        adding = service.add_url(GUILD_A, site.url(f"/slow/{n}"))
                        hanging.append(asyncio.ensure_future(adding))
                        await asyncio.sleep(0)  # let it reach its queue
                        if hanging[-1].done():
                            hanging.pop().result()  # the refusal
                assert "many links on the way" in str(refused.value)
                assert len(hanging) < 40  # the bound, not the number of links, stopped it
                added = await asyncio.wait_for(
                    service.add_url(GUILD_B, site.url("/news/ferry")), PATIENCE
                )
                assert added.new
            finally:
                hang.released.set()
                await asyncio.gather(*hanging, return_exceptions=True)

        try:
            asyncio.run(asyncio.wait_for(scenario(), 60))
        finally:
            service.close()
