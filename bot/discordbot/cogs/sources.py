"""``/sources``: the health of the sources, and a server's own feeds."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.sanitize import safe_text
from bot.discordbot.checks import UserError, manage_guild_only, reply
from bot.discordbot.client import BreachRadarBot
from bot.subscriptions.discovery import FeedNotFound, check_url


@app_commands.guild_only()
class Sources(commands.GroupCog, group_name="sources", group_description="Where alerts come from"):
    def __init__(self, bot: BreachRadarBot) -> None:
        self.bot = bot

    @app_commands.command(name="show", description="The health of every source")
    async def show(self, interaction: discord.Interaction[BreachRadarBot]) -> None:
        assert interaction.guild_id is not None
        health = await self.bot.services.source_health()
        own = await self.bot.subscriptions.sources(interaction.guild_id)
        lines: list[str] = []
        failing = 0
        labels = self.bot.services.source_labels
        for key in [*self.bot.services.source_names, *(s.name for s in own)]:
            h = health.get(key)
            if h is None:
                state = "not polled yet"
            elif h.consecutive_failures:
                failing += 1
                state = f"failing ({h.consecutive_failures}x): {safe_text(h.last_error, 80)}"
            else:
                state = f"ok, {h.items_seen} items"
            # The name as the operator wrote it, escaped: it may hold markdown or backticks.
            lines.append(f"**{safe_text(labels.get(key) or key, 100)}**: {state}")
        embed = discord.Embed(
            title=f"Sources: {len(lines)} ({failing} failing)",
            description="\n".join(lines)[:4000] or "No sources configured.",
            colour=0x2ECC71 if not failing else 0xE67E22,
        )
        if own:
            embed.add_field(
                name="Added by this server",
                value="\n".join(f"`{s.name}`: {safe_text(s.feed_url, 200)}" for s in own)[:1024],
                inline=False,
            )
        await reply(interaction, "", embed=embed)

    @app_commands.command(name="add", description="Add a feed or press page for this server")
    @app_commands.describe(url="An RSS/Atom feed, or a page that links to one")
    @manage_guild_only()  # the group stays open for /sources show: checked here only
    async def add(self, interaction: discord.Interaction[BreachRadarBot], url: str) -> None:
        assert interaction.guild_id is not None
        try:
            # Scheme and credentials now; the finder checks ports and addresses.
            url = check_url(url, any_port=True)
        except FeedNotFound as exc:
            raise UserError(str(exc)) from None
        if self.bot.services.find_feed is None:
            raise UserError("Adding sources is not enabled on this bot.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            found = await self.bot.services.find_feed(url)
        except FeedNotFound as exc:
            raise UserError(str(exc)) from None
        source, new = await self.bot.subscriptions.add_source(
            interaction.guild_id, url, found.feed_url, found.title, interaction.user.id
        )
        title = safe_text(found.title or found.feed_url, 200)
        if not new:
            await reply(interaction, f"This server already has that feed as `{source.name}`.")
            return
        await reply(
            interaction,
            f"Added `{source.name}`: {title} ({found.entries} entries now). "
            "Only this server sees it.",
        )


async def setup(bot: BreachRadarBot) -> None:
    await bot.add_cog(Sources(bot))
