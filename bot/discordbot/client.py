"""The Discord bot: a thin discord.py client over the subscriptions core.

No privileged intents: slash commands reach the bot whatever its intents, and the guilds
intent is enough to know the channels and the bot's own permissions in them.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.core.records import SourceHealth
from bot.core.sharding import Sharding, ShardSet
from bot.discordbot.checks import UserError, reply
from bot.discordbot.connection import bot_intents
from bot.store import Store
from bot.subscriptions import SubscriptionError, Subscriptions
from bot.subscriptions.discovery import FeedNotFound

log = logging.getLogger(__name__)

COGS = tuple(f"bot.discordbot.cogs.{name}" for name in ("watch", "lookup", "sources", "alerts"))
COMMANDS_HASH_KEY = "discord.commands_hash"
# What the bot needs in a channel it posts alerts to.
NEEDED_PERMISSIONS = ("view_channel", "send_messages", "embed_links")


def point_at(api_url: str, gateway_url: str) -> None:
    """Send discord.py's REST calls and gateway connection to the given addresses."""
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


@dataclass(slots=True)
class BotServices:
    """What the commands work with, passed in so tests use the real parts."""

    store: Store
    subscriptions: Subscriptions
    source_health: Callable[[], Awaitable[dict[str, SourceHealth]]]
    source_names: Sequence[str] = ()  # the configured sources' keys
    source_labels: Mapping[str, str] = field(default_factory=dict)  # key -> name as written
    find_feed: Callable[[str], Awaitable[Any]] | None = None  # url -> FoundFeed


class BreachRadarTree(app_commands.CommandTree["BreachRadarBot"]):
    """Turns failures into short ephemeral answers instead of silence."""

    async def on_error(
        self, interaction: discord.Interaction[BreachRadarBot], error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if isinstance(error, app_commands.MissingPermissions):
            text = "You need the Manage Server permission to change BreachRadar's setup."
        elif isinstance(error, app_commands.NoPrivateMessage):
            text = "This command works in a server only."
        elif isinstance(original, (SubscriptionError, UserError, FeedNotFound)):
            text = str(original) or "That did not work."
        elif isinstance(error, app_commands.TransformerError):
            text = f"{error.value!r} is not a valid value for that option."
        else:
            log.error("command failed", exc_info=original)
            text = "Something went wrong on our side; the error was logged."
        await reply(interaction, text)


class BreachRadarBot(commands.Bot):
    """The bot process: commands, command sync and the start-up channel check."""

    def __init__(
        self,
        services: BotServices,
        *,
        dev_guild: int | None = None,
        sharding: Sharding | None = None,
        **options: Any,
    ) -> None:
        intents = bot_intents()
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        if sharding is not None:
            if not isinstance(self, commands.AutoShardedBot):
                raise TypeError("a sharded bot is a ShardedBreachRadarBot")
            options["shard_count"] = sharding.count
            options["shard_ids"] = list(sharding.ids) if sharding.ids is not None else None
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            tree_cls=BreachRadarTree,
            **options,
        )
        self.services = services
        self.dev_guild = dev_guild
        # The guilds of the shards this process runs; None: every guild is this process's.
        self.served: ShardSet | None = sharding.owner() if sharding is not None else None
        self.synced = False
        self.channel_problems: list[str] = []
        self.channels_checked = asyncio.Event()

    @property
    def subscriptions(self) -> Subscriptions:
        return self.services.subscriptions

    async def setup_hook(self) -> None:
        for name in COGS:
            await self.load_extension(name)
        self.synced = await self.sync_commands()

    def command_definitions(self) -> list[dict[str, Any]]:
        """The global commands as Discord receives them, sorted by name."""
        return sorted(
            (c.to_dict(self.tree) for c in self.tree.get_commands()), key=lambda d: d["name"]
        )

    def commands_hash(self) -> str:
        text = json.dumps(self.command_definitions(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    async def sync_commands(self) -> bool:
        """Sync to the dev guild, or globally only when the definitions changed."""
        if self.dev_guild is not None:
            guild = discord.Object(self.dev_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
            log.info("commands synced to development guild %s", self.dev_guild)
            return True
        digest = self.commands_hash()
        if await self.services.store.get_meta(COMMANDS_HASH_KEY) == digest:
            log.info("commands unchanged; not syncing")
            return False
        await self.tree.sync()
        await self.services.store.set_meta(COMMANDS_HASH_KEY, digest)
        log.info("commands synced globally")
        return True

    def serves(self, guild_id: int | None) -> bool:
        """Whether ``guild_id``'s alerts, digests and feeds are this process's work."""
        return self.served is None or self.served.owns(guild_id)

    async def on_ready(self) -> None:
        self.channel_problems = await self.check_channels()
        if not self.channels_checked.is_set():
            # What is loaded by now (the matcher, every server's subscriptions, discord.py's
            # caches) lives as long as the process: keep it out of the collector's full
            # passes, which otherwise stall the event loop for 100 ms and more and let
            # paced Discord requests bunch past the global limit.
            gc.freeze()
        self.channels_checked.set()

    async def check_channels(self) -> list[str]:
        """Check that every subscribed channel exists and is writable; mark the rest broken.

        A process running some of the shards checks its shards' guilds' channels only.
        """
        problems: list[str] = []
        for channel_id, guild_id in (await self.subscriptions.channel_ids()).items():
            if not self.serves(guild_id):
                continue
            problem = await self.check_channel(channel_id)
            if problem is None:
                if await self.subscriptions.is_broken(channel_id):
                    await self.subscriptions.repair(channel_id)
                continue
            code, reason = problem
            log.warning("subscribed channel %s: %s; its alerts are paused", channel_id, reason)
            problems.append(f"channel {channel_id}: {reason}")
            await self.subscriptions.mark_broken(channel_id, reason, code=code)
        return problems

    async def check_channel(self, channel_id: int) -> tuple[int, str] | None:
        """Whether the bot can post in the channel: None, or Discord's code and why not."""
        channel: Any = self.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.fetch_channel(channel_id)
            except discord.NotFound:
                return 10003, "the channel was deleted"
            except discord.Forbidden:
                return 50001, "the bot cannot see the channel"
            except discord.HTTPException as exc:
                log.warning("could not check channel %s: %s", channel_id, exc)
                return None  # Discord trouble is not the channel's fault
        if not isinstance(channel, discord.abc.GuildChannel):
            return None
        me = channel.guild.me
        if me is None:
            return None
        permissions = channel.permissions_for(me)
        missing = [p for p in NEEDED_PERMISSIONS if not getattr(permissions, p)]
        if missing:
            return 50013, "the bot lacks " + ", ".join(p.replace("_", " ") for p in missing)
        return None


class ShardedBreachRadarBot(BreachRadarBot, commands.AutoShardedBot):
    """The same bot over one gateway connection per shard (discord.py's AutoShardedBot).

    Discord sends each shard the events and slash commands of its own guilds; a process
    may run every shard or, with ``Sharding.ids``, some of them beside other processes.
    """


def make_bot(
    services: BotServices,
    *,
    dev_guild: int | None = None,
    sharding: Sharding | None = None,
    **options: Any,
) -> BreachRadarBot:
    """A plain bot (one connection for every guild), or a sharded one."""
    if sharding is None:
        return BreachRadarBot(services, dev_guild=dev_guild, **options)
    return ShardedBreachRadarBot(services, dev_guild=dev_guild, sharding=sharding, **options)


def all_command_names(bot: BreachRadarBot) -> list[str]:
    """Every slash command's full name, for the start-up log and the meta test."""
    names: list[str] = []
    for command in bot.tree.walk_commands():
        if isinstance(command, app_commands.Command):
            names.append(command.qualified_name)
    return names
