"""Feedback and the gap queue through the fake Discord: members vote on answers, a moderator
picks the right quote, the votes come out of `quotebot feedback export` as a question file
`eval` reads; a question the articles cannot answer is queued, merged with its rewording,
and leaves the queue once an added article answers it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from bot.state import BotState
from tests.conftest import PROJECT
from tests.discord_harness import eventually, running_bot
from tests.fake_discord import (
    BOT_USER,
    GUILD_ID,
    OTHER_GUILD_CHANNEL_ID,
    OTHER_GUILD_ID,
    USER_ID,
    message_payload,
    slash,
)
from tests.test_discord import no_logged_errors, plain  # noqa: F401 - the autouse fixture
from tests.test_discord_articles import ADMIN, ORCHARD, final_reply

EPHEMERAL = 64
MODERATOR = USER_ID + 7


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 40))


def buttons(reply: dict) -> dict[str, str]:
    """The answer's buttons: label or emoji → custom id."""
    found = {}
    for row in reply.get("components") or []:
        for item in row["components"]:
            found[item.get("label") or item.get("emoji", {}).get("name")] = item["custom_id"]
    return found


async def press(env, reply: dict, custom_id: str, **fields) -> dict:
    original = message_payload(reply, author=BOT_USER)
    return await final_reply(
        env.fake, {"custom_id": custom_id, "component_type": 2}, kind=3, message=original, **fields
    )


def cli(*args: str, data_dir, database: str | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(data_dir), "HOME": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={**env, **({"DATABASE_URL": database} if database else {})},
        timeout=120,
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_votes_and_a_moderators_pick_are_stored_and_exported_for_eval(tmp_path, request, backend):
    database = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    settings = {"COOLDOWN_RATE": "100", **({"DATABASE_URL": database} if database else {})}

    async def scenario():
        async with running_bot(tmp_path, **settings) as env:
            state = BotState(env.settings.data_dir, database_url=database)
            right = await final_reply(env.fake, slash("ask", question="Who is Mali's leader?"))
            pressed = buttons(right)
            assert {"Show context", "👍", "👎", "Right quote…"} <= set(pressed)
            thanks = await press(env, right, pressed["👍"])
            assert thanks["flags"] & EPHEMERAL and "counted" in thanks["content"]
            await press(env, right, pressed["👍"], user_id=USER_ID + 1)
            # From another server (a custom id copied over): not theirs to rate.
            elsewhere = await press(
                env,
                right,
                pressed["👍"],
                guild_id=OTHER_GUILD_ID,
                channel_id=OTHER_GUILD_CHANNEL_ID,
            )
            assert "not counted" in elsewhere["content"]

            wrong = await final_reply(
                env.fake, slash("ask", question="Who did Goita reach out to?")
            )
            await press(env, wrong, buttons(wrong)["👎"])
            # "Right quote…" is for moderators only.
            refused = await press(env, wrong, buttons(wrong)["Right quote…"])
            assert "Only server admins" in refused["content"]
            choice = await press(
                env, wrong, buttons(wrong)["Right quote…"], user_id=MODERATOR, permissions=ADMIN
            )
            assert choice["flags"] & EPHEMERAL
            (select,) = choice["components"][0]["components"]
            options = [o["label"] for o in select["options"]]
            assert options[-1] == "None of these is right" and len(options) >= 2
            picked = await final_reply(
                env.fake,
                {"custom_id": select["custom_id"], "component_type": 3, "values": ["0"]},
                kind=3,
                message=message_payload(choice, author=BOT_USER),
                user_id=MODERATOR,
                permissions=ADMIN,
            )
            assert "quote 1 is the right one" in picked["content"]

            report = await final_reply(env.fake, slash("feedback"), permissions=ADMIN)
            summary = report["embeds"][0]["description"]
            assert "2 rated: 2 👍, 1 👎" in summary and "picked the right quote for 1" in summary
            assert "Who did Goita reach out to?" in plain(str(report["embeds"][0]["fields"]))
            refused = await final_reply(env.fake, slash("feedback"))
            assert "Only server admins" in refused["content"]
            state.close()
            return state, right, select

    state, right, select = run(scenario())
    out = tmp_path / "server-questions.jsonl"
    collection = f"server-{GUILD_ID}"
    done = cli(
        "feedback",
        "export",
        "--collection",
        collection,
        "--out",
        str(out),
        data_dir=state.path.parent,
        database=database,
    )
    assert done.returncode == 0, done.stderr
    assert "Exported 2 question(s)" in done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["question"] for r in rows] == ["Who is Mali's leader?", "Who did Goita reach out to?"]
    first_quote = right["embeds"][0]["description"]
    assert rows[0]["answers"][0].split()[0] in plain(first_quote)
    (gold,) = rows[1]["answers"]  # the whole quote the moderator picked (the label is cut)
    assert gold.startswith(select["options"][0]["label"].removeprefix("1. ").rstrip("…"))
    # The file is one `eval` reads, over the articles the answers came from.
    seeds = tmp_path / "seeds"
    done = cli("eval", str(out), "--seeds", str(seeds), data_dir=state.path.parent)
    assert done.returncode == 0, done.stderr
    assert "2 questions" in done.stdout or "questions: 2" in done.stdout, done.stdout
    # Printed on stdout without --out, the same lines.
    done = cli(
        "feedback",
        "export",
        "--collection",
        collection,
        data_dir=state.path.parent,
        database=database,
    )
    assert done.stdout == out.read_text()


def test_an_unanswered_question_is_queued_merged_and_cleared_by_adding_an_article(tmp_path):
    async def scenario():
        async with running_bot(tmp_path, COOLDOWN_RATE="100") as env:
            state = BotState(env.settings.data_dir)
            question = "How many apple trees did the Tamsin valley farmers replant?"
            declined = await final_reply(env.fake, slash("ask", question=question))
            assert "Read with" not in str(declined)
            again = "tamsin valley farmers: how many apple trees replant"
            await final_reply(env.fake, slash("ask", question=again), user_id=USER_ID + 1)
            await eventually(
                lambda: [g for g in state.gaps(GUILD_ID) if g.asked == 2], "the merged gap"
            )
            listed = await final_reply(env.fake, slash("gaps"), permissions=ADMIN)
            text = listed["embeds"][0]["description"]
            assert "asked 2× by 2 member(s)" in text and "tamsin valley farmers" in text
            refused = await final_reply(env.fake, slash("gaps"))
            assert "Only server admins" in refused["content"]

            (callback,) = await env.fake.interact(
                slash(
                    "article",
                    "add",
                    file=env.fake.attachment("orchard.md", ORCHARD.encode(), "text/markdown"),
                ),
                permissions=ADMIN,
            )
            token = callback.path.split("/")[3]
            sent = await env.fake.wait_for(
                lambda: [
                    r.body["content"]
                    for r in env.fake.sent("POST", rf"/webhooks/\d+/{token}")
                    if "gap queue" in (r.body.get("content") or "")
                ],
                timeout=20,
                what="the re-asked gaps",
            )
            assert "Now answered, and off the gap queue" in sent[0]
            assert state.gaps(GUILD_ID) == []
            listed = await final_reply(env.fake, slash("gaps"), permissions=ADMIN)
            assert "every question was answered" in listed["embeds"][0]["description"]

            # A moderator can dismiss one; another server's number is not theirs to dismiss.
            await final_reply(env.fake, slash("ask", question="What is the capital of Peru?"))
            (gap,) = await eventually(lambda: state.gaps(GUILD_ID), "a new gap")
            dismissed = await final_reply(
                env.fake, slash("gaps", dismiss=gap.number), permissions=ADMIN
            )
            assert f"Question {gap.number} is off" in dismissed["content"]
            assert state.gaps(GUILD_ID) == []

    run(scenario())


def test_moderators_commands_in_direct_messages_are_refused_in_words(tmp_path):
    async def scenario():
        async with running_bot(tmp_path) as env:
            for command in (slash("gaps"), slash("feedback"), slash("article", "add", url="x")):
                refused = await final_reply(env.fake, command, dm=True)
                assert (
                    refused["content"] == "That belongs to a server: use it in a server's channel."
                )
                assert refused["flags"] & EPHEMERAL

    run(scenario())
