"""Deliver alerts to Discord channels through the bot's own connection.

A retry never posts twice: every message carries a nonce derived from its outbox row,
with ``enforce_nonce`` so Discord drops a duplicate create. A channel that was deleted or
that the bot may no longer write to is marked broken and never retried, since Discord bans
clients that keep collecting 403s and 404s.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord

from bot.core.embeds import channel_message
from bot.core.logfields import about
from bot.core.records import Delivery
from bot.core.sinks import DeliveryError, MessageGone
from bot.subscriptions import Subscriptions, visible_to
from scrapers.models import Evidence
from scrapers.ratelimit import RateLimiter

log = logging.getLogger(__name__)

# Discord allows 50 requests in any one second. The limiter lets at most 49 requests start
# within any 1.06 s, counted when each actually starts (a busy event loop wakes senders
# late and can bunch them; the count holds whatever the delays), and paces them evenly at
# that rate, 46.2/s, with a burst of three so a sender that fell behind catches up. A
# request reaches Discord a varying time after it starts: as long as that varies by under
# 60 ms, any one second at Discord holds at most 49 of ours, leaving room for the odd REST
# call discord.py makes on its own; under about 80 ms, at most 50. On loopback it varies by
# about 15 ms, more when the machine is busy (a pause of either process for garbage
# collection or scheduling counts in full); 1.02 s instead of 1.06 s allowed 48/s but drew
# 429s from a fake Discord on a loaded machine. Sustained, 46.2/s is 92% of the limit.
DISCORD_WINDOW = 1.06
DISCORD_WINDOW_LIMIT = 49
DISCORD_GLOBAL_RATE = DISCORD_WINDOW_LIMIT / DISCORD_WINDOW
DISCORD_BURST = 3.0

# Discord's codes for "this channel is gone or closed to us": stop, do not retry.
GONE_CODES = {10003: "the channel was deleted", 50001: "the bot cannot see the channel",
              50013: "the bot may not post or embed in the channel"}  # fmt: skip


class ChannelSink:
    """Posts (or edits) one alert in the channel named by the target ``channel:<id>``."""

    def __init__(
        self,
        client: discord.Client,
        subscriptions: Subscriptions,
        *,
        rate: float = DISCORD_GLOBAL_RATE,
        ready: asyncio.Event | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self.client = client
        self.subscriptions = subscriptions
        # discord.py honours per-route buckets and 429s but has no limiter for the global
        # 50 requests/s: a fan-out to many channels must pace itself.
        self.pacer = RateLimiter(
            rate, burst=DISCORD_BURST, window=DISCORD_WINDOW, limit=DISCORD_WINDOW_LIMIT
        )
        # Set once the bot is connected and has checked its channels; until then a send
        # would fail with 401 and be taken for a permanent error.
        self.ready = ready
        self.ready_timeout = ready_timeout

    # Every channel is on Discord: when one answers again after an outage, the outbox
    # probes the other down channels at once.
    group = "discord"

    def __repr__(self) -> str:
        return "ChannelSink()"

    async def send(self, delivery: Delivery) -> str | None:
        channel_id = int(delivery.target.split(":", 1)[1])
        if self.ready is not None and not self.ready.is_set():
            try:
                await asyncio.wait_for(self.ready.wait(), self.ready_timeout)
            except TimeoutError:
                raise DeliveryError("not connected to Discord yet") from None
        # From memory: two queries per message would slow a fan-out to many channels.
        if await self.subscriptions.is_broken(channel_id, cached=True):
            raise DeliveryError("the channel is marked broken", gone=True)
        guild_id = self.subscriptions.guild_of(channel_id)
        settings = await self.subscriptions.settings(guild_id, cached=True) if guild_id else None
        evidence = Evidence(str(delivery.payload.get("evidence") or Evidence.REPORTED.value))
        if settings is not None and not settings.wants(evidence):
            # Below this server's threshold: nothing to show; a later, stronger
            # disclosure of the same incident comes as an update and is posted then.
            return None
        edit_id = delivery.payload.get("edit_message_id")
        payload = dict(delivery.payload)
        # Another server's own feed may have reported the same incident: not for this one.
        payload["sources"] = [
            src
            for src in payload.get("sources") or []
            if visible_to(str(src.get("source") or ""), guild_id)
        ]
        if settings is not None and guild_id and settings.mode == "digest" and not edit_id:
            await self.subscriptions.hold_for_digest(guild_id, channel_id, payload)
            return None
        role_id = settings.mention_role_id if settings else None
        body = channel_message(payload, role_id=role_id, new=not edit_id)
        return await self.post(
            channel_id,
            body,
            nonce=f"br{delivery.id}",
            role_id=role_id,
            edit_id=int(edit_id) if edit_id else None,
        )

    async def post(
        self,
        channel_id: int,
        body: dict[str, Any],
        *,
        nonce: str,
        role_id: int | None = None,
        edit_id: int | None = None,
    ) -> str:
        """Send (or edit) one message; map Discord's refusals to DeliveryError."""
        embeds = [discord.Embed.from_dict(e) for e in body.get("embeds", [])]
        mentions = discord.AllowedMentions.none()
        if role_id:
            mentions.roles = [discord.Object(role_id)]
        channel = self.client.get_partial_messageable(channel_id)
        await self.pacer.wait()
        try:
            if edit_id:
                message = channel.get_partial_message(edit_id)
                edited = await message.edit(embeds=embeds, allowed_mentions=mentions)
                return str(edited.id)
            sent = await channel.send(
                content=body.get("content"),
                embeds=embeds,
                allowed_mentions=mentions,
                nonce=nonce,
            )
            return str(sent.id)
        except discord.HTTPException as exc:
            raise await self._failure(channel_id, exc, editing=bool(edit_id)) from None
        except (OSError, TimeoutError) as exc:
            raise DeliveryError(f"no answer from Discord ({type(exc).__name__})") from None

    async def _failure(
        self, channel_id: int, exc: discord.HTTPException, *, editing: bool
    ) -> DeliveryError:
        answer = _answer(exc)
        if exc.code in GONE_CODES:
            reason = GONE_CODES[exc.code]
            log.warning(
                "channel %s: %s (code %s); delivery stopped", channel_id, reason, exc.code,
                extra=about(target=f"channel:{channel_id}"),
            )  # fmt: skip
            await self.subscriptions.mark_broken(channel_id, reason, code=exc.code)
            return DeliveryError(f"{answer}: {reason}", gone=True)
        if editing and exc.code == 10008:
            return MessageGone(answer)
        if exc.status == 429:
            retry = getattr(exc, "retry_after", None)
            return DeliveryError(answer, retry_after=retry)
        if exc.status >= 500 or exc.status == 408:
            return DeliveryError(answer)
        # Any other refusal is about this message (too large, malformed), not the channel.
        return DeliveryError(answer, permanent=True)


def _answer(exc: discord.HTTPException) -> str:
    """Discord's answer in a few words, e.g. ``403 Missing Permissions (50013)``."""
    first = (exc.text or "").splitlines()[0] if exc.text else ""
    text = " ".join("".join(c for c in first if c.isprintable()).split())[:100]
    answer = f"{exc.status} {text or exc.response.reason or ''}".strip()
    return f"{answer} ({exc.code})" if exc.code else answer
