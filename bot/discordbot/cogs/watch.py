"""``/watch``: which companies a channel watches."""

from __future__ import annotations

import io
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.sanitize import safe_text
from bot.discordbot.checks import UserError, manage_guild_only, reply
from bot.discordbot.client import BreachRadarBot
from bot.discordbot.cogs._autocomplete import company_autocomplete
from bot.subscriptions import split_list

# 10,000 lines of names with aliases fit; Discord lets bots read attachments this large.
IMPORT_MAX_BYTES = 2 * 1024 * 1024


def _guild(interaction: discord.Interaction[BreachRadarBot]) -> int:
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Watch(commands.GroupCog, group_name="watch", group_description="Companies a channel watches"):
    def __init__(self, bot: BreachRadarBot) -> None:
        self.bot = bot

    @app_commands.command(name="add", description="Watch a company in a channel")
    @app_commands.describe(
        company="The company's name",
        channel="Where alerts go (default: this channel)",
        aliases="Other names it goes by, comma-separated",
    )
    @app_commands.autocomplete(company=company_autocomplete)
    @manage_guild_only()
    async def add(
        self,
        interaction: discord.Interaction[BreachRadarBot],
        company: str,
        channel: discord.TextChannel | None = None,
        aliases: str | None = None,
    ) -> None:
        guild_id = _guild(interaction)
        target = channel.id if channel else interaction.channel_id
        if target is None:
            raise UserError("Pick a channel.")
        found, added = await self.bot.subscriptions.subscribe(
            guild_id, target, company, aliases=split_list(aliases), by=interaction.user.id
        )
        name = safe_text(found.name, 100)
        text = f"<#{target}> {'now' if added else 'already'} watches **{name}**."
        missing = self._missing_permissions(interaction, target)
        if missing:
            text += f"\nBut I cannot post there yet: give me {', '.join(missing)}."
        await reply(interaction, text)

    def _missing_permissions(
        self, interaction: discord.Interaction[BreachRadarBot], channel_id: int
    ) -> list[str]:
        guild = interaction.guild
        channel = guild.get_channel(channel_id) if guild else None
        if guild is None or channel is None or guild.me is None:
            return []
        permissions = channel.permissions_for(guild.me)
        return [
            label
            for attr, label in (
                ("view_channel", "View Channel"),
                ("send_messages", "Send Messages"),
                ("embed_links", "Embed Links"),
            )
            if not getattr(permissions, attr)
        ]

    @app_commands.command(name="remove", description="Stop watching a company")
    @app_commands.describe(company="The company's name", channel="Only in this channel")
    @app_commands.autocomplete(company=company_autocomplete)
    @manage_guild_only()
    async def remove(
        self,
        interaction: discord.Interaction[BreachRadarBot],
        company: str,
        channel: discord.TextChannel | None = None,
    ) -> None:
        guild_id = _guild(interaction)
        removed = await self.bot.subscriptions.unsubscribe(
            guild_id, company, channel.id if channel else None
        )
        if not removed:
            raise UserError(f"No channel here watches {safe_text(company, 100)}.")
        plural = "s" if removed != 1 else ""
        await reply(
            interaction,
            f"Stopped watching **{safe_text(company, 100)}** ({removed} channel{plural}).",
        )

    @app_commands.command(name="list", description="What this server's channels watch")
    async def list_(self, interaction: discord.Interaction[BreachRadarBot]) -> None:
        guild_id = _guild(interaction)
        subs = await self.bot.subscriptions.for_guild(guild_id)
        if not subs:
            await reply(interaction, "Nothing is watched here yet. Use `/watch add`.")
            return
        by_channel: dict[int, list[str]] = {}
        broken: dict[int, str] = {}
        for sub in subs:
            by_channel.setdefault(sub.channel_id, []).append(safe_text(sub.company_name, 100))
            if sub.broken:
                broken[sub.channel_id] = sub.broken_reason or "broken"
        embed = discord.Embed(title=f"Watched here: {len(subs)}", colour=0x3498DB)
        for channel_id, names in list(by_channel.items())[:25]:
            label = f"#{channel_id}"
            value = f"<#{channel_id}>: " + ", ".join(names)
            if channel_id in broken:
                why = broken[channel_id]
                value = f"⚠ alerts paused: {why}. Fix the channel, then restart.\n{value}"
            embed.add_field(name=label, value=value[:1024], inline=False)
        await reply(interaction, "", embed=embed)

    @app_commands.command(name="import", description="Watch every vendor in a text or CSV file")
    @app_commands.describe(
        file="One company per line, up to 10,000 (CSV: name first, aliases after)",
        channel="Where alerts go",
    )
    @manage_guild_only()
    async def import_(
        self,
        interaction: discord.Interaction[BreachRadarBot],
        file: discord.Attachment,
        channel: discord.TextChannel | None = None,
    ) -> None:
        guild_id = _guild(interaction)
        if file.size > IMPORT_MAX_BYTES:
            raise UserError(f"The file is larger than {IMPORT_MAX_BYTES // 1024} KB.")
        kind = (file.content_type or "").split(";", 1)[0]
        if kind and not (
            kind.startswith("text/") or kind in ("application/csv", "application/vnd.ms-excel")
        ):
            raise UserError("Attach a plain text or CSV file.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await file.read()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UserError("The file is not UTF-8 text.") from None
        target = channel.id if channel else interaction.channel_id
        assert target is not None
        report = await self.bot.subscriptions.import_text(
            guild_id, target, text, by=interaction.user.id
        )
        lines = [f"Added {len(report.added)}, skipped {len(report.skipped)} for <#{target}>."]
        if report.added:
            lines.append("Added: " + ", ".join(safe_text(n, 60) for n in report.added[:40]))
            if len(report.added) > 40:
                lines[-1] += f" and {len(report.added) - 40} more"
        for name, why in report.skipped[:15]:
            lines.append(f"Skipped {safe_text(name, 60)}: {why}")
        if len(report.skipped) > 15:
            lines.append(f"and {len(report.skipped) - 15} more skipped")
        extra: dict[str, Any] = {}
        if report.skipped:
            # Every line that was not added, with its number and why: the message shows
            # only the first few.
            lines.append("Every skipped line, with its number: import-report.txt")
            body = report.not_added().encode("utf-8")
            extra["file"] = discord.File(io.BytesIO(body), filename="import-report.txt")
        text_out = "\n".join(lines)
        await reply(interaction, text_out[:1990], **extra)


async def setup(bot: BreachRadarBot) -> None:
    await bot.add_cog(Watch(bot))
