"""A server's own articles through the fake Discord: admins add links and attachments, members
ask about them, another server never sees them, channels are pinned, adds are rate-limited."""

from __future__ import annotations

import asyncio
import http.server
import time

import pytest

from bot.discord.service import CorpusService, Scope, collection_of
from bot.state import BotState
from corpus.sources.library import Library
from tests.conftest import LOOPBACK, LOOPBACK_NETWORKS, make_seeds
from tests.discord_harness import eventually, running_bot
from tests.fake_discord import (
    BOT_USER,
    CHANNEL_ID,
    GUILD_ID,
    NEWS_CHANNEL_ID,
    OTHER_GUILD_CHANNEL_ID,
    OTHER_GUILD_ID,
    Channel,
    FakeDiscord,
    message_payload,
    slash,
)
from tests.local_site import Site, answer, publish_feed, serve
from tests.test_discord import no_logged_errors, plain  # noqa: F401 - the autouse fixture

# The fake Discord's server is the host's own, whose adds may reach the local web servers.
HOST_LOOPBACK = {"FETCH_PRIVATE_NETWORKS": LOOPBACK, "HOST_GUILD_ID": str(GUILD_ID)}

ADMIN = 0x400 | 0x800 | 0x80000000 | 0x8  # view, send, use commands, administrator

LIGHTHOUSE = """<!doctype html>
<html><head>
<title>Volunteers repaint the Port Selwyn lighthouse | Coast Courier</title>
<meta property="og:site_name" content="Coast Courier">
<meta property="article:published_time" content="2026-10-14T09:00:00Z">
<link rel="canonical" href="https://coast.example/news/lighthouse">
</head><body>
<nav><a href="/">Home</a> | <a href="/sport">Sport</a> | Sign in</nav>
<div class="cookie">We use cookies to improve your experience. Accept all cookies?</div>
<article>
<h1>Volunteers repaint the Port Selwyn lighthouse</h1>
<p>The lighthouse at Port Selwyn was repainted red by forty volunteers in early October.</p>
<p>The work took eleven days and used nine hundred litres of marine paint, the harbour
trust said on Tuesday.</p>
<p>Maria Okafor, who chairs the trust, said the tower had not been painted since 1998.</p>
<p>The lamp itself was replaced with an LED unit last year and can be seen for twenty
nautical miles.</p>
</article>
<section class="comments"><p>Great news, well done everyone!</p></section>
<footer>Copyright 2026 Coast Courier.</footer>
</body></html>
"""

ORCHARD = """# The orchard that came back

Farmers in the Tamsin valley replanted four thousand apple trees after the 2024 floods.

The valley's cooperative says the first full harvest is expected in the autumn of 2028.

Jonas Weller, a grower for thirty years, said the new trees were a hardier variety.
"""


HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture(scope="module")
def news_site():
    with serve({"/news/lighthouse": (200, HTML, LIGHTHOUSE.encode())}) as site:
        yield site.url("/news/lighthouse")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def final_reply(fake: FakeDiscord, data: dict, **fields) -> dict:
    """The message the bot ends with: its direct response, or the follow-up after a deferral."""
    (callback,) = await fake.interact(data, **fields)
    if callback.body["type"] == 4:
        return callback.body["data"]
    token = callback.path.split("/")[3]
    followups = rf"/webhooks/\d+/{token}"
    await fake.wait_for(lambda: fake.sent("POST", followups), timeout=15, what="follow-up")
    return fake.sent("POST", followups)[-1].body


def quoted(reply: dict) -> str:
    embeds = reply.get("embeds") or []
    return plain(embeds[0].get("description") or "") if embeds else ""


def test_a_server_adds_a_link_and_a_file_and_only_its_members_get_quotes_from_them(
    tmp_path, news_site
):
    async def scenario():
        async with running_bot(tmp_path, **HOST_LOOPBACK, COOLDOWN_RATE="100") as env:
            added = await final_reply(
                env.fake, slash("article", "add", url=news_site), permissions=ADMIN
            )
            assert added["content"].startswith("Added **Volunteers repaint the Port Selwyn")
            assert "paragraphs" in added["content"] and "sentences" in added["content"]
            assert "Coast Courier" in added["content"]

            attached = env.fake.attachment("orchard.md", ORCHARD.encode(), "text/markdown")
            added = await final_reply(
                env.fake, slash("article", "add", file=attached), permissions=ADMIN
            )
            assert added["content"].startswith("Added **The orchard that came back**")

            # A member of the same server: quotes, with a link back to the page.
            answer = await final_reply(
                env.fake, slash("ask", question="Who repainted the Port Selwyn lighthouse?")
            )
            assert "repainted red by forty volunteers" in quoted(answer)
            sources = answer["embeds"][0]["fields"][0]["value"]
            assert f"]({news_site})" in sources and "Coast Courier" in sources
            assert "2026-10-14" in sources
            assert "cookies" not in quoted(answer)
            answer = await final_reply(
                env.fake, slash("ask", question="How many apple trees did the farmers replant?")
            )
            assert "four thousand apple trees" in quoted(answer)

            # The other server asks the same: nothing of server A's articles.
            for question in (
                "Who repainted the Port Selwyn lighthouse?",
                "How many apple trees did the farmers replant?",
            ):
                elsewhere = await final_reply(
                    env.fake,
                    slash("ask", question=question),
                    guild_id=OTHER_GUILD_ID,
                    channel_id=OTHER_GUILD_CHANNEL_ID,
                )
                text = quoted(elsewhere) + str(elsewhere["embeds"][0].get("fields"))
                assert "lighthouse" not in text.casefold() and "apple" not in text.casefold()
            listing = await final_reply(
                env.fake,
                slash("articles"),
                guild_id=OTHER_GUILD_ID,
                channel_id=OTHER_GUILD_CHANNEL_ID,
            )
            assert "No articles yet" in listing["embeds"][0]["description"]

            # Server A's list: both, with the link and the date.
            listing = await final_reply(env.fake, slash("articles"))
            description = listing["embeds"][0]["description"]
            assert f"({news_site})" in description and "2026-10-14" in description
            assert "The orchard that came back" in description
            assert listing["embeds"][0]["footer"]["text"] == "Page 1 of 1 · 2 article(s)"

    run(scenario())


def test_members_who_are_not_admins_cannot_add_or_remove(tmp_path, news_site):
    async def scenario():
        async with running_bot(tmp_path, **HOST_LOOPBACK, COOLDOWN_RATE="100") as env:
            for data in (
                slash("article", "add", url=news_site),
                slash("article", "remove", article="lighthouse"),
                slash("article", "pin", target="shared"),
            ):
                refused = await final_reply(env.fake, data)
                assert "Only server admins" in refused["content"]
            listing = await final_reply(env.fake, slash("articles"))
            assert "No articles yet" in listing["embeds"][0]["description"]

    run(scenario())


def test_what_cannot_be_added_is_refused_with_the_reason(tmp_path, news_site):
    async def scenario():
        async with running_bot(tmp_path, ARTICLE_ADDS_PER_HOUR="2", COOLDOWN_RATE="100") as env:
            # Local addresses are not allowed here (FETCH_PRIVATE_NETWORKS is empty).
            refused = await final_reply(
                env.fake, slash("article", "add", url=news_site), permissions=ADMIN
            )
            assert "private" in refused["content"] or "local" in refused["content"]
            picture = env.fake.attachment("photo.png", b"\x89PNG....", "image/png")
            refused = await final_reply(
                env.fake, slash("article", "add", file=picture), permissions=ADMIN
            )
            assert "photo.png" in refused["content"] and ".pdf" in refused["content"]
            neither = await final_reply(env.fake, slash("article", "add"), permissions=ADMIN)
            assert "one of the two" in neither["content"]
            empty = env.fake.attachment("empty.txt", b"   ", "text/plain")
            refused = await final_reply(
                env.fake, slash("article", "add", file=empty), permissions=ADMIN
            )
            assert refused["content"].startswith("Not added")
            # Two adds were tried within the hour (the PNG and the empty command were refused
            # before that count): the third is refused before anything is fetched.
            again = await final_reply(
                env.fake, slash("article", "add", url=news_site), permissions=ADMIN
            )
            assert "try again in" in again["content"]

    run(scenario())


def test_a_pinned_channel_answers_from_its_article_only_and_removal_forgets_it(tmp_path, news_site):
    async def scenario():
        async with running_bot(tmp_path, **HOST_LOOPBACK, COOLDOWN_RATE="100") as env:
            await final_reply(env.fake, slash("article", "add", url=news_site), permissions=ADMIN)
            attached = env.fake.attachment("orchard.md", ORCHARD.encode(), "text/markdown")
            await final_reply(env.fake, slash("article", "add", file=attached), permissions=ADMIN)
            question = "How many apple trees did the farmers replant?"

            pinned = await final_reply(
                env.fake,
                slash("article", "pin", target="server/lighthouse"),
                permissions=ADMIN,
                channel_id=NEWS_CHANNEL_ID,
            )
            assert "the article `lighthouse` only" in pinned["content"]
            in_news = await final_reply(
                env.fake, slash("ask", question=question), channel_id=NEWS_CHANNEL_ID
            )
            assert "apple" not in quoted(in_news)
            elsewhere = await final_reply(env.fake, slash("ask", question=question))
            assert "four thousand apple trees" in quoted(elsewhere)
            unpinned = await final_reply(
                env.fake, slash("article", "unpin"), permissions=ADMIN, channel_id=NEWS_CHANNEL_ID
            )
            assert "all the articles again" in unpinned["content"]
            in_news = await final_reply(
                env.fake, slash("ask", question=question), channel_id=NEWS_CHANNEL_ID
            )
            assert "four thousand apple trees" in quoted(in_news)

            removed = await final_reply(
                env.fake, slash("article", "remove", article="orchard"), permissions=ADMIN
            )
            assert removed["content"] == "Removed **The orchard that came back** (`orchard`)."
            gone = await final_reply(env.fake, slash("ask", question=question))
            assert "apple" not in quoted(gone)

    run(scenario())


def test_pins_survive_a_restart(tmp_path, news_site):
    async def scenario(first: bool):
        async with running_bot(tmp_path, **HOST_LOOPBACK, COOLDOWN_RATE="100") as env:
            if first:
                await final_reply(
                    env.fake, slash("article", "add", url=news_site), permissions=ADMIN
                )
                await final_reply(
                    env.fake,
                    slash("article", "pin", target="shared"),
                    permissions=ADMIN,
                    channel_id=CHANNEL_ID,
                )
            answer = await final_reply(
                env.fake, slash("ask", question="Who repainted the Port Selwyn lighthouse?")
            )
            assert "forty volunteers" not in quoted(answer)  # pinned to the shared set

    run(scenario(True))
    run(scenario(False))


def publish(site: Site, items: list[tuple[str, str, str]]) -> None:
    """An RSS feed at /feed.xml of these items (slug, title, first paragraph; newest first),
    each linking to its story on the same site."""
    publish_feed(site, "/feed.xml", items)


@pytest.fixture
def feed_site():
    with serve({}) as site:
        publish(site, [("bridge", "Valley bridge reopens", "The old valley bridge reopened.")])
        yield site


def test_a_feed_item_is_posted_once_in_its_channel_and_not_again_after_a_restart(
    tmp_path, feed_site
):
    settings = {
        **HOST_LOOPBACK,
        "COOLDOWN_RATE": "100",
        "FEED_CHECK_SECONDS": "0.1",
        "FEED_INTERVAL_MINUTES": "0.002",  # each feed is read again after 0.12 s
    }
    posts = r"/channels/\d+/messages"

    async def first_run():
        async with running_bot(tmp_path, **settings) as env:
            # A question the feed's backlog answers: in the gap queue until the feed is followed.
            state = BotState(env.settings.data_dir)
            await final_reply(env.fake, slash("ask", question="Which valley bridge reopened?"))
            (bridge,) = await eventually(lambda: state.gaps(GUILD_ID), "the bridge gap")
            followed = await final_reply(
                env.fake,
                slash(
                    "feed", "add", url=feed_site.url("/feed.xml"), channel=Channel(NEWS_CHANNEL_ID)
                ),
                permissions=ADMIN,
            )
            assert followed["content"].startswith("Following **Valley Times**")
            assert "1 recent article(s) added" in followed["content"]
            told = await env.fake.wait_for(
                lambda: [
                    r
                    for r in env.fake.sent("POST", r"/webhooks/\d+/[\w-]+")
                    if "gap queue" in (r.body.get("content") or "")
                ],
                what="the admin told the bridge question is answered",
            )
            assert "Which valley bridge reopened?" in told[0].body["content"]
            assert bridge.number not in [g.number for g in state.gaps(GUILD_ID)]
            # Not answered yet: in the gap queue, until the feed brings an article that does.
            await final_reply(
                env.fake, slash("ask", question="When does the night ferry to Orla return?")
            )
            await eventually(lambda: state.gaps(GUILD_ID), "the gap")
            # The backlog is added, not posted; a new item is posted once, in #news.
            publish(
                feed_site,
                [
                    ("ferry", "Night ferry returns", "The night ferry to Orla returns in May."),
                    ("bridge", "Valley bridge reopens", "The old valley bridge reopened."),
                ],
            )
            await env.fake.wait_for(lambda: env.fake.sent("POST", posts), timeout=10)
            await asyncio.sleep(0.5)  # several more rounds of polling
            (post,) = env.fake.sent("POST", posts)
            assert post.path == f"/channels/{NEWS_CHANNEL_ID}/messages"
            embed = post.body["embeds"][0]
            assert embed["title"] == "Night ferry returns"
            assert embed["url"].endswith("/story/ferry")
            assert "The night ferry to Orla returns in May." in embed["description"]
            assert post.body["allowed_mentions"] == {"parse": []}
            await eventually(lambda: not state.gaps(GUILD_ID), "the gap answered by the feed")
            # Both items are articles of this server now.
            answer = await final_reply(
                env.fake, slash("ask", question="When does the night ferry to Orla return?")
            )
            assert "returns in May" in quoted(answer)
            listing = await final_reply(env.fake, slash("feeds"))
            assert "Valley Times" in listing["content"] and "2 article(s)" in listing["content"]
            elsewhere = await final_reply(
                env.fake,
                slash("feeds"),
                guild_id=OTHER_GUILD_ID,
                channel_id=OTHER_GUILD_CHANNEL_ID,
            )
            assert "follows no feeds" in elsewhere["content"]

    async def after_restart():
        async with running_bot(tmp_path, **settings) as env:
            await asyncio.sleep(0.8)  # the poller runs several rounds
            assert not env.fake.sent("POST", posts)
            answer = await final_reply(
                env.fake, slash("ask", question="When does the night ferry to Orla return?")
            )
            assert "returns in May" in quoted(answer)

    run(first_run())
    run(after_restart())


def test_the_article_list_pages_with_previous_and_next(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, COOLDOWN_RATE="100") as env:
            for n in range(12):
                story = f"# Harbour notice {n}\n\nThe harbour office posted notice {n} today.\n"
                attached = env.fake.attachment(f"notice-{n}.md", story.encode(), "text/markdown")
                await final_reply(
                    env.fake, slash("article", "add", file=attached), permissions=ADMIN
                )
            listing = await final_reply(env.fake, slash("articles"))
            assert listing["embeds"][0]["footer"]["text"] == "Page 1 of 2 · 12 article(s)"
            previous, following = listing["components"][0]["components"]
            assert previous["disabled"] and not following.get("disabled")
            original = message_payload(listing, author=BOT_USER)
            (turned,) = await env.fake.interact(
                {"custom_id": following["custom_id"], "component_type": 2},
                kind=3,
                message=original,
            )
            assert turned.body["type"] == 7  # the same message, updated
            page = turned.body["data"]["embeds"][0]
            assert page["footer"]["text"] == "Page 2 of 2 · 12 article(s)"
            assert page["description"].count("added ") == 2  # the two oldest
            # The other server pressing the same button sees its own (empty) list.
            (elsewhere,) = await env.fake.interact(
                {"custom_id": following["custom_id"], "component_type": 2},
                kind=3,
                message=original,
                guild_id=OTHER_GUILD_ID,
                channel_id=OTHER_GUILD_CHANNEL_ID,
            )
            assert "No articles yet" in elsewhere.body["data"]["embeds"][0]["description"]

    run(scenario())


def slow_page(handler: http.server.BaseHTTPRequestHandler) -> None:
    time.sleep(2.0)  # a slow news site
    answer(handler, 200, HTML, LIGHTHOUSE.encode())


def test_a_slow_fetch_in_one_server_holds_up_no_other_server(tmp_path):
    """While server A's admin adds a link from a slow site, a member of server B (whose index
    is not open yet, as after a restart) is answered at once, and B's list comes at once."""
    library = Library(tmp_path / "data")
    library.add(collection_of(OTHER_GUILD_ID), ORCHARD.encode(), ".md", wanted_id="orchard")
    service = CorpusService.open(
        make_seeds(tmp_path / "seeds", {"a": "The shared article is about owls."}),
        cache_dir=tmp_path / "cache",
        max_question_chars=500,
        library=library,
        private_networks=lambda guild: LOOPBACK_NETWORKS,
    )

    async def scenario(url: str) -> None:
        adding = asyncio.ensure_future(service.add_url(GUILD_ID, url))
        await asyncio.sleep(0.2)  # the fetch is under way
        started = time.perf_counter()
        answer = await service.ask(
            "How many apple trees did the farmers replant?", scope=Scope(OTHER_GUILD_ID)
        )
        listed = await service.articles(OTHER_GUILD_ID)
        waited = time.perf_counter() - started
        assert "four thousand apple trees" in answer.answer.quotes[0].text
        assert [a.id for a in listed] == ["orchard"]
        assert not adding.done() and waited < 1.5, waited
        added = await adding
        assert added.new and added.article.id == "lighthouse"

    try:
        with serve({"/news/lighthouse": slow_page}) as site:
            asyncio.run(asyncio.wait_for(scenario(site.url("/news/lighthouse")), 30))
    finally:
        service.close()
