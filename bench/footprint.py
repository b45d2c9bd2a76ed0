"""Footprint: peak memory (RSS) of ``breachradar run`` with many sources and companies.

Starts the real service in a child process against a loopback web, lets it finish one full
poll cycle (every source fetched, parsed, matched and stored) and keeps it running a little
longer, then reads the kernel's high-water mark of its resident memory (``VmHWM``). The
reference, measured in the same run the same way, is the service with 10 sources and 10
companies: what the interpreter and libraries cost before any scale.

With ``--servers N`` (default 1,000) the database first gets N Discord servers, each with
one channel watching three companies, and the measured process runs as ``--role scraper``
(the process that holds sources, companies and every server's subscriptions in memory and
queues their alerts) beside a ``--role delivery`` process that sends the webhook alerts;
the reference gets 10 servers. ``--servers 0`` measures a single ``run`` as before.

    python bench/footprint.py          # 1,000 sources, 10,000 companies, 1,000 servers
    python bench/footprint.py --sources 3000 --companies 30000 --servers 5000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.localweb import LocalWeb, Published, company_name, watchlist_toml, write_config  # noqa: E402


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc: Linux only")


async def add_servers(db: Path, servers: int, companies: int) -> int:
    """Give ``servers`` Discord servers one channel each watching three companies."""
    import tomllib

    from bot.settings import parse_watchlist
    from bot.store import Store
    from bot.subscriptions import Subscriptions

    store = await Store.open(f"sqlite+aiosqlite:///{db}")
    try:
        # Servers pick companies from the operator's watchlist, as autocomplete offers them.
        subs = Subscriptions(store, parse_watchlist(tomllib.loads(watchlist_toml(companies))))
        added = 0
        for guild in range(servers):
            names = "\n".join(company_name((guild * 3 + k) % companies) for k in range(3))
            report = await subs.import_text(10**17 + guild, 10**18 + guild, names)
            added += len(report.added)
        return added
    finally:
        await store.close()


def measure(
    sources: int, companies: int, breaches: int, port: int, settle: float, *, servers: int = 0
) -> tuple[float, float]:
    """Return (peak RSS in MB, seconds to the end of the first cycle)."""
    schedule = [
        Published(source=(k * 7) % sources, at=0, slug=f"breach-{k}",
                  title=f"{company_name(k % companies)} confirms ransomware attack on its systems")
        for k in range(breaches)
    ]  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="breachradar-bench-"))
    with LocalWeb(sources, latency=0.05, schedule=schedule, record_polls=True, port=port) as web:
        web.set_start(time.time())
        config = write_config(
            tmp / "config", web, every="1h", watchlist=watchlist_toml(companies),
            settings=f'max_alert_age = "none"\n[[webhooks]]\nurl = "{web.webhook_url}"\n',
        )  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("BREACHRADAR_")}
        env["PYTHONPATH"] = str(ROOT)
        command = [sys.executable, "-m", "bot", "run", "--config", str(config),
                   "--db", f"sqlite:///{tmp / 'bench.db'}"]  # fmt: skip
        helper = None
        if servers:
            asyncio.run(add_servers(tmp / "bench.db", servers, companies))
            helper = subprocess.Popen(
                [*command, "--role", "delivery", "--deliver-every", "1"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            command += ["--role", "scraper"]
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            polled: set[int] = set()
            while len(polled) < sources:
                try:
                    kind, _when, *rest = web.arrivals.get(timeout=120)
                except queue.Empty:
                    raise RuntimeError(f"only {len(polled)}/{sources} sources polled") from None
                if kind == "poll":
                    polled.add(rest[0])
            # The last answers still have to be parsed, matched, stored and delivered.
            deadline = time.monotonic() + 120
            while web.counters.webhooks.value < breaches and time.monotonic() < deadline:
                time.sleep(0.2)
            cycle = time.perf_counter() - started
            time.sleep(settle)
            peak = peak_rss_mb(proc.pid)
        finally:
            for running in (proc, helper):
                if running is not None:
                    running.send_signal(signal.SIGTERM)
                    running.wait(30)
    return peak, cycle


def main(args: argparse.Namespace) -> None:
    ref_servers = min(10, args.servers)
    ref_peak, _ = measure(10, 10, 2, 18082, args.settle, servers=ref_servers)
    peak, cycle = measure(
        args.sources, args.companies, args.breaches, 18083, args.settle, servers=args.servers
    )
    role = "scraper process" if args.servers else "run"
    print(
        f"reference ({role}): 10 sources, 10 companies, {ref_servers} servers: "
        f"peak RSS {ref_peak:.1f} MB"
    )
    print(
        f"{args.sources} sources, {args.companies} companies, {args.servers} servers' "
        f"subscriptions, {args.breaches} matching items: peak RSS {peak:.1f} MB "
        f"({peak - ref_peak:+.1f} MB over the reference), "
        f"first cycle done after {cycle:.1f} s"
    )
    print(f"goal < 250 MB: {'met' if peak < 250 else 'NOT met'}")
    print(
        f"sources={args.sources} companies={args.companies} breaches={args.breaches} "
        f"peak_rss_mb={peak:.1f} reference_rss_mb={ref_peak:.1f} "
        f"over_reference_mb={peak - ref_peak:.1f} first_cycle_s={cycle:.1f} "
        f"servers={args.servers}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--companies", type=int, default=10000)
    parser.add_argument("--breaches", type=int, default=100, help="items that match a company")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to run after the cycle")
    parser.add_argument(
        "--servers", type=int, default=1000, help="Discord servers with subscriptions (0: none)"
    )
    main(parser.parse_args())
