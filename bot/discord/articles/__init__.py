"""A server's own articles: links, files and feeds added, listed, removed; pinned channels."""

from .cog import ArticlesCog, PageButton
from .feeds import FeedsCog

__all__ = ["ArticlesCog", "FeedsCog", "PageButton"]
