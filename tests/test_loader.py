from __future__ import annotations

import os

import pytest

from corpus import NoSeedsError
from corpus.ingest.loader import load_seeds
from tests.conftest import make_seeds


def test_plain_txt_seed_gets_a_title_from_its_file_name(tmp_path):
    result = load_seeds(make_seeds(tmp_path, {"west-africa_report": "Troops left.\n"}))
    (document,) = result.documents
    assert (document.id, document.title) == ("west-africa_report", "West africa report")
    assert document.source is None


def test_metadata_file_is_read_and_validated(tmp_path):
    make_seeds(
        tmp_path, {"a": "Text.", "a.meta.toml": 'title = "T"\nsource = "S"\ndate = 2023-08-01\n'}
    )
    (document,) = load_seeds(tmp_path).documents
    assert (document.title, document.source, str(document.date)) == ("T", "S", "2023-08-01")


def test_broken_metadata_is_ignored_with_a_warning(tmp_path, caplog):
    make_seeds(tmp_path, {"a": "Text.", "a.meta.toml": 'title = "T"\nurl = "not a url"\n'})
    (document,) = load_seeds(tmp_path).documents
    assert document.title == "A"
    assert "a.meta.toml" in caplog.text


def test_hidden_files_are_ignored_and_other_types_named_in_a_warning(tmp_path):
    make_seeds(
        tmp_path,
        {".hidden": "Secret.", "notes.docx": b"PK\x03\x04", "data.csv": "a,b", "kept": "Yes."},
    )
    result = load_seeds(tmp_path)
    assert [d.id for d in result.documents] == ["kept"]
    refused = {p.path.name: p.problem for p in result.problems}
    assert set(refused) == {"notes.docx", "data.csv"}
    assert all("not a type of file I read (.txt, .md" in r for r in refused.values())


def test_byte_order_mark_is_not_part_of_the_text(tmp_path):
    make_seeds(tmp_path, {"bom": "\ufeffHello there.".encode()})
    assert load_seeds(tmp_path).documents[0].text == "Hello there."


def test_non_utf8_seed_is_reported_by_name_and_the_rest_loads(tmp_path):
    make_seeds(tmp_path, {"good": "Fine text.", "latin": "caf\xe9 au lait".encode("latin-1")})
    result = load_seeds(tmp_path)
    assert [d.id for d in result.documents] == ["good"]
    (problem,) = result.problems
    assert "latin.txt" in str(problem) and "not UTF-8" in str(problem)


def test_empty_seed_is_reported(tmp_path):
    make_seeds(tmp_path, {"good": "Fine.", "blank": "  \n\n"})
    (problem,) = load_seeds(tmp_path).problems
    assert "blank.txt" in str(problem) and "empty" in str(problem)


def test_only_broken_seeds_is_an_error_naming_them(tmp_path):
    make_seeds(tmp_path, {"blank": ""})
    with pytest.raises(NoSeedsError, match=r"blank\.txt.*empty"):
        load_seeds(tmp_path)


@pytest.mark.parametrize("setup", ["missing", "empty", "file"])
def test_missing_empty_or_wrong_seeds_directory(tmp_path, setup):
    target = tmp_path / "seeds"
    if setup == "empty":
        target.mkdir()
    elif setup == "file":
        target.write_text("not a directory")
    with pytest.raises(NoSeedsError, match="No articles to answer from"):
        load_seeds(target)


def test_the_bundled_article_loads_with_its_metadata(article_corpus):
    (document,) = article_corpus.index.documents
    assert document.id == "niger-coup-2023"
    assert document.source == "News Agencies"


def test_a_headline_line_is_the_title_when_there_is_no_metadata(tmp_path):
    seeds = make_seeds(
        tmp_path / "s",
        {
            "dam-flood": "Dam collapse floods valley\n\nThe dam gave way at dawn.\n",
            "plain-text": "The dam gave way at dawn. Nobody was hurt.\n",
        },
    )
    titles = {d.id: d.title for d in load_seeds(seeds).documents}
    assert titles == {"dam-flood": "Dam collapse floods valley", "plain-text": "Plain text"}


def test_a_fifo_and_a_link_to_a_device_are_skipped_by_name_not_read(tmp_path):
    seeds = make_seeds(tmp_path / "seeds", {"good": "The council met on Monday."})
    os.mkfifo(seeds / "pipe.txt")  # reading it would wait for a writer forever
    (seeds / "zero.txt").symlink_to("/dev/zero")  # reading it would never end
    # Even with links allowed anywhere, neither is read.
    result = load_seeds(seeds, follow_links=True)
    assert [d.id for d in result.documents] == ["good"]
    problems = {p.path.name: p.problem for p in result.problems}
    assert set(problems) == {"pipe.txt", "zero.txt"}
    assert all("not a regular file" in problem for problem in problems.values())


def test_links_are_followed_inside_the_seeds_directory_only_unless_allowed(tmp_path):
    outside = tmp_path / "private.txt"
    outside.write_text("A secret kept outside the seeds directory.")
    seeds = make_seeds(tmp_path / "seeds", {"real": "The council met on Monday."})
    (seeds / "alias.txt").symlink_to(seeds / "real.txt")
    (seeds / "leak.txt").symlink_to(outside)
    (seeds / "real.meta.toml").write_text('title = "Council"\n')
    (seeds / "alias.meta.toml").symlink_to(tmp_path / "private.txt")
    result = load_seeds(seeds)
    assert [d.id for d in result.documents] == ["alias", "real"]
    refused = {p.path.name: p.problem for p in result.problems}
    assert set(refused) == {"alias.meta.toml", "leak.txt"}
    assert "outside the seeds directory" in refused["leak.txt"]
    allowed = load_seeds(seeds, follow_links=True)
    assert [d.id for d in allowed.documents] == ["alias", "leak", "real"]


def test_a_dangling_link_is_reported_and_the_rest_loads(tmp_path):
    seeds = make_seeds(tmp_path / "seeds", {"good": "The council met on Monday."})
    (seeds / "gone.txt").symlink_to(seeds / "nowhere.txt")
    result = load_seeds(seeds)
    assert [d.id for d in result.documents] == ["good"]
    assert [p.path.name for p in result.problems] == ["gone.txt"]
