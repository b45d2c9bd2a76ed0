"""``/lookup`` and ``/latest``: what the database knows, open to everyone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.embeds import card_embed, lookup_embed
from bot.core.sanitize import safe_text, safe_url
from bot.discordbot.checks import UserError, reply
from bot.discordbot.client import BreachRadarBot
from bot.discordbot.cogs._autocomplete import company_autocomplete
from bot.subscriptions import LookupEntry, clean_name

PER_PAGE = 5


def _entry(e: LookupEntry, labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "title": e.title,
        "evidence": e.evidence.value,
        "first_seen": e.first_seen,
        "published": e.published,
        # The database knows sources by key; people know them by the name as written.
        "sources": [(labels.get(key, key), url) for key, url in e.sources],
        "incident": e.incident_id,
        "card": e.card,
        "url": e.url,
    }


class Pages(discord.ui.View):
    """Previous and Next buttons over a lookup's pages, for the person who asked."""

    def __init__(self, company: str, entries: list[dict[str, Any]], owner: int) -> None:
        super().__init__(timeout=600)
        self.company = company
        self.entries = entries
        self.owner = owner
        self.page = 0
        self.pages = max(1, -(-len(entries) // PER_PAGE))
        self._update_buttons()

    def embed(self) -> discord.Embed:
        return discord.Embed.from_dict(
            lookup_embed(self.company, self.entries, self.page, PER_PAGE)
        )

    def _update_buttons(self) -> None:
        self.previous.disabled = self.page <= 0
        self.next.disabled = self.page >= self.pages - 1

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id != self.owner:
            await interaction.response.send_message(
                "Run /lookup yourself to page through results.", ephemeral=True
            )
            return False
        return True

    @discord.ui.button(
        label="Previous", style=discord.ButtonStyle.secondary, custom_id="lookup:previous"
    )
    async def previous(
        self, interaction: discord.Interaction[Any], _: discord.ui.Button[Pages]
    ) -> None:
        self.page = max(0, self.page - 1)
        self._update_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary, custom_id="lookup:next")
    async def next(
        self, interaction: discord.Interaction[Any], _: discord.ui.Button[Pages]
    ) -> None:
        self.page = min(self.pages - 1, self.page + 1)
        self._update_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)


class Lookup(commands.Cog):
    def __init__(self, bot: BreachRadarBot) -> None:
        self.bot = bot

    @app_commands.command(name="lookup", description="Incidents and disclosures about a company")
    @app_commands.describe(
        company="Any company, watched or not",
        incident="An incident's number from the list: its full card",
    )
    @app_commands.autocomplete(company=company_autocomplete)
    async def lookup(
        self,
        interaction: discord.Interaction[BreachRadarBot],
        company: str,
        incident: app_commands.Range[int, 1, 2**53] | None = None,
    ) -> None:
        name = clean_name(company)
        await interaction.response.defer(thinking=True)
        labels = self.bot.services.source_labels
        found = await self.bot.subscriptions.lookup(interaction.guild_id or 0, name, labels=labels)
        entries = [_entry(e, labels) for e in found]
        cards = [e for e in entries if e["incident"] is not None]
        if incident is not None or len(cards) == 1 == len(entries):
            # One incident asked for (or the only one there is): its full card.
            wanted = next((e for e in cards if incident in (None, e["incident"])), None)
            if wanted is None:
                raise UserError(
                    f"No incident {incident} about {name}; run /lookup {name} for the list."
                )
            shown = next((e.company for e in found if e.incident_id == wanted["incident"]), name)
            await interaction.followup.send(
                embed=discord.Embed.from_dict(card_embed(shown, wanted))
            )
            return
        view = Pages(name, entries, interaction.user.id)
        if view.pages > 1:
            await interaction.followup.send(embed=view.embed(), view=view)
        else:
            await interaction.followup.send(embed=view.embed())

    @app_commands.command(
        name="latest", description="Recent incidents about what this server watches"
    )
    @app_commands.describe(days="How many days back (1 to 90, default 7)")
    @app_commands.guild_only()
    async def latest(self, interaction: discord.Interaction[BreachRadarBot], days: int = 7) -> None:
        if not 1 <= days <= 90:
            raise UserError("Days must be between 1 and 90.")
        assert interaction.guild_id is not None
        rows = await self.bot.subscriptions.latest(interaction.guild_id, days)
        if not rows:
            await reply(
                interaction, f"No incidents in the last {days} days about companies watched here."
            )
            return
        embed = discord.Embed(title=f"Last {days} days: {len(rows)} incidents", colour=0x3498DB)
        for row in rows[:25]:
            link = safe_url(row.url)
            title = safe_text(row.title, 200)
            value = f"{row.evidence.value} · first seen <t:{int(row.first_seen.timestamp())}:R>"
            if link:
                value += f" · [source]({link})"
            embed.add_field(
                name=f"{safe_text(row.company_name, 50)}: {title}"[:256], value=value, inline=False
            )
        await interaction.response.send_message(embed=embed)


async def setup(bot: BreachRadarBot) -> None:
    await bot.add_cog(Lookup(bot))
