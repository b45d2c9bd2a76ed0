"""A request-rate limit shared by everything that talks to one service.

The fetch policy spaces requests per host; some services set a published limit across
all their hosts (SEC EDGAR: ten requests a second over www, data and efts; Discord: fifty
a second per bot). A :class:`RateLimiter` hands out start times at a fixed interval, so
however many senders run concurrently, no two requests start closer than the interval;
with a ``burst`` above one, a sender that fell behind may catch up by that many.

Start times are what the limiter hands out; a sender starts when its task next runs, which
a busy event loop delays by a varying amount, so starts can come closer together than
their times. Where a service counts requests over a sliding window, ``window`` and
``limit`` bound the starts as they actually happen: at most ``limit`` in any ``window``
seconds, whatever the delays.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from scrapers.base import Fetch, Page


class RateLimiter:
    """Let ``per_second`` requests start per second on average, ``burst`` at once at most.

    By time t after it is made, the limiter has let at most ``burst + per_second * t``
    requests start (the generic cell rate algorithm: a theoretical arrival time that each
    request moves one interval on). With ``window``, no more than ``limit`` requests start
    within any ``window`` seconds, measured when each actually starts.
    """

    def __init__(
        self,
        per_second: float,
        *,
        burst: float = 1.0,
        window: float | None = None,
        limit: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if window is not None and (window <= 0 or limit < 1):
            raise ValueError("a window must be positive and allow at least one request")
        self.window = window
        self.limit = limit
        # The latest ``limit`` actual start times, oldest first.
        self._starts: deque[float] = deque(maxlen=limit)
        # A nanosecond over the exact interval: summed floats (0.1 + 0.1 + ...) drift low,
        # and eleven starts must never fit in one second.
        self.interval = 1.0 / per_second + 1e-9
        self._slack = (burst - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._tat = 0.0

    async def wait(self) -> float:
        """Wait for this request's turn; return the start time it was given.

        With a window, the time returned is when the request was let start.
        """
        # Reserving the slot before sleeping needs no lock: nothing yields in between.
        now = self._clock()
        tat = max(now, self._tat)
        slot = max(now, tat - self._slack)
        self._tat = tat + self.interval
        if slot > now:
            await self._sleep(slot - now)
        if self.window is None:
            return slot
        starts = self._starts
        while True:
            # Checking and recording a start need no lock either: no await in between.
            now = self._clock()
            if len(starts) < self.limit or now - starts[0] >= self.window:
                starts.append(now)
                return now
            # At least a microsecond: a float sum may land a hair short of the window.
            await self._sleep(max(self.window - (now - starts[0]), 1e-6))


_SHARED: dict[str, RateLimiter] = {}


def shared_limiter(service: str, per_second: float) -> RateLimiter:
    """The one limiter for ``service`` in this process (created on first use)."""
    limiter = _SHARED.get(service)
    if limiter is None or abs(limiter.interval - 1.0 / per_second) > 1e-6:
        limiter = _SHARED[service] = RateLimiter(per_second)
    return limiter


def limited(fetch: Fetch, limiter: RateLimiter) -> Fetch:
    """Wrap ``fetch`` so that every call first waits for ``limiter``."""

    async def call(url: str, *, conditional: bool = True) -> Page | None:
        await limiter.wait()
        return await fetch(url, conditional=conditional)

    return call
