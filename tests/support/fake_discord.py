"""A small Discord on 127.0.0.1 that the real discord.py client can log in to.

It speaks the parts of Discord's REST API and gateway that BreachRadar uses, records every
request, and can be told to fail a route (429 with ``retry_after``, 500) a number of times.
Point discord.py at it with ``Route.BASE = fake.api_url`` and
``DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)``.

Sharding works as on Discord: ``GET /gateway/bot`` recommends ``recommended_shards``, an
IDENTIFY with ``shard: [id, count]`` opens a session that receives the READY, GUILD_CREATEs
and interactions of the guilds on that shard only (``(guild_id >> 22) % count``), and a
shard id out of range closes the connection with 4010.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
APP_ID = 900000000000000001
BOT_ID = APP_ID
MANAGE_GUILD = 1 << 5
BASIC_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16)  # view, send, embed, history
_snowflakes = itertools.count(1200000000000000000)


def snowflake() -> int:
    """A fresh, increasing Discord id."""
    return next(_snowflakes)


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's shard for a guild."""
    return (guild_id >> 22) % shard_count


def snowflake_on_shard(shard_id: int, shard_count: int) -> int:
    """A fresh id that Discord would put on ``shard_id`` of ``shard_count``."""
    base = snowflake()
    # The shard comes from the bits above 22 (the creation time); move it up to the next
    # millisecond on the wanted shard, leaving ids far below it for plain snowflake() calls.
    step = (shard_id - shard_of(base, shard_count)) % shard_count or shard_count
    return base + (step << 22)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


@dataclass
class RecordedRequest:
    """One REST request the fake received."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any  # decoded JSON, or None
    status: int = 0
    authorization: str = ""  # the Authorization header: tells apart clients with their tokens
    at: float = 0.0  # time.monotonic() when it arrived
    files: dict[str, bytes] = field(default_factory=dict)  # uploaded files, by file name


@dataclass
class Fault:
    """Answer ``status`` the next ``times`` requests to a route."""

    method: str
    path: str  # a regular expression matched against the whole path
    status: int
    times: int
    retry_after: float = 0.05
    # Carry out the request before answering the error: Discord sometimes does the work and
    # still answers 5xx, which is what makes a retry without a nonce post twice.
    commit: bool = False


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int = 0  # text
    writable: bool = True  # False: posting answers 403 Missing Permissions (50013)
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class FakeRole:
    id: int
    name: str


@dataclass
class FakeGuild:
    id: int
    name: str
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)

    def add_channel(self, name: str, **kwargs: Any) -> FakeChannel:
        channel = FakeChannel(snowflake(), name, **kwargs)
        self.channels[channel.id] = channel
        return channel

    def add_role(self, name: str) -> FakeRole:
        role = FakeRole(snowflake(), name)
        self.roles[role.id] = name
        return role

    def payload(self) -> dict[str, Any]:
        roles = [
            {
                "id": str(self.id),
                "name": "@everyone",
                "permissions": str(BASIC_PERMISSIONS),
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ]
        for position, (role_id, name) in enumerate(self.roles.items(), start=1):
            roles.append(
                {
                    "id": str(role_id),
                    "name": name,
                    "permissions": "0",
                    "position": position,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": True,
                    "flags": 0,
                }
            )
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "owner_id": "1",
            "unavailable": False,
            "member_count": 2,
            "large": False,
            "features": [],
            "roles": roles,
            "emojis": [],
            "stickers": [],
            "channels": [self.channel_payload(c) for c in self.channels.values()],
            "threads": [],
            "members": [
                {
                    "user": user_payload(BOT_ID, "BreachRadar", bot=True),
                    "roles": [],
                    "joined_at": _now(),
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                }
            ],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "system_channel_flags": 0,
            "joined_at": _now(),
        }

    def channel_payload(self, channel: FakeChannel) -> dict[str, Any]:
        overwrites = []
        if not channel.writable:
            # Deny Send Messages to @everyone, which the bot also holds.
            overwrites.append({"id": str(self.id), "type": 0, "allow": "0", "deny": str(1 << 11)})
        return {
            "id": str(channel.id),
            "guild_id": str(self.id),
            "name": channel.name,
            "type": channel.type,
            "position": list(self.channels).index(channel.id) if channel.id in self.channels else 0,
            "permission_overwrites": overwrites,
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }


@dataclass
class FakeInteraction:
    """An interaction the fake sent, and everything the bot answered to it."""

    id: int
    token: str
    type: int
    guild_id: int
    channel_id: int
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    original: dict[str, Any] | None = None  # the message the first answer made
    followup_messages: list[dict[str, Any]] = field(default_factory=list)  # as Discord made them
    shard: int | None = None  # the shard whose session it was sent on

    @property
    def answers(self) -> list[dict[str, Any]]:
        """Every message body shown to the user, in order (callbacks, edits, followups)."""
        out: list[dict[str, Any]] = []
        for cb in self.callbacks:
            if cb.get("data") and cb.get("type") in (4, 7):
                out.append(cb["data"])
        return out + self.edits + self.followups

    @property
    def last(self) -> dict[str, Any]:
        answers = self.answers
        if not answers:
            raise AssertionError("the interaction got no visible answer")
        return answers[-1]

    def text(self) -> str:
        """All visible text of the last answer (content and embeds) in one string."""
        body = self.last
        parts = [str(body.get("content") or "")]
        for embed in body.get("embeds") or []:
            parts.append(str(embed.get("title") or ""))
            parts.append(str(embed.get("description") or ""))
            for f in embed.get("fields") or []:
                parts.append(f"{f.get('name')}: {f.get('value')}")
            parts.append(str((embed.get("footer") or {}).get("text") or ""))
        return "\n".join(p for p in parts if p)

    def ephemeral(self) -> bool:
        """Whether the first answer was only visible to the user."""
        for cb in self.callbacks:
            flags = int((cb.get("data") or {}).get("flags") or 0)
            return bool(flags & 64)
        return False


class _Session:
    def __init__(
        self, ws: web.WebSocketResponse, session_id: str, shard: tuple[int, int] | None, token: str
    ) -> None:
        self.ws = ws
        self.session_id = session_id
        self.shard = shard  # (id, count), or None for an unsharded connection
        self.token = token
        self.seq = 0
        self.sent: list[dict[str, Any]] = []  # dispatches, for RESUME replay
        self.identified = asyncio.Event()
        self.active = 0  # when it last identified or resumed, in the fake's own count

    def serves(self, guild_id: int) -> bool:
        return self.shard is None or shard_of(guild_id, self.shard[1]) == self.shard[0]


class FakeDiscord:
    """REST and gateway on one loopback port."""

    def __init__(self, *, enforce_limits: bool = False) -> None:
        # With enforce_limits, Discord's published limits apply: 50 requests per second per
        # bot (interaction callbacks exempt) and 5 messages per 5 s per channel, answered
        # with 429 and the X-RateLimit headers discord.py reads, as Discord does.
        self.enforce_limits = enforce_limits
        self.rate_limited = {"global": 0, "route": 0}
        self._global_window: deque[float] = deque()
        self._channel_windows: dict[str, deque[float]] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.recommended_shards = 1  # what GET /gateway/bot answers
        self.session_starts_remaining = 999  # what GET /gateway/bot says is left today
        # The tokens Discord accepts (None: any); others get 401 on every REST route.
        self.tokens: set[str] | None = None
        self.application_flags = 0  # the application's flags (privileged intents enabled)
        self.bot_user = True  # False: the token is a user account's
        # True: the gateway refuses connections (503 to the handshake), as in an outage.
        self.refuse_gateway = False
        self.gateway_refusals = 0
        self.attachments: dict[str, bytes] = {}
        self.identifies = 0
        self.identify_payloads: list[dict[str, Any]] = []
        self.resumes = 0
        self.gateway_connections = 0
        self._sessions: dict[str, _Session] = {}
        self._current: _Session | None = None  # the session that identified or resumed last
        self._activity = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        app = web.Application()
        app.router.add_route("GET", "/gateway", self._gateway)
        app.router.add_route("GET", "/attachments/{name}", self._attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._app = app

    # -- life cycle ----------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        self._runner = web.AppRunner(self._app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        for session in list(self._sessions.values()):
            if not session.ws.closed:
                await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def add_guild(
        self, name: str, *channels: str, shard: tuple[int, int] | None = None
    ) -> FakeGuild:
        """A guild with text channels; ``shard=(id, count)`` puts it on that shard."""
        guild_id = snowflake() if shard is None else snowflake_on_shard(*shard)
        guild = FakeGuild(guild_id, name)
        for channel in channels:
            guild.add_channel(channel)
        self.guilds[guild.id] = guild
        return guild

    def channel(self, channel_id: int) -> FakeChannel | None:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        return None

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float = 0.05,
        commit: bool = False,
    ) -> None:
        """Answer ``status`` to the next ``times`` requests whose path matches ``path``."""
        self.faults.append(Fault(method, path, status, times, retry_after, commit))

    def received(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Requests so far; ``path`` is a regular expression matched against the whole path."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method)
            and (path is None or re.fullmatch(path, r.path))
        ]

    async def wait_until(self, predicate: Callable[[], bool], within: float = 20.0) -> None:
        """Wait until ``predicate()`` holds; it is checked after every request or event."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), within)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- gateway -------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_gateway:
            self.gateway_refusals += 1
            await self._notify()
            return web.Response(status=503, text="upstream connect error")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.gateway_connections += 1
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        session: _Session | None = None
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            payload = json.loads(message.data)
            op = payload.get("op")
            if op == 1:
                await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
            elif op == 2:
                self.identifies += 1
                self.identify_payloads.append(payload["d"])
                shard = payload["d"].get("shard")
                if shard is not None and not (
                    isinstance(shard, list) and len(shard) == 2 and 0 <= shard[0] < shard[1]
                ):
                    await ws.close(code=4010, message=b"Invalid shard")
                    break
                session = _Session(
                    ws,
                    f"session-{snowflake()}",
                    (int(shard[0]), int(shard[1])) if shard is not None else None,
                    str(payload["d"].get("token") or ""),
                )
                session.active = next(self._activity)
                self._sessions[session.session_id] = session
                self._current = session
                guilds = [g for g in self.guilds.values() if session.serves(g.id)]
                ready: dict[str, Any] = {
                    "v": 10,
                    "user": user_payload(BOT_ID, "BreachRadar", bot=True),
                    "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                    "session_id": session.session_id,
                    "resume_gateway_url": self.gateway_url,
                    "application": {"id": str(APP_ID), "flags": 0},
                    "private_channels": [],
                    "relationships": [],
                }
                if session.shard is not None:
                    ready["shard"] = list(session.shard)
                await self._dispatch(session, "READY", ready)
                for guild in guilds:
                    await self._dispatch(session, "GUILD_CREATE", guild.payload())
                session.identified.set()
            elif op == 6:
                data = payload["d"]
                old = self._sessions.get(data.get("session_id"))
                if old is None:
                    await ws.send_json({"op": 9, "d": False, "s": None, "t": None})
                    continue
                self.resumes += 1
                old.ws = ws
                old.active = next(self._activity)
                session = old
                self._current = old
                missed = [e for e in old.sent if e["s"] > int(data.get("seq") or 0)]
                for event in missed:
                    await ws.send_json(event)
                await self._dispatch(old, "RESUMED", {})
            await self._notify()
        # The session outlives its socket: events sent meanwhile wait for a RESUME.
        await self._notify()
        return ws

    async def _dispatch(self, session: _Session, name: str, data: dict[str, Any]) -> None:
        session.seq += 1
        event = {"op": 0, "t": name, "s": session.seq, "d": data}
        session.sent.append(event)
        if not session.ws.closed:
            await session.ws.send_json(event)

    async def connected(self, *, count: int = 1) -> None:
        """Wait until ``count`` identifies happened and a session is live."""
        await self.wait_until(
            lambda: (
                self.identifies >= count
                and self._current is not None
                and not self._current.ws.closed
            )
        )

    def session_for(self, guild_id: int) -> _Session | None:
        """The session Discord sends a guild's events to: the newest one of its shard."""
        serving = [s for s in self._sessions.values() if s.serves(guild_id)]
        return max(serving, key=lambda s: s.active, default=None)

    def shard_session(self, shard_id: int | None) -> _Session:
        """The newest session of shard ``shard_id`` (None: the newest session of all)."""
        if shard_id is None:
            assert self._current is not None, "the bot is not connected"
            return self._current
        found = [
            s for s in self._sessions.values() if s.shard is not None and s.shard[0] == shard_id
        ]
        assert found, f"no session for shard {shard_id}"
        return max(found, key=lambda s: s.active)

    def live_shards(self) -> set[tuple[int, int]]:
        """The (id, count) of every sharded session whose socket is open."""
        return {s.shard for s in self._sessions.values() if s.shard and not s.ws.closed}

    async def send_reconnect(self, *, shard: int | None = None) -> None:
        """Ask the client to reconnect and resume (op 7)."""
        session = self.shard_session(shard)
        await session.ws.send_json({"op": 7, "d": None, "s": None, "t": None})

    async def drop_connection(self, *, shard: int | None = None) -> None:
        """Close the gateway socket abruptly, as a network fault would."""
        await self.shard_session(shard).ws.close(code=4000, message=b"unknown error")

    async def invalidate_session(self, *, shard: int | None = None) -> None:
        """Tell the client its session is gone (op 9, not resumable)."""
        await self.shard_session(shard).ws.send_json({"op": 9, "d": False, "s": None, "t": None})

    async def dispatch_event(self, name: str, data: dict[str, Any]) -> None:
        """Send a gateway event: a guild's to the session of its shard."""
        session = self.session_for(int(data["guild_id"])) if "guild_id" in data else None
        session = session or self._current
        assert session is not None
        await self._dispatch(session, name, data)

    # -- interactions --------------------------------------------------------------------

    async def interact(
        self,
        guild: FakeGuild,
        channel: FakeChannel,
        *,
        type: int,
        data: dict[str, Any],
        user_id: int = 700000000000000001,
        permissions: int = BASIC_PERMISSIONS,
        message: dict[str, Any] | None = None,
    ) -> FakeInteraction:
        """Send an INTERACTION_CREATE as if a member used the bot; return its record."""
        session = self.session_for(guild.id)
        assert session is not None, "no session serves this guild"
        interaction = FakeInteraction(
            id=snowflake(),
            token=f"itoken-{snowflake()}",
            type=type,
            guild_id=guild.id,
            channel_id=channel.id,
            shard=session.shard[0] if session.shard else None,
        )
        self.interactions[interaction.id] = interaction
        payload: dict[str, Any] = {
            "id": str(interaction.id),
            "application_id": str(APP_ID),
            "type": type,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": guild.channel_payload(channel),
            "member": {
                "user": user_payload(user_id, f"member{user_id % 1000}"),
                "roles": [],
                "flags": 0,
                "joined_at": _now(),
                "deaf": False,
                "mute": False,
                "permissions": str(permissions),
            },
            "token": interaction.token,
            "version": 1,
            "app_permissions": str(BASIC_PERMISSIONS),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        await self._dispatch(session, "INTERACTION_CREATE", payload)
        return interaction

    async def slash(
        self,
        guild: FakeGuild,
        channel: FakeChannel,
        command: str,
        *path_and_options: Any,
        options: dict[str, Any] | None = None,
        resolved: dict[str, Any] | None = None,
        manage_guild: bool = False,
        user_id: int = 700000000000000001,
        wait: bool = True,
    ) -> FakeInteraction:
        """Invoke ``/command [sub] ...`` with string/int ``options``; wait for its answer."""
        registered = self._find_command(guild.id, command)
        resolved = dict(resolved or {})
        opts: list[dict[str, Any]] = []
        for key, value in (options or {}).items():
            if isinstance(value, FakeChannel):
                payload = guild.channel_payload(value)
                payload["permissions"] = str(BASIC_PERMISSIONS)
                resolved.setdefault("channels", {})[str(value.id)] = payload
                opts.append({"name": key, "type": 7, "value": str(value.id)})
            elif isinstance(value, FakeRole):
                role = next(r for r in guild.payload()["roles"] if r["id"] == str(value.id))
                resolved.setdefault("roles", {})[str(value.id)] = role
                opts.append({"name": key, "type": 8, "value": str(value.id)})
            elif isinstance(value, dict) and "filename" in value:
                resolved.setdefault("attachments", {})[value["id"]] = value
                opts.append({"name": key, "type": 11, "value": value["id"]})
            else:
                opts.append({"name": key, "type": _option_type(value), "value": value})
        for sub in reversed(path_and_options):
            opts = [{"name": sub, "type": 1, "options": opts}]
        data: dict[str, Any] = {
            "id": registered["id"] if registered else str(snowflake()),
            "name": command,
            "type": 1,
            "options": opts,
        }
        if guild.id in self.guild_commands and registered is not None:
            data["guild_id"] = str(guild.id)
        if resolved:
            data["resolved"] = resolved
        permissions = BASIC_PERMISSIONS | (MANAGE_GUILD if manage_guild else 0)
        interaction = await self.interact(
            guild, channel, type=2, data=data, permissions=permissions, user_id=user_id
        )
        if wait:
            await self.answered(interaction)
        return interaction

    async def autocomplete(
        self,
        guild: FakeGuild,
        channel: FakeChannel,
        command: str,
        *path: str,
        focused: str,
        value: str,
        manage_guild: bool = True,
    ) -> list[dict[str, Any]]:
        """Type ``value`` into option ``focused``; return the choices the bot offered."""
        registered = self._find_command(guild.id, command)
        opts: list[dict[str, Any]] = [{"name": focused, "type": 3, "value": value, "focused": True}]
        for sub in reversed(path):
            opts = [{"name": sub, "type": 1, "options": opts}]
        data = {
            "id": registered["id"] if registered else str(snowflake()),
            "name": command,
            "type": 1,
            "options": opts,
        }
        permissions = BASIC_PERMISSIONS | (MANAGE_GUILD if manage_guild else 0)
        interaction = await self.interact(
            guild, channel, type=4, data=data, permissions=permissions
        )
        await self.wait_until(lambda: bool(interaction.callbacks))
        callback = interaction.callbacks[0]
        assert callback["type"] == 8, callback
        choices: list[dict[str, Any]] = callback["data"]["choices"]
        return choices

    async def click(
        self, guild: FakeGuild, channel: FakeChannel, message: dict[str, Any], custom_id: str
    ) -> FakeInteraction:
        """Press the button ``custom_id`` on ``message``; wait for the answer."""
        interaction = await self.interact(
            guild,
            channel,
            type=3,
            data={"custom_id": custom_id, "component_type": 2},
            message=message,
        )
        await self.answered(interaction)
        return interaction

    async def answered(self, interaction: FakeInteraction) -> None:
        """Wait until the interaction has a visible answer (after a defer: the followup)."""

        def done() -> bool:
            if not interaction.callbacks:
                return False
            first = interaction.callbacks[0]
            if first["type"] in (5, 6):  # deferred: wait for the edit or a followup
                return bool(interaction.edits or interaction.followups)
            return True

        await self.wait_until(done)

    def _find_command(self, guild_id: int, name: str) -> dict[str, Any] | None:
        for cmd in [*self.guild_commands.get(guild_id, []), *self.global_commands]:
            if cmd["name"] == name:
                return cmd
        return None

    # -- REST ----------------------------------------------------------------------------

    async def _attachment(self, request: web.Request) -> web.Response:
        body = self.attachments.get(request.match_info["name"])
        if body is None:
            return web.Response(status=404)
        return web.Response(body=body, content_type="text/plain")

    def attach(
        self, filename: str, body: bytes, content_type: str = "text/plain"
    ) -> dict[str, Any]:
        """Host a file; return the ``resolved.attachments`` entry for an option."""
        attachment_id = snowflake()
        self.attachments[filename] = body
        return {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(body),
            "url": f"http://127.0.0.1:{self.port}/attachments/{filename}",
            "proxy_url": f"http://127.0.0.1:{self.port}/attachments/{filename}",
            "content_type": content_type,
        }

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        files: dict[str, bytes] = {}
        if request.content_type == "multipart/form-data":
            # A message with files: the JSON in "payload_json", each file a part of its own.
            form = await request.post()
            for value in form.values():
                if isinstance(value, web.FileField):
                    files[value.filename] = value.file.read()
            payload = form.get("payload_json")
            body = json.loads(payload) if isinstance(payload, str) else None
        else:
            raw = await request.read()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
        record = RecordedRequest(
            request.method,
            path,
            dict(request.query),
            body,
            authorization=request.headers.get("Authorization", ""),
            at=time.monotonic(),
            files=files,
        )
        self.requests.append(record)
        try:
            token = record.authorization.removeprefix("Bot ")
            if self.tokens is not None and token not in self.tokens:
                record.status = 401
                return _error(401, 0, "401: Unauthorized")
            limited, bucket_headers = self._limits(record)
            response = limited or self._faulted(record)
            if response is None:
                response = self._route(record)
                response.headers.update(bucket_headers)
            record.status = response.status
            return response
        finally:
            await self._notify()

    def _limits(self, record: RecordedRequest) -> tuple[web.Response | None, dict[str, str]]:
        """Apply the global and per-channel message limits, if enforced."""
        # Interaction responses and their follow-ups are outside the global limit.
        if not self.enforce_limits or record.path.startswith(("/interactions/", "/webhooks/")):
            return None, {}
        now = record.at
        window = self._global_window
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= 50:
            self.rate_limited["global"] += 1
            wait = round(1.0 - (now - window[0]), 3)
            return _json(
                {"message": "You are being rate limited.", "retry_after": wait, "global": True},
                status=429,
                headers={"Via": "1.1 google", "Retry-After": str(wait), "X-RateLimit-Global": "true",
                         "X-RateLimit-Scope": "global"},
            ), {}  # fmt: skip
        window.append(now)
        channel = re.fullmatch(r"/channels/(\d+)/messages", record.path)
        if record.method != "POST" or channel is None:
            return None, {}
        sent = self._channel_windows.setdefault(channel.group(1), deque())
        while sent and now - sent[0] >= 5.0:
            sent.popleft()
        reset = round(5.0 - (now - sent[0]), 3) if sent else 5.0
        headers = {"X-RateLimit-Limit": "5", "X-RateLimit-Bucket": "channel-messages"}
        if len(sent) >= 5:
            self.rate_limited["route"] += 1
            return _json(
                {"message": "You are being rate limited.", "retry_after": reset, "global": False},
                status=429,
                headers={**headers, "Via": "1.1 google", "Retry-After": str(reset),
                         "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": str(reset),
                         "X-RateLimit-Scope": "user"},
            ), {}  # fmt: skip
        sent.append(now)
        headers["X-RateLimit-Remaining"] = str(5 - len(sent))
        headers["X-RateLimit-Reset-After"] = str(reset)
        headers["X-RateLimit-Reset"] = str(time.time() + reset)
        return None, headers

    def _faulted(self, record: RecordedRequest) -> web.Response | None:
        for fault in self.faults:
            if fault.times <= 0 or fault.method != record.method:
                continue
            if not re.fullmatch(fault.path, record.path):
                continue
            fault.times -= 1
            if fault.commit:
                self._route(record)
            if fault.status == 429:
                return _json(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": fault.retry_after,
                        "global": False,
                        "code": 0,
                    },
                    status=429,
                    # Without Via discord.py takes a 429 for a Cloudflare ban.
                    headers={
                        "Via": "1.1 google",
                        "Retry-After": str(fault.retry_after),
                        "X-RateLimit-Scope": "user",
                    },
                )
            return _json({"message": "Internal Server Error", "code": 0}, status=fault.status)
        return None

    def _route(self, r: RecordedRequest) -> web.Response:
        m = r.method
        p = r.path
        if m == "GET" and p == "/gateway/bot":
            return _json(
                {
                    "url": self.gateway_url,
                    "shards": self.recommended_shards,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": self.session_starts_remaining,
                        "reset_after": 14400000,
                        "max_concurrency": 1,
                    },
                }
            )
        if m == "GET" and p == "/users/@me":
            return _json(user_payload(BOT_ID, "BreachRadar", bot=self.bot_user))
        if m == "GET" and p == "/oauth2/applications/@me":
            return _json(
                {
                    "id": str(APP_ID),
                    "name": "BreachRadar",
                    "description": "",
                    "icon": None,
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": user_payload(1, "owner"),
                    "verify_key": "0" * 64,
                    "flags": self.application_flags,
                }
            )
        if match := re.fullmatch(r"/applications/(\d+)/commands", p):
            if m == "PUT":
                self.global_commands = _with_ids(r.body or [])
            return _json(self.global_commands)
        if match := re.fullmatch(r"/applications/(\d+)/guilds/(\d+)/commands", p):
            guild_id = int(match.group(2))
            if m == "PUT":
                self.guild_commands[guild_id] = _with_ids(r.body or [], guild_id)
            return _json(self.guild_commands.get(guild_id, []))
        if match := re.fullmatch(r"/channels/(\d+)", p):
            channel = self.channel(int(match.group(1)))
            if channel is None:
                return _error(404, 10003, "Unknown Channel")
            guild = next(g for g in self.guilds.values() if channel.id in g.channels)
            return _json(guild.channel_payload(channel))
        if match := re.fullmatch(r"/channels/(\d+)/messages(?:/(\d+))?", p):
            return self._messages(r, int(match.group(1)), match.group(2))
        if match := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", p):
            return self._callback(r, int(match.group(1)))
        if match := re.fullmatch(r"/webhooks/(\d+)/([^/]+)(?:/messages/([^/]+))?", p):
            return self._webhook(r, match.group(2), match.group(3))
        return _error(404, 0, f"no route {m} {p}")

    def _messages(
        self, r: RecordedRequest, channel_id: int, message_id: str | None
    ) -> web.Response:
        channel = self.channel(channel_id)
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        if not channel.writable:
            return _error(403, 50013, "Missing Permissions")
        body = r.body or {}
        if r.method == "POST" and message_id is None:
            nonce = body.get("nonce")
            if nonce is not None and body.get("enforce_nonce"):
                for existing in channel.messages:
                    if existing.get("nonce") == nonce:
                        return _json(existing)  # Discord returns the first message again
            message = self._message(channel_id, body)
            channel.messages.append(message)
            return _json(message)
        if r.method == "PATCH" and message_id is not None:
            for existing in channel.messages:
                if existing["id"] == message_id:
                    existing.update(
                        {k: v for k, v in body.items() if k in ("content", "embeds", "components")}
                    )
                    existing["edited_timestamp"] = _now()
                    existing.setdefault("edits", 0)
                    existing["edits"] += 1
                    return _json(existing)
            return _error(404, 10008, "Unknown Message")
        if r.method == "GET" and message_id is not None:
            for existing in channel.messages:
                if existing["id"] == message_id:
                    return _json(existing)
            return _error(404, 10008, "Unknown Message")
        return _error(405, 0, "method not allowed")

    def _message(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": str(snowflake()),
            "channel_id": str(channel_id),
            "author": user_payload(BOT_ID, "BreachRadar", bot=True),
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "type": 0,
            "flags": int(body.get("flags") or 0),
            "timestamp": _now(),
            "edited_timestamp": None,
            "nonce": body.get("nonce"),
        }
        if body.get("message_reference"):
            reference = dict(body["message_reference"])
            reference.setdefault("channel_id", str(channel_id))
            message["message_reference"] = reference
        return message

    def _callback(self, r: RecordedRequest, interaction_id: int) -> web.Response:
        interaction = self.interactions.get(interaction_id)
        if interaction is None:
            return _error(404, 10062, "Unknown interaction")
        if interaction.callbacks:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body = r.body or {}
        interaction.callbacks.append(body)
        data = body.get("data") or {}
        message = self._message(interaction.channel_id, data)
        if interaction.original is None and body.get("type") in (4, 5):
            interaction.original = message
        kind = body.get("type")
        result: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_id": message["id"] if kind in (4, 5) else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64),
            }
        }
        if kind in (4, 5, 7):
            result["resource"] = {"type": kind, "message": message}
        else:
            result["resource"] = {"type": kind}
        return _json(result)

    def _webhook(self, r: RecordedRequest, token: str, message_id: str | None) -> web.Response:
        interaction = next((i for i in self.interactions.values() if i.token == token), None)
        if interaction is None:
            return _error(404, 10015, "Unknown Webhook")
        body = r.body or {}
        if r.method == "POST" and message_id is None:
            interaction.followups.append(body)
            message = self._message(interaction.channel_id, body)
            interaction.followup_messages.append(message)
            return _json(message)
        if r.method == "PATCH" and message_id is not None:
            interaction.edits.append(body)
            original = interaction.original or self._message(interaction.channel_id, {})
            original.update({k: v for k, v in body.items() if k in ("content", "embeds")})
            original["components"] = body.get("components") or []
            return _json(original)
        if r.method == "GET" and message_id is not None:
            return _json(interaction.original or self._message(interaction.channel_id, {}))
        if r.method == "DELETE":
            return web.Response(status=204)
        return _error(405, 0, "method not allowed")


def _option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    return 3


def _with_ids(commands: list[dict[str, Any]], guild_id: int | None = None) -> list[dict[str, Any]]:
    out = []
    for cmd in commands:
        stored = dict(cmd)
        stored["id"] = str(snowflake())
        stored["application_id"] = str(APP_ID)
        stored["version"] = str(snowflake())
        stored.setdefault("type", 1)
        stored.setdefault("default_member_permissions", None)
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        out.append(stored)
    return out


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py reads a body as JSON only when the type is exactly application/json.
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)
