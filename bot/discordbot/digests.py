"""Send the daily digest to channels of servers that chose digest over instant alerts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.core.clock import utcnow
from bot.core.embeds import digest_message
from bot.core.sinks import DeliveryError
from bot.discordbot.channel_sink import ChannelSink

log = logging.getLogger(__name__)

PERIOD = timedelta(days=1)


class DigestSender:
    """Posts each channel's held alerts once the oldest has waited a day."""

    def __init__(
        self,
        sink: ChannelSink,
        *,
        period: timedelta = PERIOD,
        guilds: Callable[[int | None], bool] | None = None,
    ) -> None:
        self.sink = sink
        self.period = period
        # Which servers' digests are this process's to send (a sharded bot: its shards').
        self.guilds = guilds

    async def send_due(self, now: datetime | None = None) -> int:
        """Send every due digest; return how many messages were posted."""
        when = now or utcnow()
        subs = self.sink.subscriptions
        posted = 0
        due = await subs.due_digests(when, self.period, guilds=self.guilds)
        for channel_id, items in due.items():
            guild_id = subs.guild_of(channel_id)
            settings = await subs.settings(guild_id) if guild_id else None
            role_id = settings.mention_role_id if settings else None
            body = digest_message([payload for _, payload in items], role_id=role_id)
            # The nonce names the batch, so a retry of the same digest never posts twice.
            nonce = f"dg{items[-1][0]}"[:25]
            try:
                await self.sink.post(channel_id, body, nonce=nonce, role_id=role_id)
            except DeliveryError as exc:
                log.warning("digest for channel %s not sent: %s", channel_id, exc)
                if exc.permanent:
                    await subs.mark_digest_sent([i for i, _ in items], when)
                continue
            await subs.mark_digest_sent([i for i, _ in items], when)
            posted += 1
        return posted
