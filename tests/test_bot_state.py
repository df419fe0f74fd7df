"""The bot's own store: answers, votes, the gap queue, forums, and members' data deleted for
real (gone from the database file's bytes, not just hidden)."""

from __future__ import annotations

import sqlite3
import time

import numpy as np
import pytest

from bot.state import BotState, StateError
from bot.state.export import question_rows
from corpus.models import Answer, Citation, Quote

GUILD, OTHER_GUILD, MEMBER, OTHER_MEMBER, MOD = 11, 12, 21, 22, 23
DAY = 86_400.0


@pytest.fixture(params=["sqlite", "postgresql"])
def new_state(request, tmp_path):
    """Makes the store on each backend: the SQLite file, and PostgreSQL."""
    made = []

    def make(directory=tmp_path, **options):
        url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
        state = BotState(directory, database_url=url, **options)
        made.append(state)
        return state

    yield make
    for state in made:
        state.close()


def answer(question: str, *, outcome: str = "answer", quotes: tuple[str, ...] = ("A said B.",)):
    found = outcome == "answer"
    return Answer(
        question=question,
        found=found,
        outcome=outcome,
        confidence=0.8 if found else 0.2,
        quotes=tuple(
            Quote(
                text=text,
                citation=Citation(
                    doc_id="doc",
                    title="Doc",
                    paragraph=1,
                    sentence=i,
                    sentence_in_document=i,
                    start=10 * i,
                    end=10 * i + len(text),
                ),
                score=1.0,
                answers_question=found,
            )
            for i, text in enumerate(quotes)
        ),
    )


def test_answers_votes_and_the_feedback_report(new_state):
    state = new_state()
    good = state.record_answer(
        guild_id=GUILD, channel_id=1, member_id=MEMBER, answer=answer("Who won?")
    )
    bad = state.record_answer(
        guild_id=GUILD, channel_id=1, member_id=MEMBER, answer=answer("Where?", quotes=("X.", "Y."))
    )
    elsewhere = state.record_answer(
        guild_id=OTHER_GUILD, channel_id=2, member_id=MEMBER, answer=answer("Who lost?")
    )
    assert state.vote(good, MEMBER, 1, guild_id=GUILD) and state.vote(
        good, OTHER_MEMBER, 1, guild_id=GUILD
    )
    assert state.vote(bad, MEMBER, 1, guild_id=GUILD) and state.vote(
        bad, MEMBER, -1, guild_id=GUILD
    )  # changed their mind
    assert state.vote(bad, OTHER_MEMBER, -1, guild_id=GUILD)
    assert state.vote(elsewhere, MEMBER, -1, guild_id=OTHER_GUILD)
    assert not state.vote(9999, MEMBER, 1, guild_id=GUILD)  # no such answer
    # Another server's answer, or one in someone else's direct messages: not theirs to rate.
    assert not state.vote(good, MEMBER, 1, guild_id=OTHER_GUILD)
    in_dm = state.record_answer(guild_id=None, channel_id=3, member_id=MEMBER, answer=answer("Q"))
    assert not state.vote(in_dm, OTHER_MEMBER, 1, guild_id=None)
    assert state.vote(in_dm, MEMBER, 1, guild_id=None)
    report = state.feedback(GUILD)
    assert (report.answers, report.rated, report.up, report.down) == (2, 2, 2, 2)
    assert [w.answer.question for w in report.worst] == ["Where?"]
    assert report.worst[0].answer.quotes[0].text == "X."
    assert not state.pick_right_quote(bad, OTHER_GUILD, MOD, 1)  # another server's moderator
    assert not state.pick_right_quote(bad, GUILD, MOD, 2)  # it showed two quotes
    assert state.pick_right_quote(bad, GUILD, MOD, 1)
    shown = state.answer(bad)
    assert shown is not None and shown.right_quote == 1 and shown.confidence == 0.8


def test_export_uses_the_picked_quote_the_upvoted_answer_and_skips_the_unknown(new_state):
    state = new_state()
    ids = [
        state.record_answer(guild_id=GUILD, channel_id=1, member_id=MEMBER, answer=a)
        for a in (
            answer("Who won?"),
            answer("Where?", quotes=("X.", "Y.")),
            answer("Why?"),
            answer("When did it snow?", outcome="none", quotes=()),
            answer("Not rated"),
        )
    ]
    state.vote(ids[0], MEMBER, 1, guild_id=GUILD)
    state.vote(ids[1], MEMBER, -1, guild_id=GUILD)
    state.pick_right_quote(ids[1], GUILD, MOD, 1)
    state.vote(ids[2], MEMBER, -1, guild_id=GUILD)  # wrong, and which is right is unknown
    state.vote(ids[3], MEMBER, 1, guild_id=GUILD)  # right to decline
    exported = question_rows(state.rated_answers(GUILD))
    assert [(r["question"], r["answers"]) for r in exported.rows] == [
        ("Who won?", ["A said B."]),
        ("Where?", ["Y."]),
        ("When did it snow?", []),
    ]
    assert exported.without_gold == 1


def test_near_duplicate_gaps_merge_by_words_or_by_vector(new_state):
    state = new_state()
    one = state.queue_gap(GUILD, MEMBER, "Who leads Wagner?")
    same = state.queue_gap(GUILD, OTHER_MEMBER, "wagner: who leads?")
    assert same == one
    close = np.array([1.0, 0.1, 0.0])
    vec = state.queue_gap(GUILD, MEMBER, "When is the vote", vector=np.array([1.0, 0.0, 0.0]))
    assert state.queue_gap(GUILD, MEMBER, "Q1 reworded", vector=close) == vec
    # As close, but about someone else: another question.
    putin = state.queue_gap(GUILD, MEMBER, "What did Putin say?", vector=np.array([0, 1.0, 0]))
    assert state.queue_gap(
        GUILD, MEMBER, "What did Biden say?", vector=np.array([0, 1, 0.1])
    ) not in (putin, vec)
    far = state.queue_gap(GUILD, MEMBER, "Q2", vector=np.array([0.0, 0.0, 1.0]))
    assert far != vec
    gaps = state.gaps(GUILD)
    assert [(g.question, g.asked, g.members) for g in gaps[:2]] == [
        ("Q1 reworded", 2, 1),  # as often as the other, and more recently
        ("wagner: who leads?", 2, 2),
    ]
    assert state.gaps(OTHER_GUILD) == []
    assert state.close_gaps(OTHER_GUILD, [one]) == 0  # another server's gap: untouched
    assert state.close_gaps(GUILD, [one, far]) == 2
    assert vec in [g.number for g in state.gaps(GUILD)] and len(state.gaps(GUILD)) == 3


def test_forums_and_posts_answered_once(new_state):
    state = new_state()
    state.watch_forum(GUILD, 5, closest=False)
    state.watch_forum(GUILD, 5, closest=True)
    assert [(f.channel_id, f.closest) for f in state.forums(GUILD)] == [(5, True)]
    assert state.claim_post(77, GUILD) and not state.claim_post(77, GUILD)
    assert state.unwatch_forum(GUILD, 5) and not state.unwatch_forum(GUILD, 5)


def fill(state: BotState, member: int, marker: str, now: float | None = None) -> None:
    asked = state.record_answer(
        guild_id=GUILD,
        channel_id=1,
        member_id=member,
        answer=answer(f"{marker} question"),
        now=now,
    )
    state.vote(asked, member, 1, guild_id=GUILD, now=now)
    state.queue_gap(GUILD, member, f"{marker} gap", now=now)
    state.record_mod_log(channel_id=3, message_id=member * 10, guild_id=GUILD, member_id=member)
    state.share_link(GUILD, member, f"https://example.com/{marker}", now=now)


def file_bytes(state: BotState) -> bytes:
    found = b""
    for path in state.path.parent.glob(state.path.name + "*"):
        found += path.read_bytes()
    return found


def test_forget_me_deletes_every_row_and_the_bytes(tmp_path):
    state = BotState(tmp_path)
    fill(state, MEMBER, "Zanzibarquokka")
    fill(state, OTHER_MEMBER, "Kept")
    assert b"Zanzibarquokka" in file_bytes(state)
    forgotten = state.forget_member(MEMBER)
    assert (forgotten.answers, forgotten.votes, forgotten.gap_questions) == (1, 1, 1)
    assert forgotten.mod_log_messages == ((3, MEMBER * 10),)
    assert state.doomed_messages() == [(3, MEMBER * 10)]  # until Discord says it is gone
    state.messages_deleted([MEMBER * 10])
    assert state.doomed_messages() == []
    assert set(state.member_rows(MEMBER).values()) == {0}
    assert set(state.member_rows(OTHER_MEMBER).values()) == {1}
    assert b"Zanzibarquokka" not in file_bytes(state)
    assert b"Kept question" in file_bytes(state)


def test_retention_per_server_and_a_departed_servers_data(new_state):
    state = new_state()
    now = 1_000 * DAY
    fill(state, MEMBER, "Old", now=now - 40 * DAY)
    fill(state, OTHER_MEMBER, "Recent", now=now - 10 * DAY)
    state.expire(now=now)
    assert state.doomed_messages() == []  # the mod-log posts are recent (posted now)
    assert set(state.member_rows(MEMBER).values()) <= {0, 1}
    assert state.member_rows(MEMBER)["answers"] == 0
    assert state.member_rows(OTHER_MEMBER)["answers"] == 1
    assert not state.in_file or b"Old question" not in file_bytes(state)
    state.set_retention_days(GUILD, 7)
    with pytest.raises(StateError):
        state.set_retention_days(GUILD, 0)
    state.expire(now=now)
    assert state.member_rows(OTHER_MEMBER)["answers"] == 0
    state.left_server(GUILD, now=now)
    assert state.servers_left_before(now + 1) == [GUILD]
    state.joined_server(GUILD)
    assert state.servers_left_before(now + 1) == []
    state.watch_forum(GUILD, 5, closest=False)
    state.drop_server(GUILD)
    assert state.forums(GUILD) == [] and GUILD not in state.known_servers()


def test_an_unusable_or_newer_state_file_is_a_clear_error(tmp_path):
    (tmp_path / "bot-state.db").write_bytes(b"not a database" * 100)
    with pytest.raises(StateError, match="cannot be used"):
        BotState(tmp_path)
    newer = tmp_path / "newer"
    newer.mkdir()
    with sqlite3.connect(newer / "bot-state.db") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StateError, match="newer quotebot"):
        BotState(newer)


def test_a_merged_gap_keeps_nothing_of_a_forgotten_members_wording(tmp_path):
    state = BotState(tmp_path)
    vector = np.array([1.0, 0.0, 0.0])
    first = state.queue_gap(GUILD, MEMBER, "When did Zanzibarquokka resign?", vector=vector)
    again = state.queue_gap(GUILD, OTHER_MEMBER, "When did he resign?", vector=vector * 2)
    assert again == first
    state.forget_member(MEMBER)
    (gap,) = state.gaps(GUILD)
    assert (gap.question, gap.asked, gap.members) == ("When did he resign?", 1, 1)
    assert b"zanzibarquokka" not in file_bytes(state).lower()


def test_a_member_asking_one_gap_again_and_again_is_one_row(new_state):
    state = new_state()
    for wording in ("Who won the cup?", "who won the cup", "Who won the Cup?!"):
        state.queue_gap(GUILD, MEMBER, wording)
    (gap,) = state.gaps(GUILD)
    assert (gap.question, gap.asked, gap.members) == ("Who won the Cup?!", 3, 1)
    assert state.member_rows(MEMBER)["gap_asks"] == 1


def test_a_reader_in_the_way_delays_the_wipe_of_the_log_briefly_then_the_sweep_does_it(
    tmp_path,
):
    state = BotState(tmp_path)
    fill(state, MEMBER, "Zanzibarquokka")
    reader = sqlite3.connect(state.path)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM answers").fetchone()  # holds a snapshot of the log
    started = time.monotonic()
    state.forget_member(MEMBER)
    assert time.monotonic() - started < 2  # waited for the reader a moment, not 10 s
    reader.rollback()
    reader.close()
    state.expire()  # the sweep finishes the checkpoint
    assert b"Zanzibarquokka" not in file_bytes(state)


def test_gaps_are_numbered_per_server_and_a_number_is_never_given_twice(new_state):
    state = new_state()
    assert state.queue_gap(GUILD, MEMBER, "Who won the cup?") == 1
    assert state.queue_gap(OTHER_GUILD, MEMBER, "Who won the cup?") == 1  # its own count
    assert state.queue_gap(GUILD, MEMBER, "Where is the final?") == 2
    assert state.close_gaps(GUILD, [2]) == 1
    assert state.queue_gap(GUILD, MEMBER, "When is the final?") == 3  # not 2 again
    assert [g.number for g in state.gaps(GUILD)] == [3, 1]


def test_on_postgresql_deleted_rows_are_gone_and_their_tables_vacuumed(postgres_url, tmp_path):
    import psycopg

    state = BotState(tmp_path, database_url=postgres_url)
    try:
        assert not state.in_file and "***" not in state.where
        fill(state, MEMBER, "Zanzibarquokka")
        state.forget_member(MEMBER)
        assert set(state.member_rows(MEMBER).values()) == {0}
        with psycopg.connect(postgres_url) as db:
            found = db.execute(
                "SELECT count(*) FROM answers WHERE question LIKE '%Zanzibarquokka%'"
            ).fetchone()[0]
            vacuumed = db.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL "
                "AND schemaname = current_schema()"
            ).fetchall()
        assert found == 0
        assert {"answers", "votes", "gap_asks"} <= {name for (name,) in vacuumed}
    finally:
        state.close()


def test_two_stores_on_one_postgresql_share_their_state(postgres_url, tmp_path):
    one = BotState(tmp_path / "a", database_url=postgres_url)
    two = BotState(tmp_path / "b", database_url=postgres_url)  # another process's, say
    try:
        asked = one.record_answer(
            guild_id=GUILD, channel_id=1, member_id=MEMBER, answer=answer("Q?")
        )
        assert two.vote(asked, OTHER_MEMBER, 1, guild_id=GUILD)
        assert one.feedback(GUILD).up == 1
        assert one.queue_gap(GUILD, MEMBER, "Who won?") == two.queue_gap(
            GUILD, OTHER_MEMBER, "who won"
        )
    finally:
        one.close()
        two.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://quotebot:hunter2@127.0.0.1:1/none",
        "postgresql://127.0.0.1:1/none?user=quotebot&password=hunter2",
        "postgresql://quotebot:hun%zzter2@127.0.0.1:1/none",
        # Unencoded, as a generated password may be: a "/" or an "@" in it.
        "postgresql://quotebot:Zx9/hunter2@127.0.0.1:1/none",
        "postgresql://quotebot:hunter2@home@127.0.0.1:1/none",
    ],
)
def test_an_unreachable_postgresql_is_a_clear_error_without_its_password(tmp_path, url):
    with pytest.raises(StateError) as raised:
        BotState(tmp_path, database_url=url)
    said = str(raised.value)
    assert "hunter2" not in said and "zzter2" not in said and "home@" not in said, said
    assert "bot-state.db" not in said  # it names the database, not the file it did not use
    assert "127.0.0.1:1" in said or "not a valid URL" in said, said


def test_an_answer_or_link_id_is_never_given_again(new_state):
    """Buttons carry these ids: after a deletion, an old button must not reach a new row."""
    state = new_state()
    first = state.record_answer(guild_id=GUILD, channel_id=1, member_id=MEMBER, answer=answer("Q"))
    link = state.share_link(GUILD, MEMBER, "https://a.example/")
    state.forget_member(MEMBER)
    again = state.record_answer(
        guild_id=GUILD, channel_id=1, member_id=OTHER_MEMBER, answer=answer("R")
    )
    assert again != first and state.share_link(GUILD, OTHER_MEMBER, "https://b.example/") != link
    assert not state.vote(first, MEMBER, 1, guild_id=GUILD)
    assert state.shared_link(link, GUILD) is None


def test_servers_queue_gaps_side_by_side_and_each_server_numbers_its_own_in_turn(new_state):
    """Two processes (two stores on one database), several threads each, queueing different
    questions in two servers at once: each server's gaps are numbered 1, 2, 3… with none
    given twice and none lost (a server's writers take turns; other servers' run beside
    them), and a writer of the whole store (a member forgetting everything) still sees all."""
    import concurrent.futures

    stores = [new_state(), new_state()]
    places = (
        "harbour bridge castle market station orchard quarry mill chapel forge tannery "
        "brewery granary lighthouse pier ferry abbey museum theatre stadium library school "
        "hospital prison barracks airport canal dam reservoir tunnel viaduct tower palace "
        "fortress cathedral monastery vineyard colliery foundry shipyard"
    ).split()

    def ask(n: int) -> int:
        store, guild = stores[n % 2], (GUILD, OTHER_GUILD)[n // 2 % 2]
        return store.queue_gap(guild, 1000 + n, f"Who rebuilt the old {places[n]}?")

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(ask, range(40)))
    for guild in (GUILD, OTHER_GUILD):
        numbers = sorted(g.number for g in stores[0].gaps(guild, limit=100))
        assert numbers == list(range(1, 21)), (guild, numbers)
    gone = stores[1].forget_member(1000)
    assert gone.gap_questions == 1 and len(stores[0].gaps(GUILD, limit=100)) == 19
