"""The token bucket that paces requests to Discord."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.ratelimit import TokenBucket


async def test_bucket_never_exceeds_its_rate() -> None:
    """By time t the bucket has granted at most burst + rate * t: 30 at 200/s take 0.1 s."""
    start = time.monotonic()
    bucket = TokenBucket(rate=200, burst=10)
    for _ in range(30):
        await bucket.acquire()
    assert time.monotonic() - start >= (30 - 10) / 200 * 0.99


async def test_concurrent_senders_share_one_pace() -> None:
    """Many tasks acquiring at once are served one at a time at the bucket's rate."""
    bucket = TokenBucket(rate=100, burst=1)
    start = time.monotonic()
    await asyncio.gather(*(bucket.acquire() for _ in range(11)))
    assert time.monotonic() - start >= 10 / 100 * 0.99


async def test_pause_holds_everyone_back() -> None:
    """A global 429 pauses the bucket for its retry_after."""
    bucket = TokenBucket(rate=1000, burst=5)
    bucket.pause(0.05)
    start = time.monotonic()
    await bucket.acquire()
    assert time.monotonic() - start >= 0.05 * 0.99


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate=0)
