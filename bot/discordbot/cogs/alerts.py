"""``/alerts``: how a server wants its alerts, a sample to check the look, and how their
delivery to this server's channels is going."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.cards.filters import MAX_COUNT
from bot.core.embeds import channel_message, sample_alert
from bot.core.sanitize import safe_text
from bot.discordbot.checks import UserError, manage_guild_only, reply
from bot.discordbot.client import BreachRadarBot
from bot.store import TargetStatus
from scrapers.models import Evidence

CHANNEL = "channel:"


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

    @app_commands.command(
        name="status", description="How alerts reach this server's channels: queued, late, given up"
    )
    async def status(self, interaction: discord.Interaction[BreachRadarBot]) -> None:
        assert interaction.guild_id is not None
        statuses, broken = await self._statuses(interaction.guild_id)
        if not statuses:
            await reply(interaction, "No alerts for this server's channels yet.")
            return
        lines = [_line(s, broken.get(int(s.target.removeprefix(CHANNEL)))) for s in statuses]
        troubled = sum(1 for s in statuses if s.state != "up" or s.given_up)
        embed = discord.Embed(
            title=f"Alert delivery: {len(statuses)} channels ({troubled} with trouble)",
            description="\n".join(lines)[:4000],
            colour=0x2ECC71 if not troubled else 0xE67E22,
        )
        if any(s.given_up for s in statuses):
            embed.set_footer(text="Fixed a channel? /alerts retry sends its given-up alerts.")
        await reply(interaction, "", embed=embed)

    @app_commands.command(
        name="retry", description="Send the alerts given up for a channel, once it is fixed"
    )
    @app_commands.describe(channel="The channel (default: every channel of this server)")
    @manage_guild_only()
    async def retry(
        self,
        interaction: discord.Interaction[BreachRadarBot],
        channel: discord.TextChannel | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        statuses, _ = await self._statuses(interaction.guild_id)
        wanted = [s for s in statuses if s.given_up]
        if channel is not None:
            wanted = [s for s in wanted if s.target == f"{CHANNEL}{channel.id}"]
        if not wanted:
            raise UserError("No given-up alerts to send again here.")
        ready: list[str] = []
        problems: list[str] = []
        for s in wanted:
            channel_id = int(s.target.removeprefix(CHANNEL))
            problem = await self.bot.check_channel(channel_id)
            if problem is not None:
                problems.append(f"<#{channel_id}>: {problem[1]}")
                continue
            if await self.bot.subscriptions.is_broken(channel_id):
                await self.bot.subscriptions.repair(channel_id)
            ready.append(s.target)
        count = await self.bot.services.store.retry_given_up(ready) if ready else 0
        text = f"{count} alerts queued again; they arrive within seconds." if count else ""
        if problems:
            text += "\nStill not fixed: " + "; ".join(problems)
        await reply(interaction, text.strip())

    async def _statuses(self, guild_id: int) -> tuple[list[TargetStatus], dict[int, str]]:
        """This server's channel targets, and why any of them is paused."""
        subs = await self.bot.subscriptions.for_guild(guild_id)
        mine = {f"{CHANNEL}{s.channel_id}" for s in subs}
        broken = {s.channel_id: s.broken_reason or "broken" for s in subs if s.broken}
        statuses = await self.bot.services.store.target_status(targets=mine, guild_id=guild_id)
        return [s for s in statuses if s.target.startswith(CHANNEL)], broken


def _when(value: datetime | None) -> str:
    return f"<t:{int(value.timestamp())}:R>" if value is not None else "never"


def _line(s: TargetStatus, paused: str | None) -> str:
    """One channel's delivery in a line."""
    parts = [f"<#{s.target.removeprefix(CHANNEL)}>:"]
    if s.state == "down":
        parts.append(f"Discord refuses for now ({safe_text(s.last_error, 80)}), retrying;")
    elif s.state == "gone" or paused:
        parts.append(f"paused: {safe_text(paused or s.last_error, 80)};")
    else:
        parts.append("ok;")
    parts.append(f"{s.queued} queued")
    if s.waiting and s.next_attempt_at is not None:
        parts.append(f"({s.waiting} waiting, next try {_when(s.next_attempt_at)})")
    if s.given_up:
        reason = f": {safe_text(s.given_up_reason, 80)}" if s.given_up_reason else ""
        parts.append(f"· {s.given_up} given up{reason}")
    parts.append(f"· last delivered {_when(s.last_success_at)}")
    return " ".join(parts)


async def setup(bot: BreachRadarBot) -> None:
    await bot.add_cog(Alerts(bot))
