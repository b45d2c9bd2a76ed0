"""A poll's slot serves the next fetch as soon as its source answered, not after storing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.delivery import Outbox
from bot.service.pipeline import Pipeline
from bot.service.scheduler import Service
from bot.settings import load_config
from bot.store import Store
from scrapers.http import Fetcher
from tests.support.localserver import FIXTURES, LocalServer, Response
from tests.support.scenario import rss_source, write_config


async def test_a_slow_database_write_does_not_hold_back_the_next_fetch(
    tmp_path: Path, web: LocalServer, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one poll slot, the second source is fetched while the first is still storing."""
    body = (FIXTURES / "bleepingcomputer/feed.xml").read_bytes()
    for n in (1, 2):
        web.route(f"/feed/{n}", Response(200, body, {"Content-Type": "application/rss+xml"}))
    sources = "".join(rss_source(f"feed-{n}", web.url(f"/feed/{n}")) for n in (1, 2))
    config = load_config(
        write_config(tmp_path / "config", sources=sources, loopback=True), environ={}
    )
    store = await Store.open(db_url)
    writes_may_finish = asyncio.Event()
    storing: list[str] = []
    record = store.record_success

    async def slow_record(name: str, **kwargs: Any) -> set[str]:
        storing.append(name)
        await writes_may_finish.wait()
        return await record(name, **kwargs)

    monkeypatch.setattr(store, "record_success", slow_record)
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
            pipeline = Pipeline(config, store, fetcher)
            service = Service(
                pipeline, Outbox(store, {}), config.enabled_sources,
                deliver=False, max_polls=1, tick=0.1,
            )  # fmt: skip
            await service.start()
            try:
                async with asyncio.timeout(10):
                    while len(storing) < 2:  # noqa: ASYNC110 - the service signals nothing
                        await asyncio.sleep(0.01)
                # Both fetched with one slot while the first could not finish storing.
                assert sorted(storing) == ["feed-1", "feed-2"]
                assert service.polls == 0
                writes_may_finish.set()
                async with asyncio.timeout(10):
                    while service.polls < 2:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
            finally:
                writes_may_finish.set()
                await service.stop()
        health = await store.source_health()
        assert all(health[f"feed-{n}"].last_success_at is not None for n in (1, 2))
    finally:
        await store.close()


async def test_polls_waiting_to_store_are_bounded_too(
    tmp_path: Path, web: LocalServer, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stalled database stops new claims once max_polls polls wait to store."""
    body = (FIXTURES / "bleepingcomputer/feed.xml").read_bytes()
    names = [f"feed-{n}" for n in range(6)]
    for name in names:
        web.route(f"/{name}", Response(200, body, {"Content-Type": "application/rss+xml"}))
    sources = "".join(rss_source(name, web.url(f"/{name}")) for name in names)
    config = load_config(
        write_config(tmp_path / "config", sources=sources, loopback=True), environ={}
    )
    store = await Store.open(db_url)
    stall = asyncio.Event()
    storing: list[str] = []

    async def stalled(name: str, **kwargs: Any) -> set[str]:
        storing.append(name)
        await stall.wait()
        return set()

    monkeypatch.setattr(store, "record_success", stalled)
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
            pipeline = Pipeline(config, store, fetcher)
            service = Service(
                pipeline, Outbox(store, {}), config.enabled_sources,
                deliver=False, max_polls=2, tick=0.1,
            )  # fmt: skip
            await service.start()
            try:
                async with asyncio.timeout(10):
                    while len(storing) < 4:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                await asyncio.sleep(0.5)  # five more ticks
                assert len(storing) == 4  # two fetching slots, at most two more storing
                assert len(web.requests) == 4
            finally:
                stall.set()
                await service.stop()
    finally:
        await store.close()
