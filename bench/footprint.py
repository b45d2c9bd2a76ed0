"""Footprint: peak memory (RSS) of ``breachradar run`` with many sources and companies.

Starts the real service in a child process against a loopback web, lets it finish one full
poll cycle (every source fetched, parsed, matched and stored) and keeps it running a little
longer, then reads the kernel's high-water mark of its resident memory (``VmHWM``). The
reference, measured in the same run the same way, is the service with 10 sources and 10
companies: what the interpreter and libraries cost before any scale.

There are no subscription tables in this build (Discord servers' subscriptions come with
the Discord bot), so subscriptions are not part of the measurement.

    python bench/footprint.py                            # 1,000 sources, 10,000 companies
    python bench/footprint.py --sources 3000 --companies 30000
"""

from __future__ import annotations

import argparse
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


def measure(
    sources: int, companies: int, breaches: int, port: int, settle: float
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
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config),
             "--db", f"sqlite:///{tmp / 'bench.db'}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
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
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    return peak, cycle


def main(args: argparse.Namespace) -> None:
    ref_peak, _ = measure(10, 10, 2, 18082, args.settle)
    peak, cycle = measure(args.sources, args.companies, args.breaches, 18083, args.settle)
    print(f"reference: 10 sources, 10 companies: peak RSS {ref_peak:.1f} MB")
    print(
        f"{args.sources} sources, {args.companies} companies, {args.breaches} matching "
        f"items: peak RSS {peak:.1f} MB ({peak - ref_peak:+.1f} MB over the reference), "
        f"first cycle done after {cycle:.1f} s"
    )
    print("subscriptions: not measured (no subscription tables in this build)")
    print(f"goal < 250 MB: {'met' if peak < 250 else 'NOT met'}")
    print(
        f"sources={args.sources} companies={args.companies} breaches={args.breaches} "
        f"peak_rss_mb={peak:.1f} reference_rss_mb={ref_peak:.1f} "
        f"over_reference_mb={peak - ref_peak:.1f} first_cycle_s={cycle:.1f} subscriptions=none"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--companies", type=int, default=10000)
    parser.add_argument("--breaches", type=int, default=100, help="items that match a company")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to run after the cycle")
    main(parser.parse_args())
