"""The bot's link to Discord: the intents it asks for, whether it is connected, and a
login check that connects to nothing (for ``breachradar doctor``)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import discord

# Privileged intents as the bot asks for them, and the application flags that allow each
# (the full one, or the "limited" one of an unverified bot in under 100 servers).
PRIVILEGED = {
    "members": ("gateway_guild_members", "gateway_guild_members_limited"),
    "presences": ("gateway_presence", "gateway_presence_limited"),
    "message_content": ("gateway_message_content", "gateway_message_content_limited"),
}


def bot_intents() -> discord.Intents:
    """What the bot subscribes to: guilds only. Slash commands arrive whatever the intents,
    and the guilds intent is enough to know the channels and the bot's permissions."""
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


def requested_intents(intents: discord.Intents) -> list[str]:
    """The names of the intents set, as the Developer Portal and discord.py call them."""
    return [name for name, on in intents if on]


def connection_problem(bot: discord.Client) -> str | None:
    """Why ``bot`` is not connected to Discord now, or None when every connection is up."""
    if bot.is_closed():
        return "the bot is closed"
    if not bot.is_ready():
        return "not connected to Discord yet (or reconnecting)"
    if isinstance(bot, discord.AutoShardedClient):
        down = sorted(shard_id for shard_id, shard in bot.shards.items() if shard.is_closed())
        if down:
            return f"shard(s) {', '.join(map(str, down))} disconnected"
        return None
    ws = bot.ws
    if ws is None or not ws.open:
        return "the gateway connection is down (reconnecting)"
    return None


class LoginRefused(Exception):
    """Discord refused the token."""


@dataclass(frozen=True, slots=True)
class Login:
    """What Discord says about the bot a token belongs to."""

    user: str
    user_id: int
    is_bot: bool
    application_id: int
    application: str
    # The privileged intents the Developer Portal has switched on for the application.
    privileged_enabled: tuple[str, ...]
    bot_public: bool
    require_code_grant: bool
    session_starts_remaining: int | None = None
    session_starts_reset_seconds: float | None = None
    recommended_shards: int | None = None


async def check_login(token: str) -> Login:
    """Log in over REST only (``GET /users/@me``, ``/oauth2/applications/@me`` and
    ``/gateway/bot``), never opening the gateway. Raise :class:`LoginRefused` on a bad
    token; other failures (Discord unreachable, 5xx) propagate."""
    client = discord.Client(intents=bot_intents())
    try:
        try:
            await client.login(token)
        except discord.LoginFailure:
            raise LoginRefused("Discord refused the token (401 Unauthorized)") from None
        user = client.user
        app = client.application
        assert user is not None and app is not None
        flags = app.flags
        enabled = tuple(
            intent for intent, names in PRIVILEGED.items() if any(getattr(flags, n) for n in names)
        )
        remaining = reset = shards = None
        try:
            shards, _url, limit = await client.http.get_bot_gateway()
            remaining = int(limit.get("remaining", 0))
            reset = float(limit.get("reset_after", 0)) / 1000
        except (discord.GatewayNotFound, discord.HTTPException, KeyError, TypeError, ValueError):
            pass  # an old or odd answer: the session limit is only a bonus
        return Login(
            user=str(user),
            user_id=user.id,
            is_bot=user.bot,
            application_id=app.id,
            application=app.name,
            privileged_enabled=enabled,
            bot_public=app.bot_public,
            require_code_grant=app.bot_require_code_grant,
            session_starts_remaining=remaining,
            session_starts_reset_seconds=reset,
            recommended_shards=shards,
        )
    finally:
        # Closing a client that never finished logging in must not hide the real error.
        with contextlib.suppress(Exception):
            await client.close()


__all__ = [
    "PRIVILEGED",
    "Login",
    "LoginRefused",
    "bot_intents",
    "check_login",
    "connection_problem",
    "requested_intents",
]
