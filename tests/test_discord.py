"""The Discord bot end to end: the real discord.py client against the fake Discord.

No function of ours is mocked: every test starts the bot, which logs in over REST, connects to
the gateway and syncs its commands; the test then acts as Discord users and reads what the bot
sent back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import sys

import pytest

from bot.state import BotState
from corpus.sources.library import Library
from tests.conftest import PROJECT
from tests.discord_harness import TOKEN, ErrorLogCatcher, running_bot
from tests.fake_discord import (
    ADMIN_ROLE_ID,
    BOT_ID,
    BOT_USER,
    CHANNEL_ID,
    GUILD_ID,
    MOD_LOG_CHANNEL_ID,
    OTHER_CHANNEL_ID,
    OTHER_GUILD_CHANNEL_ID,
    OTHER_GUILD_ID,
    REJECTED_TOKEN,
    USER_ID,
    FakeDiscord,
    guild_payload,
    interaction_payload,
    member_payload,
    message_payload,
    slash,
    snowflake,
    user_payload,
)

EPHEMERAL = 64
NO_PINGS = {"parse": []}


@pytest.fixture(autouse=True)
def no_logged_errors():
    catcher = ErrorLogCatcher()
    loggers = [logging.getLogger("discord"), logging.getLogger("bot")]
    for logger in loggers:
        logger.addHandler(catcher)
    yield catcher
    for logger in loggers:
        logger.removeHandler(catcher)
    assert not catcher.records, [r.getMessage() for r in catcher.records]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def plain(text: str) -> str:
    """Embed text without the bold that marks matched words."""
    return text.replace("**", "")


async def assert_it_answers(fake: FakeDiscord, **fields) -> None:
    """Ask a question the article answers (Ghana), and check the answer came back."""
    (callback,) = await fake.interact(
        slash("ask", question="Where will army chiefs meet?"), **fields
    )
    assert "Ghana" in plain(callback.body["data"]["embeds"][0]["description"])


def message_data(request):
    """The message a response carries: interaction callbacks wrap it in `data`."""
    return request.body["data"] if "/callback" in request.path else request.body


def assert_no_pings(fake: FakeDiscord) -> None:
    sent = [
        r
        for r in fake.requests
        if r.method in ("POST", "PATCH")
        and re.search(r"/callback$|/webhooks/|/channels/\d+/messages$", r.path)
        and (r.body or {}).get("type", 4) in (4, 7)
    ]
    assert sent, "the bot sent nothing"
    for request in sent:
        assert message_data(request)["allowed_mentions"]["parse"] == [], request


def user_message(content: str, *, author=None, channel_id=CHANNEL_ID, mentions=None, **extra):
    author = author or user_payload(USER_ID, "asker")
    return message_payload(
        {"content": content},
        author=author,
        channel_id=channel_id,
        mentions=[BOT_USER] if mentions is None else mentions,
        guild_id=str(GUILD_ID),
        member={k: v for k, v in member_payload(USER_ID, "asker").items() if k != "user"},
        **extra,
    )


def ask_menu(target: dict) -> dict:
    """The "Ask the article" message command, used on `target`."""
    return {
        "id": snowflake(),
        "name": "Ask the article",
        "type": 3,
        "target_id": target["id"],
        "resolved": {"messages": {target["id"]: target}},
    }


async def replies(fake: FakeDiscord, channel_id: int = CHANNEL_ID, count: int = 1):
    path = rf"/channels/{channel_id}/messages"
    return await fake.wait_for(
        lambda: (
            [r for r in fake.sent("POST", path) if r.status == 200][:count]
            if len([r for r in fake.sent("POST", path) if r.status == 200]) >= count
            else None
        ),
        what=f"{count} message(s) in {channel_id}",
    )


# Start-up


def test_start_up_syncs_every_command_with_its_help(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            commands = {c["name"]: c for c in env.fake.registered_commands}
            assert set(commands) == {
                "ask",
                "summary",
                "source",
                "about",
                "help",
                "reload",
                "Ask the article",
                "article",
                "articles",
                "feed",
                "feeds",
                "feedback",
                "gaps",
                "forget-me",
                "privacy",
                "forum",
                "Summarise link",
            }
            assert env.fake.sent("PUT", r"/applications/\d+/commands")  # global sync
            ask = {o["name"]: o for o in commands["ask"]["options"]}
            assert commands["ask"]["description"].startswith("Answer a question")
            assert ask["question"]["required"] and ask["question"]["max_length"] == 4000
            assert ask["public"]["description"].startswith("Show the answer to everyone")
            summary = {o["name"]: o for o in commands["summary"]["options"]}
            assert [c["value"] for c in summary["length"]["choices"]] == ["short", "medium", "long"]
            assert commands["source"]["options"][0]["autocomplete"] is True
            assert int(commands["reload"]["default_member_permissions"]) == 1 << 5
            assert commands["Ask the article"]["type"] == 3
            article = {o["name"]: o for o in commands["article"]["options"]}
            assert set(article) == {"add", "remove", "pin", "unpin"}
            assert {o["name"]: o["type"] for o in article["add"]["options"]} == {
                "url": 3,
                "file": 11,
            }
            assert int(commands["article"]["default_member_permissions"]) == 1 << 5
            for moderators in ("feedback", "gaps", "forum"):
                assert int(commands[moderators]["default_member_permissions"]) == 1 << 5
            assert commands["forget-me"]["default_member_permissions"] is None  # everyone's
            assert commands["Summarise link"]["type"] == 3
            forum = {o["name"]: o for o in commands["forum"]["options"]}
            assert set(forum["answer"]["options"][0]["channel_types"]) <= {15, 16}  # forums
            identify = next(p for p in env.fake.gateway_log if p["op"] == 2)
            assert identify["d"]["token"] == TOKEN
            assert identify["d"]["intents"] & (1 << 15) == 0  # no message-content intent

    run(scenario())


def test_dev_guild_gets_instant_guild_sync(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, DEV_GUILD_ID=str(GUILD_ID)) as env:
            assert env.fake.sent("PUT", rf"/applications/\d+/guilds/{GUILD_ID}/commands")

    run(scenario())


# Slash commands


def test_ask_answers_with_quotes_citations_and_a_context_button(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            (callback,) = await env.fake.interact(
                slash("ask", question="Who is the head of the Wagner Group?")
            )
            assert callback.body["type"] == 4
            data = callback.body["data"]
            assert data["flags"] & EPHEMERAL
            embed = data["embeds"][0]
            assert "Yevgeny Prigozhin, head of Wagner Group" in plain(embed["description"])
            assert "**head** of **Wagner Group**" in embed["description"]
            assert "matches group, head, wagner" in embed["fields"][1]["value"]
            assert "¶ 11 (`niger-coup-2023`) · sentence 1" in embed["fields"][0]["value"]
            assert "niger-coup-2023" in embed["fields"][0]["value"]
            button = data["components"][0]["components"][0]
            assert button["label"] == "Show context"
            assert_no_pings(env.fake)

    run(scenario())


def test_public_ask_is_visible_to_everyone(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            (callback,) = await env.fake.interact(
                slash("ask", question="Where will the army chiefs meet?", public=True)
            )
            assert not callback.body["data"].get("flags", 0) & EPHEMERAL
            assert "Ghana" in plain(callback.body["data"]["embeds"][0]["description"])

    run(scenario())


def test_ask_when_the_article_does_not_say(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            (callback,) = await env.fake.interact(
                slash("ask", question="What is the capital of Australia?")
            )
            embed = callback.body["data"]["embeds"][0]
            assert "do not seem to answer" in embed["description"]
            assert "/summary" in embed["description"]
            # No context to show, nor quotes to pick from: only the votes.
            (row,) = callback.body["data"]["components"]
            assert [b.get("emoji", {}).get("name") for b in row["components"]] == ["👍", "👎"]

    run(scenario())


def test_user_markdown_and_mentions_are_made_inert(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            pings = "@everyone <@&400000000000000009> <@500000000000000009>"
            question = f"**Who** heads the Wagner Group? {pings}"
            (callback,) = await env.fake.interact(slash("ask", question=question))
            title = callback.body["data"]["embeds"][0]["title"]
            # Mentions and emphasis are chat markup, not part of the question: gone.
            assert title == "Who heads the Wagner Group?"
            assert "@everyone" not in title
            assert "<@&4000" not in title and "<@5000" not in title
            assert_no_pings(env.fake)

    run(scenario())


def test_summary_with_length_and_topic(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            (short,) = await env.fake.interact(slash("summary", length="medium"))
            embed = short.body["data"]["embeds"][0]
            assert embed["title"] == "Summary (medium)"
            assert embed["description"].count("**[") == 5
            (topic,) = await env.fake.interact(slash("summary", topic="Wagner Group"))
            assert "Wagner" in plain(topic.body["data"]["embeds"][0]["description"])
            (nothing,) = await env.fake.interact(slash("summary", topic="Japanese cars"))
            assert "say nothing specific" in plain(nothing.body["data"]["embeds"][0]["description"])

    run(scenario())


def test_corpus_errors_become_a_short_ephemeral_message(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            (callback,) = await env.fake.interact(slash("summary", topic="what about it"))
            data = callback.body["data"]
            assert data["flags"] & EPHEMERAL
            assert "only common words" in data["content"]

    run(scenario())


def test_source_autocompletes_paragraphs_and_shows_one_with_neighbours(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            data = slash("source", paragraph="Wagner")
            data["options"][0]["focused"] = True
            (choices,) = await env.fake.interact(data, kind=4)
            assert choices.body["type"] == 8
            offered = choices.body["data"]["choices"]
            assert [c["value"] for c in offered] == [
                "shared/niger-coup-2023#9",
                "shared/niger-coup-2023#11",
            ]
            assert all(len(c["name"]) <= 100 for c in offered)
            value = offered[0]["value"]
            (shown,) = await env.fake.interact(slash("source", paragraph=value))
            embed = shown.body["data"]["embeds"][0]
            number = int(value.split("#")[1])
            assert f"**¶{number}**" in embed["description"]
            assert (
                f"¶{number - 1}" in embed["description"]
                and f"¶{number + 1}" in embed["description"]
            )
            (unknown,) = await env.fake.interact(slash("source", paragraph="nope#99"))
            assert "don't know that paragraph" in unknown.body["data"]["content"]

    run(scenario())


def test_about_and_help(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            (about,) = await env.fake.interact(slash("about"))
            embed = about.body["data"]["embeds"][0]
            assert "1 article(s), 26 sentences" in embed["description"]
            assert "<t:" in embed["description"]
            assert "niger-coup-2023" in embed["fields"][0]["value"]
            (help_,) = await env.fake.interact(slash("help"))
            assert "/ask" in plain(help_.body["data"]["embeds"][0]["description"])

    run(scenario())


def test_reload_by_an_admin_role_of_the_hosts_server_picks_up_new_seeds(tmp_path):
    async def scenario():
        async with running_bot(
            tmp_path, ADMIN_ROLE_IDS=str(ADMIN_ROLE_ID), HOST_GUILD_ID=str(GUILD_ID)
        ) as env:
            (env.seeds / "extra.txt").write_text("Zebras graze on the savanna at dawn.\n")
            responses = await env.fake.interact(slash("reload"), roles=[ADMIN_ROLE_ID])
            await env.fake.wait_for(
                lambda: len(env.fake.responses_to(responses[0].path.split("/")[3])) >= 2,
                what="reload follow-up",
            )
            token = responses[0].path.split("/")[3]
            defer, done = env.fake.responses_to(token)[:2]
            assert defer.body["type"] == 5
            assert "Reloaded: 2 article(s)" in done.body["content"]
            (answer,) = await env.fake.interact(slash("ask", question="What do zebras graze on?"))
            assert "Zebras graze" in plain(answer.body["data"]["embeds"][0]["description"])

    run(scenario())


def test_a_show_context_button_from_before_a_reload_says_the_articles_changed(tmp_path):
    async def scenario():
        async with running_bot(
            tmp_path, ADMIN_ROLE_IDS=str(ADMIN_ROLE_ID), HOST_GUILD_ID=str(GUILD_ID)
        ) as env:
            (asked,) = await env.fake.interact(
                slash("ask", question="Who is the head of the Wagner Group?")
            )
            answer = asked.body["data"]
            custom_id = answer["components"][0]["components"][0]["custom_id"]
            # A new article sorts first, so every old position now means another sentence.
            (env.seeds / "aardvark.txt").write_text("Aardvarks dig burrows at night.\n")
            responses = await env.fake.interact(slash("reload"), roles=[ADMIN_ROLE_ID])
            token = responses[0].path.split("/")[3]
            await env.fake.wait_for(
                lambda: len(env.fake.responses_to(token)) >= 2, what="reload follow-up"
            )
            (context,) = await env.fake.interact(
                {"custom_id": custom_id, "component_type": 2},
                kind=3,
                message=message_payload(answer, author=BOT_USER),
            )
            data = context.body["data"]
            assert "articles have changed" in data["content"] and "embeds" not in data

    run(scenario())


def test_reload_is_refused_to_non_admins_and_to_other_servers_admins(tmp_path):
    async def scenario():
        async with running_bot(
            tmp_path, ADMIN_ROLE_IDS=str(ADMIN_ROLE_ID), HOST_GUILD_ID=str(GUILD_ID)
        ) as env:
            (callback,) = await env.fake.interact(slash("reload"))
            assert "Only the bot's host" in callback.body["data"]["content"]
            assert callback.body["data"]["flags"] & EPHEMERAL
            (elsewhere,) = await env.fake.interact(
                slash("reload"),
                permissions=0x8 | 0x400 | 0x800,
                guild_id=OTHER_GUILD_ID,
                channel_id=OTHER_GUILD_CHANNEL_ID,
            )
            assert "Only the bot's host" in elsewhere.body["data"]["content"]

    run(scenario())


def test_failed_reload_keeps_the_old_index(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, HOST_GUILD_ID=str(GUILD_ID)) as env:
            for seed in env.seeds.iterdir():
                seed.unlink()
            admin = 0x8 | 0x400 | 0x800
            token_of = await env.fake.interact(slash("reload"), permissions=admin)
            token = token_of[0].path.split("/")[3]
            await env.fake.wait_for(lambda: len(env.fake.responses_to(token)) >= 2, what="error")
            assert "No articles to answer from" in env.fake.responses_to(token)[1].body["content"]
            await assert_it_answers(env.fake)

    run(scenario())


# The button and the context menu


def test_show_context_button_shows_the_paragraph_with_the_quote_in_bold(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            (callback,) = await env.fake.interact(
                slash("ask", question="Who is the head of the Wagner Group?")
            )
            answer = callback.body["data"]
            custom_id = answer["components"][0]["components"][0]["custom_id"]
            original = message_payload(answer, author=BOT_USER)
            (context,) = await env.fake.interact(
                {"custom_id": custom_id, "component_type": 2}, kind=3, message=original
            )
            data = context.body["data"]
            assert data["flags"] & EPHEMERAL
            description = data["embeds"][0]["description"]
            assert "**While Putin has called for a return to constitutional order" in description

    run(scenario())


def test_context_menu_asks_the_selected_message(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            target = user_message("Where will the West African army chiefs meet?", mentions=[])
            (callback,) = await env.fake.interact(ask_menu(target))
            assert "set to meet in Ghana" in plain(
                callback.body["data"]["embeds"][0]["description"]
            )

    run(scenario())


# Mentions


def test_mention_gets_a_reply_without_pinging_anyone(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            await env.fake.dispatch(
                "MESSAGE_CREATE", user_message(f"<@{BOT_ID}> Who is the head of the Wagner Group?")
            )
            (reply,) = await replies(env.fake)
            assert "Yevgeny Prigozhin" in plain(reply.body["embeds"][0]["description"])
            assert int(reply.body["message_reference"]["channel_id"]) == CHANNEL_ID
            assert reply.body["allowed_mentions"] == {"parse": [], "replied_user": False}

    run(scenario())


def test_a_failure_while_answering_a_mention_still_gets_the_member_an_apology(
    tmp_path, no_logged_errors
):
    async def scenario():
        async with running_bot(tmp_path) as env:
            # Discord refuses the answer itself (as it does a malformed embed): the member is
            # told something went wrong instead of hearing nothing.
            env.fake.fail(
                "POST",
                rf"/channels/{CHANNEL_ID}/messages",
                400,
                body={"message": "Invalid Form Body", "code": 50035},
            )
            await env.fake.dispatch(
                "MESSAGE_CREATE", user_message(f"<@{BOT_ID}> Where will army chiefs meet?")
            )
            (apology,) = await replies(env.fake)
            assert "something went wrong" in apology.body["content"]
            assert apology.body["allowed_mentions"]["parse"] == []

    run(scenario())
    assert [r.getMessage() for r in no_logged_errors.records] == ["Answering a mention failed"]
    no_logged_errors.records.clear()


def test_ask_is_answered_while_members_wait_for_summaries_of_a_long_article(tmp_path):
    """Six members ask for a summary of a 5 MB article (it takes a while), then one asks a
    question: the question is answered first, on its own thread, and the six summaries are
    made once and reach all six."""
    import numpy as np

    rng = np.random.default_rng(5)
    vocabulary = np.array([f"w{n:05d}x" for n in range(20_000)])
    words = vocabulary[rng.zipf(1.3, 620_000) % len(vocabulary)]
    sentences = [" ".join(words[i : i + 16]).capitalize() + "." for i in range(0, len(words), 16)]
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "long.txt").write_text(
        "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))
    )

    async def scenario():
        async with running_bot(tmp_path) as env:
            tokens = []
            for n in range(6):
                payload = interaction_payload(
                    slash("summary", length="long", topic="w00001x"), user_id=USER_ID + 10 + n
                )
                tokens.append(payload["token"])
                await env.fake.dispatch("INTERACTION_CREATE", payload)
            question = interaction_payload(slash("ask", question="Where will army chiefs meet?"))
            await env.fake.dispatch("INTERACTION_CREATE", question)

            def delivered(token):
                return [
                    r
                    for r in env.fake.responses_to(token)
                    if r.status == 200 and "embeds" in str(r.body)
                ]

            await env.fake.wait_for(
                lambda: all(delivered(t) for t in [*tokens, question["token"]]),
                timeout=60,
                what="every answer",
            )
            asked = delivered(question["token"])[0].received_at
            summarised = [delivered(t)[0].received_at for t in tokens]
            assert asked < min(summarised)
            assert "Ghana" in str(delivered(question["token"])[0].body)

    run(scenario())


def test_a_request_over_its_time_budget_is_told_so(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, request_seconds=0) as env:
            (callback, *_) = await env.fake.interact(slash("summary", length="long"))
            data = callback.body["data"]
            assert "taking too long" in data["content"] and data["flags"] & EPHEMERAL

    run(scenario())


def test_mention_without_a_question_gets_a_hint(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            await env.fake.dispatch("MESSAGE_CREATE", user_message(f"<@!{BOT_ID}>"))
            (reply,) = await replies(env.fake)
            assert "Ask me a question after the mention" in reply.body["content"]

    run(scenario())


def test_bots_webhooks_and_unmentioned_messages_are_ignored(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            other_bot = user_payload(USER_ID + 5, "otherbot", bot=True)
            await env.fake.dispatch(
                "MESSAGE_CREATE", user_message(f"<@{BOT_ID}> Who?", author=other_bot)
            )
            await env.fake.dispatch(
                "MESSAGE_CREATE", user_message(f"<@{BOT_ID}> Who leads?", webhook_id=snowflake())
            )
            await env.fake.dispatch(
                "MESSAGE_CREATE", user_message(f"<@{BOT_ID}> Who?", author=BOT_USER)
            )
            await env.fake.dispatch("MESSAGE_CREATE", user_message("Who leads Mali?", mentions=[]))
            # A last message that must be answered proves the earlier ones were processed.
            await env.fake.dispatch(
                "MESSAGE_CREATE", user_message(f"<@{BOT_ID}> Where will army chiefs meet?")
            )
            (reply,) = await replies(env.fake)
            assert "Ghana" in plain(reply.body["embeds"][0]["description"])
            await env.settled()
            assert len(env.fake.sent("POST", r"/channels/\d+/messages")) == 1

    run(scenario())


# Moderation


def test_cooldown_answers_try_again_in_n_seconds(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, COOLDOWN_RATE="1", COOLDOWN_SECONDS="60") as env:
            await env.fake.interact(slash("ask", question="Where will army chiefs meet?"))
            (second,) = await env.fake.interact(slash("ask", question="Who leads Mali?"))
            data = second.body["data"]
            assert re.search(r"try again in (59|60) s", data["content"])
            assert data["flags"] & EPHEMERAL
            (other,) = await env.fake.interact(
                slash("ask", question="Where will army chiefs meet?"), user_id=USER_ID + 1
            )
            assert "embeds" in other.body["data"]

    run(scenario())


def test_disallowed_channel_is_refused(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, ALLOWED_CHANNEL_IDS=str(OTHER_CHANNEL_ID)) as env:
            (refused,) = await env.fake.interact(slash("ask", question="Who leads Mali?"))
            assert "only answer in the channels" in refused.body["data"]["content"]
            assert refused.body["data"]["flags"] & EPHEMERAL
            await env.fake.dispatch("MESSAGE_CREATE", user_message(f"<@{BOT_ID}> Who leads Mali?"))
            await env.fake.dispatch(
                "MESSAGE_CREATE",
                user_message(
                    f"<@{BOT_ID}> Where will army chiefs meet?", channel_id=OTHER_CHANNEL_ID
                ),
            )
            await replies(env.fake, OTHER_CHANNEL_ID)
            await env.settled()
            assert not env.fake.sent("POST", rf"/channels/{CHANNEL_ID}/messages")
            await assert_it_answers(env.fake, channel_id=OTHER_CHANNEL_ID)

    run(scenario())


def test_every_command_button_and_autocomplete_passes_the_channel_allowlist(tmp_path):
    async def scenario():
        # Buttons made in the allowed channel, then pressed (with everything else) elsewhere.
        async with running_bot(
            tmp_path, ALLOWED_CHANNEL_IDS=str(OTHER_CHANNEL_ID), EPHEMERAL_BY_DEFAULT="false"
        ) as env:
            (asked,) = await env.fake.interact(
                slash("ask", question="Who is the head of the Wagner Group?"),
                channel_id=OTHER_CHANNEL_ID,
            )
            answer = asked.body["data"]
            custom_id = answer["components"][0]["components"][0]["custom_id"]
            menu = ask_menu(user_message("Who leads Wagner?", mentions=[]))
            attempts = [
                (slash("source", paragraph="niger-coup-2023#11"), {}),
                (slash("about"), {}),
                (slash("help"), {}),
                (slash("summary"), {}),
                (menu, {}),
                (
                    {"custom_id": custom_id, "component_type": 2},
                    {"kind": 3, "message": message_payload(answer, author=BOT_USER)},
                ),
            ]
            for data, fields in attempts:
                (refused,) = await env.fake.interact(data, **fields)
                body = refused.body["data"]
                assert "only answer in the channels" in body["content"], data
                assert body["flags"] & EPHEMERAL and "embeds" not in body, data
            typing = slash("source", paragraph="Wagner")
            typing["options"][0]["focused"] = True
            (choices,) = await env.fake.interact(typing, kind=4)
            assert choices.body == {"type": 8, "data": {"choices": []}}

    run(scenario())


def test_source_and_the_context_button_count_towards_the_cooldown(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, COOLDOWN_RATE="3", COOLDOWN_SECONDS="30") as env:
            (asked,) = await env.fake.interact(
                slash("ask", question="Who is the head of the Wagner Group?")
            )
            answer = asked.body["data"]
            custom_id = answer["components"][0]["components"][0]["custom_id"]
            await env.fake.interact(slash("source", paragraph="niger-coup-2023#11"))
            await env.fake.interact(
                {"custom_id": custom_id, "component_type": 2},
                kind=3,
                message=message_payload(answer, author=BOT_USER),
            )
            (fourth,) = await env.fake.interact(slash("source", paragraph="niger-coup-2023#11"))
            assert re.search(r"try again in \d+ s", fourth.body["data"]["content"])
            # Typing a search is limited apart, so it does not use up the questions.
            typing = slash("source", paragraph="Wagner")
            typing["options"][0]["focused"] = True
            (choices,) = await env.fake.interact(typing, kind=4)
            assert choices.body["data"]["choices"]

    run(scenario())


def test_asking_in_a_thread_of_an_allowed_channel_and_in_direct_messages(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, ALLOWED_CHANNEL_IDS=str(CHANNEL_ID)) as env:
            thread = snowflake()
            await assert_it_answers(env.fake, channel_id=int(thread), thread_of=CHANNEL_ID)
            (elsewhere,) = await env.fake.interact(
                slash("ask", question="Who leads Mali?"),
                channel_id=int(snowflake()),
                thread_of=OTHER_CHANNEL_ID,
            )
            assert "only answer in the channels" in elsewhere.body["data"]["content"]
            # Direct messages are not among the moderators' channels: refused politely.
            (dm,) = await env.fake.interact(
                slash("ask", question="Who leads Mali?"), channel_id=int(snowflake()), dm=True
            )
            assert "only answer in the channels" in dm.body["data"]["content"]
        (tmp_path / "open").mkdir()
        async with running_bot(tmp_path / "open") as env:  # no allowlist: DMs are answered
            await assert_it_answers(env.fake, channel_id=int(snowflake()), dm=True)

    run(scenario())


def test_mentions_have_the_length_limit_and_the_cooldown_too(tmp_path):
    async def scenario():
        async with running_bot(
            tmp_path, MAX_QUESTION_LENGTH="40", COOLDOWN_RATE="1", COOLDOWN_SECONDS="60"
        ) as env:
            await env.fake.dispatch("MESSAGE_CREATE", user_message(f"<@{BOT_ID}> " + "Why " * 20))
            (too_long,) = await replies(env.fake)
            assert "the limit is 40" in too_long.body["content"]
            await env.fake.dispatch(
                "MESSAGE_CREATE", user_message(f"<@{BOT_ID}> Where will army chiefs meet?")
            )
            _, answered = await replies(env.fake, count=2)
            assert "Ghana" in plain(answered.body["embeds"][0]["description"])
            await env.fake.dispatch("MESSAGE_CREATE", user_message(f"<@{BOT_ID}> Who leads Mali?"))
            *_, refused = await replies(env.fake, count=3)
            assert re.search(r"try again in (59|60) s", refused.body["content"])

    run(scenario())


def test_markdown_and_mentions_in_an_article_are_inert_in_lead_ins_and_context(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "markup.txt").write_text(
        "The *harbour* council met with <@123456789012345678> and @everyone on Monday. "
        "It approved the __ferry__ timetable for ||winter|| sailings.\n",
        encoding="utf-8",
    )

    async def scenario():
        async with running_bot(tmp_path) as env:
            (asked,) = await env.fake.interact(
                slash("ask", question="Which ferry timetable was approved for winter sailings?")
            )
            answer = asked.body["data"]
            description = answer["embeds"][0]["description"]
            assert "“The \\*harbour\\* council" in description  # the lead-in, escaped
            assert "<@123456789012345678>" not in description
            assert "@everyone" not in description and "@\u200beveryone" in description
            assert "\\|\\|**winter**\\|\\|" in description
            custom_id = answer["components"][0]["components"][0]["custom_id"]
            (context,) = await env.fake.interact(
                {"custom_id": custom_id, "component_type": 2},
                kind=3,
                message=message_payload(answer, author=BOT_USER),
            )
            shown = context.body["data"]["embeds"][0]["description"]
            assert "\\*harbour\\*" in shown and "\\_\\_ferry\\_\\_" in shown
            assert "<@123456789012345678>" not in shown and "@everyone" not in shown

    run(scenario())


def test_question_over_the_length_limit_is_refused(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, MAX_QUESTION_LENGTH="40") as env:
            (callback,) = await env.fake.interact(slash("ask", question="Why " * 20))
            assert "the limit is 40" in callback.body["data"]["content"]

    run(scenario())


def test_mod_log_records_question_user_and_citations(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, MOD_LOG_CHANNEL_ID=str(MOD_LOG_CHANNEL_ID)) as env:
            await env.fake.interact(
                slash("ask", question="Who is the head of the Wagner Group? @here")
            )
            (entry,) = await replies(env.fake, MOD_LOG_CHANNEL_ID)
            content = entry.body["content"]
            assert f"`{USER_ID}`" in content and f"<#{CHANNEL_ID}>" in content
            assert "¶11" in content and "Yevgeny Prigozhin" in content
            assert "@here" not in content
            assert entry.body["allowed_mentions"] == NO_PINGS

    run(scenario())


# Discord's transport: limits, rate limits, reconnects, slow answers


def test_rate_limited_reply_is_retried(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            env.fake.rate_limit("POST", rf"/channels/{CHANNEL_ID}/messages", retry_after=0.05)
            await env.fake.dispatch(
                "MESSAGE_CREATE", user_message(f"<@{BOT_ID}> Where will army chiefs meet?")
            )
            (reply,) = await replies(env.fake)
            statuses = [
                r.status for r in env.fake.sent("POST", rf"/channels/{CHANNEL_ID}/messages")
            ]
            assert statuses == [429, 200]
            assert "Ghana" in plain(reply.body["embeds"][0]["description"])

    run(scenario())


def test_reconnect_and_resume_mid_session(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            await env.fake.request_reconnect()
            await env.fake.wait_for(lambda: env.fake.sessions >= 2, what="resume")
            resume = next(p for p in env.fake.gateway_log if p["op"] == 6)
            assert resume["d"]["session_id"] == "fake-session"
            assert resume["d"]["token"] == TOKEN
            await assert_it_answers(env.fake)

    run(scenario())


def test_slow_answer_is_deferred_then_followed_up(tmp_path):
    async def scenario():
        # defer_after=0: every answer counts as slow, so the bot must defer before answering.
        async with running_bot(tmp_path, defer_after=0.0) as env:
            (defer,) = await env.fake.interact(
                slash("ask", question="Where will army chiefs meet?")
            )
            assert defer.body["type"] == 5 and defer.body["data"]["flags"] & EPHEMERAL
            token = defer.path.split("/")[3]
            await env.fake.wait_for(
                lambda: env.fake.sent("POST", rf"/webhooks/\d+/{token}"), what="follow-up"
            )
            (followup,) = env.fake.sent("POST", rf"/webhooks/\d+/{token}")
            assert "Ghana" in plain(followup.body["embeds"][0]["description"])
            assert followup.body["allowed_mentions"] == NO_PINGS

    run(scenario())


@pytest.mark.parametrize("trouble", ["two server errors", "a 4 s rate limit"])
def test_the_first_acknowledgement_lands_within_three_seconds_when_discord_stumbles(
    tmp_path, trouble
):
    async def scenario():
        async with running_bot(tmp_path) as env:
            callback = r"/interactions/\d+/[\w-]+/callback"
            if trouble == "two server errors":
                env.fake.fail("POST", callback, 500, times=2)
            else:
                env.fake.rate_limit("POST", callback, retry_after=4.0)
            payload = interaction_payload(slash("ask", question="Where will army chiefs meet?"))
            sent_at = asyncio.get_running_loop().time()
            await env.fake.dispatch("INTERACTION_CREATE", payload)
            token = payload["token"]

            def acknowledged():
                return [
                    r
                    for r in env.fake.responses_to(token)
                    if r.path.endswith("/callback") and r.status in (200, 204)
                ]

            (ack,) = await env.fake.wait_for(acknowledged, timeout=10, what="acknowledgement")
            assert ack.received_at - sent_at < 3.0
            # And the answer itself arrives, in the callback or as the follow-up.
            answer = await env.fake.wait_for(
                lambda: [
                    r
                    for r in env.fake.responses_to(token)
                    if "Ghana" in str(r.body) and r.status in (200, 204)
                ],
                what="the answer",
            )
            assert answer

    run(scenario())


def test_an_event_discord_py_cannot_parse_is_logged_and_the_bot_keeps_serving(
    tmp_path, no_logged_errors
):
    async def scenario():
        async with running_bot(tmp_path) as env:
            broken = guild_payload()
            broken["id"] = str(GUILD_ID + 1)
            broken["roles"][0]["id"] = "not-a-number"
            await env.fake.dispatch("GUILD_CREATE", broken)
            await assert_it_answers(env.fake)
            assert env.fake.sessions == 1  # the same connection: nothing had to restart

    run(scenario())
    assert [r.getMessage() for r in no_logged_errors.records] == [
        "Discord sent a GUILD_CREATE event the bot could not read; it was skipped."
    ]
    no_logged_errors.records.clear()


def test_sharded_bot_asks_for_the_gateway_and_identifies_its_shard(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, SHARD_COUNT="1") as env:
            identify = next(p for p in env.fake.gateway_log if p["op"] == 2)
            assert identify["d"]["shard"] == [0, 1]
            await assert_it_answers(env.fake)

    run(scenario())


# `python -m bot run` as a real process


def bot_process_env(fake: FakeDiscord, tmp_path, token: str | None):
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env.update(
        DISCORD_API_BASE_URL=fake.api_url,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        CACHE_DIR=str(tmp_path / "cache"),
        HOME=str(tmp_path),
        LOG_LEVEL="INFO",
    )
    if token is not None:
        env["DISCORD_TOKEN"] = token
    return env


async def start_process(fake, tmp_path, token, *command: str, **settings):
    """`python -m bot run` (or another `command`) against the fake Discord."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *(command or ("run",)),
        cwd=PROJECT,
        env={**bot_process_env(fake, tmp_path, token), **settings},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_command_serves_and_stops_cleanly_on_a_signal(tmp_path, signum):
    async def scenario():
        fake = FakeDiscord()
        await fake.start()
        try:
            process = await start_process(fake, tmp_path, TOKEN)
            await fake.wait_for(
                lambda: fake.registered_commands and fake.sessions, timeout=15, what="bot"
            )
            await assert_it_answers(fake)
            seen = b""
            if signum == signal.SIGTERM:  # once is enough: READY waits ~2 s for the guilds
                while b"Ready:" not in seen:
                    seen += await asyncio.wait_for(process.stderr.readline(), 10)
            process.send_signal(signum)
            stdout, stderr = await asyncio.wait_for(process.communicate(), 10)
            output = (stdout + seen + stderr).decode()
            assert process.returncode == 0, output
            if signum == signal.SIGTERM:
                assert "Ready: logged in as quotebot" in output
                assert "answering from 1 article(s); shard(s) 0 of 1; state in " in output
                assert "bot-state.db" in output
            assert "Stopped." in output and "Traceback" not in output
            assert TOKEN not in output
        finally:
            await fake.stop()

    run(scenario())


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "DISCORD_TOKEN is not set"),
        ("abc", "does not look like a bot token"),
        (REJECTED_TOKEN, "Discord rejected DISCORD_TOKEN"),
    ],
)
def test_run_with_a_missing_or_wrong_token_explains_and_exits_2(tmp_path, token, message):
    async def scenario():
        fake = FakeDiscord()
        await fake.start()
        try:
            process = await start_process(fake, tmp_path, token)
            stdout, stderr = await asyncio.wait_for(process.communicate(), 15)
            output = (stdout + stderr).decode()
            assert process.returncode == 2, output
            assert message in output
            assert "Traceback" not in output
            if token:
                assert token not in output
        finally:
            await fake.stop()

    run(scenario())


def test_run_when_discord_cannot_be_reached_says_so_and_exits_2(tmp_path):
    async def scenario():
        fake = FakeDiscord()
        await fake.start()
        closed = f"http://127.0.0.1:{fake.port}/api/v10"
        await fake.stop()  # nothing listens there any more: connection refused
        process = await start_process(fake, tmp_path, TOKEN, DISCORD_API_BASE_URL=closed)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
        output = (stdout + stderr).decode()
        assert process.returncode == 2, output
        assert "Discord could not be reached" in output and "refused" in output
        assert "Traceback" not in output and TOKEN not in output

    run(scenario())


def test_health_says_what_answers_and_what_does_not(tmp_path):
    async def scenario():
        fake = FakeDiscord()
        await fake.start()
        try:

            async def health(*flags: str, **settings: str) -> tuple[int, str]:
                process = await start_process(fake, tmp_path, TOKEN, "health", *flags, **settings)
                stdout, _ = await asyncio.wait_for(process.communicate(), 30)
                return process.returncode, stdout.decode()

            data = tmp_path / "data"
            # Before the bot ever ran there: nothing to check, and nothing made by checking.
            code, text = await health(DATA_DIR=str(data))
            assert code == 1 and "FAIL bot state:" in text and "does not exist" in text, text
            assert not data.exists()
            BotState(data).close()  # as a first run leaves them
            Library(data)
            code, text = await health(DATA_DIR=str(data))
            assert code == 0 and text.startswith("ok   bot state: the file "), text
            assert "ok   Discord API: " in text
            code, shown = await health("--json", DATA_DIR=str(data))
            report = json.loads(shown)
            assert code == 0 and report["ok"], report
            assert [c["name"] for c in report["checks"]] == ["bot state", "articles", "Discord API"]
            # Discord unreachable, and a database with a wrong password: named, not hidden.
            closed = FakeDiscord()
            await closed.start()
            gone = f"http://127.0.0.1:{closed.port}/api/v10"
            await closed.stop()
            code, shown = await health(
                "--json",
                DATA_DIR=str(data),
                DISCORD_API_BASE_URL=gone,
                DATABASE_URL="postgresql://nobody:hunter2@127.0.0.1:1/none",
            )
            report = json.loads(shown)
            assert code == 1 and not report["ok"]
            failed = {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}
            # The articles are in the same database as the state, with DATABASE_URL.
            assert set(failed) == {"bot state", "articles", "Discord API"}
            assert "cannot be reached" in failed["Discord API"]
            assert "hunter2" not in json.dumps(report)
        finally:
            await fake.stop()

    run(scenario())


def test_run_with_an_invalid_setting_names_it_and_exits_2(tmp_path):
    async def scenario():
        fake = FakeDiscord()
        await fake.start()
        try:
            process = await start_process(fake, tmp_path, TOKEN, COOLDOWN_RATE="often")
            stdout, stderr = await asyncio.wait_for(process.communicate(), 15)
            output = (stdout + stderr).decode()
            assert process.returncode == 2
            assert "COOLDOWN_RATE" in output and "Traceback" not in output
            assert TOKEN not in output and not fake.requests
        finally:
            await fake.stop()

    run(scenario())


def test_a_follow_up_in_a_thread_is_read_with_the_members_own_last_question(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, COOLDOWN_RATE="100") as env:
            thread = int(snowflake())

            async def ask(question: str, user_id: int = USER_ID, **where) -> dict:
                (callback,) = await env.fake.interact(
                    slash("ask", question=question), user_id=user_id, **where
                )
                return callback.body["data"]["embeds"][0]

            in_thread = {"channel_id": thread, "thread_of": CHANNEL_ID}
            first = await ask("Who is Mali's military leader?", **in_thread)
            assert "Assimi Goita" in plain(first["description"])
            followed = await ask("who did he reach out to?", **in_thread)
            said = followed["author"]["name"]
            assert said == "Read with your earlier question: “Who is Mali's military leader?”"
            # Another member in the same thread: not read with the first member's question.
            other = await ask("who did he reach out to?", user_id=USER_ID + 1, **in_thread)
            assert "Read with your earlier question" not in str(other)
            # Outside a thread, every question stands alone.
            await ask("Who is Mali's military leader?")
            alone = await ask("who did he reach out to?")
            assert "Read with your earlier question" not in str(alone)

    run(scenario())
