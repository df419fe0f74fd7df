"""The "Summarise link" message command through the fake Discord: a member's link is fetched
through the guarded fetcher and summarised with its source, joins the server's articles only
when an admin presses "Add", and is rate-limited per member."""

from __future__ import annotations

import asyncio

from bot.discord.links import first_link
from bot.state.servers import collection_of
from corpus.sources.library import Library
from tests.discord_harness import running_bot
from tests.fake_discord import GUILD_ID, USER_ID, message_payload, snowflake, user_payload
from tests.test_discord import no_logged_errors, plain  # noqa: F401 - the autouse fixture
from tests.test_discord_articles import ADMIN, HOST_LOOPBACK, final_reply, news_site  # noqa: F401
from tests.test_discord_feedback import buttons, press

EPHEMERAL = 64


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 40))


def summarise_menu(content: str) -> dict:
    target = message_payload({"content": content}, author=user_payload(USER_ID + 5, "poster"))
    return {
        "id": snowflake(),
        "name": "Summarise link",
        "type": 3,
        "target_id": target["id"],
        "resolved": {"messages": {target["id"]: target}},
    }


def test_first_link_leaves_out_the_sentence_around_it():
    assert first_link("read this (https://a.example/x?y=1).") == "https://a.example/x?y=1"
    assert first_link("<https://a.example/b> and http://c.example") == "https://a.example/b"
    assert first_link("no link here, ftp://x") is None


def test_a_shared_link_is_summarised_and_added_only_by_an_admin(tmp_path, news_site):  # noqa: F811
    async def scenario():
        settings = {**HOST_LOOPBACK, "COOLDOWN_RATE": "100", "LINK_SUMMARIES_PER_MEMBER": "3"}
        async with running_bot(tmp_path, **settings) as env:
            library = Library(env.settings.data_dir)
            shown = await final_reply(env.fake, summarise_menu(f"Look at this: {news_site}."))
            assert shown["flags"] & EPHEMERAL
            embed = shown["embeds"][0]
            assert embed["title"].startswith("Summary: Volunteers repaint the Port Selwyn")
            assert embed["url"] == news_site
            assert "repainted red by forty volunteers" in plain(embed["description"])
            assert "Coast Courier" in embed["footer"]["text"]
            assert not shown.get("components")  # a member is offered no "Add"
            assert not library.articles(collection_of(GUILD_ID))

            offered = await final_reply(
                env.fake, summarise_menu(news_site), user_id=USER_ID + 9, permissions=ADMIN
            )
            add = buttons(offered)["Add to this server's articles"]
            refused = await press(env, offered, add)
            assert "Only server admins" in refused["content"]
            added = await press(env, offered, add, user_id=USER_ID + 9, permissions=ADMIN)
            assert added["content"].startswith("Added **Volunteers repaint")
            assert len(library.articles(collection_of(GUILD_ID))) == 1

            none = await final_reply(env.fake, summarise_menu("no link in here"))
            assert "has no link" in none["content"]
            await final_reply(env.fake, summarise_menu(news_site))
            await final_reply(env.fake, summarise_menu(news_site))
            limited = await final_reply(env.fake, summarise_menu(news_site))
            assert "You have summarised many links" in limited["content"]

    run(scenario())
