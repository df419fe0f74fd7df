"""The command line at the process boundary: stdout, stderr, exit code, JSON shape."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ARTICLE_ID, PROJECT, make_seeds, run_cli

SEEDS = PROJECT / "seeds"


@pytest.fixture
def run(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SEEDS_DIR", "DISCORD_TOKEN"}}
    env.update(CACHE_DIR=str(tmp_path / "cache"), HOME=str(tmp_path), PYTHONIOENCODING="utf-8")

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=PROJECT,
            env=env,
            timeout=60,
        )

    return run


def assert_clean_failure(result, code, message):
    assert result.returncode == code, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_ask_prints_quotes_with_citations(run):
    result = run("ask", "Who is the head of the Wagner Group?")
    assert result.returncode == 0, result.stderr
    assert "“While Putin has called for a return to constitutional order" in result.stdout
    assert f"({ARTICLE_ID})" in result.stdout
    assert "[1] paragraph 11, sentence 1" in result.stdout
    assert result.stderr == ""


def test_ask_json_shape(run):
    result = run("ask", "--json", "--top", "4", "Where", "will", "army", "chiefs", "meet?")
    assert result.returncode == 0
    answer = json.loads(result.stdout)
    assert answer["found"] is True
    assert answer["question"] == "Where will army chiefs meet?"
    assert len(answer["quotes"]) == 4
    first = answer["quotes"][0]
    assert "set to meet in Ghana" in first["text"]
    assert set(first["citation"]) >= {"doc_id", "title", "paragraph", "sentence", "start", "end"}
    text = (SEEDS / f"{ARTICLE_ID}.txt").read_text(encoding="utf-8")
    assert text[first["citation"]["start"] : first["citation"]["end"]] == first["text"]


def test_not_found_is_a_clear_message_and_success(run):
    result = run("ask", "What is the capital of Australia?")
    assert result.returncode == 0
    assert "do not seem to answer" in result.stdout and "summary" in result.stdout
    assert "“" not in result.stdout


def test_not_found_json_still_lists_candidates(run):
    answer = json.loads(run("ask", "--json", "What is the population of Niger?").stdout)
    assert answer["found"] is False
    assert answer["quotes"] and all(not q["answers_question"] for q in answer["quotes"])


@pytest.mark.parametrize("question", ["", "   ", "\x07\x1b"])
def test_empty_question_is_a_usage_error(run, question):
    assert_clean_failure(run("ask", question), 2, "Please type a question")


def test_huge_question_is_a_usage_error(run):
    assert_clean_failure(run("ask", "why " * 25_000), 2, "the limit is 500")


@pytest.mark.parametrize(
    "question",
    [
        "What did **Putin** call for? <@123> @everyone",
        "Where will army chiefs meet? 🇬🇭 \u202eRTL\u202c",
        "من هو زعيم مالي؟ Who leads Mali?",
    ],
)
def test_odd_questions_get_answers(run, question):
    result = run("ask", question)
    assert result.returncode == 0 and "Traceback" not in result.stderr


def test_stopwords_only_question(run):
    result = run("ask", "what is it?")
    assert result.returncode == 0
    assert "only common words" in result.stdout


def test_batch_answers_line_by_line_in_order(run):
    lines = [
        {"question": "Who is the head of the Wagner Group?"},
        {"question": "What is the capital of Australia?"},
        {"question": "Where will army chiefs meet?", "doc": ARTICLE_ID},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    result = run("ask", "--batch", "-", "--json", "--top", "2", stdin=stdin)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in answers] == [line["question"] for line in lines]
    assert [a["found"] for a in answers] == [True, False, True]
    assert [len(a["quotes"]) for a in answers] == [2, 0, 2]  # nothing shares a word with #2


def test_batch_from_a_file_with_a_bad_line(run, tmp_path):
    batch = tmp_path / "questions.jsonl"
    batch.write_text(
        '{"question": "Who is the head of the Wagner Group?"}\nnot json\n{"question": ""}\n'
    )
    result = run("ask", "--batch", str(batch), "--json")
    assert result.returncode == 2
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 3
    assert answers[0]["found"] is True
    assert "not valid JSON" in answers[1]["error"]
    assert "Please type a question" in answers[2]["error"]
    assert "line 2" in result.stderr and "Traceback" not in result.stderr


def test_missing_batch_file(run, tmp_path):
    assert_clean_failure(run("ask", "--batch", str(tmp_path / "no.jsonl")), 2, "Cannot read")


def test_unknown_document(run):
    assert_clean_failure(run("ask", "--doc", "nope", "Who leads Mali?"), 2, "no document")


def test_bad_top_is_a_usage_error(run):
    result = run("ask", "--top", "0", "Who leads Mali?")
    assert result.returncode == 2 and "between 1 and 100" in result.stderr


def test_missing_seeds_directory(run, tmp_path):
    result = run("ask", "--seeds", str(tmp_path / "none"), "Who leads Mali?")
    assert_clean_failure(result, 2, "the seeds directory does not exist")


def test_empty_seeds_directory(run, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("ask", "--seeds", str(tmp_path / "empty"), "Who leads Mali?")
    assert_clean_failure(result, 2, "has no article files")


def test_broken_seed_alone_is_an_error_naming_it(run, tmp_path):
    seeds = make_seeds(tmp_path / "s", {"bad": b"\xff\xfe\xfa broken"})
    assert_clean_failure(run("ask", "--seeds", str(seeds), "Who?  leads"), 2, "bad.txt")


def test_broken_seed_beside_good_ones_is_a_warning(run, tmp_path):
    seeds = make_seeds(tmp_path / "s", {"bad": b"\xff broken", "empty": "", "good": "Ann leads."})
    result = run("ask", "--seeds", str(seeds), "Who leads?")
    assert result.returncode == 0
    assert "warning: skipped Seed file" in result.stderr
    assert "bad.txt" in result.stderr and "empty.txt" in result.stderr
    assert "“Ann leads.”" in result.stdout


def test_summary_text_and_json(run):
    text = run("summary", "--length", "medium")
    assert text.returncode == 0
    assert text.stdout.startswith("“In the midst of the ongoing crisis in Niger")
    summary = json.loads(run("summary", "--length", "long", "--json").stdout)
    assert summary["found"] is True and len(summary["quotes"]) == 8


def test_summary_about_a_topic(run):
    result = run("summary", "--topic", "Wagner Group")
    assert result.returncode == 0 and "Wagner Group" in result.stdout
    missing = run("summary", "--topic", "Japanese cars")
    assert missing.returncode == 0 and "say nothing specific" in missing.stdout


def test_index_builds_then_reuses(run):
    first = run("index")
    assert first.returncode == 0
    assert "Index built" in first.stdout and "26 sentences" in first.stdout
    assert "Index reused" in run("index").stdout
    assert "Index rebuilt" in run("index", "--rebuild").stdout


def test_chat_session(run):
    stdin = "Who is the head of the Wagner Group?\n:summary short\n:doc nope\n:help\n:quit\n"
    result = run("chat", stdin=stdin)
    assert result.returncode == 0
    assert "Yevgeny Prigozhin" in result.stdout
    assert "In the midst of the ongoing crisis" in result.stdout
    assert "No document 'nope'" in result.stdout
    assert ":summary" in result.stdout


def test_command_line_does_not_import_discord(run):
    code = "import sys, bot.cli; print('discord' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT
    )
    assert result.stdout.strip() == "False"


def test_eval_reports_metrics(run):
    result = run("eval", "tests/data/decline_questions.jsonl", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["answerable"] == 15 and report["f1"] >= 0.88
    text = run("eval", "tests/data/article_questions.jsonl", "--show")
    assert "hit@1" in text.stdout
    # --show lists each miss with what the bot did instead.
    assert "only the closest passage: q12 " in text.stdout


def test_eval_of_a_missing_file(run):
    assert_clean_failure(run("eval", "nope.jsonl"), 2, "Cannot read the question file")


def test_explain_shows_why_and_pipes_get_no_colour_codes(run):
    result = run("ask", "--explain", "Where will army chiefs meet?")
    assert result.returncode == 0
    assert "why: it shares " in result.stdout and "score " in result.stdout
    assert "\x1b[" not in result.stdout


def test_explain_names_the_words_that_stand_in_for_the_question_s(run):
    result = run("ask", "--explain", "--top", "1", "What did the Wagner chief offer?")
    assert result.returncode == 0
    assert "related words: head for “chief”" in result.stdout


def test_escape_sequences_in_an_article_never_reach_the_terminal(run, tmp_path):
    seeds = make_seeds(
        tmp_path / "seeds",
        {"esc": "The harbour \x1b]0;owned\x07council met \x1b[31mon Monday about the ferry."},
    )
    result = run("ask", "--seeds", str(seeds), "When did the harbour council meet?")
    assert result.returncode == 0, result.stderr
    assert "council met" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b]0;owned\\x07" in result.stdout


def _run_in_terminal(args: list[str], term: str, home) -> bytes:
    """The CLI with a pseudo-terminal as its stdout, as a person would run it."""
    import pty

    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in {"SEEDS_DIR", "NO_COLOR"}}
    env.update(TERM=term, CACHE_DIR=str(home / "cache"), HOME=str(home))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args], cwd=PROJECT, env=env, stdout=terminal
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=60)
    os.close(controller)
    return output


def test_highlights_are_bold_on_a_terminal_but_not_when_term_is_dumb(tmp_path):
    question = ["ask", "Who is the head of the Wagner Group?"]
    assert b"\x1b[1m" in _run_in_terminal(question, "xterm", tmp_path)
    plain = _run_in_terminal(question, "dumb", tmp_path)
    assert b"Prigozhin" in plain and b"\x1b[" not in plain


def test_verify_reports_an_intact_cache_then_damage_then_a_changed_seed(run, tmp_path):
    seeds = make_seeds(
        tmp_path / "seeds",
        {"port": "The harbour council met on Monday. It approved the new ferry timetable."},
    )
    assert run("index", "--seeds", str(seeds)).returncode == 0
    intact = run("verify", "--seeds", str(seeds))
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "intact: 1 article(s)" in intact.stdout
    (cache,) = (tmp_path / "cache").glob("index-*.cache")
    data = cache.read_bytes()
    at = data.index(b"ferry timetable")
    cache.write_bytes(data[:at] + b"FERRY" + data[at + 5 :])
    damaged = run("verify", "--seeds", str(seeds), "--json")
    report = json.loads(damaged.stdout)
    assert damaged.returncode == 1 and not report["intact"]
    assert "checksum" in report["problems"][0]
    # The next question rebuilds from the seed: the damaged words are never shown.
    answer = run("ask", "--seeds", str(seeds), "Which ferry timetable was approved?")
    assert "ferry timetable" in answer.stdout and "FERRY" not in answer.stdout
    assert run("verify", "--seeds", str(seeds)).returncode == 0
    (seeds / "port.txt").write_text("The harbour council met on Tuesday instead.")
    changed = run("verify", "--seeds", str(seeds))
    assert changed.returncode == 1
    assert "“port” has changed since it was indexed." in changed.stdout


def test_a_bad_discord_setting_does_not_stop_ask(run, tmp_path):
    result = run("ask", "Who is the head of the Wagner Group?")
    assert result.returncode == 0
    env_bad = {"COOLDOWN_RATE": "abc", "SHARD_IDS": "one,two", "HOME": str(tmp_path)}
    env_bad.update(CACHE_DIR=str(tmp_path / "cache"), DATA_DIR=str(tmp_path / "data"))
    completed = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "Who is the head of the Wagner Group?"],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env={**os.environ, **env_bad},
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Prigozhin" in completed.stdout


def test_batch_survives_a_byte_order_mark_and_a_deeply_nested_line(run, tmp_path):
    batch = tmp_path / "questions.jsonl"
    deep = "[" * 5000 + "]" * 5000
    lines = ['{"question": "Where will army chiefs meet?"}', deep, '{"question": "Who is Goita?"}']
    batch.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    result = run("ask", "--batch", str(batch))
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 3
    assert answers[0]["found"] and "Ghana" in answers[0]["quotes"][0]["text"]
    assert "nested too deeply" in answers[1]["error"]
    assert answers[2]["quotes"]
    assert result.returncode == 2 and "line 2:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_a_closed_stream_gets_a_clear_exit_not_silence(tmp_path, closed):
    redirect = ">&-" if closed == "stdout" else "2>&-"
    env = {**os.environ, "CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    command = f'exec "$0" -m bot ask "Where will army chiefs meet?" {redirect}'
    result = subprocess.run(
        ["sh", "-c", command, sys.executable],
        capture_output=True,  # the shell closes one of the two before the CLI starts
        text=True,
        cwd=PROJECT,
        env=env,
        timeout=60,
    )
    if closed == "stdout":
        assert result.returncode == 2
        assert "Standard output is closed" in result.stderr
    else:
        assert result.returncode == 0
        assert "Ghana" in result.stdout


def test_version_and_the_program_name_in_usage_lines(run):
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("quotebot ")
    assert "usage: python -m bot ask" in run("ask", "--help").stdout
    script = Path(sys.executable).parent / "quotebot"
    if script.exists():  # installed with pip: the console script names itself
        usage = subprocess.run([str(script), "ask", "--help"], capture_output=True, text=True)
        assert "usage: quotebot ask" in usage.stdout and "(default: 3)" in usage.stdout


def test_the_installed_command_answers_from_the_bundled_article_in_any_directory(tmp_path):
    """No seeds/ in the current directory: the default collection, made in DATA_DIR on first
    use, starts with the bundled article (shipped inside the package)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"SEEDS_DIR", "DATA_DIR"}}
    env.update(HOME=str(tmp_path), PYTHONIOENCODING="utf-8")
    script = Path(sys.executable).parent / "quotebot"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    result = subprocess.run(
        [*command, "ask", "Who is the head of the Wagner Group?", "--json"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (first, *_) = json.loads(result.stdout)["quotes"]
    assert "Prigozhin" in first["text"] and first["citation"]["doc_id"] == ARTICLE_ID
    stored = tmp_path / ".local" / "share" / "quotebot" / "collections" / "default"
    assert (stored / f"{ARTICLE_ID}.txt").read_bytes() == (SEEDS / f"{ARTICLE_ID}.txt").read_bytes()
    listed = subprocess.run(
        [*command, "list"], capture_output=True, text=True, cwd=elsewhere, env=env, timeout=60
    )
    assert listed.stdout.startswith(f"{ARTICLE_ID}:"), listed


def test_an_unusable_data_directory_is_named_and_ask_still_answers(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {k: v for k, v in os.environ.items() if k != "SEEDS_DIR"}
    env.update(HOME=str(tmp_path), DATA_DIR=str(blocker / "data"), PYTHONIOENCODING="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=60,
        )

    asked = run("ask", "Who is the head of the Wagner Group?")
    assert asked.returncode == 0 and "Prigozhin" in asked.stdout
    assert "cannot be used" in asked.stderr and "bundled article only" in asked.stderr
    listed = run("list")
    assert listed.returncode == 2 and "Set DATA_DIR to a folder" in listed.stderr
    assert "Traceback" not in asked.stderr + listed.stderr


def test_index_json_is_json(run):
    result = run("index", "--json")
    stats = json.loads(result.stdout)
    assert stats["cache_status"] in ("built", "reused", "rebuilt")
    assert [d["id"] for d in stats["documents"]] == [ARTICLE_ID]


def test_fewer_quotes_than_asked_for_says_why(run):
    result = run("ask", "--top", "5", "Where will the army chiefs meet?")
    assert "quotes asked for: the others do not answer" in result.stdout
    assert "of the 5" in result.stdout


def test_explain_on_a_declined_question_shows_the_nearest_sentences(run):
    result = run("ask", "--explain", "What is the population of Mali?")
    assert "do not seem to answer" in result.stdout
    assert "The nearest sentences, and why each fell short" in result.stdout
    assert "why: it shares" in result.stdout


def test_chat_with_an_unknown_doc_stops_before_it_starts(run):
    assert_clean_failure(run("chat", "--doc", "nope"), 2, "nope")


def _ready(descriptor: int, seconds: float) -> bool:
    import select

    return bool(select.select([descriptor], [], [], seconds)[0])


def test_chat_in_a_terminal(tmp_path):
    """Ctrl-C clears the line, the prompt shows the :doc, matches are bold, the decline hint
    names :summary, and Ctrl-D leaves on a line of its own."""
    import fcntl
    import pty
    import select
    import termios

    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in {"SEEDS_DIR", "NO_COLOR"}}
    env.update(TERM="xterm", CACHE_DIR=str(tmp_path / "cache"), HOME=str(tmp_path))

    def own_terminal() -> None:  # as a shell does: Ctrl-C then interrupts the chat
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat", "--doc", ARTICLE_ID],
        cwd=PROJECT,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
        preexec_fn=own_terminal,
    )
    os.close(terminal)
    seen = b""

    def until(marker: bytes) -> bytes:
        nonlocal seen
        while marker not in seen:
            ready, _, _ = select.select([controller], [], [], 60)
            assert ready, f"timed out waiting for {marker!r}; saw {seen[-300:]!r}"
            seen += os.read(controller, 4096)
        before, _, seen = seen.partition(marker)
        return before

    prompt = f"ask [{ARTICLE_ID}]> ".encode()
    until(prompt)
    os.write(controller, b"half a questi")
    until(b"half a questi")  # echoed: readline has the terminal and is reading the line
    os.write(controller, b"\x03")  # Ctrl-C: the line goes, the chat stays
    # On a loaded machine a Ctrl-C now and then does not wake readline (about 1 run in 20
    # under two CPU hogs; not yet understood): pressed again, as a person would, it does.
    if not _ready(controller, 10):
        os.write(controller, b"\x03")
    until(prompt)
    os.write(controller, b"Who is the head of the Wagner Group?\r")
    answer = until(prompt)
    assert b"\x1b[1m" in answer and b"Prigozhin" in answer
    os.write(controller, b"What is the population of Peru?\r")
    declined = until(prompt)
    assert b":summary" in declined and b"python -m bot summary" not in declined
    os.write(controller, b"\x04")  # Ctrl-D
    assert process.wait(timeout=30) == 0
    try:
        rest = seen + os.read(controller, 4096)
    except OSError:
        rest = seen
    os.close(controller)
    assert rest.startswith(b"\r\n") or rest.startswith(b"\n"), rest


def test_a_bare_command_prints_its_help(tmp_path):
    done = run_cli(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m bot")
    assert "Examples:" in done.stdout and "ask" in done.stdout
    assert done.stderr == ""


def test_list_shows_a_small_article_in_bytes_not_as_zero_kb(tmp_path):
    story = tmp_path / "note.txt"
    story.write_text("The harbour board met on Tuesday. " * 13 + "It voted.", encoding="utf-8")
    assert run_cli(tmp_path, "add", str(story)).returncode == 0
    listed = run_cli(tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    (line,) = [line for line in listed.stdout.splitlines() if line.startswith("note:")]
    assert line.endswith(f"({story.stat().st_size} bytes)")


def test_feed_hints_are_commands_as_the_user_types_them(tmp_path):
    polled = run_cli(tmp_path, "feed", "poll", "--collection", "harbour")
    assert polled.returncode == 0, polled.stderr
    assert "Follow one with: python -m bot feed add URL --collection harbour" in polled.stdout
    listed = run_cli(tmp_path, "feed", "list")
    assert "Follow one with: python -m bot feed add URL" in listed.stdout


def test_explain_speaks_plainly(run):
    """Words as written, not stems ("armi"); the score's parts named in words, not the
    model's features ("soft_asked"); and a sentence that holds the whole question has a
    positive part for the question's words."""
    from bot.cli.render import SCORE_PARTS
    from corpus.answering.features import ALL_FEATURES

    result = run("ask", "--explain", "--top", "1", "Where will the army chiefs meet?")
    assert result.returncode == 0, result.stderr
    why, score = [line.strip() for line in result.stdout.splitlines() if line.startswith("    ")]
    assert why.startswith("why: it shares “chiefs”") and "“army”" in why and "100% of it" in why
    assert "armi" not in result.stdout and "chief " not in why
    unnamed = score
    for part in SCORE_PARTS:  # the parts in words; nothing else may be named
        unnamed = unnamed.replace(part, "")
    assert not [f for f in ALL_FEATURES if re.search(rf"\b{f}\b", unnamed)]  # "coverage -0.94"
    part = re.search(r"the question's words in it and its article ([+-][\d.]+)", score)
    assert part is not None and float(part.group(1)) > 0


def test_every_feature_of_the_model_is_in_a_part_of_the_score_in_words():
    from bot.cli.render import SCORE_PARTS
    from corpus.answering.features import ALL_FEATURES

    grouped = [f for members in SCORE_PARTS.values() for f in members]
    assert sorted(grouped) == sorted(ALL_FEATURES)  # each once, none left out
