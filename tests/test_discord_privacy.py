"""Members' data under their control, through the fake Discord: /forget-me deletes every row
about the member (gone from the database file's bytes) and their mod-log messages; a
server's retention period is applied; a server the bot left loses its data after the grace
period, and one it is added back to keeps it."""

from __future__ import annotations

import asyncio
import time

from bot.state import BotState
from bot.state.servers import collection_of
from corpus.sources.library import Library
from tests.discord_harness import eventually, running_bot
from tests.fake_discord import (
    GUILD_ID,
    MOD_LOG_CHANNEL_ID,
    OTHER_GUILD_CHANNEL_ID,
    OTHER_GUILD_ID,
    USER_ID,
    guild_payload,
    slash,
    snowflake,
)
from tests.test_discord import no_logged_errors  # noqa: F401 - the autouse fixture
from tests.test_discord_articles import ADMIN, ORCHARD, final_reply
from tests.test_discord_feedback import buttons, press

DAY = 86_400.0
OTHER_MEMBER = USER_ID + 1


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 40))


def state_bytes(state: BotState) -> bytes:
    return b"".join(p.read_bytes() for p in state.path.parent.glob(state.path.name + "*"))


def test_forget_me_removes_every_row_about_the_member_and_their_mod_log_messages(tmp_path):
    async def scenario():
        settings = {"MOD_LOG_CHANNEL_ID": str(MOD_LOG_CHANNEL_ID), "COOLDOWN_RATE": "100"}
        async with running_bot(tmp_path, **settings) as env:
            state = BotState(env.settings.data_dir)
            thread = int(snowflake())
            in_thread = {"channel_id": thread, "thread_of": env.settings.mod_log_channel_id}
            answered = await final_reply(
                env.fake, slash("ask", question="Who is Mali's military leader?"), **in_thread
            )
            await press(env, answered, buttons(answered)["👍"])
            await final_reply(env.fake, slash("ask", question="Is the Quokkaberg tunnel finished?"))
            await final_reply(
                env.fake,
                slash("ask", question="Who leads Wagner?"),
                user_id=OTHER_MEMBER,
            )
            await eventually(
                lambda: (
                    state.member_rows(USER_ID)
                    == {
                        "votes": 1,
                        "answers": 2,
                        "gap_asks": 1,
                        "mod_log_posts": 2,
                        "shared_links": 0,
                    }
                    and state.member_rows(OTHER_MEMBER)["mod_log_posts"] == 1
                ),
                "the member's rows",
            )
            assert b"Quokkaberg" in state_bytes(state)

            done = await final_reply(env.fake, slash("forget-me"))
            assert done["flags"] & 64
            assert (
                "2 question(s) with their answers, 1 vote(s), 1 question(s) in gap queues and "
                "0 shared link(s)" in done["content"]
            )
            assert (
                "The 2 mod-log message(s) about your questions are being deleted"
                in (done["content"])
            )
            path = rf"/channels/{MOD_LOG_CHANNEL_ID}/messages/\d+"
            deleted = await env.fake.wait_for(
                lambda: len(env.fake.sent("DELETE", path)) == 2, what="the mod-log deletions"
            )
            assert deleted
            await eventually(lambda: not state.doomed_messages(), "the deletions crossed off")
            assert set(state.member_rows(USER_ID).values()) == {0}
            assert state.member_rows(OTHER_MEMBER)["answers"] == 1  # another's: kept
            assert b"Quokkaberg" not in state_bytes(state)
            assert "Quokkaberg" not in str(state.gaps(GUILD_ID))
            # The follow-up memory went too: the next question in the thread stands alone.
            alone = await final_reply(
                env.fake, slash("ask", question="who did he reach out to?"), **in_thread
            )
            assert "Read with your earlier question" not in str(alone)
            await eventually(lambda: state.member_rows(USER_ID)["mod_log_posts"], "its mod log")

    run(scenario())


def test_forget_me_works_outside_the_allowed_channels_and_a_server_left_offline_is_marked(
    tmp_path,
):
    gone_while_down = 200_000_000_000_000_099
    data = tmp_path / "data"
    BotState(data).watch_forum(gone_while_down, 5, closest=False)

    async def scenario():
        settings = {"ALLOWED_CHANNEL_IDS": str(OTHER_GUILD_CHANNEL_ID), "COOLDOWN_RATE": "100"}
        async with running_bot(tmp_path, **settings) as env:
            state = BotState(env.settings.data_dir)
            refused = await final_reply(env.fake, slash("ask", question="Who leads Wagner?"))
            assert "only answer in the channels" in refused["content"]
            done = await final_reply(env.fake, slash("forget-me"))
            assert done["content"].startswith("Deleted everything stored about you")
            shown = await final_reply(env.fake, slash("privacy", "show"))
            assert "30 day(s)" in shown["embeds"][0]["description"]
            # The bot was removed from a server while it was down: its data is on the clock.
            left = await eventually(
                lambda: state.servers_left_before(time.time() + 1), "the offline departure"
            )
            assert left == [gone_while_down]

    run(scenario())


def test_retention_per_server_and_a_departed_servers_data(tmp_path):
    async def scenario():
        settings = {
            "MOD_LOG_CHANNEL_ID": str(MOD_LOG_CHANNEL_ID),
            "COOLDOWN_RATE": "100",
            "LEFT_SERVER_DAYS": "30",
        }
        async with running_bot(tmp_path, **settings) as env:
            state = BotState(env.settings.data_dir)
            privacy = env.bot.get_cog("Privacy")
            refused = await final_reply(env.fake, slash("privacy", "retention", days=7))
            assert "Only server admins" in refused["content"]
            done = await final_reply(
                env.fake, slash("privacy", "retention", days=7), permissions=ADMIN
            )
            assert "kept for 7 day(s)" in done["content"]
            shown = await final_reply(env.fake, slash("privacy", "show"))
            assert "7 day(s)" in shown["embeds"][0]["description"]

            await final_reply(env.fake, slash("ask", question="Who leads Wagner?"))
            await eventually(lambda: state.member_rows(USER_ID)["mod_log_posts"], "a mod-log post")
            await privacy.sweep(now=time.time() + 6 * DAY)
            assert state.member_rows(USER_ID)["answers"] == 1  # within the period
            await privacy.sweep(now=time.time() + 8 * DAY)
            assert set(state.member_rows(USER_ID).values()) == {0}
            assert env.fake.sent("DELETE", rf"/channels/{MOD_LOG_CHANNEL_ID}/messages/\d+")

            # The other server adds an article, then removes the bot.
            other = {"guild_id": OTHER_GUILD_ID, "channel_id": OTHER_GUILD_CHANNEL_ID}
            added = await final_reply(
                env.fake,
                slash(
                    "article",
                    "add",
                    file=env.fake.attachment("orchard.md", ORCHARD.encode(), "text/markdown"),
                ),
                permissions=ADMIN,
                **other,
            )
            assert added["content"].startswith("Added")
            await final_reply(
                env.fake, slash("ask", question="Who is the mayor of Tamsin?"), **other
            )
            await eventually(lambda: state.gaps(OTHER_GUILD_ID), "the other server's gap")
            library = Library(env.settings.data_dir)
            assert library.articles(collection_of(OTHER_GUILD_ID))
            await env.fake.dispatch("GUILD_DELETE", {"id": str(OTHER_GUILD_ID)})
            await eventually(
                lambda: state.servers_left_before(time.time() + 1), "the server marked as left"
            )
            await privacy.sweep(now=time.time() + 29 * DAY)  # within the grace period
            assert library.articles(collection_of(OTHER_GUILD_ID))
            await privacy.sweep(now=time.time() + 31 * DAY)
            assert not library.articles(collection_of(OTHER_GUILD_ID))
            assert OTHER_GUILD_ID not in state.known_servers()
            assert not (
                env.settings.data_dir / "collections" / collection_of(OTHER_GUILD_ID)
            ).exists()

            # Added back before the grace period ends: nothing is deleted.
            await env.fake.dispatch("GUILD_DELETE", {"id": str(GUILD_ID)})
            await eventually(lambda: state.servers_left_before(time.time() + 1), "left")
            joined = {k: v for k, v in guild_payload(GUILD_ID).items() if k != "unavailable"}
            await env.fake.dispatch("GUILD_CREATE", joined)  # as Discord sends a join
            await eventually(lambda: not state.servers_left_before(time.time() + 1), "joined again")
            await privacy.sweep(now=time.time() + 31 * DAY)
            assert env.bot.get_guild(GUILD_ID) is not None
            assert state.retention_days(GUILD_ID) == 7

    run(scenario())
