from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError, load_settings
from tests.conftest import PROJECT


def test_defaults_without_environment(tmp_path):
    settings = load_settings(env_file=None, environ={"HOME": str(tmp_path)})
    assert settings.seeds_dir is None  # the default collection, in the data directory
    assert settings.data_dir == tmp_path / ".local" / "share" / "quotebot"
    assert settings.cache_dir == tmp_path / ".cache" / "quotebot"
    assert settings.discord_token is None


def test_environment_overrides_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SEEDS_DIR=from-file\nMAX_QUESTION_LENGTH=300\nALLOWED_CHANNEL_IDS=1, 2\n")
    settings = load_settings(env_file=env_file, environ={"SEEDS_DIR": "from-env"})
    assert str(settings.seeds_dir) == "from-env"
    assert settings.max_question_length == 300
    assert settings.allowed_channel_ids == frozenset({1, 2})


def test_invalid_setting_is_named_and_the_token_never_shown(tmp_path):
    environ = {"DISCORD_TOKEN": "super-secret-token", "MAX_QUESTION_LENGTH": "lots"}
    with pytest.raises(SettingsError) as error:
        load_settings(env_file=None, environ=environ)
    assert "MAX_QUESTION_LENGTH" in str(error.value)
    assert "lots" not in str(error.value)
    settings = load_settings(env_file=None, environ={"DISCORD_TOKEN": "super-secret-token"})
    assert "super-secret-token" not in repr(settings)


def test_empty_values_mean_default():
    settings = load_settings(env_file=None, environ={"SHARD_COUNT": "", "LOG_LEVEL": " "})
    assert settings.shard_count is None and settings.log_level == "WARNING"


def test_env_example_documents_every_setting_and_loads():
    example = PROJECT / ".env.example"
    names = {line.split("=")[0] for line in example.read_text().splitlines() if "=" in line}
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert aliases <= names
    assert load_settings(env_file=example, environ={}).cooldown_rate == 3


def test_passage_window_settings():
    settings = load_settings(
        env_file=None, environ={"PASSAGE_SENTENCES": "4", "PASSAGE_OVERLAP": "2"}
    )
    assert settings.index_config().passage_sentences == 4
    with pytest.raises(SettingsError, match="PASSAGE_OVERLAP must be smaller"):
        load_settings(env_file=None, environ={"PASSAGE_SENTENCES": "2", "PASSAGE_OVERLAP": "2"})


def test_a_bad_discord_only_setting_stops_run_but_no_other_command(tmp_path):
    environ = {"HOME": str(tmp_path), "COOLDOWN_RATE": "abc", "MAX_QUESTION_LENGTH": "80"}
    with pytest.raises(SettingsError, match="COOLDOWN_RATE"):
        load_settings(env_file=None, environ=environ)
    settings = load_settings(env_file=None, environ=environ, discord=False)
    assert settings.cooldown_rate == 3 and settings.max_question_length == 80
    # A setting every command reads still stops them all.
    with pytest.raises(SettingsError, match="MAX_QUESTION_LENGTH"):
        load_settings(env_file=None, environ={**environ, "MAX_QUESTION_LENGTH": "x"}, discord=False)


def test_blas_threads_caps_numpys_threads_in_the_bots_process(monkeypatch, tmp_path, capsys):
    from threadpoolctl import threadpool_info, threadpool_limits

    from bot.cli.main import _main

    before = {p["filepath"]: p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}
    assert before, "numpy's BLAS library is not loaded"
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BLAS_THREADS", "1")
    try:
        assert _main(["ask", "Who is the head of the Wagner Group?"]) == 0
        after = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        assert after and set(after) == {1}
    finally:
        threadpool_limits(limits=max(before.values()), user_api="blas")
    assert "Prigozhin" in capsys.readouterr().out


def test_database_url_is_postgresql_and_its_password_never_shown():
    secret = "postgresql://bot:hunter2@db.example:5432/quotebot"
    settings = load_settings(env_file=None, environ={"DATABASE_URL": secret})
    assert settings.state_database() == secret and "hunter2" not in repr(settings)
    with pytest.raises(SettingsError) as error:
        load_settings(env_file=None, environ={"DATABASE_URL": "mysql://bot:hunter2@db/x"})
    assert "DATABASE_URL" in str(error.value) and "hunter2" not in str(error.value)
    assert load_settings(env_file=None, environ={}).state_database() is None
