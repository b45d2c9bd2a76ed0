"""Webhooks that answer like Discord's, rate limits included, for outage tests and benches.

Each webhook executes (``POST ?wait=true``, returning the message) and edits
(``PATCH .../messages/<id>``). Discord's published limits apply: 50 requests in any one
second across all webhooks, and a bucket of 5 posts per 5 seconds per webhook, announced
in ``X-RateLimit-*`` headers; past them the answer is Discord's 429. ``down`` makes every
webhook answer 500 (an outage); ``gone`` makes one answer 404 Unknown Webhook. Every
acceptance is recorded with the receiver's own clock, so a test measures catch-up from
when the receiver says it happened.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.localserver import Handler, LocalServer, Recorded, Response

JSON = {"Content-Type": "application/json"}


@dataclass
class Accepted:
    """One message the receiver accepted (or edited)."""

    hook: str
    key: str  # the Idempotency-Key, or "edit:<message id>"
    url: str  # the embed's link
    at: float  # the receiver's monotonic clock
    message_id: str


@dataclass
class Hook:
    label: str
    webhook_id: str
    token: str
    gone: bool = False
    fail_edits: int = 0  # answer 500 to this many edits
    window: deque[float] = field(default_factory=deque)

    @property
    def path(self) -> str:
        return f"/api/webhooks/{self.webhook_id}/{self.token}"


class DiscordLikeWebhooks:
    """Many webhooks on one local server, limited and answering as Discord does."""

    def __init__(
        self,
        server: LocalServer,
        *,
        global_limit: int = 50,
        bucket: int = 5,
        bucket_seconds: float = 5.0,
    ) -> None:
        self.server = server
        self.global_limit = global_limit
        self.bucket = bucket
        self.bucket_seconds = bucket_seconds
        self.hooks: dict[str, Hook] = {}
        self.down = False
        # With down_for, an outage ends by itself that long after it began: from then on
        # every request is answered (up_since is that moment, not the first request after).
        self.down_for: float | None = None
        # Called with the count of failed answers so far, before each failed answer goes
        # out (a test kills the sender there: a probe in flight).
        self.on_failure: Callable[[int], None] | None = None
        self.down_since: float | None = None
        self.up_since: float | None = None  # when the last outage ended
        self.accepted: list[Accepted] = []
        self.edited: list[Accepted] = []
        self.failed = 0  # answers of 500 during an outage
        self.rate_limited = {"global": 0, "bucket": 0}
        self.requests_at: list[float] = []  # every request that reached a webhook
        self._global: deque[float] = deque()
        self._lock = threading.Lock()
        self._next_id = 1_300_000_000_000_000_000

    def add(self, label: str, webhook_id: str, token: str) -> Hook:
        hook = Hook(label, webhook_id, token)
        self.hooks[label] = hook
        self.server.route(hook.path, self._execute(hook), method="POST")
        return hook

    def url(self, label: str) -> str:
        return self.server.url(self.hooks[label].path)

    def set_down(self, down: bool) -> None:
        """Start an outage (it counts from the first answer it fails) or end it now."""
        with self._lock:
            if down and not self.down:
                self.down_since = None
            if not down and self.down:
                self.up_since = time.monotonic()
            self.down = down

    def heal_in(self, seconds: float) -> None:
        """End the outage ``seconds`` from now, by the receiver's clock."""
        with self._lock:
            self.down_since = time.monotonic()
            self.down_for = seconds

    def _heal(self, now: float) -> None:
        since, length = self.down_since, self.down_for
        if self.down and since is not None and length is not None and now >= since + length:
            self.down = False
            self.up_since = since + length

    def urls(self, label: str) -> list[str]:
        """The links of the alerts a webhook accepted, first acceptance of each, in order."""
        with self._lock:
            seen: dict[str, str] = {}
            for a in self.accepted:
                if a.hook == label:
                    seen.setdefault(a.key, a.url)
            return list(seen.values())

    def keys(self, label: str) -> list[str]:
        with self._lock:
            return [a.key for a in self.accepted if a.hook == label]

    def busiest_second(self) -> int:
        """The most requests the receiver got in any one second."""
        with self._lock:
            stamps = sorted(self.requests_at)
        window: deque[float] = deque()
        busiest = 0
        for at in stamps:
            window.append(at)
            while at - window[0] >= 1.0:
                window.popleft()
            busiest = max(busiest, len(window))
        return busiest

    # -- answering -------------------------------------------------------------------------

    def _limited(self, hook: Hook, now: float, *, post: bool) -> Response | None:
        """Discord's limits, checked and counted under the lock."""
        self.requests_at.append(now)
        window = self._global
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.global_limit:
            self.rate_limited["global"] += 1
            wait = round(1.0 - (now - window[0]), 3)
            return Response(
                429,
                json.dumps(
                    {"message": "You are being rate limited.", "retry_after": wait, "global": True}
                ).encode(),
                {
                    **JSON,
                    "Retry-After": str(wait),
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                },
            )
        window.append(now)
        if not post:
            return None
        sent = hook.window
        while sent and now - sent[0] >= self.bucket_seconds:
            sent.popleft()
        if len(sent) >= self.bucket:
            self.rate_limited["bucket"] += 1
            reset = round(self.bucket_seconds - (now - sent[0]), 3)
            return Response(
                429,
                json.dumps(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": reset,
                        "global": False,
                    }
                ).encode(),
                {
                    **JSON,
                    "Retry-After": str(reset),
                    "X-RateLimit-Limit": str(self.bucket),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": str(reset),
                    "X-RateLimit-Scope": "user",
                },
            )
        sent.append(now)
        return None

    def _bucket_headers(self, hook: Hook, now: float) -> dict[str, str]:
        sent = hook.window
        reset = round(self.bucket_seconds - (now - sent[0]), 3) if sent else self.bucket_seconds
        return {
            "X-RateLimit-Limit": str(self.bucket),
            "X-RateLimit-Remaining": str(max(0, self.bucket - len(sent))),
            "X-RateLimit-Reset-After": str(reset),
            "X-RateLimit-Bucket": f"webhook-{hook.webhook_id}",
        }

    def _execute(self, hook: Hook) -> Handler:
        def answer(request: Recorded) -> Response:
            with self._lock:
                now = time.monotonic()
                self._heal(now)
                if hook.gone:
                    return Response(
                        404, b'{"message": "Unknown Webhook", "code": 10015}', dict(JSON)
                    )
                failed = self.failed + 1 if self.down else 0
                if failed:
                    self.failed = failed
                    if self.down_since is None:
                        self.down_since = now
            if failed:
                if self.on_failure is not None:
                    self.on_failure(failed)
                return Response(500, b'{"message": "500: Internal Server Error", "code": 0}')
            with self._lock:
                limited = self._limited(hook, now, post=True)
                if limited is not None:
                    return limited
                body = request.json()
                self._next_id += 1
                message_id = str(self._next_id)
                key = request.headers.get("idempotency-key", "")
                self.accepted.append(Accepted(hook.label, key, _url(body), now, message_id))
                headers = {**JSON, **self._bucket_headers(hook, now)}
            self.server.route(
                f"{hook.path}/messages/{message_id}", self._edit(hook, message_id), method="PATCH"
            )
            payload = {
                "id": message_id,
                "channel_id": "1290000000000000001",
                "webhook_id": hook.webhook_id,
                **body,
            }
            return Response(200, json.dumps(payload).encode(), headers)

        return answer

    def _edit(self, hook: Hook, message_id: str) -> Handler:
        def answer(request: Recorded) -> Response:
            with self._lock:
                now = time.monotonic()
                self._heal(now)
                if hook.gone:
                    return Response(
                        404, b'{"message": "Unknown Webhook", "code": 10015}', dict(JSON)
                    )
                if self.down or hook.fail_edits > 0:
                    if self.down and self.down_since is None:
                        self.down_since = now
                    hook.fail_edits = max(0, hook.fail_edits - 1)
                    self.failed += 1
                    return Response(500, b'{"message": "500: Internal Server Error", "code": 0}')
                limited = self._limited(hook, now, post=False)
                if limited is not None:
                    return limited
                body = request.json()
                self.edited.append(
                    Accepted(hook.label, f"edit:{message_id}", _url(body), now, message_id)
                )
            payload = {"id": message_id, **body}
            return Response(200, json.dumps(payload).encode(), dict(JSON))

        return answer


def _url(body: Any) -> str:
    embeds = body.get("embeds") if isinstance(body, dict) else None
    if isinstance(embeds, list) and embeds and isinstance(embeds[0], dict):
        return str(embeds[0].get("url", ""))
    return ""
