"""Where articles come from and where they are kept: fetching links and feeds, the library of
collections, and the databases under it (SQLite, or PostgreSQL for several processes).

This package's names are the front ends' way in (bot/ imports nothing deeper, as ruff's
banned-API rule checks): `Library`, `FeedStore`, `fetch_url`, the backends and the move between
them. Modules load on first use (PEP 562), so the command line's `ask` never loads the feed
parser or the PostgreSQL driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .adding import add_fetched, add_url, linked_document
    from .addresses import Network, parse_networks
    from .database import (
        UNENCODED_PASSWORD,
        Backend,
        DatabaseError,
        Db,
        DuplicateRow,
        PostgresBackend,
        describe_database,
        open_backend,
        reason_of,
        unencoded_password,
    )
    from .feeds import (
        POLL_INTERVAL,
        POSTING_LEASE,
        Feed,
        FeedError,
        FeedStore,
        PollResult,
        UnpostedItem,
    )
    from .fetch import FetchError
    from .fetch import fetch as fetch_url
    from .library import (
        DEFAULT_COLLECTION,
        LIBRARY_FILE,
        Change,
        Library,
        LibraryError,
        StorageError,
        StoredArticle,
    )
    from .library import MIGRATIONS as LIBRARY_MIGRATIONS
    from .sqlite import SchemaTooNew
    from .transfer import CopiedTable, Source, TransferError, copy_stores

_FROM = {
    ".adding": ("add_fetched", "add_url", "linked_document"),
    ".addresses": ("Network", "parse_networks"),
    ".database": (
        "UNENCODED_PASSWORD",
        "Backend",
        "DatabaseError",
        "Db",
        "DuplicateRow",
        "PostgresBackend",
        "describe_database",
        "open_backend",
        "reason_of",
        "unencoded_password",
    ),
    ".feeds": (
        "POLL_INTERVAL",
        "POSTING_LEASE",
        "Feed",
        "FeedError",
        "FeedStore",
        "PollResult",
        "UnpostedItem",
    ),
    ".fetch": ("FetchError",),
    ".library": (
        "DEFAULT_COLLECTION",
        "LIBRARY_FILE",
        "Change",
        "Library",
        "LibraryError",
        "StorageError",
        "StoredArticle",
    ),
    ".sqlite": ("SchemaTooNew",),
    ".transfer": ("CopiedTable", "Source", "TransferError", "copy_stores"),
}
# Names given here under another name than their module's (`fetch` is also a module's name).
_RENAMED = {"LIBRARY_MIGRATIONS": (".library", "MIGRATIONS"), "fetch_url": (".fetch", "fetch")}
_LAZY = {name: (module, name) for module, names in _FROM.items() for name in names}
_LAZY.update(_RENAMED)

__all__ = [
    "DEFAULT_COLLECTION",
    "LIBRARY_FILE",
    "LIBRARY_MIGRATIONS",
    "POLL_INTERVAL",
    "POSTING_LEASE",
    "UNENCODED_PASSWORD",
    "Backend",
    "Change",
    "CopiedTable",
    "DatabaseError",
    "Db",
    "DuplicateRow",
    "Feed",
    "FeedError",
    "FeedStore",
    "FetchError",
    "Library",
    "LibraryError",
    "Network",
    "PollResult",
    "PostgresBackend",
    "SchemaTooNew",
    "Source",
    "StorageError",
    "StoredArticle",
    "TransferError",
    "UnpostedItem",
    "add_fetched",
    "add_url",
    "copy_stores",
    "describe_database",
    "fetch_url",
    "linked_document",
    "open_backend",
    "parse_networks",
    "reason_of",
    "unencoded_password",
]


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module, __name__), attribute)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value
