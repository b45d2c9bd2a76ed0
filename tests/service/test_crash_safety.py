"""Crash safety: SIGKILL the real service at random moments; nothing is lost.

The service is killed over and over while a feed grows and alerts are delivered: at
random times, while the feed is being fetched, while a webhook post is in flight, and
just after a post was accepted. After each kill it is started again. At the end every
matching disclosure must have reached every webhook that wants it; the only repeats
allowed are re-sends of deliveries the store knows were interrupted mid-send, and by
Idempotency-Key even those are exactly once.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.crashrig import (
    COMPANIES,
    GrowingFeed,
    Receiver,
    Service,
    Webhook,
    wait_until,
)
from tests.support.localserver import LocalServer, Recorded

KILLS = int(os.environ.get("BREACHRADAR_CRASH_KILLS", "18"))
SEED = int(os.environ.get("BREACHRADAR_CRASH_SEED", "0")) or random.randrange(1, 10**6)


def watchlist() -> str:
    return "".join(f'[[companies]]\nname = "{name}"\n\n' for name in COMPANIES)


@pytest.fixture
def feed_server() -> Iterator[LocalServer]:
    server = LocalServer().start()
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("sink", ["webhook"])  # the Discord channel sink joins here
def test_sigkill_at_random_moments_loses_nothing(
    sink: str, feed_server: LocalServer, receiver: LocalServer, tmp_path: Path
) -> None:
    """Across many SIGKILLs and restarts each match reaches each webhook, never lost."""
    rng = random.Random(SEED)
    feed = GrowingFeed(feed_server)
    hooks = [
        Webhook("everything", "1290411111111111111", "tok-" + os.urandom(16).hex()),
        Webhook("retail", "1290422222222222222", "tok-" + os.urandom(16).hex(), COMPANIES[:12]),
    ]
    state: dict[str, object] = {"mode": None}
    lock = threading.Lock()
    timers: list[threading.Timer] = []

    def kill_soon(delay: float) -> None:
        timer = threading.Timer(delay, service.kill, args=(service.proc,))
        timers.append(timer)
        timer.start()

    def kill_in_flight(hook: Webhook, request: Recorded) -> None:
        with lock:
            mode = state["mode"]
            if mode == "during-post":
                state["mode"] = None
                service.kill()  # the receiver has it, the sender never hears back
            elif mode == "after-post":
                state["mode"] = None
                kill_soon(rng.uniform(0.0, 0.03))

    rx = Receiver(receiver, hooks, on_post=kill_in_flight)

    def kill_on_fetch(_: Recorded) -> None:
        with lock:
            if state["mode"] == "during-fetch":
                state["mode"] = None
                kill_soon(rng.uniform(0.0, 0.2))

    original = feed._answer

    def fetch_then_maybe_kill(request: Recorded) -> object:
        kill_on_fetch(request)
        return original(request)

    feed_server.route(feed.path, fetch_then_maybe_kill)  # type: ignore[arg-type]

    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.toml").write_text(
        "[[sources]]\n"
        'name = "security-news"\n'
        'kind = "rss"\n'
        f'url = "{feed_server.url("/feed")}"\n'
        'every = "1s"\n'
        "allow_private = true\n",
        encoding="utf-8",
    )
    (config / "watchlist.toml").write_text(watchlist(), encoding="utf-8")
    retail = ", ".join(f'"{c}"' for c in COMPANIES[:12])
    (config / "settings.toml").write_text(
        "jitter = 0\n"
        'max_alert_age = "none"\n'
        f'[[webhooks]]\nname = "everything"\nurl_env = "HOOK_EVERYTHING"\n'
        f'[[webhooks]]\nname = "retail"\nurl_env = "HOOK_RETAIL"\ncompanies = [{retail}]\n',
        encoding="utf-8",
    )
    env = {f"HOOK_{h.label.upper()}": receiver.url(h.path) for h in hooks}
    service = Service(config, tmp_path / "state.db", env, tmp_path / "service.log")

    added = 0
    kills: dict[str, int] = {}
    modes = ["random", "during-fetch", "during-post", "after-post"]
    try:
        for cycle in range(KILLS):
            for _ in range(rng.choice((1, 1, 2))):
                if added < len(COMPANIES):
                    feed.add(COMPANIES[added])
                    added += 1
            mode = modes[cycle % len(modes)]
            with lock:
                state["mode"] = mode if mode != "random" else None
            service.start()
            if mode == "random":
                wait = rng.uniform(0.3, 2.5)
                proc = service.proc
                assert proc is not None
                # The moment of the kill is the point of the test, so here we do wait.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(wait)
                kills[mode] = kills.get(mode, 0) + int(service.kill())
            else:
                # Killed by the feed or the receiver when that moment comes; if it does not
                # come (nothing new to send), kill it anyway after a while.
                proc = service.proc
                assert proc is not None
                try:
                    proc.wait(6)
                    kills[mode] = kills.get(mode, 0) + 1
                except subprocess.TimeoutExpired:
                    with lock:
                        state["mode"] = None
                    kills["timeout"] = kills.get("timeout", 0) + int(service.kill())
        # Recovery: one last run that is left alone until everything is out.
        with lock:
            state["mode"] = None
        for timer in timers:
            timer.join()
        while added < len(COMPANIES) and added < KILLS + 4:
            feed.add(COMPANIES[added])
            added += 1
        service.start()
        wanted = {
            h.label: {
                link
                for company, link, _ in feed.items
                if h.companies is None or company in h.companies
            }
            for h in hooks
        }

        def all_delivered() -> bool:
            got = rx.urls_by_hook()
            return all(wanted[label] <= set(got[label]) for label in wanted)

        def outbox_empty() -> bool:
            rows = service.query("select count(*) from deliveries where status != 'sent'")
            return bool(rows) and rows[0][0] == 0 and all_delivered()

        assert wait_until(receiver, all_delivered, timeout=60), "alerts lost"
        assert wait_until(receiver, outbox_empty, timeout=30), "outbox did not drain"
        code = service.stop()
    finally:
        if service.proc is not None and service.proc.poll() is None:
            service.kill()

    got = rx.urls_by_hook()
    keys = rx.keys_by_hook()
    expected = sum(len(v) for v in wanted.values())
    delivered = sum(len(set(got[label]) & wanted[label]) for label in wanted)
    duplicated = sum(n - 1 for counts in got.values() for n in counts.values() if n > 1)
    lost = expected - delivered
    interrupted_rows = service.query("select value from meta where key = 'deliveries_interrupted'")
    interrupted = int(interrupted_rows[0][0]) if interrupted_rows else 0
    print(
        f"\ncrash safety ({sink}, seed {SEED}): runs {service.runs}, kills "
        f"{sum(v for k, v in kills.items())} {dict(sorted(kills.items()))}, items {added}, "
        f"expected {expected}, delivered {delivered}, duplicated {duplicated}, lost {lost}, "
        f"interrupted mid-send {interrupted}"
    )
    assert code == 0
    assert lost == 0
    # No alert reached a webhook that did not want it, nor an unknown link.
    for label, counts in got.items():
        assert set(counts) <= wanted[label]
    # A repeat happens only for a send the store knows was interrupted...
    assert duplicated <= interrupted
    # ...and a receiver honouring Idempotency-Key sees every alert exactly once.
    assert sum(len(counts) for counts in keys.values()) == expected
    assert "" not in keys["everything"]
