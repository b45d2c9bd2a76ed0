"""The service, wired once: the parts ``breachradar run`` and ``scan`` are made of.

Every part is built here and handed what it needs; no part reaches into another to
rewire it. A process plays one role and builds only the parts of that role: ``scraper``
polls, ``delivery`` sends webhooks, ``bot`` serves Discord and sends to its channels,
``all`` (the single-process default) does everything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx

from bot.core.addresses import ListenAddress
from bot.core.sharding import Sharding
from bot.core.sinks import Sink
from bot.core.sourceplan import SearchSchedule, SourcePlan, make_plan
from bot.core.watchlist import Company
from bot.delivery import Outbox, make_webhook_sinks
from bot.delivery.observed import ObservedSink
from bot.service.guild_feeds import GuildFeeds
from bot.service.health import Health
from bot.service.metrics import Metrics
from bot.service.monitor import Monitor
from bot.service.pipeline import Pipeline
from bot.service.routing import SubscribedRouting
from bot.service.scheduler import Service, process_owner
from bot.settings import Config
from bot.store import Store
from bot.subscriptions import Subscriptions
from scrapers.http import Fetcher

if TYPE_CHECKING:
    from bot.discordbot import BreachRadarBot, ChannelSink

log = logging.getLogger("breachradar")

ROLES = ("all", "scraper", "delivery", "bot")
# How often a bot process polls the feeds servers added and sends the digests due.
BACKGROUND_EVERY = 60.0


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How this process of ``breachradar run`` takes part in the service."""

    role: str = "all"
    dev_guild: int | None = None
    sharding: Sharding | None = None
    lease: timedelta = timedelta(minutes=5)
    deliver_every: float = 5.0
    max_polls: int = 100
    reload_every: float = 5.0
    # Serve /metrics and /healthz here (None: not served).
    metrics: ListenAddress | None = None


@dataclass(frozen=True, slots=True)
class Connections:
    """What every command that polls or delivers shares: the database and two clients."""

    store: Store
    fetcher: Fetcher
    client: httpx.AsyncClient  # for webhooks


@asynccontextmanager
async def connect(config: Config) -> AsyncIterator[Connections]:
    """Open the database, the fetcher and the webhooks' client; close them in turn."""
    store = await Store.open(config.settings.database)
    try:
        async with (
            Fetcher(Pipeline.fetch_policy(config)) as fetcher,
            httpx.AsyncClient(
                timeout=15.0, headers={"User-Agent": config.settings.user_agent}
            ) as client,
        ):
            yield Connections(store, fetcher, client)
    finally:
        await store.close()


def webhook_sinks(config: Config, client: httpx.AsyncClient) -> dict[str, Sink]:
    """One sink per webhook the operator configured."""
    return make_webhook_sinks(config.settings.webhooks, client)


async def subscribed_pipeline(
    config: Config, store: Store, fetcher: Fetcher, subscriptions: Subscriptions
) -> Pipeline:
    """A pipeline that matches every server's companies too, and queues each match for the
    webhooks and the channels that watch its company."""
    routing = await SubscribedRouting.follow(subscriptions, config.settings.webhooks)
    return Pipeline(config, store, fetcher, routing=routing)


def discord_bot(
    config: Config,
    store: Store,
    fetcher: Fetcher,
    subscriptions: Subscriptions,
    options: RunOptions,
) -> tuple[BreachRadarBot, ChannelSink]:
    """The Discord bot for ``breachradar run`` and the sink that posts to its channels."""
    from bot.discordbot import BotServices, ChannelSink, make_bot, point_at
    from bot.subscriptions.discovery import feed_finder

    settings = config.settings
    point_at(settings.discord_api_url, settings.discord_gateway_url)
    services = BotServices(
        store=store,
        subscriptions=subscriptions,
        source_health=store.source_health,
        source_names=[s.name for s in config.enabled_sources],
        source_labels={s.name: s.display_name for s in config.sources},
        # Server admins' URLs never reach private addresses, whatever the operator allows.
        find_feed=feed_finder(fetcher, allow_private=False),
    )
    bot = make_bot(services, dev_guild=options.dev_guild, sharding=options.sharding)
    return bot, ChannelSink(bot, subscriptions, ready=bot.channels_checked)


def _metrics_for(config: Config, options: RunOptions, store: Store) -> Metrics | None:
    """The counters of this process, when it serves them: its own registry, its role's
    sources as labels."""
    if options.metrics is None:
        return None
    polls = options.role in ("all", "scraper")
    sources = [s.name for s in config.enabled_sources] if polls else []
    metrics = Metrics(role=options.role, sources=sources)
    metrics.watch_store(store)
    return metrics


class App:
    """One process of the service: the parts of its role, and the tasks that run them."""

    def __init__(
        self,
        config: Config,
        options: RunOptions,
        service: Service,
        *,
        subscriptions: Subscriptions | None = None,
        bot: BreachRadarBot | None = None,
        channels: ChannelSink | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.options = options
        self.service = service
        self.pipeline = service.pipeline
        self.outbox = service.outbox
        self.subscriptions = subscriptions
        self.bot = bot
        self.channels = channels
        self.metrics = metrics
        self.monitor: Monitor | None = None
        if metrics is not None and options.metrics is not None:
            health = Health(service.pipeline.store, service, bot=bot)
            self.monitor = Monitor(options.metrics, metrics, health)
        self.schedules: tuple[SearchSchedule, ...] = config.schedules
        self._replans: set[asyncio.Task[None]] = set()

    @classmethod
    async def build(cls, config: Config, options: RunOptions, parts: Connections) -> App:
        """Build the parts of ``options.role`` over ``parts``, each once."""
        store, fetcher, role = parts.store, parts.fetcher, options.role
        subscriptions: Subscriptions | None = None
        bot: BreachRadarBot | None = None
        channels: ChannelSink | None = None
        serves_discord = bool(config.settings.discord_token) and role in ("all", "bot")
        plan = SourcePlan(config.sources, config.schedules)
        if serves_discord or role == "scraper":
            # A scraper process routes matches to subscribed channels too, which a bot
            # process delivers.
            subscriptions = Subscriptions(store, config.watchlist)
            await subscriptions.load()
            pipeline = await subscribed_pipeline(config, store, fetcher, subscriptions)
            if serves_discord:
                bot, channels = discord_bot(config, store, fetcher, subscriptions, options)
            # Servers' own companies are searched too, not only the operator's watchlist
            # (planned again only when servers added some: planning 10,000 takes a moment).
            companies = pipeline.matcher.companies
            if [id(c) for c in companies] != [id(c) for c in config.watchlist.companies]:
                plan = make_plan(config.entries or config.sources, companies)
        else:
            pipeline = Pipeline(config, store, fetcher)
        # Webhooks are a delivery process's work, not a bot process's.
        sinks = {} if role == "bot" else webhook_sinks(config, parts.client)
        routes: dict[str, Sink] = {"channel:": channels} if channels is not None else {}
        if not sinks and not routes:
            log.info("no webhooks configured: matches go to the log only")
        metrics = _metrics_for(config, options, store)
        if metrics is not None:
            sinks = {t: ObservedSink(s, metrics.attempt_ended) for t, s in sinks.items()}
            routes = {p: ObservedSink(s, metrics.attempt_ended) for p, s in routes.items()}
        owner = process_owner()
        # A delivery process has no Discord client: it sends webhooks only; a bot process
        # sends to its channels only.
        outbox = Outbox(
            store,
            sinks,
            owner=owner,
            routes=routes,
            lease=options.lease,
            target_prefix={"delivery": "webhook:", "bot": "channel:"}.get(role),
            # A bot process running some of the shards: its guilds' channels only.
            shards=bot.served if bot is not None else None,
        )
        service = Service(
            pipeline,
            outbox,
            [s for s in plan.sources if s.enabled],
            poll=role in ("all", "scraper"),
            deliver=role in ("all", "delivery", "bot"),
            owner=owner,
            lease=options.lease,
            deliver_every=options.deliver_every,
            max_polls=options.max_polls,
            on_poll=metrics.polled if metrics is not None else None,
        )
        app = cls(
            config,
            options,
            service,
            subscriptions=subscriptions,
            bot=bot,
            channels=channels,
            metrics=metrics,
        )
        app.schedules = plan.schedules
        if subscriptions is not None and service.poll_sources:
            subscriptions.on_companies_changed(app._replan)
        return app

    def _replan(self, companies: list[Company]) -> None:
        """A server watches new companies: plan the searches again, for all of them."""
        plan = make_plan(self.config.entries or self.config.sources, companies)
        before = {s.entry: s.batches for s in self.schedules}
        self.schedules = plan.schedules
        for schedule in plan.schedules:
            if before.get(schedule.entry) != schedule.batches:
                log.info("%s", schedule.describe())
        task = asyncio.create_task(
            self.service.update_sources([s for s in plan.sources if s.enabled]),
            name="replan-sources",
        )
        self._replans.add(task)
        task.add_done_callback(self._replanned)

    def _replanned(self, task: asyncio.Task[None]) -> None:
        self._replans.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("could not take up the new plan of sources: %s", task.exception())

    async def open_monitor(self) -> ListenAddress | None:
        """Start serving /metrics and /healthz, if asked; raise OSError if it cannot."""
        if self.monitor is None:
            return None
        return await self.monitor.start()

    def request_stop(self) -> None:
        self.service.request_stop()

    async def run(self) -> int:
        """Run until stopped; 1 if the Discord bot stopped by itself (a bad token, say)."""
        config, options, bot = self.config, self.options, self.bot
        sharding = options.sharding
        log.info(
            "watching %d companies across %d sources (role %s, process %s%s)",
            len(self.pipeline.matcher.companies),
            len(self.service.sources),
            options.role,
            self.service.owner,
            f", {sharding.describe()}" if bot is not None and sharding else "",
        )
        if self.service.poll_sources:
            for schedule in self.schedules:
                log.info("%s", schedule.describe())
                warning = schedule.warning()
                if warning:
                    log.warning("%s", warning)
        bot_task = None
        feeds_task = None
        # Subscriptions other processes add or remove reach this one's routing.
        reload_task = None
        if self.subscriptions is not None:
            reload_task = asyncio.create_task(
                self.subscriptions.watch(options.reload_every), name="subscription-changes"
            )
        if bot is not None:
            bot_task = asyncio.create_task(
                bot.start(config.settings.discord_token or ""), name="discord"
            )
            bot_task.add_done_callback(self._bot_ended)
            feeds_task = asyncio.create_task(
                self._bot_background(), name="server-feeds-and-digests"
            )
        try:
            await self.service.run_forever()
        finally:
            if self.monitor is not None:
                await self.monitor.close()
            for task in (feeds_task, reload_task):
                if task is not None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            if bot is not None and bot_task is not None:
                await bot.close()
                await asyncio.gather(bot_task, return_exceptions=True)
        if (
            bot_task is not None
            and bot_task.done()
            and not bot_task.cancelled()
            and bot_task.exception() is not None
        ):
            return 1
        return 0

    async def _bot_background(self) -> None:
        """Once a minute: poll the feeds servers added (waking the outbox for what they
        found) and send due digests.

        Only the guilds this process serves (a sharded bot: its shards' guilds).
        """
        from bot.discordbot import DigestSender

        assert self.bot is not None and self.subscriptions is not None
        assert self.channels is not None
        serves = self.bot.serves
        feeds = GuildFeeds(self.pipeline, self.subscriptions, guilds=serves)
        digests = DigestSender(self.channels, guilds=serves)
        while True:
            try:
                results = await feeds.poll_due()
                if self.metrics is not None:
                    for result in results:
                        self.metrics.polled(result.name, result, None)
                if any(r.found for r in results):
                    self.outbox.poke()
                await digests.send_due()
            except Exception:
                log.exception("server feeds or digests failed")
            await asyncio.sleep(BACKGROUND_EVERY)

    def _bot_ended(self, task: asyncio.Task[None]) -> None:
        """Stop the service when the bot stops by itself (a bad token, say): fail loudly."""
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            # Never print the exception's arguments: a login error may echo the request.
            log.error("the Discord bot stopped: %s", type(error).__name__)
            self.service.request_stop()
