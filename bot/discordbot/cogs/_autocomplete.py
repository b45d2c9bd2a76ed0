"""Autocomplete shared by the cogs that take a company name (a helper, not a cog)."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.discordbot.client import BreachRadarBot


async def company_autocomplete(
    interaction: discord.Interaction[BreachRadarBot], current: str
) -> list[app_commands.Choice[str]]:
    """Known companies and companies of earlier disclosures; at most 25 (Discord's cap)."""
    if interaction.guild_id is None:
        return []
    names = await interaction.client.subscriptions.suggestions(interaction.guild_id, current)
    return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names[:25]]
