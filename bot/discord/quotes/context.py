"""The "Show context" button under an answer, and the paragraphs it shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from ..cogbase import cog_of

if TYPE_CHECKING:
    from .cog import QuoteCog

__all__ = ["ContextButton"]


class ContextButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ctx:(?P<corpus>[0-9a-f]{8}):(?P<positions>\d+(?:,\d+){0,9})",
):
    """ "Show context" under an answer. The custom id carries which sentences were quoted and
    which index they came from, so the button keeps working after a restart."""

    def __init__(self, corpus_hash: str, positions: list[int]) -> None:
        self.corpus_hash = corpus_hash[:8]
        self.positions = positions
        custom_id = f"ctx:{self.corpus_hash}:{','.join(map(str, positions[:10]))}"
        super().__init__(
            discord.ui.Button(
                label="Show context", style=discord.ButtonStyle.secondary, custom_id=custom_id
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> ContextButton:
        return cls(match["corpus"], [int(p) for p in match["positions"].split(",")])

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await _cog(interaction).gate.check(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).show_context(interaction, self.corpus_hash, self.positions)


def _cog(interaction: discord.Interaction) -> QuoteCog:
    from .cog import QuoteCog  # here: the cog module imports this one

    return cog_of(interaction.client, QuoteCog)
