"""The bot's own state (bot/state/store.py): members' questions, votes and shared links, the
gap queue, forums answered automatically, retention. Never the articles: those are the
corpus library's."""

from .records import FeedbackReport, Forgotten, Forum, Gap, RatedAnswer, ShownAnswer, ShownQuote
from .store import BotState, StateError, shown_quotes

__all__ = [
    "BotState",
    "FeedbackReport",
    "Forgotten",
    "Forum",
    "Gap",
    "RatedAnswer",
    "ShownAnswer",
    "ShownQuote",
    "StateError",
    "shown_quotes",
]
