"""The command line: `python -m bot ask|summary|chat|index|verify|eval|add|remove|list|run`."""

from .main import main

__all__ = ["main"]
