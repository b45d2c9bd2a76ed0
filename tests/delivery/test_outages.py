"""Outages: a receiver down, throttling or unreachable gets everything after, in order, once."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.core.clock import utcnow
from bot.delivery import Outbox, make_webhook_sinks
from bot.service.pipeline import Pipeline
from bot.store import Store
from scrapers.http import Fetcher, FetchPolicy
from tests.support.crashrig import COMPANIES, GrowingFeed, Receiver, Webhook
from tests.support.localserver import LocalServer, Response
from tests.support.scenario import load, rss_source, write_config

ALERTS = 6


async def queue_alerts(
    web: LocalServer, store: Store, tmp_path: Path, hooks: dict[str, str]
) -> list[str]:
    """Poll a feed of ALERTS breaches once; return the links in the order they were queued."""
    feed = GrowingFeed(web)
    for company in COMPANIES[:ALERTS]:
        feed.add(company)
    settings = 'jitter = 0\nmax_alert_age = "none"\n' + "".join(
        f'[[webhooks]]\nname = "{label}"\nurl = "{url}"\n' for label, url in hooks.items()
    )
    watch = "".join(f'[[companies]]\nname = "{c}"\n\n' for c in COMPANIES[:ALERTS])
    config = load(
        write_config(
            tmp_path / "config",
            sources=rss_source("security-news", web.url("/feed")),
            settings=settings,
            watchlist=watch,
        ),
        "unused",
    )
    async with Fetcher(FetchPolicy(allow_private=True)) as fetcher:
        result = await Pipeline(config, store, fetcher).poll(config.enabled_sources[0])
    assert len(result.found) == ALERTS
    return [f.disclosure.url for f in result.found]


def order_of(requests: list[tuple[str, object]], label: str) -> list[str]:
    return [
        json.loads(r.body)["embeds"][0]["url"]  # type: ignore[attr-defined]
        for hook, r in requests
        if hook == label
    ]


@pytest.mark.parametrize("sink", ["webhook"])  # the Discord channel sink joins here
@pytest.mark.parametrize("fault", ["500", "429", "unreachable"])
async def test_everything_arrives_after_an_outage_in_order_once(
    sink: str, fault: str, web: LocalServer, store: Store, tmp_path: Path
) -> None:
    """Hours of 500s, 429s or refused connections; then all alerts, in order, once each."""
    down = LocalServer().start()
    up = LocalServer().start()
    port = down.port
    try:
        hook = Webhook("ops", "1290433333333333333", "tok-ops-secret")
        other = Webhook("healthy", "1290444444444444444", "tok-healthy-secret")
        rx = Receiver(down, [hook])
        fine = Receiver(up, [other])
        if fault == "500":
            rx.failing = True
        elif fault == "429":
            down.route(
                hook.path,
                Response(
                    429,
                    b'{"message": "You are being rate limited.", "retry_after": 64.57, '
                    b'"global": false}',
                    {"Content-Type": "application/json", "Retry-After": "65"},
                ),
                method="POST",
            )
        else:
            down.stop()  # nothing listens on the port any more
        links = await queue_alerts(
            web, store, tmp_path, {"ops": down.url(hook.path), "healthy": up.url(other.path)}
        )
        async with httpx.AsyncClient(timeout=5.0) as client:
            sinks = make_webhook_sinks(
                load(tmp_path / "config", "unused").settings.webhooks, client
            )
            outbox = Outbox(store, sinks, inline_retries=1, max_inline_wait=0.05)
            later = utcnow()
            for _ in range(5):  # the outage lasts over several flushes, hours apart
                report = await outbox.flush(now=later)
                later += timedelta(hours=1)
            # The healthy receiver got everything meanwhile, in order.
            assert order_of(fine.accepted, "healthy") == links
            if fault != "unreachable":
                tried = [json.loads(r.body)["embeds"][0]["url"] for r in down.received("POST")]
                # Each flush tried the oldest alert only: the rest wait behind it, in order.
                assert len(tried) >= 5 and set(tried) == {links[0]}
            assert await store.pending_count() == ALERTS
            if fault == "unreachable":
                down = LocalServer(port=port).start()
                rx = Receiver(down, [hook])
            else:
                rx.failing = False
                rx = Receiver(down, [hook])  # routes the webhook to accept again
            report = await outbox.flush(now=later + timedelta(days=1))
        assert report.sent == ALERTS
        assert order_of(rx.accepted, "ops") == links
        assert await store.pending_count() == 0
        assert await store.delivery_counts() == {"sent": 2 * ALERTS}
        # One more flush sends nothing again.
        async with httpx.AsyncClient(timeout=5.0) as client:
            outbox.sinks = make_webhook_sinks(
                load(tmp_path / "config", "unused").settings.webhooks, client
            )
            assert (await outbox.flush(now=later + timedelta(days=2))).sent == 0
        assert len(rx.accepted) == ALERTS
    finally:
        up.stop()
        down.stop()


async def test_a_rate_limit_within_reach_is_waited_out_inline(
    web: LocalServer, store: Store, tmp_path: Path, receiver: LocalServer
) -> None:
    """A short Discord retry_after is honoured inside the flush, without a failed attempt."""
    hook = Webhook("ops", "1290455555555555555", "tok-short-wait")
    links = await queue_alerts(web, store, tmp_path, {"ops": receiver.url(hook.path)})
    rx = Receiver(receiver, [hook])
    accept = receiver._routes[("POST", hook.path)]
    receiver.route(
        hook.path,
        Response(
            429, b'{"retry_after": 0.2, "global": false}', {"Content-Type": "application/json"}
        ),
        method="POST",
    )
    calls = [0]

    def first_throttled(request: object) -> Response:
        calls[0] += 1
        if calls[0] == 1:
            return Response(429, b'{"retry_after": 0.2, "global": false}')
        return accept(request)  # type: ignore[no-any-return]

    receiver.route(hook.path, first_throttled, method="POST")
    async with httpx.AsyncClient(timeout=5.0) as client:
        sinks = make_webhook_sinks(load(tmp_path / "config", "unused").settings.webhooks, client)
        report = await Outbox(store, sinks).flush()
    assert report.sent == ALERTS and report.retried == 0
    assert order_of(rx.accepted, "ops") == links
