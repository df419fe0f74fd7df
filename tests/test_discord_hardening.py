"""Attacks on the bot's own posts and replies, through the fake Discord (issue 16): an article
that carries a phishing link, a member who mentions the bot forty times, a /source reference
that is not one."""

from __future__ import annotations

import asyncio

import pytest

from tests.discord_harness import running_bot
from tests.fake_discord import (
    NEWS_CHANNEL_ID,
    Channel,
    slash,
)
from tests.local_site import serve
from tests.markdown_check import live_markup
from tests.test_discord import no_logged_errors  # noqa: F401 - the autouse fixture
from tests.test_discord_articles import ADMIN, final_reply, publish

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
        "FETCH_ALLOW_PRIVATE": "true",
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
