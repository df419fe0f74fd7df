"""Questions, summaries and sources: the commands members use to read the articles."""

from .cog import QuoteCog
from .context import ContextButton

__all__ = ["ContextButton", "QuoteCog"]
