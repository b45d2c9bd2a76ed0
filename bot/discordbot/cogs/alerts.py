"""``/alerts``: how a server wants its alerts, and a sample to check the look."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.cards.filters import MAX_COUNT
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
        min_affected="This channel: only incidents with at least this many affected (0: any)",
        data="This channel: only incidents involving these data, e.g. health, government_id",
        unknown_affected="This channel, with min_affected: hold back or alert incidents whose "
        "count is not known yet",
        clear_filters="This channel: drop min_affected and data",
        channel="The channel whose filters to show or change (default: this one)",
    )
    @manage_guild_only()
    async def settings(  # noqa: PLR0917 (discord.py passes options positionally)
        self,
        interaction: discord.Interaction[BreachRadarBot],
        role: discord.Role | None = None,
        clear_role: bool = False,
        min_evidence: Literal["claimed", "reported", "confirmed"] | None = None,
        mode: Literal["instant", "digest"] | None = None,
        min_affected: app_commands.Range[int, 0, MAX_COUNT] | None = None,
        data: app_commands.Range[str, 0, 200] | None = None,
        unknown_affected: Literal["hold", "alert"] | None = None,
        clear_filters: bool = False,
        channel: discord.TextChannel | None = None,
    ) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        if role is not None and clear_role:
            raise UserError("Choose a role or clear_role, not both.")
        if role is not None and (role.is_default() or role.managed):
            raise UserError("Pick a normal role; @everyone and bot roles cannot be mentioned.")
        changed = role is not None or clear_role or min_evidence or mode
        subs = self.bot.subscriptions
        if clear_filters and (min_affected is not None or data is not None):
            raise UserError("Choose clear_filters or new filters, not both.")
        channel_id = channel.id if channel is not None else interaction.channel_id
        if channel is not None and subs.guild_of(channel.id) not in (None, interaction.guild_id):
            raise UserError("That channel is not in this server.")
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
        filter_changed = (
            clear_filters or min_affected is not None or data is not None or unknown_affected
        )
        if filter_changed:
            wanted = await subs.update_channel_filter(
                interaction.guild_id,
                channel_id,
                by=interaction.user.id,
                min_affected=None
                if clear_filters
                else (min_affected if min_affected is not None else False),
                data=None if clear_filters else (data if data is not None else False),
                unknown_affected=unknown_affected,
            )
        else:
            wanted = await subs.channel_filter(channel_id)
        mention = f"<@&{current.mention_role_id}>" if current.mention_role_id else "nobody"
        text = (
            f"{'Saved. ' if changed or filter_changed else ''}Alerts mention {mention}, "
            f"from **{current.min_evidence.value}** evidence up, **{current.mode}**. "
            f"<#{channel_id}> hears of {wanted.describe()}."
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
