"""A server's own articles: adding links and files, listing, removing, pinning a channel."""

from .cog import ArticlesCog

__all__ = ["ArticlesCog"]
