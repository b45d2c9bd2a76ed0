"""``/alerts``: how a server wants its alerts, and a sample to check the look."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.embeds import channel_message, sample_alert
from bot.discordbot.checks import UserError, manage_guild_only, reply
from bot.discordbot.client import BreachRadarBot
from scrapers.models import Evidence


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Alerts(commands.GroupCog, group_name="alerts", group_description="How alerts look and ping"):
    def __init__(self, bot: BreachRadarBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="settings", description="Show or change this server's alert settings"
    )
    @app_commands.describe(
        role="Role to mention in alerts",
        clear_role="Mention no role",
        min_evidence="Only alert from this evidence level up",
        mode="instant: each alert when found; digest: once a day",
    )
    @manage_guild_only()
    async def settings(
        self,
        interaction: discord.Interaction[BreachRadarBot],
        role: discord.Role | None = None,
        clear_role: bool = False,
        min_evidence: Literal["claimed", "reported", "confirmed"] | None = None,
        mode: Literal["instant", "digest"] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        if role is not None and clear_role:
            raise UserError("Choose a role or clear_role, not both.")
        if role is not None and (role.is_default() or role.managed):
            raise UserError("Pick a normal role; @everyone and bot roles cannot be mentioned.")
        changed = role is not None or clear_role or min_evidence or mode
        subs = self.bot.subscriptions
        if changed:
            current = await subs.update_settings(
                interaction.guild_id,
                by=interaction.user.id,
                mention_role_id=role.id if role else (None if clear_role else False),
                min_evidence=Evidence(min_evidence) if min_evidence else None,
                mode=mode,
            )
        else:
            current = await subs.settings(interaction.guild_id)
        mention = f"<@&{current.mention_role_id}>" if current.mention_role_id else "nobody"
        text = (
            f"{'Saved. ' if changed else ''}Alerts mention {mention}, "
            f"from **{current.min_evidence.value}** evidence up, **{current.mode}**."
        )
        await reply(interaction, text)

    @app_commands.command(name="test", description="Post a sample alert here")
    @manage_guild_only()
    async def test(self, interaction: discord.Interaction[BreachRadarBot]) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        current = await self.bot.subscriptions.settings(interaction.guild_id)
        body = channel_message(sample_alert(), role_id=current.mention_role_id)
        mentions = discord.AllowedMentions.none()
        if current.mention_role_id:
            mentions.roles = [discord.Object(current.mention_role_id)]
        channel = self.bot.get_partial_messageable(interaction.channel_id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            await channel.send(
                content=body.get("content"),
                embed=discord.Embed.from_dict(body["embeds"][0]),
                allowed_mentions=mentions,
            )
        except discord.Forbidden:
            raise UserError(
                "I cannot post here: give me View Channel, Send Messages and Embed Links."
            ) from None
        await reply(interaction, "Sample alert posted. Real alerts look the same.")


async def setup(bot: BreachRadarBot) -> None:
    await bot.add_cog(Alerts(bot))
