"""Configuration, read in exactly one place: the environment over a `.env` file.

Nothing else in the project reads `os.environ`. The token is a `SecretStr`, so it never shows in
a repr, a log line or an error message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from corpus import DEFAULT_MAX_QUESTION_CHARS, LONGEST_ALLOWED_QUESTION, bundled_seeds_dir
from corpus.models import IndexConfig
from corpus.sources import (
    DEFAULT_COLLECTION,
    UNENCODED_PASSWORD,
    Library,
    LibraryError,
    Network,
    parse_networks,
    unencoded_password,
)

__all__ = [
    "DISCORD_API_BASE_URL",
    "Settings",
    "SettingsError",
    "host_seeds_dir",
    "load_settings",
]

_log = logging.getLogger(__name__)

DISCORD_API_BASE_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


def _default_data_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME", ".")) / ".local" / "share")
    return Path(base) / "quotebot"


def _default_cache_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME", ".")) / ".cache")
    return Path(base) / "quotebot"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it and never contains its value."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # A plain folder of article files to answer from instead of the default collection.
    seeds_dir: Path | None = Field(default=None, alias="SEEDS_DIR")
    cache_dir: Path | None = Field(default=None, alias="CACHE_DIR")
    # Collections of articles added with `add`: their database and stored texts.
    data_dir: Path = Field(default=Path("quotebot-data"), alias="DATA_DIR")
    # Private address ranges (127.0.0.0/8,10.1.2.0/24) the host's own fetches may reach: the
    # command line's, the host's collections' and feeds', and the host's Discord server's
    # (HOST_GUILD_ID); never another server's. Empty: public addresses only.
    fetch_private_networks: tuple[Network, ...] = Field(default=(), alias="FETCH_PRIVATE_NETWORKS")
    max_question_length: int = Field(
        default=DEFAULT_MAX_QUESTION_CHARS,
        ge=10,
        le=LONGEST_ALLOWED_QUESTION,
        alias="MAX_QUESTION_LENGTH",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", alias="LOG_LEVEL"
    )
    # https://no-color.org: any non-empty value turns off bold highlights in the terminal.
    no_color: bool = Field(default=False, alias="NO_COLOR")
    # Passages are windows of this many sentences, sharing `passage_overlap` with the previous.
    passage_sentences: int = Field(default=3, ge=1, le=50, alias="PASSAGE_SENTENCES")
    passage_overlap: int = Field(default=1, ge=0, le=49, alias="PASSAGE_OVERLAP")
    # Seeds that are links to files outside the seeds directory are skipped unless this is on.
    seeds_follow_links: bool = Field(default=False, alias="SEEDS_FOLLOW_LINKS")
    # The sentence encoder (corpus/meaning): off, answers match words only; its threads.
    encoder: bool = Field(default=True, alias="ENCODER")
    encoder_threads: int = Field(default=1, ge=1, le=64, alias="ENCODER_THREADS")
    # Threads numpy's BLAS may use in the bot's process (corpus/threads.py says why one).
    blas_threads: int = Field(default=1, ge=1, le=64, alias="BLAS_THREADS")

    # Discord; only `python -m bot run` needs these.
    discord_token: SecretStr | None = Field(default=None, alias="DISCORD_TOKEN")
    allowed_channel_ids: frozenset[int] = Field(default=frozenset(), alias="ALLOWED_CHANNEL_IDS")
    admin_role_ids: frozenset[int] = Field(default=frozenset(), alias="ADMIN_ROLE_IDS")
    cooldown_rate: int = Field(default=3, ge=1, le=100, alias="COOLDOWN_RATE")
    cooldown_seconds: float = Field(default=30.0, gt=0, le=3600, alias="COOLDOWN_SECONDS")
    # Replies to mentions (answers, refusals, hints) per member, channel and server in each
    # MENTION_REPLY_WINDOW_SECONDS; past a budget the bot says so once and then stays quiet.
    mention_replies_per_member: int = Field(
        default=5, ge=1, le=1000, alias="MENTION_REPLIES_PER_MEMBER"
    )
    mention_replies_per_channel: int = Field(
        default=20, ge=1, le=10_000, alias="MENTION_REPLIES_PER_CHANNEL"
    )
    mention_replies_per_server: int = Field(
        default=60, ge=1, le=100_000, alias="MENTION_REPLIES_PER_SERVER"
    )
    mention_reply_window_seconds: float = Field(
        default=60.0, gt=0, le=24 * 3600, alias="MENTION_REPLY_WINDOW_SECONDS"
    )
    ephemeral_by_default: bool = Field(default=True, alias="EPHEMERAL_BY_DEFAULT")
    mod_log_channel_id: int | None = Field(default=None, alias="MOD_LOG_CHANNEL_ID")
    # Whether every server also answers from the host's articles (SEEDS_DIR or the default
    # collection), besides its own.
    share_host_articles: bool = Field(default=True, alias="SHARE_HOST_ARTICLES")
    # The host's own server: its admins (and the bot's owner) may /reload the shared articles.
    host_guild_id: int | None = Field(default=None, alias="HOST_GUILD_ID")
    # Articles (links, files, feed subscriptions) a server may add per hour.
    article_adds_per_hour: int = Field(default=20, ge=1, le=10_000, alias="ARTICLE_ADDS_PER_HOUR")
    # How often the bot looks for due feeds, and how often each feed is read.
    feed_check_seconds: float = Field(default=60.0, gt=0, le=3600, alias="FEED_CHECK_SECONDS")
    feed_interval_minutes: float = Field(
        default=15.0, gt=0, le=24 * 60, alias="FEED_INTERVAL_MINUTES"
    )
    # New feed articles a server's channels get a post for, per hour; the rest are added
    # without a post (one notice per hour says so).
    feed_posts_per_hour: int = Field(default=30, ge=1, le=10_000, alias="FEED_POSTS_PER_HOUR")
    # How long a process may take to post a feed article it took before another process may
    # take it over (one that died holding it).
    feed_posting_lease_seconds: float = Field(
        default=120.0, ge=1, le=3600, alias="FEED_POSTING_LEASE_SECONDS"
    )
    # Where the articles, feeds and the bot's own state are kept: unset, SQLite files in
    # DATA_DIR; postgresql://user:password@host:port/database for PostgreSQL, shared by
    # several processes (on several machines). A secret: it may hold a password.
    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    # How long what is stored about members (their questions and the answers, votes, questions
    # in the gap queue, shared links, mod-log messages) is kept, unless a server sets its own
    # period with /privacy retention; and how long a server's data (its articles, feeds and
    # all of the above) is kept after the bot leaves it, in case it is added back.
    retention_days: int = Field(default=30, ge=1, le=365, alias="RETENTION_DAYS")
    left_server_days: int = Field(default=30, ge=0, le=365, alias="LEFT_SERVER_DAYS")
    # Ask Discord for the privileged message content intent: forum posts answered
    # automatically are then read with their text, not only their title.
    read_message_content: bool = Field(default=False, alias="READ_MESSAGE_CONTENT")
    # "Summarise link" uses per member and per server in each hour.
    link_summaries_per_member: int = Field(
        default=5, ge=1, le=1000, alias="LINK_SUMMARIES_PER_MEMBER"
    )
    link_summaries_per_server: int = Field(
        default=30, ge=1, le=10_000, alias="LINK_SUMMARIES_PER_SERVER"
    )
    dev_guild_id: int | None = Field(default=None, alias="DEV_GUILD_ID")
    discord_api_base_url: str = Field(
        default=DISCORD_API_BASE_URL, pattern=r"^https?://\S+$", alias="DISCORD_API_BASE_URL"
    )
    discord_gateway_url: str = Field(
        default=DISCORD_GATEWAY_URL, pattern=r"^wss?://\S+$", alias="DISCORD_GATEWAY_URL"
    )
    shard_count: int | None = Field(default=None, ge=1, le=10_000, alias="SHARD_COUNT")
    shard_ids: tuple[int, ...] | None = Field(default=None, alias="SHARD_IDS")

    @model_validator(mode="after")
    def _overlap_below_window(self) -> Settings:
        if self.passage_overlap >= self.passage_sentences:
            raise ValueError("PASSAGE_OVERLAP must be smaller than PASSAGE_SENTENCES")
        return self

    def private_networks_for(self, guild_id: int | None) -> tuple[Network, ...]:
        """The private ranges a fetch for this Discord server (None: the host's own command
        line, collections and feeds) may reach: FETCH_PRIVATE_NETWORKS for the host and its
        own server, none for any other server, whose admins the host does not control."""
        if guild_id is None or guild_id == self.host_guild_id:
            return self.fetch_private_networks
        return ()

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError("must be a postgresql:// URL (leave it unset for SQLite)")
        if value is not None and unencoded_password(value.get_secret_value()):
            raise ValueError(UNENCODED_PASSWORD.replace("DATABASE_URL's password", "its password"))
        return value

    def state_database(self) -> str | None:
        """DATABASE_URL's value, for the places that connect with it."""
        return self.database_url.get_secret_value() if self.database_url else None

    def owns_server(self, guild_id: int) -> bool:
        """Whether a Discord server is on this process's shards (Discord's rule: shard =
        (server id >> 22) % SHARD_COUNT); every server is, unsharded or with every shard."""
        if self.shard_count is None or self.shard_ids is None:
            return True
        return (guild_id >> 22) % self.shard_count in self.shard_ids

    @field_validator("fetch_private_networks", mode="before")
    @classmethod
    def _address_ranges(cls, value: object) -> object:
        return parse_networks(value) if isinstance(value, str) else value

    def index_config(self) -> IndexConfig:
        return IndexConfig(
            passage_sentences=self.passage_sentences,
            passage_overlap=self.passage_overlap,
            follow_links=self.seeds_follow_links,
        )

    @field_validator("no_color", mode="before")
    @classmethod
    def _any_value_means_yes(cls, value: object) -> object:
        return bool(value) if isinstance(value, str) else value

    @field_validator("allowed_channel_ids", "admin_role_ids", "shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value


def open_library(settings: Settings) -> Library:
    """The library these settings name: DATA_DIR's, its database PostgreSQL when
    DATABASE_URL names one. Raises LibraryError."""
    return Library(settings.data_dir, database_url=settings.state_database())


def host_seeds_dir(
    settings: Settings, override: Path | None = None, *, library: Library | None = None
) -> Path:
    """The host's articles: `--seeds`, else SEEDS_DIR, else the default collection in
    DATA_DIR (which starts with the bundled article), so the command works from anywhere."""
    chosen = override or settings.seeds_dir
    if chosen is not None:
        return chosen
    try:
        if library is not None:
            return library.seeds_dir(DEFAULT_COLLECTION)
        opened = open_library(settings)
        try:
            return opened.seeds_dir(DEFAULT_COLLECTION)
        finally:
            opened.close()
    except LibraryError as error:
        # Still answer from the bundled article, and say why the collection is not used.
        _log.warning("%s Answering from the bundled article only.", error)
        return bundled_seeds_dir()


# Settings only the Discord bot reads: a bad one stops `run`, never another command.
DISCORD_ONLY = frozenset(
    field.alias
    for name, field in Settings.model_fields.items()
    if field.alias
    and (
        name.startswith(("discord_", "shard_", "cooldown_", "mention_"))
        or name
        in {
            "allowed_channel_ids",
            "admin_role_ids",
            "ephemeral_by_default",
            "mod_log_channel_id",
            "dev_guild_id",
            "share_host_articles",
            "host_guild_id",
            "article_adds_per_hour",
            "feed_check_seconds",
            "feed_interval_minutes",
            "feed_posts_per_hour",
            "feed_posting_lease_seconds",
            "left_server_days",
            "read_message_content",
            "link_summaries_per_member",
            "link_summaries_per_server",
        }
    )
)


def load_settings(
    env_file: Path | None = Path(".env"),
    environ: Mapping[str, str] | None = None,
    *,
    discord: bool = True,
) -> Settings:
    """Settings from `environ` (default: the process environment) over `env_file`.

    Empty values count as unset, so `SHARD_COUNT=` in a `.env` means "use the default". With
    `discord=False` (every command but `run`), invalid Discord-only settings are left at their
    defaults instead of stopping the command.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(environ)
    _refuse_replaced(values)
    known = {field.alias for field in Settings.model_fields.values() if field.alias}
    chosen = {k: v for k, v in values.items() if k in known and v.strip() != ""}
    chosen.setdefault("CACHE_DIR", str(_default_cache_dir(environ)))
    chosen.setdefault("DATA_DIR", str(_default_data_dir(environ)))
    try:
        return Settings.model_validate(chosen)
    except ValidationError as exc:
        unused = {_setting_of(e) for e in exc.errors()} <= DISCORD_ONLY
        if discord or not unused:
            raise SettingsError(_describe(exc)) from None
        bad = {_setting_of(e) for e in exc.errors()}
        return load_settings(
            None, {k: v for k, v in chosen.items() if k not in bad}, discord=discord
        )


# Settings that no longer exist, and what to write instead.
_REPLACED = {
    "FETCH_ALLOW_PRIVATE": (
        "FETCH_ALLOW_PRIVATE was replaced by FETCH_PRIVATE_NETWORKS, a list of the private "
        "address ranges the host's own fetches may reach (for example "
        "FETCH_PRIVATE_NETWORKS=127.0.0.0/8,10.1.2.0/24); it applies to the command line and "
        "the host's own Discord server (HOST_GUILD_ID), never to other servers. Remove "
        "FETCH_ALLOW_PRIVATE"
    ),
}
_NO = ("0", "false", "no", "off")


def _refuse_replaced(values: Mapping[str, str]) -> None:
    """A replaced setting that is switched on stops the program with what to write instead
    (silently ignored, it would leave a host wondering why nothing changed); one switched off
    gets a warning."""
    for name, instead in _REPLACED.items():
        value = values.get(name, "")
        if not value.strip():
            continue  # empty counts as unset
        if value.strip().casefold() in _NO:
            _log.warning("%s.", instead)
        else:
            raise SettingsError(f"{instead}.")


def _setting_of(error: Any) -> str:
    return str(error["loc"][0]) if error["loc"] else ""


def _describe(exc: ValidationError) -> str:
    """Name each bad setting and what is wrong, never echoing the value (it may be a secret)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        name = ".".join(str(part) for part in error["loc"][:1])
        problems.append(
            f"{name}: {error['msg']}" if name else error["msg"].removeprefix("Value error, ")
        )
    return "Invalid setting " + "; ".join(problems)
