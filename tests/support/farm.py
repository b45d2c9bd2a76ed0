"""Many feeds and a webhook receiver on one LocalServer, for tests with several processes.

The feeds serve RSS whose items the test adds while the service runs; every poll is
recorded with its time and the poller's User-Agent, so a test can tell processes apart
(each gets its own ``BREACHRADAR_USER_AGENT``) and can hold one process's request open
while it kills that process.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from tests.support.localserver import LocalServer, Recorded, Response

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{title}</title><link>https://therecord.media</link>
<description>Cybersecurity news</description>
{items}</channel></rss>"""
ITEM = """<item><title>{title}</title><link>{link}</link>
<guid isPermaLink="false">{link}</guid><pubDate>{date}</pubDate></item>
"""


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", str(text))


@dataclass
class Hold:
    """Catch the next request from one process and keep it open until released."""

    agent: str
    caught: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    request: Recorded | None = None


class _Holder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holds: list[Hold] = []

    def hold(self, agent: str) -> Hold:
        hold = Hold(agent)
        with self._lock:
            self._holds.append(hold)
        return hold

    def catch(self, request: Recorded) -> Hold | None:
        agent = request.headers.get("user-agent", "")
        with self._lock:
            for hold in self._holds:
                if hold.agent in agent and not hold.caught.is_set():
                    hold.request = request
                    hold.caught.set()
                    return hold
        return None


class FeedFarm(_Holder):
    """``count`` RSS feeds at ``/feeds/<n>``."""

    def __init__(self, server: LocalServer, count: int) -> None:
        super().__init__()
        self.server = server
        self.count = count
        self._items: list[list[str]] = [[] for _ in range(count)]
        self.polls: list[list[tuple[float, str]]] = [[] for _ in range(count)]
        self._changed = threading.Condition()
        for n in range(count):
            server.route(f"/feeds/{n}", self._handler(n))

    def url(self, n: int) -> str:
        return self.server.url(f"/feeds/{n}")

    def publish(self, n: int, title: str, link: str, when: datetime) -> None:
        """Put a new item at the top of feed ``n``."""
        item = ITEM.format(title=escape(title), link=escape(link), date=format_datetime(when))
        with self._changed:
            self._items[n].insert(0, item)

    def _handler(self, n: int) -> Any:
        def answer(request: Recorded) -> Response:
            with self._changed:
                self.polls[n].append((time.monotonic(), request.headers.get("user-agent", "")))
                body = RSS.format(title=f"Feed {n}", items="".join(self._items[n]))
                self._changed.notify_all()
            hold = self.catch(request)
            if hold is not None:
                hold.released.wait(30)
            return Response(200, body.encode(), {"Content-Type": "application/rss+xml"})

        return answer

    def wait_polls(self, minimum: int, timeout: float = 30) -> bool:
        """Block until every feed was polled at least ``minimum`` times."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while min(len(p) for p in self.polls) < minimum:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True


class AlertReceiver(_Holder):
    """A webhook that accepts alerts like Discord's, or refuses a held one with 503."""

    path = "/api/webhooks/4242/receiver-token"

    def __init__(self, server: LocalServer) -> None:
        super().__init__()
        self.server = server
        self.accepted: list[tuple[dict[str, Any], str]] = []  # (message, user agent)
        self.refused: list[Recorded] = []
        self._changed = threading.Condition()
        server.route(self.path, self._execute, method="POST")

    @property
    def url(self) -> str:
        return self.server.url(self.path)

    def _execute(self, request: Recorded) -> Response:
        hold = self.catch(request)
        if hold is not None:
            # The sender is killed while this is open: the alert was never accepted.
            hold.released.wait(30)
            with self._changed:
                self.refused.append(request)
            return Response(
                503, b'{"message": "unavailable"}', {"Content-Type": "application/json"}
            )
        message = request.json()
        with self._changed:
            self.accepted.append((message, request.headers.get("user-agent", "")))
            message_id = str(1_300_000_000_000_000_000 + len(self.accepted))
            self._changed.notify_all()
        body = json.dumps({"id": message_id, **message}).encode()
        return Response(200, body, {"Content-Type": "application/json"})

    def titles(self) -> list[str]:
        """The accepted alerts' titles, with the markdown escapes of embeds undone."""
        with self._changed:
            return [_unescape(m["embeds"][0]["title"]) for m, _ in self.accepted]

    def wait_accepted(self, count: int, timeout: float = 30) -> bool:
        """Block until ``count`` alerts were accepted."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.accepted) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True
