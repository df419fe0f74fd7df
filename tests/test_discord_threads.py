"""Threads and forums through the fake Discord: an answer in a thread stays in it; a forum an
admin names gets every new post answered once, with quotes when confident, the closest
passage only if the server opted in, and nothing when nothing is relevant; a reply to the
bot's answer is read with that answer's question."""

from __future__ import annotations

import asyncio

from bot.state import BotState
from tests.discord_harness import eventually, running_bot
from tests.fake_discord import (
    BOT_ID,
    BOT_USER,
    CHANNEL_ID,
    FORUM_CHANNEL_ID,
    GUILD_ID,
    USER_ID,
    Channel,
    member_payload,
    message_payload,
    slash,
    snowflake,
    thread_payload,
    user_payload,
)
from tests.test_discord import no_logged_errors, plain  # noqa: F401 - the autouse fixture
from tests.test_discord_articles import ADMIN, final_reply

FORUM = Channel(FORUM_CHANNEL_ID, "questions", type=15)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 40))


def post(thread_id: int, content: str = "", *, mentions=None, reference=None) -> dict:
    """A member's message in a thread (the forum post's own first one has the thread's id)."""
    extra = {"message_reference": reference} if reference else {}
    return message_payload(
        {"content": content},
        author=user_payload(USER_ID, "asker"),
        channel_id=thread_id,
        message_id=str(thread_id) if not reference and not mentions else snowflake(),
        mentions=mentions or [],
        guild_id=str(GUILD_ID),
        member={k: v for k, v in member_payload(USER_ID, "asker").items() if k != "user"},
        **extra,
    )


async def open_post(env, title: str, body: str = "") -> int:
    thread = int(snowflake())
    await env.fake.dispatch(
        "THREAD_CREATE", thread_payload(thread, title, parent_id=FORUM_CHANNEL_ID)
    )
    await env.fake.dispatch("MESSAGE_CREATE", post(thread, body))
    return thread


def replies_in(env, channel_id: int) -> list:
    return [
        r for r in env.fake.sent("POST", rf"/channels/{channel_id}/messages") if r.status == 200
    ]


def test_a_forum_post_is_answered_once_and_only_when_relevant(tmp_path):
    async def scenario():
        async with running_bot(
            tmp_path, COOLDOWN_RATE="100", MENTION_REPLIES_PER_MEMBER="100"
        ) as env:
            state = BotState(env.settings.data_dir)
            refused = await final_reply(env.fake, slash("forum", "answer", channel=FORUM))
            assert "Only server admins" in refused["content"]
            done = await final_reply(
                env.fake, slash("forum", "answer", channel=FORUM), permissions=ADMIN
            )
            assert f"<#{FORUM_CHANNEL_ID}>" in done["content"] and "quiet" in done["content"]

            thread = await open_post(env, "Who is Mali's military leader?")
            (reply,) = await env.fake.wait_for(lambda: replies_in(env, thread), what="reply")
            assert "Assimi Goita" in plain(reply.body["embeds"][0]["description"])
            assert int(reply.body["message_reference"]["message_id"]) == thread
            assert not replies_in(env, FORUM_CHANNEL_ID)  # in the post, not elsewhere
            # Discord sends the post again (a reconnect): it is not answered twice.
            await env.fake.dispatch("MESSAGE_CREATE", post(thread))
            await env.settled()
            assert len(replies_in(env, thread)) == 1

            # Nothing relevant: no reply, but the moderators' gap queue has it.
            quiet = await open_post(env, "What is the best pizza topping?")
            await eventually(lambda: state.gaps(GUILD_ID), "the gap")
            await env.settled()
            assert not replies_in(env, quiet)
            # Only a closest passage: quiet, until the server opts in to closest passages.
            unsure = await open_post(env, "Which countries have troops in Niger?")
            await eventually(lambda: len(state.gaps(GUILD_ID)) == 2, "the second gap")
            assert not replies_in(env, unsure)
            await final_reply(
                env.fake,
                slash("forum", "answer", channel=FORUM, closest=True),
                permissions=ADMIN,
            )
            opted = await open_post(env, "Which countries have troops in Niger?")
            (reply,) = await env.fake.wait_for(lambda: replies_in(env, opted), what="closest")
            assert "closest passage" in str(reply.body["embeds"][0])

            listed = await final_reply(env.fake, slash("forum", "list"), permissions=ADMIN)
            assert "with the closest passage" in listed["content"]
            await final_reply(env.fake, slash("forum", "stop", channel=FORUM), permissions=ADMIN)
            after = await open_post(env, "Who is Mali's military leader?")
            await env.settled()
            assert not replies_in(env, after)

    run(scenario())


def test_a_mention_in_a_thread_is_answered_in_the_thread(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, COOLDOWN_RATE="100") as env:
            thread = int(snowflake())
            await env.fake.dispatch(
                "THREAD_CREATE", thread_payload(thread, "chat", parent_id=CHANNEL_ID)
            )
            await env.fake.dispatch(
                "MESSAGE_CREATE",
                post(thread, f"<@{BOT_ID}> Who is Mali's military leader?", mentions=[BOT_USER]),
            )
            (reply,) = await env.fake.wait_for(lambda: replies_in(env, thread), what="reply")
            assert "Assimi Goita" in plain(reply.body["embeds"][0]["description"])
            assert not replies_in(env, CHANNEL_ID)

    run(scenario())


def test_a_reply_to_the_bots_answer_is_read_with_its_question(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, COOLDOWN_RATE="100") as env:
            (first,) = await env.fake.interact(
                slash("ask", question="Who is Mali's military leader?", public=True)
            )
            answer_id = first.response["resource"]["message"]["id"]
            asked = message_payload(
                {"content": f"<@{BOT_ID}> who did he reach out to?"},
                author=user_payload(USER_ID + 3, "someone"),
                channel_id=CHANNEL_ID,
                mentions=[BOT_USER],
                guild_id=str(GUILD_ID),
                member={k: v for k, v in member_payload(USER_ID + 3, "x").items() if k != "user"},
                message_reference={"message_id": answer_id, "channel_id": str(CHANNEL_ID)},
            )
            await env.fake.dispatch("MESSAGE_CREATE", asked)
            (reply,) = await env.fake.wait_for(lambda: replies_in(env, CHANNEL_ID), what="reply")
            embed = reply.body["embeds"][0]
            assert embed["author"]["name"] == (
                "Read with your earlier question: “Who is Mali's military leader?”"
            )

    run(scenario())
