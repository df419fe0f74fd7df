"""The bot's own state, kept apart from the articles: what members asked and rated, the
questions the articles could not answer, which forums get automatic answers, and how long
each server keeps what is stored about its members.

One database, read by both front ends (the bot writes it; `quotebot feedback export` reads
it): the SQLite file `bot-state.db` in DATA_DIR, or PostgreSQL (DATABASE_URL), as
bot/state/backends.py says. Members' data is deleted for real: in SQLite, `secure_delete`
overwrites a deleted row's bytes and the write-ahead log is checkpointed and truncated after
every deletion, so no old copy of the row stays in either file; in PostgreSQL, the tables are
vacuumed.

Every method is one short transaction, safe to call from any thread (each takes its own
connection), and every list it returns is bounded.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from corpus import tokenize_text
from corpus.models import Answer
from corpus.sources import SchemaTooNew

from .backends import (
    SUBJECT,
    Backend,
    Db,
    StateError,
    describe_database,
    open_backend,
    reason_of,
)
from .records import (
    FeedbackReport,
    Forgotten,
    Forum,
    Gap,
    RatedAnswer,
    ShownAnswer,
    ShownQuote,
)

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "MAX_GAPS_PER_SERVER",
    "MAX_RETENTION_DAYS",
    "MIGRATIONS",
    "STATE_FILE",
    "BotState",
    "StateError",
    "gap_words",
    "question_names",
    "shown_quotes",
]

STATE_FILE = "bot-state.db"
# Connections to PostgreSQL: one for each thread the bot uses the state from (its answers'
# and the rest: bot/discord/records.py).
POOL_SIZE = 8
DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 365
# Distinct unanswered questions kept per server; past it the least recently asked goes.
MAX_GAPS_PER_SERVER = 500
# Two questions whose encoder vectors are at least this close, and whose names agree (one's
# are all among the other's), are the same question asked twice ("When is the election?" /
# "what date is the vote": 0.90). e5's cosines crowd towards 1 (unrelated questions score
# about 0.8), and questions about different people score high ("What did Putin say about
# Niger?" / "... Biden ...": 0.92): so the names must agree too.
SAME_QUESTION_COSINE = 0.90
# The most recent questions of a server's gap queue a new one is compared with by meaning.
SIMILAR_ASKS_COMPARED = 2000
_DAY = 86_400.0

MIGRATIONS = [
    """
    CREATE TABLE servers (
        guild_id INTEGER PRIMARY KEY,
        retention_days INTEGER,
        left_at REAL,
        gaps_numbered INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE forums (
        guild_id INTEGER NOT NULL,
        channel_id INTEGER NOT NULL,
        closest INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (guild_id, channel_id)
    );
    CREATE TABLE answered_posts (
        thread_id INTEGER PRIMARY KEY,
        guild_id INTEGER NOT NULL,
        answered_at REAL NOT NULL
    );
    CREATE TABLE answers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        guild_id INTEGER,
        channel_id INTEGER,
        member_id INTEGER NOT NULL,
        question TEXT NOT NULL,
        read_as TEXT,
        outcome TEXT NOT NULL,
        confidence REAL NOT NULL,
        quotes TEXT NOT NULL,
        asked_at REAL NOT NULL,
        right_quote INTEGER,
        right_by INTEGER
    );
    CREATE INDEX answers_by_server ON answers (guild_id, asked_at);
    CREATE INDEX answers_by_member ON answers (member_id);
    CREATE TABLE votes (
        answer_id INTEGER NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
        member_id INTEGER NOT NULL,
        vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
        voted_at REAL NOT NULL,
        PRIMARY KEY (answer_id, member_id)
    );
    CREATE INDEX votes_by_member ON votes (member_id);
    CREATE TABLE gaps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        guild_id INTEGER NOT NULL,
        number INTEGER NOT NULL,
        UNIQUE (guild_id, number)
    );
    CREATE INDEX gaps_by_server ON gaps (guild_id);
    CREATE TABLE gap_asks (
        gap_id INTEGER NOT NULL REFERENCES gaps (id) ON DELETE CASCADE,
        member_id INTEGER NOT NULL,
        question TEXT NOT NULL,
        words TEXT NOT NULL,
        names TEXT NOT NULL,
        vector BLOB,
        times INTEGER NOT NULL DEFAULT 1,
        asked_at REAL NOT NULL,
        PRIMARY KEY (gap_id, member_id)
    );
    CREATE INDEX gap_asks_by_words ON gap_asks (words);
    CREATE INDEX gap_asks_by_member ON gap_asks (member_id);
    CREATE TABLE mod_log_posts (
        message_id INTEGER PRIMARY KEY,
        channel_id INTEGER NOT NULL,
        guild_id INTEGER,
        member_id INTEGER NOT NULL,
        posted_at REAL NOT NULL
    );
    CREATE INDEX mod_log_by_member ON mod_log_posts (member_id);
    CREATE TABLE doomed_messages (
        message_id INTEGER PRIMARY KEY,
        channel_id INTEGER NOT NULL
    );
    CREATE TABLE shared_links (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        guild_id INTEGER NOT NULL,
        member_id INTEGER NOT NULL,
        url TEXT NOT NULL,
        shared_at REAL NOT NULL
    );
    CREATE INDEX shared_links_by_member ON shared_links (member_id)
    """,
]

# The tables that hold something a member wrote or did, with the column naming them and the
# one saying when: what /forget-me and the retention period delete.
# The tables deletions of members' data touch (their bytes are made to go after it:
# bot/state/backends.py). A dismissed or answered gap's go at the next hourly sweep.
_STATE_TABLES = (
    "answers",
    "votes",
    "gaps",
    "gap_asks",
    "mod_log_posts",
    "shared_links",
    "doomed_messages",
    "answered_posts",
    "forums",
    "servers",
)

_MEMBER_ROWS = (
    ("votes", "member_id", "voted_at"),  # before answers: deleting one deletes its votes
    ("answers", "member_id", "asked_at"),
    ("gap_asks", "member_id", "asked_at"),
    ("mod_log_posts", "member_id", "posted_at"),
    ("shared_links", "member_id", "shared_at"),
)


def shown_quotes(answer: Answer) -> tuple[ShownQuote, ...]:
    """The quotes a member sees under an answer (`Answer.shown`), as the store keeps them."""
    return tuple(
        ShownQuote(
            text=q.text,
            doc_id=q.citation.doc_id,
            title=q.citation.title,
            start=q.citation.start,
            end=q.citation.end,
            url=q.citation.url,
        )
        for q in answer.shown
    )


class BotState:
    def __init__(
        self,
        data_dir: Path,
        *,
        default_retention_days: int = DEFAULT_RETENTION_DAYS,
        database_url: str | None = None,
    ):
        """The state in `database_url`'s PostgreSQL when given, else in DATA_DIR's file."""
        self.path = data_dir / STATE_FILE
        self.default_retention_days = default_retention_days
        backend: Backend | None = None
        try:
            if not database_url:
                data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            backend = open_backend(
                path=self.path,
                database_url=database_url,
                store="state",
                subject=SUBJECT,
                error=StateError,
                pool_size=POOL_SIZE,
            )
            backend.migrate(MIGRATIONS)
        except SchemaTooNew:
            if backend is not None:
                backend.close()
            raise StateError(
                f"The bot's state in {backend.where if backend else self.path} was written by "
                "a newer quotebot; upgrade it."
            ) from None
        except (OSError, sqlite3.Error, StateError) as error:
            if backend is not None:
                backend.close()
            where = describe_database(database_url)[0] if database_url else self.path
            raise StateError(
                f"The bot's state in {where} cannot be used ({reason_of(error)}). Set "
                + (
                    "DATABASE_URL to a database you can write to."
                    if database_url
                    else "DATA_DIR to a folder you can write to."
                )
            ) from None
        self._backend: Backend = backend

    @property
    def where(self) -> str:
        """The file, or the database (without its password)."""
        return self._backend.where

    @property
    def in_file(self) -> bool:
        """Whether the state is the SQLite file `path` (else it is in PostgreSQL)."""
        return not self._backend.shared

    def close(self) -> None:
        self._backend.close()

    def _db(self) -> contextlib.AbstractContextManager[Db]:
        return self._backend.reading()

    def _transaction(
        self, *, deleting: Sequence[str] = (), exclusive: bool = True, server: int | None = None
    ) -> contextlib.AbstractContextManager[Db]:
        """One transaction, all or nothing (corpus/sources/database.py). `deleting` names the
        tables it may delete members' data from: their bytes are made to go after it. Not
        `exclusive`: one insert that reads nothing first, which needs no turn among the
        writers of every process (the answers kept as each is shown, above all). `server`:
        it reads and changes that server's rows only, beside other servers' writers."""
        return self._backend.transaction(deleting=deleting, exclusive=exclusive, part=server)

    # Answers and votes

    def record_answer(
        self,
        *,
        guild_id: int | None,
        channel_id: int | None,
        member_id: int,
        answer: Answer,
        now: float | None = None,
    ) -> int:
        """Keep an answer as shown (for its votes, /feedback and the export); its id."""
        quotes = json.dumps([q.model_dump() for q in shown_quotes(answer)])
        with self._transaction(exclusive=False) as db:
            cursor = db.execute(
                "INSERT INTO answers (guild_id, channel_id, member_id, question, read_as, "
                "outcome, confidence, quotes, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (
                    guild_id,
                    channel_id,
                    member_id,
                    answer.question,
                    answer.read_as,
                    answer.outcome,
                    float(answer.confidence),
                    quotes,
                    _now(now),
                ),
            )
            return cursor.fetchone()[0]

    def answer(self, answer_id: int) -> ShownAnswer | None:
        with self._db() as db:
            row = db.execute(f"{_ANSWER_COLUMNS} WHERE id = ?", (answer_id,)).fetchone()
        return _shown(row) if row else None

    def vote(
        self,
        answer_id: int,
        member_id: int,
        vote: int,
        *,
        guild_id: int | None,
        now: float | None = None,
    ) -> bool:
        """A member's 👍 (1) or 👎 (-1) on an answer given in their server (`guild_id`; in
        direct messages, only on their own answers), replacing their earlier vote on it;
        False when there is no such answer for them to vote on."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT guild_id, member_id FROM answers WHERE id = ?", (answer_id,)
            ).fetchone()
            if row is None or row[0] != guild_id or (guild_id is None and row[1] != member_id):
                return False
            db.execute(
                "INSERT INTO votes (answer_id, member_id, vote, voted_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (answer_id, member_id) DO UPDATE SET vote = excluded.vote, "
                "voted_at = excluded.voted_at",
                (answer_id, member_id, 1 if vote > 0 else -1, _now(now)),
            )
            return True

    def pick_right_quote(self, answer_id: int, guild_id: int, member_id: int, index: int) -> bool:
        """A moderator's word on which shown quote of their server's answer is right (-1:
        none of them); False when there is no such answer or quote."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT quotes FROM answers WHERE id = ? AND guild_id = ?", (answer_id, guild_id)
            ).fetchone()
            if row is None or index >= len(json.loads(row[0])):
                return False
            db.execute(
                "UPDATE answers SET right_quote = ?, right_by = ? WHERE id = ?",
                (index, member_id, answer_id),
            )
            return True

    def feedback(self, guild_id: int, *, worst: int = 5) -> FeedbackReport:
        assert worst <= 5, "the /feedback embed has room for five"
        """The server's votes, and its worst-rated recent answers (most 👎 over 👍 first)."""
        with self._db() as db:
            answers, picked = db.execute(
                "SELECT COUNT(*), COUNT(right_quote) FROM answers WHERE guild_id = ?",
                (guild_id,),
            ).fetchone()
            rated, up, down = db.execute(
                "SELECT COUNT(DISTINCT v.answer_id), "
                f"COALESCE(SUM({_UP}), 0), COALESCE(SUM({_DOWN}), 0) "
                "FROM votes v JOIN answers a ON a.id = v.answer_id WHERE a.guild_id = ?",
                (guild_id,),
            ).fetchone()
            rows = db.execute(
                f"SELECT * FROM ({_ANSWER_COLUMNS}) a JOIN ("
                f"SELECT answer_id, SUM({_UP}) AS up, SUM({_DOWN}) AS down FROM votes "
                "GROUP BY answer_id) v ON v.answer_id = a.id "
                "WHERE a.guild_id = ? AND v.down > v.up ORDER BY v.down - v.up DESC, "
                "a.asked_at DESC LIMIT ?",
                (guild_id, worst),
            ).fetchall()
        return FeedbackReport(
            answers=answers,
            rated=rated,
            up=up,
            down=down,
            picked=picked,
            worst=tuple(
                RatedAnswer(answer=_shown(row[:-3]), up=row[-2], down=row[-1]) for row in rows
            ),
        )

    def rated_answers(self, guild_id: int) -> list[RatedAnswer]:
        """Every answer of the server that a member voted on or a moderator picked a quote
        for, oldest first (at most the retention period's)."""
        with self._db() as db:
            rows = db.execute(
                f"SELECT a.*, COALESCE(v.up, 0), COALESCE(v.down, 0) FROM ({_ANSWER_COLUMNS}) a "
                "LEFT JOIN (SELECT answer_id, SUM(CASE WHEN vote > 0 THEN 1 ELSE 0 END) AS up, "
                "SUM(CASE WHEN vote < 0 THEN 1 ELSE 0 END) AS down "
                "FROM votes GROUP BY answer_id) v ON v.answer_id = a.id "
                "WHERE a.guild_id = ? AND (v.answer_id IS NOT NULL OR a.right_quote IS NOT NULL) "
                "ORDER BY a.asked_at, a.id",
                (guild_id,),
            ).fetchall()
        return [RatedAnswer(answer=_shown(row[:-2]), up=row[-2], down=row[-1]) for row in rows]

    # The gap queue

    def queue_gap(
        self,
        guild_id: int,
        member_id: int,
        question: str,
        vector: np.ndarray | None = None,
        now: float | None = None,
    ) -> int:
        """Queue a question the articles did not answer, merged with the same question asked
        before: the same words, or with an encoder, a vector close enough
        (SAME_QUESTION_COSINE) and the same names. A member asking the same gap again is
        counted on their one row (their latest wording kept). The gap's number."""
        question = question.replace("\x00", "")  # PostgreSQL's text holds none
        words, names = gap_words(question), question_names(question)
        blob = _unit(vector).tobytes() if vector is not None else None
        with self._transaction(server=guild_id) as db:
            gap_id = _same_gap(db, guild_id, words, names, vector)
            if gap_id is None:
                gap_id = _new_gap(db, guild_id)
            db.execute(
                "INSERT INTO gap_asks (gap_id, member_id, question, words, names, vector, "
                "asked_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (gap_id, member_id) DO "
                "UPDATE SET question = excluded.question, words = excluded.words, names = "
                "excluded.names, vector = excluded.vector, asked_at = excluded.asked_at, "
                "times = gap_asks.times + 1",
                (gap_id, member_id, question, words, " ".join(sorted(names)), blob, _now(now)),
            )
            # Bounded: past the limit, the gap asked least recently goes.
            db.execute(
                "DELETE FROM gaps WHERE guild_id = ? AND id NOT IN (SELECT gap_id FROM gap_asks "
                "JOIN gaps g ON g.id = gap_id WHERE g.guild_id = ? GROUP BY gap_id "
                "ORDER BY MAX(asked_at) DESC LIMIT ?)",
                (guild_id, guild_id, MAX_GAPS_PER_SERVER),
            )
            row = db.execute("SELECT number FROM gaps WHERE id = ?", (gap_id,)).fetchone()
            return row[0] if row else 0

    def gaps(self, guild_id: int, limit: int = 25) -> list[Gap]:
        """The server's queue, most asked first (then most recent)."""
        with self._db() as db:
            rows = db.execute(
                "SELECT g.number, (SELECT question FROM gap_asks WHERE gap_id = g.id "
                "ORDER BY asked_at DESC LIMIT 1), CAST(SUM(a.times) AS BIGINT), COUNT(*), "
                "MAX(a.asked_at) "
                "FROM gaps g JOIN gap_asks a ON a.gap_id = g.id WHERE g.guild_id = ? "
                "GROUP BY g.id ORDER BY SUM(a.times) DESC, MAX(a.asked_at) DESC LIMIT ?",
                (guild_id, limit),
            ).fetchall()
        return [
            Gap(number=r[0], question=r[1], asked=r[2], members=r[3], last_asked=r[4]) for r in rows
        ]

    def close_gaps(self, guild_id: int, numbers: Sequence[int]) -> int:
        """Take gaps off the server's queue (dismissed, or answered now); how many went."""
        with self._transaction(server=guild_id) as db:
            return sum(
                db.execute(
                    "DELETE FROM gaps WHERE guild_id = ? AND number = ?", (guild_id, number)
                ).rowcount
                for number in numbers
            )

    # Forums

    def watch_forum(self, guild_id: int, channel_id: int, *, closest: bool) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO forums (guild_id, channel_id, closest) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id, channel_id) DO UPDATE SET closest = excluded.closest",
                (guild_id, channel_id, int(closest)),
            )

    def unwatch_forum(self, guild_id: int, channel_id: int) -> bool:
        with self._transaction() as db:
            return (
                db.execute(
                    "DELETE FROM forums WHERE guild_id = ? AND channel_id = ?",
                    (guild_id, channel_id),
                ).rowcount
                > 0
            )

    def forums(self, guild_id: int | None = None) -> list[Forum]:
        where, values = ("WHERE guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
        with self._db() as db:
            rows = db.execute(
                f"SELECT guild_id, channel_id, closest FROM forums {where}", values
            ).fetchall()
        return [Forum(guild_id=g, channel_id=c, closest=bool(closest)) for g, c, closest in rows]

    def claim_post(self, thread_id: int, guild_id: int, now: float | None = None) -> bool:
        """True the first time a forum post is claimed for an answer: a post is answered
        once, however often Discord sends it (a reconnect, two shards)."""
        with self._transaction(exclusive=False) as db:
            cursor = db.execute(
                "INSERT INTO answered_posts (thread_id, guild_id, answered_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (thread_id, guild_id, _now(now)),
            )
            return cursor.rowcount > 0

    # The mod log and shared links

    def record_mod_log(
        self,
        *,
        channel_id: int,
        message_id: int,
        guild_id: int | None,
        member_id: int,
        now: float | None = None,
    ) -> None:
        """A mod-log message about a member's question, so it can be deleted with their data."""
        with self._transaction(exclusive=False) as db:
            db.execute(
                "INSERT INTO mod_log_posts (message_id, channel_id, guild_id, member_id, "
                "posted_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET "
                "channel_id = excluded.channel_id, guild_id = excluded.guild_id, member_id = "
                "excluded.member_id, posted_at = excluded.posted_at",
                (message_id, channel_id, guild_id, member_id, _now(now)),
            )

    def doomed_messages(self, limit: int = 100) -> list[tuple[int, int]]:
        """Mod-log messages (channel id, message id) whose member data was deleted, still to
        delete on Discord: each stays listed until `messages_deleted` says it went."""
        with self._db() as db:
            rows = db.execute(
                "SELECT channel_id, message_id FROM doomed_messages ORDER BY message_id LIMIT ?",
                (limit,),
            ).fetchall()
        return [(c, m) for c, m in rows]

    def messages_deleted(self, message_ids: Sequence[int]) -> None:
        with self._transaction() as db:
            db.executemany(
                "DELETE FROM doomed_messages WHERE message_id = ?", [(m,) for m in message_ids]
            )

    def share_link(self, guild_id: int, member_id: int, url: str, now: float | None = None) -> int:
        with self._transaction(exclusive=False) as db:
            cursor = db.execute(
                "INSERT INTO shared_links (guild_id, member_id, url, shared_at) "
                "VALUES (?, ?, ?, ?) RETURNING id",
                (guild_id, member_id, url, _now(now)),
            )
            return cursor.fetchone()[0]

    def shared_link(self, link_id: int, guild_id: int) -> str | None:
        with self._db() as db:
            row = db.execute(
                "SELECT url FROM shared_links WHERE id = ? AND guild_id = ?", (link_id, guild_id)
            ).fetchone()
        return row[0] if row else None

    # Members' data under their control

    def retention_days(self, guild_id: int) -> int:
        with self._db() as db:
            row = db.execute(
                "SELECT retention_days FROM servers WHERE guild_id = ?", (guild_id,)
            ).fetchone()
        return row[0] if row and row[0] is not None else self.default_retention_days

    def set_retention_days(self, guild_id: int, days: int) -> None:
        """Set the server's period, and delete what is older now (not at the next sweep)."""
        if not 1 <= days <= MAX_RETENTION_DAYS:
            raise StateError(f"Keep members' data for 1 to {MAX_RETENTION_DAYS} days.")
        with self._transaction() as db:
            db.execute(
                "INSERT INTO servers (guild_id, retention_days) VALUES (?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET retention_days = excluded.retention_days",
                (guild_id, days),
            )
        self.expire()

    def forget_member(self, member_id: int) -> Forgotten:
        """Delete everything stored about a member, in every server: their questions and the
        answers to them (with everyone's votes on those), their votes, their questions in the
        gap queue (a gap no one else asked goes too), the links they shared, and their
        mod-log messages (left in `doomed_messages` for the caller to delete on Discord). A
        moderator's pick of a right quote stays, no longer naming them."""
        with self._transaction(deleting=_STATE_TABLES) as db:
            posts = _doom(db, "member_id = ?", (member_id,))
            counts = {
                table: db.execute(f"DELETE FROM {table} WHERE {column} = ?", (member_id,)).rowcount
                for table, column, _ in _MEMBER_ROWS
            }
            db.execute("UPDATE answers SET right_by = NULL WHERE right_by = ?", (member_id,))
            _drop_empty_gaps(db)
        return Forgotten(
            answers=counts["answers"],
            votes=counts["votes"],
            gap_questions=counts["gap_asks"],
            shared_links=counts["shared_links"],
            mod_log_messages=posts,
        )

    def expire(self, now: float | None = None) -> None:
        """Delete members' data older than its server's retention period (direct messages:
        the default one); their mod-log messages go to `doomed_messages`. Also finishes a
        checkpoint a reader kept from finishing."""
        when = _now(now)
        period = "COALESCE((SELECT retention_days FROM servers s WHERE s.guild_id = {}), ?) * ?"
        ages = (when, self.default_retention_days, _DAY)
        with self._transaction() as db:
            _doom(db, "posted_at < ? - " + period.format(_SERVER_OF["mod_log_posts"]), ages)
            for table, _, column in _MEMBER_ROWS:
                db.execute(
                    f"DELETE FROM {table} WHERE {column} < ? - " + period.format(_SERVER_OF[table]),
                    ages,
                )
            _drop_empty_gaps(db)
            db.execute(
                "DELETE FROM answered_posts WHERE answered_at < ?",
                (when - MAX_RETENTION_DAYS * _DAY,),
            )
        self._backend.finish_deleting(_STATE_TABLES)

    def left_server(self, guild_id: int, now: float | None = None) -> None:
        """The bot was removed from a server: its data goes after the host's grace period,
        unless the bot is added back first. Told again, the first time stands."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO servers (guild_id, left_at) VALUES (?, ?) ON CONFLICT (guild_id) "
                "DO UPDATE SET left_at = COALESCE(servers.left_at, excluded.left_at)",
                (guild_id, _now(now)),
            )

    def joined_server(self, guild_id: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE servers SET left_at = NULL WHERE guild_id = ?", (guild_id,))

    def servers_left_before(self, when: float) -> list[int]:
        with self._db() as db:
            rows = db.execute(
                "SELECT guild_id FROM servers WHERE left_at IS NOT NULL AND left_at < ?", (when,)
            ).fetchall()
        return [guild_id for (guild_id,) in rows]

    def known_servers(self) -> set[int]:
        """Every server the state holds something of."""
        with self._db() as db:
            rows = db.execute(
                "SELECT guild_id FROM servers UNION SELECT guild_id FROM forums "
                "UNION SELECT guild_id FROM answers WHERE guild_id IS NOT NULL "
                "UNION SELECT guild_id FROM gaps UNION SELECT guild_id FROM shared_links "
                "UNION SELECT guild_id FROM mod_log_posts WHERE guild_id IS NOT NULL"
            ).fetchall()
        return {guild_id for (guild_id,) in rows}

    def drop_server(self, guild_id: int) -> None:
        """Delete everything stored for a server (its mod-log messages to `doomed_messages`)."""
        with self._transaction(deleting=_STATE_TABLES) as db:
            _doom(db, "guild_id = ?", (guild_id,))
            for table in (
                "answers",
                "gaps",
                "forums",
                "answered_posts",
                "shared_links",
                "servers",
            ):
                db.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))

    def member_rows(self, member_id: int) -> dict[str, int]:
        """How many rows of each kind name the member (what /forget-me would delete)."""
        with self._db() as db:
            return {
                table: db.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (member_id,)
                ).fetchone()[0]
                for table, column, _ in _MEMBER_ROWS
            }


def _same_gap(
    db: Db,
    guild_id: int,
    words: str,
    names: frozenset[str],
    vector: np.ndarray | None,
) -> int | None:
    """The server's gap this question is another asking of, if any: one asked in the same
    words, else (with a vector) the closest asked with agreeing names, if close enough. The
    most recent SIMILAR_ASKS_COMPARED asks are compared."""
    row = db.execute(
        "SELECT a.gap_id FROM gap_asks a JOIN gaps g ON g.id = a.gap_id "
        "WHERE g.guild_id = ? AND a.words = ? LIMIT 1",
        (guild_id, words),
    ).fetchone()
    if row is not None or vector is None:
        return row[0] if row else None
    rows = db.execute(
        "SELECT a.gap_id, a.names, a.vector FROM gap_asks a JOIN gaps g ON g.id = a.gap_id "
        "WHERE g.guild_id = ? AND a.vector IS NOT NULL ORDER BY a.asked_at DESC LIMIT ?",
        (guild_id, SIMILAR_ASKS_COMPARED),
    ).fetchall()
    wanted = _unit(vector)
    best, best_id = SAME_QUESTION_COSINE, None
    for gap_id, known_names, blob in rows:
        known = np.frombuffer(blob, dtype=np.float32)
        theirs = frozenset(known_names.split())
        if known.shape == wanted.shape and (names <= theirs or theirs <= names):
            cosine = float(known @ wanted)
            if cosine >= best:
                best, best_id = cosine, gap_id
    return best_id


def _new_gap(db: Db, guild_id: int) -> int:
    """A new gap of the server, numbered after every gap it ever had (a number a moderator
    saw is never given to another question); its row id."""
    (number,) = db.execute(
        "INSERT INTO servers (guild_id, gaps_numbered) VALUES (?, 1) ON CONFLICT (guild_id) "
        "DO UPDATE SET gaps_numbered = servers.gaps_numbered + 1 RETURNING gaps_numbered",
        (guild_id,),
    ).fetchone()
    cursor = db.execute(
        "INSERT INTO gaps (guild_id, number) VALUES (?, ?) RETURNING id", (guild_id, number)
    )
    return cursor.fetchone()[0]


def _doom(db: Db, where: str, values: tuple) -> tuple[tuple[int, int], ...]:
    """Move the matching mod-log records to the messages to delete on Discord."""
    # Exactly the rows deleted are the ones listed (RETURNING): none slips between.
    rows = db.execute(
        f"DELETE FROM mod_log_posts WHERE {where} RETURNING channel_id, message_id", values
    ).fetchall()
    if rows:
        db.executemany(
            "INSERT INTO doomed_messages (channel_id, message_id) VALUES (?, ?) "
            "ON CONFLICT DO NOTHING",
            [tuple(row) for row in rows],
        )
    return tuple((c, m) for c, m in rows)


# The server whose retention period a row of each table follows (a vote: its answer's; a
# gap's question: the gap's).
_SERVER_OF = {
    "answers": "answers.guild_id",
    "votes": "(SELECT a.guild_id FROM answers a WHERE a.id = votes.answer_id)",
    "gap_asks": "(SELECT g.guild_id FROM gaps g WHERE g.id = gap_asks.gap_id)",
    "mod_log_posts": "mod_log_posts.guild_id",
    "shared_links": "shared_links.guild_id",
}

# A vote up, a vote down, counted the way both SQLite and PostgreSQL sum.
_UP = "CASE WHEN vote > 0 THEN 1 ELSE 0 END"
_DOWN = "CASE WHEN vote < 0 THEN 1 ELSE 0 END"

_ANSWER_COLUMNS = (
    "SELECT id, guild_id, member_id, question, outcome, confidence, quotes, asked_at, "
    "right_quote, read_as FROM answers"
)


def _shown(row: Sequence[object]) -> ShownAnswer:
    (answer_id, guild_id, member_id, question, outcome, confidence, quotes, asked, right) = row[:9]
    return ShownAnswer(
        id=answer_id,
        guild_id=guild_id,
        member_id=member_id,
        question=question,
        read_as=row[9],
        outcome=outcome,
        confidence=confidence,
        quotes=tuple(ShownQuote(**q) for q in json.loads(str(quotes))),
        asked_at=asked,
        right_quote=right,
    )


def gap_words(question: str) -> str:
    """A question's words as the gap queue merges them: stems, without order or repeats
    ("Who leads Wagner?" and "wagner: who leads it" are one question)."""
    return " ".join(sorted(set(tokenize_text(question))))[:500]


def question_names(question: str) -> frozenset[str]:
    """The names in a question: its capitalised words after the first ("Putin", "Niger")."""
    words = _WORD.findall(question)[1:]
    return frozenset(w.removesuffix("'s").casefold() for w in words if w[:1].isupper())


_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def _drop_empty_gaps(db: Db) -> None:
    db.execute("DELETE FROM gaps WHERE id NOT IN (SELECT gap_id FROM gap_asks)")


def _unit(vector: np.ndarray) -> np.ndarray:
    flat = np.asarray(vector, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(flat))
    return flat / norm if norm > 0 else flat


def _now(now: float | None) -> float:
    return time.time() if now is None else now
