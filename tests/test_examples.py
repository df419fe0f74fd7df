"""The answers the README and `--help` show are the answers users get, with the sentence
encoder as they have it: each README `ask` example gives exactly the output printed under it,
and each `ask` example of the help finds the sentence noted here."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess

import pytest

from tests.conftest import PROJECT, run_cli

pytestmark = pytest.mark.usefixtures("encoder")

README = PROJECT / "README.md"


def _readme_ask_examples() -> list[tuple[str, str]]:
    """(command, output) for every `$ python -m bot ask ...` in the README's console blocks."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = part.partition("\n")
            if command.startswith("python -m bot ask "):
                examples.append((command, output.strip()))
    return examples


@pytest.mark.parametrize(("command", "shown"), _readme_ask_examples())
def test_each_readme_answer_is_the_one_shown(tmp_path, command, shown):
    done = run_cli(tmp_path, *shlex.split(command)[3:])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == shown


def test_the_readme_shows_ask_examples():
    assert len(_readme_ask_examples()) >= 3


# The `ask` examples of `python -m bot --help` and `python -m bot ask --help`, and a sentence
# that must be among the quotes each prints.
HELP_ASK_EXAMPLES = {
    'ask "Who leads Mali\'s army?"': "Mali’s military leader, Assimi Goita",
    'ask "Where will the army chiefs meet?"': "army chiefs are set to meet in Ghana",
    'ask "Who leads Wagner?" --top 5 --explain': "Yevgeny Prigozhin, head of Wagner Group",
    'ask --json "What minerals does Niger have?"': "such as uranium and oil",
}


def test_every_ask_example_of_the_help_is_checked_here(tmp_path):
    shown = run_cli(tmp_path, "--help").stdout + run_cli(tmp_path, "ask", "--help").stdout
    listed = {
        line.strip().removeprefix("python -m bot ").removeprefix("quotebot ")
        for line in shown.splitlines()
        if re.match(r"\s+(python -m bot|quotebot) ask ", line) and "--batch" not in line
    }
    assert listed == set(HELP_ASK_EXAMPLES)


@pytest.mark.parametrize(("example", "sentence"), HELP_ASK_EXAMPLES.items())
def test_each_ask_example_of_the_help_quotes_its_sentence(tmp_path, example, sentence):
    done = run_cli(tmp_path, *shlex.split(example))
    assert done.returncode == 0, done.stderr
    if "--json" in example:
        quotes = [q["text"] for q in json.loads(done.stdout)["quotes"]]
        assert sentence in quotes[0]
    else:
        assert sentence in done.stdout


def _help_examples(parser: argparse.ArgumentParser) -> list[str]:
    """Every example line of this parser's help and of its commands' (and theirs)."""
    lines = [
        line.strip()
        for line in (parser.epilog or "").splitlines()
        if line.startswith("  ") and line.strip().startswith(parser.prog.split()[0])
    ]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in dict.fromkeys(action.choices.values()):
                lines += _help_examples(command)
    return lines


def test_every_example_of_the_help_runs_as_printed_in_a_shell(tmp_path):
    """Pasted into a shell, each example is the command it shows: quotes balanced, and no
    `?` or `*` left for the shell to expand (zsh refuses a pattern that matches no file;
    bash's failglob here does the same)."""
    from bot.cli.main import build_parser

    examples = _help_examples(build_parser())
    assert len(examples) >= 20
    for example in examples:
        done = subprocess.run(
            ["bash", "-O", "failglob", "-c", f"printf '%s\\0' {example}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, (example, done.stderr)
        shown = [os.path.expanduser(word) for word in shlex.split(example)]  # as a shell does
        assert done.stdout.split("\0")[:-1] == shown, example


def test_the_readme_eval_example_prints_what_it_shows(tmp_path):
    block = re.search(
        r"```console\n\$ (python -m bot eval [^\n]*)\n(.*?)```",
        README.read_text(encoding="utf-8"),
        re.S,
    )
    assert block is not None
    command, shown = block.groups()
    done = run_cli(tmp_path, *shlex.split(command)[3:])
    assert done.returncode == 0, done.stderr

    def steady(text: str) -> list[str]:  # all but the time, which no two runs share
        return [
            _CLOSEST_SHARE.sub("(closest)", line)
            for line in text.strip().splitlines()
            if "answer time" not in line
        ]

    assert steady(done.stdout) == steady(shown)
    # One declined question sits within 0.001 of the closest passage's threshold (0.3716
    # against 0.372), and CPUs round the encoder's sums differently: the share of declined
    # questions shown a closest passage may differ by that one question, no more.
    printed, expected = (float(_CLOSEST_SHARE.search(t)[1]) for t in (done.stdout, shown))
    assert abs(printed - expected) <= 1 / 22 + 1e-9


_CLOSEST_SHARE = re.compile(r"\(([0-9.]+) of them with a closest passage\)")
