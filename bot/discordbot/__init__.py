"""The Discord bot: a thin discord.py client over the subscriptions core.

``client`` connects, syncs the slash commands and checks the subscribed channels;
``checks`` holds what every command shares (permissions, answering); ``cogs`` has one
cog per topic of slash commands, each ending in ``async def setup(bot)``, with private
helpers as ``_name.py`` instead of imports from cog to cog; ``channel_sink`` delivers
alerts to channels and ``digests`` sends the daily digests. Named ``discordbot`` so it is
never mistaken for discord.py itself.
"""

from __future__ import annotations

from bot.discordbot.channel_sink import ChannelSink
from bot.discordbot.checks import UserError
from bot.discordbot.client import (
    BotServices,
    BreachRadarBot,
    ShardedBreachRadarBot,
    make_bot,
    point_at,
)
from bot.discordbot.connection import connection_problem
from bot.discordbot.digests import DigestSender

__all__ = [
    "BotServices",
    "BreachRadarBot",
    "ChannelSink",
    "DigestSender",
    "ShardedBreachRadarBot",
    "UserError",
    "connection_problem",
    "make_bot",
    "point_at",
]
