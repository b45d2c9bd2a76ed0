"""Measure how fast queued alerts go out once every webhook answers again after an outage.

Run from the repository root: ``python bench/delivery_outage.py`` (``--quick`` for a
15 s outage; ``--targets N``, ``--alerts N``, ``--outage SECONDS``). 500 alerts are
queued for 50 webhooks (10 each) while every webhook answers 500; the real outbox runner
(``Outbox.run``, real httpx, SQLite) probes them for 60 s; then they all answer again.
The receiver enforces Discord's limits (50 requests in any one second across the
webhooks, 5 posts per 5 s per webhook, announced in ``X-RateLimit-*`` headers) and
answers 429 past them. It runs in a child process, as Discord runs on other machines,
and times everything by its own clock.

Printed: the time from recovery to the last acceptance (goal: under 15 s), the floor
Discord's limits set for the same work, the request rate reached during the catch-up
against the 50/s limit, the busiest second, the 429s the sender caused (goal: none) and
the probes made during the outage. The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import multiprocessing
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bot.delivery import Outbox, make_webhook_sinks
from bot.settings import WebhookTarget
from bot.store import Store
from tests.support.alerts import queue_alert
from tests.support.crashrig import COMPANIES
from tests.support.discordlike import DiscordLikeWebhooks
from tests.support.localserver import LocalServer


def serve(conn: Connection, targets: int) -> None:
    """The child process: the webhooks, driven over ``conn``."""
    server = LocalServer().start()
    hooks = DiscordLikeWebhooks(server)
    for n in range(targets):
        hooks.add(f"hook-{n:02d}", str(1_290_500_000_000_000_000 + n), f"tok-bench-{n}")
    hooks.set_down(True)
    conn.send({label: hooks.url(label) for label in hooks.hooks})
    while True:
        command = conn.recv()
        if command == "up":
            hooks.set_down(False)
            conn.send(hooks.up_since)
        elif isinstance(command, tuple) and command[0] == "wait":
            # Until this many alerts were accepted, woken by each request.
            wanted, deadline = command[1], time.monotonic() + command[2]
            while len({(a.hook, a.key) for a in hooks.accepted}) < wanted:
                if time.monotonic() > deadline:
                    break
                server.wait_for(len(server.requests) + 1, timeout=0.5)
            conn.send(len({(a.hook, a.key) for a in hooks.accepted}))
        elif command == "stats":
            up = hooks.up_since or 0.0
            after = [a.at for a in hooks.accepted]
            requests = [t for t in hooks.requests_at if t >= up]
            conn.send(
                {
                    "up_since": up,
                    "first": min(after) if after else None,
                    "last": max(after) if after else None,
                    "accepted": len({(a.hook, a.key) for a in hooks.accepted}),
                    "posts": len(hooks.accepted),
                    "requests_after": len(requests),
                    "failed": hooks.failed,
                    "rate_limited": dict(hooks.rate_limited),
                    "busiest_second": hooks.busiest_second(),
                    "in_order": all(
                        hooks.urls(label) == sorted(hooks.urls(label), key=_rank)
                        for label in hooks.hooks
                    ),
                }
            )
        else:
            server.stop()
            conn.send("stopped")
            return


def _rank(url: str) -> int:
    return int(url.rsplit("-", 1)[1])


async def main(targets: int, alerts: int, outage: float) -> None:
    context = multiprocessing.get_context("spawn")
    conn, child_end = context.Pipe()
    child = context.Process(target=serve, args=(child_end, targets), daemon=True)
    child.start()
    urls: dict[str, str] = conn.recv()
    per_target = math.ceil(alerts / targets)

    async def ask(command: Any) -> Any:
        conn.send(command)
        return await asyncio.to_thread(conn.recv)

    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(f"sqlite+aiosqlite:///{folder}/bench.db")
        names = [f"webhook:{label}" for label in urls]
        for n in range(per_target):
            # The n-th alert of every target: company n, its link numbered n.
            await queue_alert(store, names, COMPANIES[n % len(COMPANIES)], n=n)
        queued = await store.pending_count()
        async with httpx.AsyncClient(timeout=10.0) as client:
            configured = [WebhookTarget(url=url, label=label) for label, url in urls.items()]
            outbox = Outbox(store, make_webhook_sinks(configured, client), owner="bench")
            runner = asyncio.create_task(outbox.run())
            started = time.perf_counter()
            await asyncio.sleep(outage)  # the outage: the runner probes meanwhile
            down = await store.target_status()
            probes = (await ask("stats"))["failed"]
            await ask("up")
            await ask(("wait", queued, 120.0))
            outbox.stop()
            await runner
        counts = await store.delivery_counts()
        await store.close()
    stats = await ask("stats")
    await ask("stop")
    child.join(10)

    catch_up = stats["last"] - stats["up_since"]
    drain = stats["last"] - stats["first"]
    # Discord's limits alone: 50 requests a second overall; a webhook's first 5 posts at
    # once, then 5 more every 5 s.
    floor = max(queued / 50, 5.0 * (math.ceil(per_target / 5) - 1))
    rate = stats["requests_after"] / catch_up if catch_up > 0 else 0.0
    limited = stats["rate_limited"]
    print(f"targets: {targets} webhooks, {queued} alerts queued ({per_target} each)")
    print(
        f"outage: {outage:.0f} s; {sum(1 for s in down if s.state == 'down')} targets down at "
        f"its end; {probes} probes answered 500 ({probes / targets / outage * 60:.1f} per "
        "target per minute)"
    )
    print(f"accepted after recovery: {stats['accepted']} of {queued} ({counts})")
    print(
        f"recovery to last acceptance: {catch_up:.2f} s (goal: under 15 s); first acceptance "
        f"{stats['first'] - stats['up_since']:.2f} s after recovery, drain {drain:.2f} s"
    )
    print(f"floor set by Discord's limits for the same work: {floor:.1f} s")
    print(
        f"request rate during the catch-up: {rate:.1f}/s ({rate / 50:.0%} of the 50/s "
        f"limit); busiest second at the receiver: {stats['busiest_second']} (limit 50)"
    )
    print(
        f"429 answers: global {limited['global']}, per webhook {limited['bucket']}; "
        f"in order per webhook: {stats['in_order']}; posts {stats['posts']} "
        f"(duplicates {stats['posts'] - stats['accepted']})"
    )
    print(f"(bench ran {time.perf_counter() - started:.0f} s)")
    print(
        f"targets={targets} alerts={queued} outage_s={outage:.0f} catch_up_s={catch_up:.2f} "
        f"first_s={stats['first'] - stats['up_since']:.2f} floor_s={floor:.1f} "
        f"rate_per_s={rate:.1f} busiest_second={stats['busiest_second']} "
        f"rate_limited={sum(limited.values())} probes={probes} "
        f"in_order={int(stats['in_order'])} duplicates={stats['posts'] - stats['accepted']}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="a 15 s outage")
    args = parser.parse_args()
    # Fifty targets going down are fifty warnings: the figures are what this prints.
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(args.targets, args.alerts, 15.0 if args.quick else args.outage))
