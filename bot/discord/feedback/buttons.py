"""The buttons under every answer: 👍 / 👎 for members, "Right quote…" for moderators, and the
moderators' choice among the quotes shown. Each custom id carries the stored answer's id
(bot/state), so they keep working after a restart, for as long as the answer is kept."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from ..cogbase import cog_of

if TYPE_CHECKING:
    from .cog import FeedbackCog

__all__ = ["PickButton", "PickSelect", "VoteButton", "feedback_buttons"]

_ANSWER_ID = r"(?P<answer>[0-9]{1,18})"


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"vote:(?P<way>up|down):{_ANSWER_ID}",
):
    def __init__(self, way: str, answer_id: int) -> None:
        self.way, self.answer_id = way, answer_id
        super().__init__(
            discord.ui.Button(
                emoji="👍" if way == "up" else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"vote:{way}:{answer_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> VoteButton:
        return cls(match["way"], int(match["answer"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await _cog(interaction).gate.check(interaction, light=True)

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _cog(interaction)
        async with cog.responder.reporting(interaction):
            await cog.vote(interaction, self.answer_id, 1 if self.way == "up" else -1)


class PickButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"pick:{_ANSWER_ID}"):
    """Moderators only: opens the choice of the right quote, for them alone to see."""

    def __init__(self, answer_id: int) -> None:
        self.answer_id = answer_id
        super().__init__(
            discord.ui.Button(
                label="Right quote…",
                style=discord.ButtonStyle.secondary,
                custom_id=f"pick:{answer_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> PickButton:
        return cls(int(match["answer"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await _cog(interaction).gate.check(interaction, light=True)

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _cog(interaction)
        async with cog.responder.reporting(interaction):
            await cog.offer_pick(interaction, self.answer_id)


class PickSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=rf"picked:{_ANSWER_ID}"):
    """The quotes an answer showed, to pick the right one (or none)."""

    NONE = "none"

    def __init__(self, answer_id: int, quotes: list[str] | None = None) -> None:
        self.answer_id = answer_id
        options = [
            discord.SelectOption(label=_label(f"{number}. {text}"), value=str(number - 1))
            for number, text in enumerate(quotes or [], 1)
        ]
        options.append(discord.SelectOption(label="None of these is right", value=self.NONE))
        super().__init__(
            discord.ui.Select(
                custom_id=f"picked:{answer_id}",
                placeholder="Which quote answers the question?",
                options=options,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> PickSelect:
        return cls(int(match["answer"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await _cog(interaction).gate.check(interaction, light=True)

    async def callback(self, interaction: discord.Interaction) -> None:
        values = (interaction.data or {}).get("values") or []  # type: ignore[union-attr]
        chosen = str(values[0]) if values else self.NONE
        index = -1 if chosen == self.NONE or not chosen.isdigit() else int(chosen)
        cog = _cog(interaction)
        async with cog.responder.reporting(interaction):
            await cog.pick(interaction, self.answer_id, index)


def feedback_buttons(answer_id: int, *, quotes_shown: bool) -> list[discord.ui.Item[Any]]:
    """👍 / 👎, and "Right quote…" when the answer showed quotes to pick from."""
    buttons: list[discord.ui.Item[Any]] = [
        VoteButton("up", answer_id),
        VoteButton("down", answer_id),
    ]
    return [*buttons, PickButton(answer_id)] if quotes_shown else buttons


def _label(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 100 else flat[:99] + "…"


def _cog(interaction: discord.Interaction) -> FeedbackCog:
    from .cog import FeedbackCog  # here: the cog module imports this one

    return cog_of(interaction.client, FeedbackCog)
