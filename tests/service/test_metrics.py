"""/metrics of running service processes, scraped over HTTP: the counters move with a poll
and a delivery, and each role of a split deployment counts its own work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.core.addresses import ListenAddress
from bot.service.app import App, RunOptions, connect
from bot.service.metrics import SERVER_FEEDS, Metrics, target_kind
from bot.service.pipeline import SourceResult
from bot.settings import Config
from tests.support.localserver import DiscordWebhook, LocalServer
from tests.support.scenario import load, rss_source, write_config

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
FEED = {"source": "bleepingcomputer"}
WEBHOOK_SENT = {"target_kind": "webhook", "outcome": "sent"}


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; a labelled counter never incremented has no sample: 0."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@asynccontextmanager
async def process(config: Config, role: str) -> AsyncIterator[tuple[App, httpx.AsyncClient]]:
    """A service process of ``role``, built and serving its monitor, not yet running."""
    options = RunOptions(role=role, deliver_every=0.2, metrics=ListenAddress("127.0.0.1", 0))
    async with connect(config) as parts:
        app = await App.build(config, options, parts)
        bound = await app.open_monitor()
        assert bound is not None
        try:
            async with httpx.AsyncClient(base_url=bound.url(""), timeout=10) as client:
                yield app, client
        finally:
            assert app.monitor is not None
            await app.monitor.close()


def polled_once(app: App) -> asyncio.Event:
    """An event set after the process counted its next poll."""
    done = asyncio.Event()
    count = app.service.on_poll
    assert count is not None

    def counted(name: str, result: SourceResult | None, seconds: float) -> None:
        count(name, result, seconds)
        done.set()

    app.service.on_poll = counted
    return done


async def test_a_scraper_and_a_delivery_process_each_count_their_own_work(
    tmp_path: Path, web: LocalServer, receiver: LocalServer
) -> None:
    """A recorded BleepingComputer feed (two breach stories, a watch review, a patch
    roundup): the scraper process counts the poll, the delivery process the alerts."""
    web.serve_file("/feed", "bleepingcomputer/feed-2024-10-08.xml", "application/rss+xml")
    hook = DiscordWebhook(receiver)
    cfg = write_config(
        tmp_path / "c",
        loopback=True,
        sources=rss_source("bleepingcomputer", web.url("/feed"), every="1h"),
        settings=f'max_alert_age = "none"\njitter = 0\n'
        f'[[webhooks]]\nname = "alerts"\nurl = "{hook.url}"\n',
    )
    config = load(cfg, f"sqlite+aiosqlite:///{tmp_path / 'br.db'}")
    started = time.time()
    async with AsyncExitStack() as stack:
        scraper, scraper_http = await stack.enter_async_context(process(config, "scraper"))
        delivery, delivery_http = await stack.enter_async_context(process(config, "delivery"))

        before = await scrape(scraper_http)
        assert value(before, "breachradar_polls_total", outcome="ok", **FEED) == 0
        assert value(before, "breachradar_matches_total") == 0
        assert value(before, "breachradar_outbox_pending") == 0
        assert (
            "breachradar_source_last_success_timestamp_seconds",
            frozenset(FEED.items()),
        ) not in before
        assert (
            value(await scrape(delivery_http), "breachradar_deliveries_total", **WEBHOOK_SENT) == 0
        )

        # The scraper polls: its counters move, the alerts wait in the outbox.
        polled = polled_once(scraper)
        running = [asyncio.create_task(scraper.run())]
        try:
            await asyncio.wait_for(polled.wait(), 30)
            after_poll = await scrape(scraper_http)
            assert value(after_poll, "breachradar_polls_total", outcome="ok", **FEED) == 1
            assert value(after_poll, "breachradar_items_total", **FEED) == 4
            assert value(after_poll, "breachradar_matches_total") == 2  # Casio, MoneyGram
            assert value(after_poll, "breachradar_outbox_pending") == 2
            last = value(after_poll, "breachradar_source_last_success_timestamp_seconds", **FEED)
            assert started - 1 <= last <= time.time()
            assert value(after_poll, "breachradar_poll_duration_seconds_count", **FEED) == 1
            # The delivery process reads the same outbox and has sent nothing yet.
            waiting = await scrape(delivery_http)
            assert value(waiting, "breachradar_outbox_pending") == 2
            assert value(waiting, "breachradar_deliveries_total", **WEBHOOK_SENT) == 0
            assert value(waiting, "breachradar_polls_total", outcome="ok", **FEED) == 0

            # The delivery process sends both: its counters move, the outbox empties.
            running.append(asyncio.create_task(delivery.run()))
            posts = await asyncio.to_thread(
                receiver.wait_for, 2, method="POST", path=hook.path, timeout=30
            )
            assert len(posts) == 2
            await delivery.outbox.flush()  # waits for the flush that sent them to finish
            delivered = await scrape(delivery_http)
            assert value(delivered, "breachradar_deliveries_total", **WEBHOOK_SENT) == 2
            assert value(delivered, "breachradar_alert_latency_seconds_count") == 2
            assert value(delivered, "breachradar_outbox_pending") == 0
            scraped = await scrape(scraper_http)
            assert value(scraped, "breachradar_outbox_pending") == 0
            assert value(scraped, "breachradar_deliveries_total", **WEBHOOK_SENT) == 0

            # Each role says which it is and checks the jobs it runs.
            for app, http, role, job in (
                (scraper, scraper_http, "scraper", "tick"),
                (delivery, delivery_http, "delivery", "deliver"),
            ):
                health = (await http.get("/healthz")).json()
                assert health["status"] == "ok" and health["role"] == role
                assert set(health["checks"]["scheduler"]["jobs"]) == {job}
                info = value(
                    await scrape(http), "breachradar_build_info", version="0.1.0", role=role
                )
                assert info == 1, app.options.role
        finally:
            scraper.request_stop()
            delivery.request_stop()
            assert await asyncio.wait_for(asyncio.gather(*running), 30) == [0] * len(running)


def test_label_values_stay_within_what_the_configuration_names() -> None:
    metrics = Metrics(role="all", sources=["bleepingcomputer"])
    ok = SourceResult(name="x", ok=True)
    # A feed a server added is one series for all of them, whatever its name.
    for name in ("bleepingcomputer", "guild-feed:https://evil.example/@everyone", "Casio"):
        metrics.polled(name, ok, 0.1)
    sources = {s.labels["source"] for f in metrics.registry.collect() for s in f.samples
               if f.name == "breachradar_polls"}  # fmt: skip
    assert sources == {"bleepingcomputer", SERVER_FEEDS}
    assert [target_kind(t) for t in ("webhook:soc", "channel:12", "log", "Casio: hi")] == [
        "webhook", "channel", "log", "other",
    ]  # fmt: skip
