"""Members' votes on answers, the moderators' pick of the right quote, /feedback and /gaps."""

from .buttons import PickButton, PickSelect, VoteButton, feedback_buttons
from .cog import FeedbackCog

__all__ = ["FeedbackCog", "PickButton", "PickSelect", "VoteButton", "feedback_buttons"]
