"""Detection latency: items appear on local sources at random times; how soon is the alert in?

Starts the real service (``python -m bot run``, one process, SQLite) against a loopback web
whose feeds publish breach items about watched companies at random moments, and measures
for each item the time from its appearance to the webhook POST that announces it. The
reference, measured in the same run from the server's own log, is the poll wait: from the
item's appearance to the first poll of its source after that; the difference is what the
pipeline and delivery add.

    python bench/detection_latency.py                  # 50 sources, 10 s interval, 60 s
    python bench/detection_latency.py --sources 200 --interval 60 --window 600 --items 200
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.localweb import LocalWeb, Published, company_name, watchlist_toml, write_config  # noqa: E402

VERBS = [
    "discloses data breach after hackers accessed customer records",
    "confirms ransomware attack disrupted operations",
    "says cyberattack exposed personal data of employees",
    "investigates security incident affecting its payment systems",
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    schedule = [
        Published(
            source=rng.randrange(args.sources),
            at=rng.uniform(0, args.window),
            title=f"{company_name(k)} {VERBS[k % len(VERBS)]}",
            slug=f"breach-{k}",
        )
        for k in range(args.items)
    ]
    by_slug = {p.slug: p for p in schedule}
    tmp = Path(tempfile.mkdtemp(prefix="breachradar-bench-"))
    with LocalWeb(
        args.sources, latency=args.latency, schedule=schedule, record_polls=True, port=18081
    ) as web:
        config = write_config(
            tmp / "config", web, every=f"{args.interval:g}s",
            watchlist=watchlist_toml(args.items),
            settings=f'max_alert_age = "none"\njitter = {args.jitter}\n'
            f'[[webhooks]]\nurl = "{web.webhook_url}"\nname = "bench"\n',
        )  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("BREACHRADAR_")}
        env["PYTHONPATH"] = str(ROOT)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config),
             "--db", f"sqlite:///{tmp / 'bench.db'}", "--deliver-every", "1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        polls: dict[int, list[float]] = {}
        arrived: dict[str, float] = {}
        try:
            # Start the clock once the service has polled every source once.
            while len(polls) < args.sources:
                kind, when, *rest = web.arrivals.get(timeout=60)
                if kind == "poll":
                    polls.setdefault(rest[0], []).append(when)
            start = time.time()
            web.set_start(start)
            deadline = start + args.window + args.interval * 2 + 30
            while len(arrived) < len(schedule) and time.time() < deadline:
                try:
                    kind, when, *rest = web.arrivals.get(timeout=1)
                except queue.Empty:
                    continue
                if kind == "poll":
                    polls.setdefault(rest[0], []).append(when)
                else:
                    slug = rest[0].rsplit("/", 1)[-1]
                    arrived.setdefault(slug, when)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)

    latency, poll_wait = [], []
    for slug, when in arrived.items():
        item = by_slug[slug]
        appeared = start + item.at
        latency.append(when - appeared)
        # A poll answers with what was visible when the server received it.
        first_poll = min(t for t in polls[item.source] if t >= appeared)
        poll_wait.append(first_poll - appeared)
    lost = len(schedule) - len(arrived)
    median, p95 = statistics.median(latency), percentile(latency, 0.95)
    wait_median, wait_p95 = statistics.median(poll_wait), percentile(poll_wait, 0.95)
    overhead = [a - b for a, b in zip(latency, poll_wait, strict=True)]
    goal = args.interval + 5
    print(
        f"{args.sources} sources polled every {args.interval:g} s (jitter {args.jitter}), "
        f"{len(schedule)} items over {args.window:g} s, server latency {args.latency * 1000:.0f} ms"
    )
    print(f"alerts arrived: {len(arrived)}/{len(schedule)}")
    print(f"detection latency: median {median:.2f} s, p95 {p95:.2f} s, max {max(latency):.2f} s")
    print(f"reference, wait for the next poll: median {wait_median:.2f} s, p95 {wait_p95:.2f} s")
    print(
        f"added by fetch, parse, match, store and delivery: median "
        f"{statistics.median(overhead):.2f} s, p95 {percentile(overhead, 0.95):.2f} s"
    )
    print(f"goal p95 <= interval + 5 s = {goal:g} s: {'met' if p95 <= goal else 'NOT met'}")
    print(
        f"sources={args.sources} interval_s={args.interval:g} items={len(schedule)} lost={lost} "
        f"median_s={median:.2f} p95_s={p95:.2f} max_s={max(latency):.2f} "
        f"poll_wait_median_s={wait_median:.2f} poll_wait_p95_s={wait_p95:.2f} "
        f"overhead_p95_s={percentile(overhead, 0.95):.2f} goal_s={goal:g}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--interval", type=float, default=10.0, help="poll interval, seconds")
    parser.add_argument("--window", type=float, default=60.0, help="items appear within this")
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.2, help="server answer delay")
    parser.add_argument("--jitter", type=float, default=0.1, help="the service's jitter setting")
    parser.add_argument("--seed", type=int, default=7)
    main(parser.parse_args())
