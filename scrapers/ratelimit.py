"""A request-rate limit shared by everything that talks to one service.

The fetch policy spaces requests per host; some services set a published limit across
all their hosts (SEC EDGAR: ten requests a second over www, data and efts; Discord: fifty
a second per bot). A :class:`RateLimiter` hands out start times at a fixed interval, so
however many senders run concurrently, no two requests start closer than the interval;
with a ``burst`` above one, a sender that fell behind may catch up by that many.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from scrapers.base import Fetch, Page


class RateLimiter:
    """Let ``per_second`` requests start per second on average, ``burst`` at once at most.

    By time t after it is made, the limiter has let at most ``burst + per_second * t``
    requests start (the generic cell rate algorithm: a theoretical arrival time that each
    request moves one interval on).
    """

    def __init__(
        self,
        per_second: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        # A nanosecond over the exact interval: summed floats (0.1 + 0.1 + ...) drift low,
        # and eleven starts must never fit in one second.
        self.interval = 1.0 / per_second + 1e-9
        self._slack = (burst - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._tat = 0.0

    async def wait(self) -> float:
        """Wait for this request's turn; return the start time it was given."""
        # Reserving the slot before sleeping needs no lock: nothing yields in between.
        now = self._clock()
        tat = max(now, self._tat)
        slot = max(now, tat - self._slack)
        self._tat = tat + self.interval
        if slot > now:
            await self._sleep(slot - now)
        return slot


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
