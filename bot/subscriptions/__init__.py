"""What each Discord server watches: companies, channel subscriptions, settings and feeds.

The slash commands are thin over this package, so everything here is testable without
Discord. Every read or change of a server's data is scoped by its ``guild_id``: one server
never sees or changes another's subscriptions, companies, sources or settings. The SQL
lives in the store's guilds repository; here are the rules, in one module each:

- ``index``: which channels watch which company, in memory, reloaded across processes;
- ``companies``: the companies servers add, and what a name means to a server;
- ``channels``: subscriptions, imports, broken channels;
- ``guild_settings``, ``digests``, ``feeds``, ``lookup``: what their names say;
- ``cache``: what every delivery reads, kept in memory;
- ``discovery``: the feed behind a URL a server gives ``/sources add``.

:class:`Subscriptions` puts the parts together for the bot and the service.
"""

from __future__ import annotations

from bot.core.watchlist import Watchlist
from bot.store import Store
from bot.subscriptions.cache import DeliveryCache
from bot.subscriptions.channels import IMPORT_MAX_LINES, Channels, ImportLine, ImportReport
from bot.subscriptions.companies import Companies
from bot.subscriptions.digests import Digests
from bot.subscriptions.feeds import Feeds, visible_to
from bot.subscriptions.guild_settings import ServerSettings
from bot.subscriptions.index import COMPANIES_VERSION, RELOAD_EVERY, SUBSCRIPTIONS_VERSION, Index
from bot.subscriptions.lookup import Lookup, LookupEntry
from bot.subscriptions.names import NAME_MAX, SubscriptionError, clean_name, split_list


class Subscriptions:
    """Servers' watchlists over the store, with an in-memory index for routing matches."""

    def __init__(self, store: Store, watchlist: Watchlist | None = None) -> None:
        self.store = store
        self.watchlist = watchlist or Watchlist()
        self.cache = DeliveryCache(store)
        self.index = Index(store, self.watchlist, self.cache)
        self.companies = Companies(store, self.watchlist, self.index.changed)
        self.channels = Channels(
            store,
            self.watchlist,
            self.companies,
            self.index.changed,
            self.cache,
            reload=self.index.reload,
        )
        self.server_settings = ServerSettings(store, self.cache, self.index.changed)
        self.digests = Digests(store)
        self.feeds = Feeds(store)
        self.lookups = Lookup(store, self.companies, self.channels)

        # Its methods are its parts': one name, one owner.
        index = self.index
        self.load = index.load
        self.refresh = index.refresh
        self.watch = index.watch
        self.on_reloaded = index.on_reloaded
        self.targets_for = index.targets_for
        self.guild_of = index.guild_of
        self.filter_of = index.filter_of
        self.on_companies_changed = index.on_companies_changed

        companies = self.companies
        self.all_companies = companies.all_companies
        self.guild_companies = companies.guild_companies
        self.resolve = companies.resolve
        self.add_company = companies.add_company
        self.suggestions = companies.suggestions

        channels = self.channels
        self.subscribe = channels.subscribe
        self.unsubscribe = channels.unsubscribe
        self.for_guild = channels.for_guild
        self.import_text = channels.import_text
        self.channel_ids = channels.channel_ids
        self.mark_broken = channels.mark_broken
        self.repair = channels.repair
        self.is_broken = channels.is_broken

        self.settings = self.server_settings.settings
        self.update_settings = self.server_settings.update_settings
        self.channel_filter = self.server_settings.channel_filter
        self.update_channel_filter = self.server_settings.update_channel_filter

        self.hold_for_digest = self.digests.hold_for_digest
        self.due_digests = self.digests.due_digests
        self.mark_digest_sent = self.digests.mark_digest_sent

        self.add_source = self.feeds.add_source
        self.all_sources = self.feeds.all_sources
        self.sources = self.feeds.sources

        self.lookup = self.lookups.lookup
        self.latest = self.lookups.latest


__all__ = [
    "COMPANIES_VERSION",
    "IMPORT_MAX_LINES",
    "NAME_MAX",
    "RELOAD_EVERY",
    "SUBSCRIPTIONS_VERSION",
    "ImportLine",
    "ImportReport",
    "LookupEntry",
    "SubscriptionError",
    "Subscriptions",
    "clean_name",
    "split_list",
    "visible_to",
]
