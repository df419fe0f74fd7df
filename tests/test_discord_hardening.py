"""Attacks on the bot's own posts and replies, through the fake Discord (issue 16): an article
that carries a phishing link, a member who mentions the bot forty times, a /source reference
that is not one."""

from __future__ import annotations

import asyncio

import pytest

from tests.discord_harness import running_bot
from tests.fake_discord import (
    BOT_ID,
    BOT_USER,
    CHANNEL_ID,
    GUILD_ID,
    NEWS_CHANNEL_ID,
    OTHER_CHANNEL_ID,
    OTHER_GUILD_CHANNEL_ID,
    OTHER_GUILD_ID,
    USER_ID,
    Channel,
    FakeDiscord,
    member_payload,
    message_payload,
    slash,
    user_payload,
)
from tests.local_site import serve
from tests.markdown_check import live_markup
from tests.test_discord import no_logged_errors  # noqa: F401 - the autouse fixture
from tests.test_discord_articles import ADMIN, HOST_LOOPBACK, final_reply, publish

PHISHING = (
    "The board said fares double, see [the minutes](https://x.example/a) and "
    "[the signed order](https://evil.example/phish) for details."
)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def markdown_of(message: dict) -> list[str]:
    """The parts of a message Discord reads as markdown (not footers or author names)."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f.get(key) or "" for f in embed.get("fields") or [] for key in ("name", "value")]
    return parts


def assert_no_foreign_links(message: dict, own: str) -> None:
    """No masked link, URL or mention in `message` but a link to the article's own address."""
    found = [
        live
        for text in markdown_of(message)
        for live in live_markup(text)
        if live.target != own or live.kind not in ("link", "url")
    ]
    assert [live for live in found if live.kind == "link"] == []  # the phishing link first
    assert found == []


@pytest.fixture
def feed_site():
    with serve({}) as site:
        publish(site, [("bridge", "Valley bridge reopens", "The old valley bridge reopened.")])
        yield site


def test_a_phishing_link_in_an_article_is_dead_in_the_public_feed_post_and_in_answers(
    tmp_path, feed_site
):
    settings = {
        **HOST_LOOPBACK,
        "COOLDOWN_RATE": "100",
        "FEED_CHECK_SECONDS": "0.1",
        "FEED_INTERVAL_MINUTES": "0.002",
    }
    posts = rf"/channels/{NEWS_CHANNEL_ID}/messages"

    async def scenario():
        async with running_bot(tmp_path, **settings) as env:
            await final_reply(
                env.fake,
                slash(
                    "feed", "add", url=feed_site.url("/feed.xml"), channel=Channel(NEWS_CHANNEL_ID)
                ),
                permissions=ADMIN,
            )
            publish(
                feed_site,
                [
                    ("fares", "Board doubles fares", PHISHING),
                    ("bridge", "Valley bridge reopens", "The old valley bridge reopened."),
                ],
            )
            story = feed_site.url("/story/fares")
            (post,) = await env.fake.wait_for(lambda: env.fake.sent("POST", posts), timeout=15)
            embed = post.body["embeds"][0]
            assert "signed order" in embed["description"]  # the sentence is in the post
            assert_no_foreign_links(post.body, story)

            answer = await final_reply(
                env.fake,
                slash("ask", question="Why did the board double fares, see the signed order?"),
            )
            description = answer["embeds"][0]["description"]
            assert "**signed order**" in description  # highlighted inside the link text
            assert_no_foreign_links(answer, story)

    run(scenario())


@pytest.mark.parametrize("number", ["²", "٣", "1" * 5000, "", "3x", "-1"])
def test_a_malformed_source_reference_gets_a_clear_message(tmp_path, number):
    async def scenario():
        async with running_bot(tmp_path) as env:
            (reply,) = await env.fake.interact(
                slash("source", paragraph=f"shared/niger-coup-2023#{number}")
            )
            content = reply.body["data"]["content"]
            assert "should look like `shared/article-id#3`" in content
            (known,) = await env.fake.interact(
                slash("source", paragraph="shared/niger-coup-2023#999999")
            )
            assert "don't know that paragraph" in known.body["data"]["content"]

    run(scenario())


def mention(question: str, *, user_id: int, channel_id: int = CHANNEL_ID, guild_id=GUILD_ID):
    """A member's message that mentions the bot, in a server's channel."""
    member = {k: v for k, v in member_payload(user_id, f"member{user_id}").items() if k != "user"}
    return message_payload(
        {"content": f"<@{BOT_ID}> {question}"},
        author=user_payload(user_id, f"member{user_id}"),
        channel_id=channel_id,
        mentions=[BOT_USER],
        guild_id=str(guild_id),
        member=member,
    )


def bot_messages(fake: FakeDiscord, channel_id: int) -> list[dict]:
    return [
        r.body for r in fake.sent("POST", rf"/channels/{channel_id}/messages$") if r.status == 200
    ]


async def answered_in(fake: FakeDiscord, channel_id: int, count: int) -> None:
    """Wait for the bot's `count`-th message in a channel. Events are handled in the order
    they arrive, so a reply to a later mention means every earlier one has been seen."""
    await fake.wait_for(
        lambda: len(bot_messages(fake, channel_id)) >= count,
        timeout=30,
        what=f"{count} message(s) in {channel_id}",
    )


QUESTION = "Where will army chiefs meet?"


def test_forty_mentions_from_one_member_get_the_budget_of_replies_and_one_notice(tmp_path):
    async def scenario():
        async with running_bot(
            tmp_path,
            COOLDOWN_RATE="100",
            MENTION_REPLIES_PER_MEMBER="4",
            MENTION_REPLY_WINDOW_SECONDS="3600",
        ) as env:
            for _ in range(40):
                await env.fake.dispatch("MESSAGE_CREATE", mention(QUESTION, user_id=USER_ID))
            # Another member in the same channel, and members elsewhere, are still answered.
            await env.fake.dispatch("MESSAGE_CREATE", mention(QUESTION, user_id=USER_ID + 1))
            await env.fake.dispatch(
                "MESSAGE_CREATE",
                mention(QUESTION, user_id=USER_ID + 2, channel_id=OTHER_CHANNEL_ID),
            )
            await env.fake.dispatch(
                "MESSAGE_CREATE",
                mention(
                    QUESTION,
                    user_id=USER_ID + 3,
                    channel_id=OTHER_GUILD_CHANNEL_ID,
                    guild_id=OTHER_GUILD_ID,
                ),
            )
            await answered_in(env.fake, OTHER_GUILD_CHANNEL_ID, 1)
            await answered_in(env.fake, OTHER_CHANNEL_ID, 1)
            await env.settled()
            sent = bot_messages(env.fake, CHANNEL_ID)
            answers = [m for m in sent if m.get("embeds")]
            notices = [m for m in sent if "mentioning me quickly" in (m.get("content") or "")]
            assert len(answers) == 4 + 1  # the member's budget, and the other member's answer
            assert len(notices) == 1 and len(sent) == 6
            assert "Ghana" in bot_messages(env.fake, OTHER_GUILD_CHANNEL_ID)[0]["embeds"][0][
                "description"
            ].replace("**", "")

    run(scenario())


def test_a_crowd_in_one_channel_gets_the_channel_budget_and_the_server_budget_holds(tmp_path):
    async def scenario():
        async with running_bot(
            tmp_path,
            COOLDOWN_RATE="100",
            MENTION_REPLIES_PER_CHANNEL="3",
            MENTION_REPLIES_PER_SERVER="6",
            MENTION_REPLY_WINDOW_SECONDS="3600",
        ) as env:
            for n in range(10):  # ten members, one mention each
                await env.fake.dispatch("MESSAGE_CREATE", mention(QUESTION, user_id=USER_ID + n))
            # Same server, another channel: its own budget, within the server's.
            await env.fake.dispatch(
                "MESSAGE_CREATE", mention(QUESTION, user_id=USER_ID, channel_id=OTHER_CHANNEL_ID)
            )
            await answered_in(env.fake, OTHER_CHANNEL_ID, 1)
            await env.settled()
            in_channel = bot_messages(env.fake, CHANNEL_ID)
            assert len([m for m in in_channel if m.get("embeds")]) == 3
            (notice,) = [m for m in in_channel if not m.get("embeds")]
            assert "in this channel just now" in notice["content"]
            # Server: 3 answers + the channel's notice + 1 answer spent; one reply left, then
            # the server's notice once, then quiet.
            for n in range(4):
                await env.fake.dispatch(
                    "MESSAGE_CREATE",
                    mention(QUESTION, user_id=USER_ID + 20 + n, channel_id=OTHER_CHANNEL_ID),
                )
            await env.fake.dispatch(
                "MESSAGE_CREATE",
                mention(
                    QUESTION,
                    user_id=USER_ID + 30,
                    channel_id=OTHER_GUILD_CHANNEL_ID,
                    guild_id=OTHER_GUILD_ID,
                ),
            )
            await answered_in(env.fake, OTHER_GUILD_CHANNEL_ID, 1)
            await env.settled()
            elsewhere = bot_messages(env.fake, OTHER_CHANNEL_ID)
            assert len([m for m in elsewhere if m.get("embeds")]) == 2
            (notice,) = [m for m in elsewhere if not m.get("embeds")]
            assert "in this server just now" in notice["content"]
            assert bot_messages(env.fake, OTHER_GUILD_CHANNEL_ID)[0]["embeds"]

    run(scenario())


def test_a_feed_that_brings_many_items_gets_the_servers_post_budget_and_one_notice(
    tmp_path, feed_site
):
    settings = {
        **HOST_LOOPBACK,
        "COOLDOWN_RATE": "100",
        "FEED_CHECK_SECONDS": "0.1",
        "FEED_INTERVAL_MINUTES": "0.002",
        "FEED_POSTS_PER_HOUR": "2",
    }
    posts = rf"/channels/{NEWS_CHANNEL_ID}/messages"
    stories = [
        (f"s{n}", f"Harbour notice {n}", f"The harbour posted notice {n}.") for n in range(6)
    ]

    async def scenario():
        async with running_bot(tmp_path, **settings) as env:
            await final_reply(
                env.fake,
                slash(
                    "feed", "add", url=feed_site.url("/feed.xml"), channel=Channel(NEWS_CHANNEL_ID)
                ),
                permissions=ADMIN,
            )
            publish(feed_site, [*stories, ("bridge", "Valley bridge reopens", "It reopened.")])
            await env.fake.wait_for(lambda: len(env.fake.sent("POST", posts)) >= 3, timeout=20)
            # Every new item has been taken off the queue: none is posted later.
            service = env.bot.get_cog("Feeds").service
            for _ in range(200):
                if not await service.unposted():
                    break
                await asyncio.sleep(0.05)
            assert not await service.unposted()
            sent = [r.body for r in env.fake.sent("POST", posts)]
            assert len([m for m in sent if m.get("embeds")]) == 2
            (notice,) = [m for m in sent if not m.get("embeds")]
            assert "than I post in an hour" in notice["content"]
            assert notice["allowed_mentions"] == {"parse": []}
            # All six are articles of the server all the same.
            answer = await final_reply(
                env.fake, slash("ask", question="Which notice did the harbour post, notice 5?")
            )
            assert "notice 5" in answer["embeds"][0]["description"].replace("**", "")

    run(scenario())
