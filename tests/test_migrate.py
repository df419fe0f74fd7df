"""`quotebot db migrate --to postgresql://…`: a SQLite deployment moved with every row of
every table, the texts into the database, and then used from PostgreSQL."""

from __future__ import annotations

import datetime
import json
import sqlite3

from bot.state import BotState
from corpus.sources.feeds import FeedStore
from corpus.sources.library import Library
from tests.conftest import LOOPBACK_NETWORKS, run_cli
from tests.test_bot_state import answer
from tests.test_feeds import site  # noqa: F401 (the fixture)

T0 = datetime.datetime(2024, 5, 3, 12, tzinfo=datetime.UTC)


def _deployment(tmp_path, site) -> None:  # noqa: F811
    """A SQLite deployment using every table: articles (one text in two collections), a
    feed with items waiting to be posted, pins, and the bot's state."""
    data = tmp_path / "data"
    library = Library(data)
    library.seeds_dir("default")  # with the bundled article
    library.add("server-1", b"The council met on Monday.", ".txt", wanted_id="council")
    library.add("server-2", b"The council met on Monday.", ".txt", wanted_id="same")
    library.pin(1, 10, "server", "council")
    feeds = FeedStore(library, private_networks=lambda _: LOOPBACK_NETWORKS)
    feed = feeds.add(site.url("/rss.xml"), collection="server-1", channel_id=10, now=T0).feed
    site.feed(["ferry", "library", "menu", "market"])
    feeds.poll(feed.id, now=T0 + datetime.timedelta(minutes=16))
    state = BotState(data)
    shown = state.record_answer(guild_id=1, channel_id=10, member_id=7, answer=answer("Who?"))
    state.vote(shown, 7, 1, guild_id=1)
    state.queue_gap(1, 7, "When does the ferry run?")
    state.watch_forum(1, 11, closest=False)
    state.set_retention_days(1, 20)
    state.close()


def _rows(path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_a_sqlite_deployment_moves_with_every_row_and_is_then_used(
    tmp_path,
    site,  # noqa: F811
    postgres_url,
):
    _deployment(tmp_path, site)
    library_rows = _rows(tmp_path / "data" / "quotebot.db")
    state_rows = _rows(tmp_path / "data" / "bot-state.db")
    moved = run_cli(tmp_path, "db", "migrate", "--to", postgres_url, "--json")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    report = json.loads(moved.stdout)
    assert report["ok"] and all(t["same"] for t in report["tables"])
    counted = {(t["store"], t["table"]): t["copied"] for t in report["tables"]}
    for table, rows in library_rows.items():
        if table != "texts":
            assert counted[("library", table)] == rows, table
    for table, rows in state_rows.items():
        assert counted[("state", table)] == rows, table
    with sqlite3.connect(tmp_path / "data" / "quotebot.db") as db:
        (texts,) = db.execute("SELECT COUNT(DISTINCT sha256) FROM articles").fetchone()
    assert counted[("library", "texts")] == texts == library_rows["articles"] - 1  # one shared
    assert library_rows["feed_items"] == 4 and library_rows["channel_pins"] == 1
    assert min(state_rows[t] for t in ("answers", "votes", "gaps", "forums")) == 1

    # Used from PostgreSQL, on a machine with none of the files: the same answers.
    asked = run_cli(
        tmp_path / "elsewhere",
        "ask",
        "When did the council meet?",
        "--collection",
        "server-1",
        settings={"DATABASE_URL": postgres_url},
    )
    assert asked.returncode == 0, asked.stderr
    assert "The council met on Monday." in asked.stdout
    # A second move into the same database is refused, and changes nothing.
    again = run_cli(tmp_path, "db", "migrate", "--to", postgres_url)
    assert again.returncode == 1 and "holds rows already" in again.stdout
    assert "Nothing was moved" in again.stdout


def test_a_move_to_a_database_that_does_not_answer_is_a_clear_message(tmp_path):
    Library(tmp_path / "data").seeds_dir("default")
    moved = run_cli(
        tmp_path, "db", "migrate", "--to", "postgresql://quotebot:secret@127.0.0.1:1/none"
    )
    assert moved.returncode == 1 and "Nothing was moved" in moved.stdout
    assert "secret" not in moved.stdout + moved.stderr and "Traceback" not in moved.stderr


def test_a_move_that_fails_half_way_leaves_the_database_empty_and_can_be_run_again(
    tmp_path,
    site,  # noqa: F811
    postgres_url,
):
    """Both stores move in one transaction: a row PostgreSQL refuses in the second store
    leaves nothing of the first behind; mended, the move runs again. An id deleted from the
    top of a table is not handed out again afterwards."""
    _deployment(tmp_path, site)
    state_file = tmp_path / "data" / "bot-state.db"
    with sqlite3.connect(state_file) as db:  # SQLite keeps a text in an integer column
        db.execute("UPDATE servers SET retention_days = 'twenty'")
    failed = run_cli(tmp_path, "db", "migrate", "--to", postgres_url)
    assert failed.returncode == 1 and "Nothing was moved" in failed.stdout, failed.stdout
    import psycopg

    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT COUNT(*) FROM articles").fetchone() == (0,)
    with sqlite3.connect(state_file) as db:
        db.execute("UPDATE servers SET retention_days = 20")
        top = db.execute("SELECT MAX(id) FROM answers").fetchone()[0]
        db.execute("DELETE FROM votes")
        db.execute("DELETE FROM answers WHERE id = ?", (top,))
    moved = run_cli(tmp_path, "db", "migrate", settings={"DATABASE_URL": postgres_url})
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "Moved to PostgreSQL at" in moved.stdout and "DIFFERS" not in moved.stdout
    state = BotState(tmp_path / "elsewhere", database_url=postgres_url)
    try:
        again = state.record_answer(guild_id=1, channel_id=10, member_id=7, answer=answer("Q?"))
        assert again > top
    finally:
        state.close()
