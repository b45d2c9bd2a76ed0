"""Pacing for Discord's global limit, which discord.py does not enforce on its own.

Discord allows 50 requests per second per bot across all routes; a fan-out of one incident
to thousands of channels must stay under it or collect 429s (and, past 10,000 of them in
ten minutes, an IP ban). A token bucket shared by every sender keeps the pace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """Allow ``rate`` acquisitions per second on average, with bursts up to ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = burst if burst is not None else rate
        self._tokens = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        """Wait until one request may be sent."""
        async with self._lock:  # first come, first served
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        """Drain the bucket for ``seconds`` (after a global 429 from Discord)."""
        self._refill()
        self._tokens = min(self._tokens, 0.0) - seconds * self.rate


# Stay a little under Discord's 50/s: at 46/s with a burst of three (so a sender that fell
# behind for a moment catches up), any one-second window holds at most 49 requests,
# leaving room for the odd REST call discord.py makes on its own.
DISCORD_GLOBAL_RATE = 46.0
DISCORD_BURST = 3.0
