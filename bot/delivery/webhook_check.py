"""Checking a webhook without posting to it: its URL's shape, and a GET Discord answers
with the webhook's name and channel. The URL is a secret: only its redacted form is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

DISCORD_HOSTS = frozenset(
    {"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"}
)
_DISCORD_PATH = re.compile(r"^/api(?:/v\d+)?/webhooks/(\d{15,21})/([A-Za-z0-9_-]{20,})/?$")
_ANY_WEBHOOK_PATH = re.compile(r"/webhooks/(\d+)/")


def redact_webhook_url(url: str) -> str:
    """The URL with its secret part hidden: ``https://discord.com/api/webhooks/1234…/***``."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    found = _ANY_WEBHOOK_PATH.search(parts.path)
    if found:
        webhook_id = found.group(1)
        shown = webhook_id[:4] + "…" if len(webhook_id) > 6 else webhook_id
        return f"{parts.scheme}://{host}{parts.path[: found.start()]}/webhooks/{shown}/***"
    return f"{parts.scheme}://{host}/***"


def url_problem(url: str) -> str | None:
    """What is wrong with the URL's shape (nothing is fetched), or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) URL"
    if host in DISCORD_HOSTS:
        if parts.scheme != "https":
            return "a Discord webhook URL starts with https://"
        if not _DISCORD_PATH.match(parts.path):
            return (
                "not a Discord webhook URL: expected https://discord.com/api/webhooks/<id>/<token>"
            )
        return None
    if any(f"{d}/" in parts.path for d in DISCORD_HOSTS):
        # Pasted after another host: alerts would go to that host, not to Discord.
        return f"looks like a Discord webhook but the host is {host}"
    return None


def is_discord(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() in DISCORD_HOSTS


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """What the receiver said to a GET of the webhook."""

    status: int | None  # None: no answer (see ``error``)
    name: str | None = None
    channel_id: str | None = None
    guild_id: str | None = None
    message: str | None = None  # Discord's error message and code, e.g. "Unknown Webhook"
    retry_after: float | None = None
    error: str | None = None  # why there was no answer


async def ask_webhook(url: str, client: httpx.AsyncClient) -> WebhookAnswer:
    """GET the webhook (Discord answers with the webhook object and posts nothing)."""
    parts = urlsplit(url)
    bare = parts._replace(query="", fragment="").geturl()
    try:
        response = await client.get(bare, follow_redirects=False)
    except httpx.TimeoutException:
        return WebhookAnswer(None, error="no answer in time")
    except httpx.HTTPError as exc:
        # Never the exception's text: it carries the URL.
        return WebhookAnswer(None, error=type(exc).__name__)
    data: object = None
    if "json" in response.headers.get("content-type", ""):
        try:
            data = response.json()
        except ValueError:
            data = None
    info = data if isinstance(data, dict) else {}
    message = None
    if response.status_code >= 400 and info.get("message"):
        code = info.get("code")
        message = f"{info['message']}" + (f" (code {code})" if code else "")
    retry_after = None
    if response.status_code == 429:
        try:
            retry_after = float(info.get("retry_after") or response.headers.get("Retry-After"))
        except (TypeError, ValueError):
            retry_after = None
    return WebhookAnswer(
        response.status_code,
        name=_text(info.get("name")) if response.status_code == 200 else None,
        channel_id=_text(info.get("channel_id")),
        guild_id=_text(info.get("guild_id")),
        message=message,
        retry_after=retry_after,
    )


def _text(value: object) -> str | None:
    return str(value)[:100] if value not in (None, "") else None
