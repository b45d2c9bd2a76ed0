"""Poll cycle: N sources answering after a fixed latency, then the same N answering 304.

Runs the real scheduler (``Service`` in the scraper role: DB-leased claims, fetcher,
parser, store on SQLite) in this process against a loopback web in a child process, and
compares the full-cycle time with the ideal bound ``sources x latency / concurrency`` and
with a bare httpx client doing the same requests at the same concurrency in the same run.
The second cycle forces every source due again; the server answers 304 to the ETag it
gave, and that cycle's bytes and CPU are compared with the first's.

With ``--processes N`` the same cycles run on N real ``breachradar run --role scraper``
processes sharing one SQLite database (each allowed ``concurrency / N`` polls at a time),
the way a deployment spreads polling over cores; their CPU is read from /proc.

    python bench/poll_cycle.py                  # 1,000 sources, 200 ms, 100 at a time
    python bench/poll_cycle.py --processes 2    # the same, on two scraper processes
    python bench/poll_cycle.py --sources 3000 --concurrency 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import update  # noqa: E402

from bench.localweb import LocalWeb, write_config  # noqa: E402
from bot.delivery import Outbox  # noqa: E402
from bot.service.pipeline import Pipeline  # noqa: E402
from bot.service.scheduler import Service  # noqa: E402
from bot.settings import load_config  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.schema import source_state  # noqa: E402
from scrapers.http import Fetcher  # noqa: E402


def bench_config(directory: Path, web: LocalWeb) -> Path:
    """One hourly RSS source per feed of ``web``, the bundled watchlist, no jitter."""
    watchlist = (ROOT / "config" / "watchlist.toml").read_text(encoding="utf-8")
    return write_config(directory, web, every="1h", watchlist=watchlist, settings="jitter = 0\n")


async def bare_httpx(web: LocalWeb, sources: int, concurrency: int) -> float:
    """The reference: the same GETs from one httpx client, no parsing, no database."""
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one(n: int) -> None:
            async with gate:
                (await client.get(web.feed_url(n))).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(sources)))
        return time.perf_counter() - started


async def wait_polls(service: Service, count: int) -> None:
    # The service counts polls but signals nothing; 200 checks a second cost ~nothing.
    while service.polls < count:  # noqa: ASYNC110
        await asyncio.sleep(0.005)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of ``pids`` so far, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def polled_since(db: Path, since: str | None) -> int:
    """How many sources finished a poll after ``since`` (None: ever)."""
    with sqlite3.connect(db, timeout=30) as conn:
        query = "SELECT count(*) FROM source_state WHERE last_success_at > ?"
        # Timestamps are stored as ISO text: "" is before every one of them.
        return int(conn.execute(query, (since or "",)).fetchone()[0])


def wait_until(check: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the cycle did not finish")
        time.sleep(0.02)


def processes_run(
    args: argparse.Namespace, web: LocalWeb, tmp: Path
) -> tuple[tuple[float, float, float, float], dict[str, int], dict[str, int]]:
    """Both cycles on ``args.processes`` scraper processes; wall and CPU seconds, counters."""
    config = bench_config(tmp / "config", web)
    db = tmp / "bench.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREACHRADAR_")}
    env["PYTHONPATH"] = str(ROOT)
    where = ["--config", str(config), "--db", f"sqlite:///{db}"]
    subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade", *where],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    run = [sys.executable, "-m", "bot", "run", *where, "--role", "scraper", "--max-polls"]
    share = str(max(1, args.concurrency // args.processes))
    procs = [
        subprocess.Popen(
            [*run, share], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(args.processes)
    ]
    pids = [p.pid for p in procs]
    try:
        # A cycle runs from the first request the server sees to the last poll recorded.
        wait_until(lambda: web.counters.snapshot()["requests"] > 0)
        cpu0, wall0 = cpu_seconds(pids), time.perf_counter()
        wait_until(lambda: polled_since(db, None) >= args.sources)
        cpu1, wall1 = cpu_seconds(pids), time.perf_counter()
        first = web.counters.snapshot()
        requests = first["requests"]
        with sqlite3.connect(db, timeout=30) as conn:
            mark = conn.execute("SELECT max(last_success_at) FROM source_state").fetchone()[0]
            conn.execute("UPDATE source_state SET next_poll_at = NULL")
        wait_until(lambda: web.counters.snapshot()["requests"] > requests)
        cpu2, wall2 = cpu_seconds(pids), time.perf_counter()
        wait_until(lambda: polled_since(db, mark) >= args.sources)
        cpu3, wall3 = cpu_seconds(pids), time.perf_counter()
        second = web.counters.snapshot()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
    return (wall1 - wall0, wall3 - wall2, cpu1 - cpu0, cpu3 - cpu2), first, second


async def in_process(
    args: argparse.Namespace, web: LocalWeb, tmp: Path
) -> tuple[tuple[float, float, float, float], dict[str, int], dict[str, int], int]:
    """Both cycles on the scheduler in this process; wall and CPU seconds, counters."""
    config = load_config(bench_config(tmp / "config", web), environ={})
    store = await Store.open(f"sqlite+aiosqlite:///{tmp / 'bench.db'}")
    async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
        pipeline = Pipeline(config, store, fetcher)
        service = Service(
            pipeline, Outbox(store, {}), config.enabled_sources,
            deliver=False, max_polls=args.concurrency,
        )  # fmt: skip
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await service.start()
        await wait_polls(service, args.sources)
        cpu1, wall1 = time.process_time(), time.perf_counter()
        first = web.counters.snapshot()
        # Make every source due again at once; the server still has the same ETags.
        async with store.engine.begin() as conn:
            await conn.execute(update(source_state).values(next_poll_at=None))
        cpu2 = time.process_time()
        # The cycle's time runs from its first request (the next one-second tick claims);
        # its CPU from the reset, so the claims count.
        while web.counters.snapshot()["requests"] == first["requests"]:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        wall2 = time.perf_counter()
        await wait_polls(service, 2 * args.sources)
        cpu3, wall3 = time.process_time(), time.perf_counter()
        second = web.counters.snapshot()
        await service.stop()
        writes = store.poll_writes
    await store.close()
    times = (wall1 - wall0, wall3 - wall2, cpu1 - cpu0, cpu3 - cpu2)
    return times, first, second, writes


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="breachradar-bench-"))
    writes = 0
    try:
        with LocalWeb(args.sources, latency=args.latency, items_per_feed=args.items) as web:
            cpu_ref = time.process_time()
            reference = await bare_httpx(web, args.sources, args.concurrency)
            cpu_ref = time.process_time() - cpu_ref
            before = web.counters.snapshot()
            if args.processes:
                times, first, second = await asyncio.to_thread(processes_run, args, web, tmp)
            else:
                times, first, second, writes = await in_process(args, web, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    bound = args.sources * args.latency / args.concurrency
    c1, c2, cpu_first, cpu_second = times
    bytes_first = (first["bytes_in"] + first["bytes_out"]) - (
        before["bytes_in"] + before["bytes_out"]
    )
    bytes_second = (second["bytes_in"] + second["bytes_out"]) - (
        first["bytes_in"] + first["bytes_out"]
    )
    not_modified = second["not_modified"] - first["not_modified"]
    where = f"{args.processes} scraper processes" if args.processes else "one process"
    print(
        f"{args.sources} sources, {args.latency * 1000:.0f} ms latency, "
        f"{args.concurrency} polls at a time, {args.items} items per feed, {where}"
    )
    print(f"ideal bound (sources x latency / concurrency): {bound:.2f} s")
    print(f"reference, bare httpx at the same concurrency:  {reference:.2f} s, CPU {cpu_ref:.2f} s")
    print(f"cycle 1 (200 + parse + store):  {c1:.2f} s = {c1 / bound:.2f}x bound, "
          f"CPU {cpu_first:.2f} s, {bytes_first / 1e6:.2f} MB on the wire")  # fmt: skip
    print(f"cycle 2 (304 for {not_modified}/{args.sources}): {c2:.2f} s = {c2 / bound:.2f}x "
          f"bound, CPU {cpu_second:.2f} s ({100 * cpu_second / cpu_first:.1f}% of cycle 1), "
          f"{bytes_second / 1e6:.2f} MB ({100 * bytes_second / bytes_first:.1f}%)")  # fmt: skip
    # The bare client's time is the honest floor on this machine: the goals are ratios to it.
    vs1, vs2 = c1 / reference, c2 / reference
    print(f"cycle 1 vs bare httpx: {vs1:.2f}x (goal <= 1.3x: {'met' if vs1 <= 1.3 else 'NOT met'})")
    print(f"cycle 2 vs bare httpx: {vs2:.2f}x (goal <= 0.8x: {'met' if vs2 <= 0.8 else 'NOT met'})")
    if writes:
        print(f"polls recorded per database write (group commit): {2 * args.sources / writes:.1f}")
    print(
        f"sources={args.sources} latency_ms={args.latency * 1000:.0f} "
        f"concurrency={args.concurrency} processes={args.processes} bound_s={bound:.2f} "
        f"reference_s={reference:.2f} "
        f"reference_cpu_s={cpu_ref:.2f} "
        f"cycle1_s={c1:.2f} cycle1_vs_bound={c1 / bound:.2f} cycle2_s={c2:.2f} "
        f"cycle2_vs_bound={c2 / bound:.2f} cycle1_vs_bare={vs1:.2f} cycle2_vs_bare={vs2:.2f} "
        f"cpu1_s={cpu_first:.2f} cpu2_s={cpu_second:.2f} "
        f"cpu2_pct_of_cpu1={100 * cpu_second / cpu_first:.1f} bytes1={bytes_first} "
        f"bytes2={bytes_second} not_modified={not_modified}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=100, help="polls at a time")
    parser.add_argument("--items", type=int, default=20, help="items per feed")
    parser.add_argument(
        "--processes", type=int, default=0, help="scraper processes (0: the scheduler in this one)"
    )
    asyncio.run(main(parser.parse_args()))
