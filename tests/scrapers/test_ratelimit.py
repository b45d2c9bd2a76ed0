"""The rate limiter shared by senders to one service (EDGAR, Discord's global limit)."""

from __future__ import annotations

import asyncio
import time

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
