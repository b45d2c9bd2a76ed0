"""After a crash the outbox takes back its work and knows which sends were in doubt."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from bot.core.clock import utcnow
from bot.delivery import Outbox, make_webhook_sinks
from bot.service.pipeline import Pipeline
from bot.store import Store
from scrapers.http import Fetcher, FetchPolicy
from tests.support.crashrig import COMPANIES, GrowingFeed, Receiver, Webhook
from tests.support.localserver import LocalServer
from tests.support.scenario import load, rss_source, write_config


async def queue(
    web: LocalServer, receiver: LocalServer, store: Store, tmp_path: Path, url: str | None = None
) -> Outbox:
    feed = GrowingFeed(web)
    for company in COMPANIES[:3]:
        feed.add(company)
    hook = Webhook("ops", "1290400000000000001", "tok-recovery")
    Receiver(receiver, [hook])
    config = load(
        write_config(
            tmp_path / "config",
            sources=rss_source("security-news", web.url("/feed")),
            settings=f'max_alert_age = "none"\n[[webhooks]]\nname = "ops"\n'
            f'url = "{url or receiver.url(hook.path)}"\n',
            watchlist="".join(f'[[companies]]\nname = "{c}"\n\n' for c in COMPANIES[:3]),
        ),
        "unused",
    )
    async with Fetcher(FetchPolicy(allow_private=True)) as fetcher:
        await Pipeline(config, store, fetcher).poll(config.enabled_sources[0])
    return Outbox(store, {}, owner="run")


async def test_a_restart_takes_back_claims_and_resends_only_what_was_in_doubt(
    web: LocalServer, receiver: LocalServer, store: Store, tmp_path: Path
) -> None:
    """Claimed-but-untried rows return quietly; a row cut off mid-send is counted."""
    await queue(web, receiver, store, tmp_path)
    # What a worker killed during its first send leaves: three claimed, one mid-send.
    claimed = await store.claim_due(owner="run", lease=timedelta(hours=1))
    assert len(claimed) == 3
    await store.mark_sending(claimed[0].id)
    assert await store.claim_due(owner="other") == []  # leased: nobody else takes them

    async with httpx.AsyncClient() as client:
        config = load(tmp_path / "config", "unused")
        outbox = Outbox(store, make_webhook_sinks(config.settings.webhooks, client), owner="run")
        report = await outbox.flush()
    assert report.sent == 3
    assert await store.get_meta("deliveries_interrupted") == "1"
    assert len(receiver.received("POST")) == 3


async def test_another_workers_expired_send_is_taken_over(
    web: LocalServer, receiver: LocalServer, store: Store, tmp_path: Path
) -> None:
    """A send left by a different worker is taken over once its lease has run out."""
    await queue(web, receiver, store, tmp_path)
    claimed = await store.claim_due(owner="worker-1", lease=timedelta(minutes=2))
    await store.mark_sending(claimed[0].id)
    assert await store.recover_interrupted("worker-2") == []  # still leased
    later = utcnow() + timedelta(minutes=3)
    assert await store.recover_interrupted("worker-2", now=later) == [claimed[0].id]
    assert await store.get_meta("deliveries_interrupted") == "1"


async def test_an_answered_failure_is_not_in_doubt(
    web: LocalServer, receiver: LocalServer, store: Store, tmp_path: Path
) -> None:
    """A send the receiver refused goes back to pending at once, not 'sending'."""
    gone = LocalServer().start()
    url = gone.url("/api/webhooks/1/x")
    gone.stop()  # nothing listens there: every send is refused
    await queue(web, receiver, store, tmp_path, url=url)
    async with httpx.AsyncClient() as client:
        config = load(tmp_path / "config", "unused")
        sinks = make_webhook_sinks(config.settings.webhooks, client)
        report = await Outbox(store, sinks, inline_retries=0).flush()
    assert report.sent == 0
    assert await store.delivery_counts() == {"pending": 3}
    assert await store.recover_interrupted("run") == []
