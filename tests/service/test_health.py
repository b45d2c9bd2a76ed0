"""/healthz of a running service: what makes it 503, and that it recovers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from bot.core.addresses import ListenAddress
from bot.service.app import App, RunOptions, connect
from bot.store import Store
from tests.support.postgres import PostgresServer
from tests.support.scenario import load, write_config


class Clock:
    """The service's monotonic clock, moved by the test instead of by waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def serving(
    tmp_path: Path, db_url: str, *, role: str, clock: Clock | None = None
) -> AsyncIterator[tuple[App, httpx.AsyncClient]]:
    """A service process of ``role`` with its monitor on a free loopback port."""
    config = load(write_config(tmp_path / "c", sources=""), db_url)
    options = RunOptions(role=role, deliver_every=0.2, metrics=ListenAddress("127.0.0.1", 0))
    async with connect(config) as parts:
        app = await App.build(config, options, parts)
        if clock is not None:
            app.service.monotonic = clock
        await app.service.start()
        bound = await app.open_monitor()
        assert bound is not None and bound.port != 0
        try:
            async with httpx.AsyncClient(base_url=bound.url(""), timeout=10) as client:
                yield app, client
        finally:
            await app.service.stop()
            assert app.monitor is not None
            await app.monitor.close()


async def fired(app: App, *jobs: str) -> None:
    """Wait until each of ``jobs`` beats once more: the scheduler fires the tick, the
    delivery runner goes round its loop (an event, not a sleep)."""
    waiting = set(jobs)
    done = asyncio.Event()

    def seen(job: str) -> None:
        waiting.discard(job)
        if not waiting:
            done.set()

    app.service.beat_listeners.append(seen)
    try:
        await asyncio.wait_for(done.wait(), 20)
    finally:
        app.service.beat_listeners.remove(seen)


@asynccontextmanager
async def delivery_stuck(app: App) -> AsyncIterator[None]:
    """The delivery runner hangs in a pass, as behind a database that stopped answering:
    it goes round once more, then waits on the pass it cannot start."""
    lock = app.service.outbox._lock
    await lock.acquire()
    try:
        await fired(app, "deliver")
        yield
    finally:
        lock.release()


async def test_healthz_turns_503_when_the_scheduler_stalls_and_200_when_it_ticks_again(
    tmp_path: Path, db_url: str
) -> None:
    clock = Clock()
    async with serving(tmp_path, db_url, role="all", clock=clock) as (app, client):
        await fired(app, "tick", "deliver")
        ok = await client.get("/healthz")
        assert ok.status_code == 200
        assert ok.json()["status"] == "ok"
        assert set(ok.json()["checks"]) == {"database", "scheduler"}  # no bot in this process

        scheduler = app.service.scheduler
        assert scheduler is not None
        scheduler.pause()
        async with delivery_stuck(app):
            clock.now += 0.3  # within two intervals of each job (1 s and 0.2 s): still well
            assert (await client.get("/healthz")).status_code == 200
            clock.now += 30
            stalled = await client.get("/healthz")
            assert stalled.status_code == 503
            body = stalled.json()
            assert body["status"] == "failing" and body["failing"] == ["scheduler"]
            error = body["checks"]["scheduler"]["error"]
            assert "tick last ticked 30s ago (every 1s)" in error
            assert "deliver last ticked 30s ago (every 0.2s)" in error
            assert body["checks"]["database"]["ok"] is True

        scheduler.resume()
        await fired(app, "tick", "deliver")
        assert (await client.get("/healthz")).status_code == 200


async def test_a_delivery_process_checks_its_delivery_job_only(tmp_path: Path, db_url: str) -> None:
    clock = Clock()
    async with serving(tmp_path, db_url, role="delivery", clock=clock) as (app, client):
        await fired(app, "deliver")
        jobs = (await client.get("/healthz")).json()["checks"]["scheduler"]["jobs"]
        assert set(jobs) == {"deliver"}
        async with delivery_stuck(app):
            clock.now += 0.5  # more than two delivery intervals of 0.2 s
            body = (await client.get("/healthz")).json()
        assert body["failing"] == ["scheduler"]
        assert "deliver last ticked" in body["checks"]["scheduler"]["error"]


@pytest.mark.postgres
async def test_healthz_turns_503_when_the_postgresql_database_goes_away(
    tmp_path: Path, postgres_server: PostgresServer, postgres_url: str
) -> None:
    store = await Store.open(postgres_url, create=False)
    await store.create_schema()
    await store.close()
    async with serving(tmp_path, postgres_url, role="delivery") as (app, client):
        await fired(app, "deliver")
        ok = await client.get("/healthz")
        assert ok.status_code == 200, ok.text
        assert ok.json()["checks"]["database"] == {"ok": True, "dialect": "postgresql"}

        postgres_server.drop_database(postgres_url)
        gone = await client.get("/healthz")
        assert gone.status_code == 503
        body = gone.json()
        assert body["failing"] == ["database"]
        # The first answer may name the pooled connection the server closed; asked again,
        # on a new connection, it is still down and says why.
        again = await client.get("/healthz")
        assert again.status_code == 503
        error = again.json()["checks"]["database"]["error"]
        assert "does not exist" in error and "password" not in error.lower()
        # /metrics still answers with what this process counted.
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200 and "breachradar_build_info" in metrics.text
