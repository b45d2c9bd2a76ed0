"""What every command shares: who may change a server's setup, and how to answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands


class UserError(Exception):
    """Shown to the user as a short ephemeral message."""


def can_manage(interaction: discord.Interaction[Any]) -> bool:
    """Manage Server, checked in code: admins can override default member permissions."""
    return interaction.guild_id is not None and interaction.permissions.manage_guild


def manage_guild_only() -> Callable[[Any], Any]:
    """Decorator for commands that change a server's setup."""

    def predicate(interaction: discord.Interaction[Any]) -> bool:
        if not can_manage(interaction):
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    return app_commands.check(predicate)


async def reply(interaction: discord.Interaction[Any], text: str, **kwargs: Any) -> None:
    """Answer ephemerally, whether or not the interaction was deferred."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, **kwargs)
    else:
        await interaction.response.send_message(text, ephemeral=True, **kwargs)
