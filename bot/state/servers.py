"""Which library collection holds a Discord server's own articles, and back."""

from __future__ import annotations

__all__ = ["collection_of", "guild_of"]

_SERVER_PREFIX = "server-"


def collection_of(guild_id: int) -> str:
    """The library collection that holds a server's own articles."""
    return f"{_SERVER_PREFIX}{guild_id}"


def guild_of(collection: str) -> int | None:
    """The server whose collection this is (None for the host's)."""
    number = collection.removeprefix(_SERVER_PREFIX)
    return int(number) if number != collection and number.isdigit() else None
