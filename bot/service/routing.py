"""Which companies a pipeline matches, and where each match is queued.

A pipeline is configured with one routing: the operator's webhooks (``breachradar scan``
and a process without Discord), the webhooks and subscribed channels (a process that
serves Discord servers or routes matches to them), or one server's channels (the feeds a
server added for itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot.core.matching import Match, Matcher
from bot.core.watchlist import Company
from bot.settings import WebhookTarget
from bot.subscriptions import Subscriptions


class Routing(Protocol):
    """What a pipeline matches against, and the outbox targets of a match."""

    @property
    def matcher(self) -> Matcher: ...

    def targets(self, match: Match) -> list[str]:
        """Outbox targets (``webhook:<label>``, ``channel:<id>``) that want ``match``."""
        ...

    def wants(self, target: str, card: dict[str, Any]) -> bool:
        """Whether ``target``'s filter lets through an incident whose card is ``card``."""
        ...


def webhook_targets(webhooks: Sequence[WebhookTarget], match: Match) -> list[str]:
    return [f"webhook:{w.label}" for w in webhooks if w.wants(match.company.name)]


def webhook_wants(webhooks: Sequence[WebhookTarget], target: str, card: dict[str, Any]) -> bool:
    label = target.removeprefix("webhook:")
    hook = next((w for w in webhooks if w.label == label), None)
    return hook is None or hook.card_filter.passes(card)


def channel_wants(subscriptions: Subscriptions, target: str, card: dict[str, Any]) -> bool:
    channel = target.removeprefix("channel:")
    return not channel.isdigit() or subscriptions.filter_of(int(channel)).passes(card)


class WebhookRouting:
    """The operator's watchlist, to the operator's webhooks."""

    def __init__(self, webhooks: Sequence[WebhookTarget], matcher: Matcher) -> None:
        self.webhooks = tuple(webhooks)
        self.matcher = matcher

    def targets(self, match: Match) -> list[str]:
        return webhook_targets(self.webhooks, match)

    def wants(self, target: str, card: dict[str, Any]) -> bool:
        return webhook_wants(self.webhooks, target, card)


class SubscribedRouting:
    """Every server's companies too, to the webhooks and the channels that watch them.

    The matcher is rebuilt whenever a server adds a company (here or, after a refresh of
    the subscriptions, in another process).
    """

    def __init__(
        self, subscriptions: Subscriptions, webhooks: Sequence[WebhookTarget], matcher: Matcher
    ) -> None:
        self.subscriptions = subscriptions
        self.webhooks = tuple(webhooks)
        self.matcher = matcher

    @classmethod
    async def follow(
        cls, subscriptions: Subscriptions, webhooks: Sequence[WebhookTarget] = ()
    ) -> SubscribedRouting:
        """Route by ``subscriptions`` as they are now and as they change."""
        routing = cls(subscriptions, webhooks, Matcher(await subscriptions.all_companies()))
        subscriptions.on_companies_changed(routing.match_companies)
        return routing

    def match_companies(self, companies: list[Company]) -> None:
        self.matcher = Matcher(companies)

    def targets(self, match: Match) -> list[str]:
        return webhook_targets(self.webhooks, match) + self.subscriptions.targets_for(match)

    def wants(self, target: str, card: dict[str, Any]) -> bool:
        if target.startswith("webhook:"):
            return webhook_wants(self.webhooks, target, card)
        return channel_wants(self.subscriptions, target, card)


class ServerRouting:
    """A server's own feed: its matches go to that server's channels alone."""

    def __init__(self, subscriptions: Subscriptions, guild_id: int, matcher: Matcher) -> None:
        self.subscriptions = subscriptions
        self.guild_id = guild_id
        self.matcher = matcher

    def targets(self, match: Match) -> list[str]:
        guild_of = self.subscriptions.guild_of
        return [
            target
            for target in self.subscriptions.targets_for(match)
            if guild_of(int(target.split(":", 1)[1])) == self.guild_id
        ]

    def wants(self, target: str, card: dict[str, Any]) -> bool:
        return channel_wants(self.subscriptions, target, card)
