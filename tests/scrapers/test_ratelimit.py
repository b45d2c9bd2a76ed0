"""The rate limiter shared by senders to one service (EDGAR, Discord's global limit)."""

from __future__ import annotations

import asyncio
import heapq
import time
from typing import Any

import pytest

from scrapers.ratelimit import RateLimiter


async def test_limiter_never_exceeds_its_rate_after_the_burst() -> None:
    """By time t it has let burst + rate * t start: 30 at 200/s, burst 10, take 0.1 s."""
    start = time.monotonic()
    limiter = RateLimiter(200, burst=10)
    for _ in range(30):
        await limiter.wait()
    assert time.monotonic() - start >= (30 - 10) / 200 * 0.99


async def test_burst_lets_a_late_sender_catch_up_on_a_virtual_clock() -> None:
    """The first `burst` requests start at once, then one per interval."""
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(10, burst=3, clock=lambda: now[0], sleep=sleep)
    slots = [round(await limiter.wait(), 6) for _ in range(6)]
    assert slots == [0.0, 0.0, 0.0, 0.1, 0.2, 0.3]


async def test_concurrent_senders_share_one_pace() -> None:
    """Many tasks waiting at once are served one at a time at the limiter's rate."""
    limiter = RateLimiter(100)
    start = time.monotonic()
    await asyncio.gather(*(limiter.wait() for _ in range(11)))
    assert time.monotonic() - start >= 10 / 100 * 0.99


def test_rate_and_burst_must_be_sensible() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(10, burst=0.5)


class LateClock:
    """Virtual time whose sleeps wake in time order, every third one 30 ms late."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeping: list[tuple[float, int, asyncio.Future[None]]] = []
        self.sleeps = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        overrun = 0.03 if self.sleeps % 3 == 0 else 0.0
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self.sleeping, (self.now + seconds + overrun, self.sleeps, woken))
        await woken

    async def run(self, work: asyncio.Future[Any]) -> None:
        while not work.done():
            for _ in range(5):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if self.sleeping:
                self.now, _, woken = heapq.heappop(self.sleeping)
                woken.set_result(None)


def busiest(starts: list[float], window: float) -> int:
    return max(sum(1 for s in starts if t <= s < t + window) for t in starts)


async def test_window_holds_however_late_senders_wake() -> None:
    """Senders woken late bunch up; the window still lets at most `limit` start per window."""
    clock = LateClock()
    limiter = RateLimiter(
        48, burst=3, window=1.02, limit=49, clock=lambda: clock.now, sleep=clock.sleep
    )
    starts: list[float] = []

    async def sender() -> None:
        await limiter.wait()
        starts.append(clock.now)

    await clock.run(asyncio.gather(*(sender() for _ in range(300))))
    assert len(starts) == 300
    assert busiest(starts, 1.02) <= 49
    # Not slower than the pace needs: 300 starts at 48/s take a little over six seconds.
    assert max(starts) < 300 / 48 + 0.5


async def test_without_a_window_late_senders_crowd_together() -> None:
    """The same senders on the pace alone: what the window is for."""
    clock = LateClock()
    limiter = RateLimiter(48, burst=3, clock=lambda: clock.now, sleep=clock.sleep)
    starts: list[float] = []

    async def sender() -> None:
        await limiter.wait()
        starts.append(clock.now)

    await clock.run(asyncio.gather(*(sender() for _ in range(300))))
    assert busiest(starts, 1.02) > 49


async def test_window_returns_when_each_request_started() -> None:
    now = [5.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(1000, burst=4, window=1.0, limit=4, clock=lambda: now[0], sleep=sleep)
    starts = [round(await limiter.wait(), 6) for _ in range(6)]
    assert starts == [5.0, 5.0, 5.0, 5.0, 6.0, 6.0]


def test_window_must_be_sensible() -> None:
    with pytest.raises(ValueError, match="window"):
        RateLimiter(10, window=0.0, limit=5)
    with pytest.raises(ValueError, match="window"):
        RateLimiter(10, window=1.0, limit=0)
