"""Outages with the real service SIGKILLed during them: caught up within 15 s, nothing lost.

The real ``python -m bot run`` delivers to Discord-like webhooks (rate limits enforced)
that go down. The service is killed while a probe is in flight and started again, more
than once, during the outage. The receiver ends the outage by its own clock and records
when it accepted each alert: every queued alert must be accepted within 15 s of the
receiver answering again, in the order it was queued, once (by Idempotency-Key), without
a 429 of the sender's making. Two outages: 5 real seconds, and two hours (simulated by
the outbox's clock before the service takes over the database they left).
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.core.clock import utcnow
from bot.delivery import Outbox, WebhookSink
from bot.store import Store
from tests.support.alerts import queue_alert
from tests.support.crashrig import COMPANIES, GrowingFeed, Service, wait_until
from tests.support.discordlike import DiscordLikeWebhooks
from tests.support.localserver import LocalServer

PROMISE = 15.0  # seconds from the receiver answering again to the last alert accepted
ALERTS = 8  # a webhook's bucket of five at once, then three more five seconds later


def configure(tmp_path: Path, feed_url: str) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.toml").write_text(
        f'[[sources]]\nname = "security-news"\nkind = "rss"\nurl = "{feed_url}"\n'
        'every = "1s"\nallow_private = true\n',
        encoding="utf-8",
    )
    (config / "watchlist.toml").write_text(
        "".join(f'[[companies]]\nname = "{c}"\n\n' for c in COMPANIES[:ALERTS]), encoding="utf-8"
    )
    (config / "settings.toml").write_text(
        'jitter = 0\nmax_alert_age = "none"\n[[webhooks]]\nname = "soc"\nurl_env = "HOOK_SOC"\n',
        encoding="utf-8",
    )
    return config


def queued_links(db: Path) -> list[str]:
    """The alerts in the order they were queued."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT payload FROM deliveries ORDER BY id").fetchall()
    return [json.loads(r[0])["url"] for r in rows]


class Killer:
    """SIGKILLs the service on chosen failed answers (a probe in flight), then restarts it."""

    def __init__(
        self,
        service: Service,
        hooks: DiscordLikeWebhooks,
        on: set[int],
        then: Callable[[int], None] | None = None,
    ) -> None:
        self.service = service
        self.on = on
        self.then = then
        self.kills = 0
        self.killed = threading.Event()
        hooks.on_failure = self._failure

    def _failure(self, count: int) -> None:
        if count in self.on and self.service.kill():
            self.kills += 1
            self.killed.set()
        if self.then is not None:
            self.then(count)

    def restart_after_each_kill(self, rounds: int, timeout: float = 30) -> None:
        for _ in range(rounds):
            assert self.killed.wait(timeout), "the service was never caught probing"
            self.killed.clear()
            self.service.start()


def check_catch_up(hooks: DiscordLikeWebhooks, links: list[str]) -> float:
    """Everything arrived, in order, once, within the promise; return the catch-up time."""
    assert hooks.urls("soc") == links
    assert sorted(set(hooks.keys("soc"))) == sorted(hooks.keys("soc"))  # once each
    assert hooks.up_since is not None
    catch_up = hooks.accepted[-1].at - hooks.up_since
    assert catch_up <= PROMISE, f"the last alert came {catch_up:.1f} s after recovery"
    assert hooks.rate_limited == {"global": 0, "bucket": 0}
    return catch_up


@pytest.mark.slow
def test_a_five_second_outage_with_kills_is_caught_up_within_15_seconds(
    web: LocalServer, receiver: LocalServer, tmp_path: Path
) -> None:
    feed = GrowingFeed(web)
    for company in COMPANIES[:ALERTS]:
        feed.add(company)
    hooks = DiscordLikeWebhooks(receiver)
    hooks.add("soc", "1290455555555555555", "tok-outage-secret")
    hooks.set_down(True)
    config = configure(tmp_path, web.url("/feed"))
    db = tmp_path / "state.db"
    service = Service(config, db, {"HOOK_SOC": hooks.url("soc")}, tmp_path / "service.log")
    began: list[float] = []

    def schedule_the_end(count: int) -> None:
        if count == 1:
            began.append(time.monotonic())
        elif count == 2:
            # Five seconds from the first failed answer, by the receiver's clock (or at
            # once, should two restarts of a busy machine have taken longer than that).
            hooks.heal_in(max(0.0, 5.0 - (time.monotonic() - began[0])))

    # Killed on its first try, and again on its first probe after the restart.
    killer = Killer(service, hooks, on={1, 2}, then=schedule_the_end)
    service.start()
    try:
        killer.restart_after_each_kill(2)
        assert wait_until(receiver, lambda: len(set(hooks.keys("soc"))) >= ALERTS, 40)
        links = queued_links(db)
        catch_up = check_catch_up(hooks, links)
        assert service.stop() == 0
    finally:
        if service.proc is not None and service.proc.poll() is None:
            service.kill()
    interrupted = service.query("SELECT value FROM meta WHERE key = 'deliveries_interrupted'")
    assert hooks.up_since is not None
    outage = hooks.up_since - began[0]
    print(
        f"\n{outage:.1f} s outage: {ALERTS} alerts, {killer.kills} kills, {hooks.failed} "
        "failed answers, "
        f"caught up {catch_up:.2f} s after recovery, interrupted mid-send "
        f"{interrupted[0][0] if interrupted else 0}"
    )
    assert killer.kills == 2
    assert service.query("SELECT count(*) FROM deliveries WHERE status != 'sent'") == [(0,)]


@pytest.mark.slow
def test_two_simulated_hours_down_with_kills_then_caught_up_within_15_seconds(
    web: LocalServer, receiver: LocalServer, tmp_path: Path
) -> None:
    GrowingFeed(web)  # nothing new: the alerts were queued during the outage
    hooks = DiscordLikeWebhooks(receiver)
    hooks.add("soc", "1290466666666666666", "tok-long-outage-secret")
    hooks.set_down(True)
    config = configure(tmp_path, web.url("/feed"))
    db = tmp_path / "state.db"

    async def two_hours_down() -> None:
        """Queue the alerts two hours ago and live the outage since, on the outbox's clock."""
        store = await Store.open(f"sqlite+aiosqlite:///{db}")
        try:
            start = utcnow() - timedelta(hours=2)
            for company in COMPANIES[:ALERTS]:
                await queue_alert(store, ["webhook:soc"], company, now=start)
            async with httpx.AsyncClient(timeout=5.0) as client:
                sink = WebhookSink(hooks.url("soc"), "soc", client)
                outbox = Outbox(store, {"webhook:soc": sink}, owner="before",
                                rng=random.Random(2))  # fmt: skip
                clock = start
                while clock < utcnow():
                    await outbox.flush(now=clock)
                    clock += timedelta(minutes=5)
        finally:
            await store.close()

    asyncio.run(two_hours_down())
    probes_before = hooks.failed
    with sqlite3.connect(db) as conn:
        state, failures = conn.execute(
            "SELECT state, failures FROM delivery_targets WHERE target = 'webhook:soc'"
        ).fetchone()
    assert (state, failures) == ("down", probes_before - 1)  # one inline retry at first
    assert probes_before >= 24

    service = Service(config, db, {"HOOK_SOC": hooks.url("soc")}, tmp_path / "service.log")
    healed = threading.Event()

    def heal(count: int) -> None:
        if count == probes_before + 4:
            hooks.heal_in(0.0)  # fixed from now on; the probe in flight still fails
            healed.set()

    # Killed at the service's second and third probes, each time mid-send.
    killer = Killer(service, hooks, on={probes_before + 2, probes_before + 3}, then=heal)
    service.start()
    try:
        killer.restart_after_each_kill(2)
        assert healed.wait(40)
        assert wait_until(receiver, lambda: len(set(hooks.keys("soc"))) >= ALERTS, 40)
        links = queued_links(db)
        catch_up = check_catch_up(hooks, links)
        assert service.stop() == 0
    finally:
        if service.proc is not None and service.proc.poll() is None:
            service.kill()
    print(
        f"\n2 h outage (simulated): {ALERTS} alerts, {probes_before} probes before the "
        f"service, {killer.kills} kills, caught up {catch_up:.2f} s after recovery"
    )
    assert killer.kills == 2
    assert service.query("SELECT count(*) FROM deliveries WHERE status != 'sent'") == [(0,)]
    assert service.query("SELECT count(*) FROM deliveries WHERE status = 'dead'") == [(0,)]
