"""Webhooks: Discord (or Discord-compatible) webhooks the operator configured, over httpx.

Each webhook keeps to the pace its receiver announces (Discord's ``X-RateLimit-*``
headers: when a bucket is empty the next post waits for it to refill), and the webhooks
of one host share a limiter under Discord's 50 requests per second, so that catching up
after an outage never draws a 429 of its own making.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.core.embeds import webhook_message
from bot.core.records import Delivery
from bot.core.sinks import DeliveryError, MessageGone, Sink
from scrapers.ratelimit import RateLimiter

# Discord counts 50 requests in any one second, as they arrive. At most 45 starts within
# any 1.06 s, evenly paced at 42.5/s with a burst of three: arrivals may bunch by a
# quarter of a second (a busy host, a slow network path) before a second holds 51. With
# 49 in 1.06 s a loaded machine drew the odd 429 while catching up after an outage.
WINDOW = 1.06
WINDOW_LIMIT = 45
RATE = WINDOW_LIMIT / WINDOW
BURST = 3.0
# Added to a bucket's reset time: our clock and the receiver's are not the same.
RESET_MARGIN = 0.02

# Discord's codes that mean the webhook itself is gone or its token is wrong.
GONE_CODES = {10015: "Unknown Webhook", 50027: "Invalid Webhook Token"}
UNKNOWN_MESSAGE = 10008


class Host:
    """What the webhooks on one host share: the global pace, and a global 429's pause."""

    def __init__(self, rate: float = RATE) -> None:
        self.pacer = RateLimiter(rate, burst=BURST, window=WINDOW, limit=WINDOW_LIMIT)
        self.paused_until = 0.0

    async def wait(self) -> None:
        pause = self.paused_until - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        await self.pacer.wait()

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)


class WebhookSink:
    """A Discord (or Discord-compatible) webhook, posted to exactly as the operator gave it."""

    def __init__(
        self, url: str, label: str, client: httpx.AsyncClient, *, host: Host | None = None
    ) -> None:
        self._url = url  # secret: never logged
        self.label = label
        self._client = client
        self._host = host or Host()
        # Targets on one host are likely to come back together (a Discord outage): when
        # one does, the outbox probes the others at once.
        self.group = urlsplit(url).hostname or ""
        self._blocked_until = 0.0  # this webhook's bucket is empty until then (monotonic)

    def __repr__(self) -> str:
        return f"WebhookSink({self.label!r})"

    async def wait_turn(self) -> None:
        """Wait until this webhook's bucket allows another post (before it is marked sent)."""
        wait = self._blocked_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def send(self, delivery: Delivery) -> str | None:
        body = webhook_message(delivery.payload)
        edit_id = delivery.payload.get("edit_message_id")
        await self.wait_turn()
        await self._host.wait()
        try:
            if edit_id:
                response = await self._client.patch(
                    f"{self._url.split('?', 1)[0]}/messages/{edit_id}", json=body
                )
            else:
                # Discord ignores the key; receivers that honour Idempotency-Key drop a resend.
                response = await self._client.post(
                    self._url,
                    params={"wait": "true"},
                    json=body,
                    headers={"Idempotency-Key": f"breachradar-{delivery.id}"},
                )
        except httpx.ConnectTimeout:
            raise DeliveryError("no connection in time") from None
        except httpx.TimeoutException:
            raise DeliveryError("no answer in time") from None
        except httpx.ConnectError:
            raise DeliveryError("connection refused or host unreachable") from None
        except httpx.RemoteProtocolError:
            raise DeliveryError("connection closed before an answer") from None
        except httpx.TransportError as exc:
            raise DeliveryError(type(exc).__name__) from None
        self._note_bucket(response)
        status = response.status_code
        if status in (200, 201, 204):
            message_id: str | None = None
            if status != 204:
                try:
                    data = response.json()
                    message_id = (
                        str(data.get("id")) if isinstance(data, dict) and data.get("id") else None
                    )
                except ValueError:
                    message_id = None
            return message_id or (str(edit_id) if edit_id else None)
        answer, code = _answer(response)
        if status == 429:
            retry_after = _retry_after(response)
            if _is_global(response) and retry_after is not None:
                self._host.pause(retry_after)
            raise DeliveryError(answer, retry_after=retry_after)
        if status >= 500:
            raise DeliveryError(answer)
        if code in GONE_CODES or status in (401, 403):
            raise DeliveryError(answer, gone=True)
        if status == 404:
            if edit_id and (code is None or code == UNKNOWN_MESSAGE):
                raise MessageGone(answer)
            raise DeliveryError(answer, gone=True)
        if status == 408:
            raise DeliveryError(answer)
        # Any other 4xx: this alert was refused (too large, malformed), not the webhook.
        raise DeliveryError(answer, permanent=True)

    def _note_bucket(self, response: httpx.Response) -> None:
        """Remember when this webhook's bucket refills if the answer says it is empty."""
        headers = response.headers
        try:
            remaining = int(headers.get("X-RateLimit-Remaining", "1"))
            reset_after = float(headers.get("X-RateLimit-Reset-After", "0"))
        except ValueError:
            return
        # A 429's retry_after is the outbox's to honour (inline, or the target is down).
        if remaining <= 0 and reset_after > 0:
            self._blocked_until = time.monotonic() + reset_after + RESET_MARGIN


def _answer(response: httpx.Response) -> tuple[str, int | None]:
    """The receiver's answer in a few words, e.g. ``404 Unknown Webhook (10015)``."""
    status = response.status_code
    message, code = response.reason_phrase or "", None
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        if isinstance(data.get("message"), str) and data["message"].strip():
            message = data["message"]
        if isinstance(data.get("code"), int) and data["code"]:
            code = data["code"]
    # Untrusted text from the receiver: one short line, no control characters.
    message = " ".join("".join(c for c in message if c.isprintable()).split())[:100]
    if message.startswith(f"{status}:"):
        message = message[len(str(status)) + 1 :].strip()
    text = f"{status} {message}".strip()
    return (f"{text} ({code})" if code else text), code


def _is_global(response: httpx.Response) -> bool:
    if response.headers.get("X-RateLimit-Global", "").lower() == "true":
        return True
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("global") is True


def _retry_after(response: httpx.Response) -> float | None:
    try:
        data = response.json()
        if isinstance(data, dict) and "retry_after" in data:
            return max(0.0, float(data["retry_after"]))
    except (ValueError, TypeError):
        pass
    header = response.headers.get("Retry-After")
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None


def make_webhook_sinks(targets: Any, client: httpx.AsyncClient) -> dict[str, Sink]:
    """One sink per configured webhook, keyed ``webhook:<label>``; one pace per host."""
    hosts: dict[str, Host] = {}
    sinks: dict[str, Sink] = {}
    for t in targets:
        host = hosts.setdefault(urlsplit(t.url).hostname or "", Host())
        sinks[f"webhook:{t.label}"] = WebhookSink(t.url, t.label, client, host=host)
    return sinks


def redacted(url: str) -> str:
    """A webhook URL fit to show: its host and webhook id, never its token."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    shown = parts.hostname or "?"
    if "webhooks" in segments:
        index = segments.index("webhooks")
        hook_id = segments[index + 1] if len(segments) > index + 1 else ""
        if hook_id.isdigit():
            return f"{shown}/…/webhooks/{hook_id}/***"
    return f"{shown}/***"
