"""Poll cycle: N sources answering after a fixed latency, then the same N answering 304.

Runs the real scheduler (``Service`` in the scraper role: DB-leased claims, fetcher,
parser, store on SQLite) in this process against a loopback web in a child process, and
compares the full-cycle time with the ideal bound ``sources x latency / concurrency`` and
with a bare httpx client doing the same requests at the same concurrency in the same run.
The second cycle forces every source due again; the server answers 304 to the ETag it
gave, and that cycle's bytes and CPU are compared with the first's.

    python bench/poll_cycle.py                  # 1,000 sources, 200 ms, 100 at a time
    python bench/poll_cycle.py --sources 3000 --concurrency 200
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import update  # noqa: E402

from bench.localweb import LocalWeb  # noqa: E402
from bot.delivery import Outbox  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from bot.scheduler import Service  # noqa: E402
from bot.settings import load_config  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.schema import source_state  # noqa: E402
from scrapers.http import Fetcher  # noqa: E402


def write_config(directory: Path, web: LocalWeb, sources: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sources.toml").write_text(
        "".join(
            f'[[sources]]\nname = "news-{n:05d}"\nkind = "rss"\nurl = "{web.feed_url(n)}"\n'
            'every = "1h"\n\n'
            for n in range(sources)
        ),
        encoding="utf-8",
    )
    shutil.copy(ROOT / "config" / "watchlist.toml", directory / "watchlist.toml")
    (directory / "settings.toml").write_text(
        "allow_private_addresses = true\njitter = 0\n", encoding="utf-8"
    )
    return directory


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


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="breachradar-bench-"))
    try:
        with LocalWeb(args.sources, latency=args.latency, items_per_feed=args.items) as web:
            cpu_ref = time.process_time()
            reference = await bare_httpx(web, args.sources, args.concurrency)
            cpu_ref = time.process_time() - cpu_ref
            config = load_config(write_config(tmp / "config", web, args.sources), environ={})
            store = await Store.open(f"sqlite+aiosqlite:///{tmp / 'bench.db'}")
            async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
                pipeline = Pipeline(config, store, fetcher)
                service = Service(
                    pipeline, Outbox(store, {}), config.enabled_sources,
                    deliver=False, max_polls=args.concurrency,
                )  # fmt: skip
                before = web.counters.snapshot()
                cpu0, wall0 = time.process_time(), time.perf_counter()
                await service.start()
                await wait_polls(service, args.sources)
                cpu1, wall1 = time.process_time(), time.perf_counter()
                first = web.counters.snapshot()
                # Make every source due again at once; the server still has the same ETags.
                async with store.engine.begin() as conn:
                    await conn.execute(update(source_state).values(next_poll_at=None))
                cpu2, wall2 = time.process_time(), time.perf_counter()
                await wait_polls(service, 2 * args.sources)
                cpu3, wall3 = time.process_time(), time.perf_counter()
                second = web.counters.snapshot()
                await service.stop()
                writes = store.poll_writes
            await store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    bound = args.sources * args.latency / args.concurrency
    c1, c2 = wall1 - wall0, wall3 - wall2
    cpu_first, cpu_second = cpu1 - cpu0, cpu3 - cpu2
    bytes_first = (first["bytes_in"] + first["bytes_out"]) - (
        before["bytes_in"] + before["bytes_out"]
    )
    bytes_second = (second["bytes_in"] + second["bytes_out"]) - (
        first["bytes_in"] + first["bytes_out"]
    )
    not_modified = second["not_modified"] - first["not_modified"]
    print(
        f"{args.sources} sources, {args.latency * 1000:.0f} ms latency, "
        f"{args.concurrency} polls at a time, {args.items} items per feed"
    )
    print(f"ideal bound (sources x latency / concurrency): {bound:.2f} s")
    print(f"reference, bare httpx at the same concurrency:  {reference:.2f} s, CPU {cpu_ref:.2f} s")
    print(f"cycle 1 (200 + parse + store):  {c1:.2f} s = {c1 / bound:.2f}x bound, "
          f"CPU {cpu_first:.2f} s, {bytes_first / 1e6:.2f} MB on the wire")  # fmt: skip
    print(f"cycle 2 (304 for {not_modified}/{args.sources}): {c2:.2f} s = {c2 / bound:.2f}x "
          f"bound, CPU {cpu_second:.2f} s ({100 * cpu_second / cpu_first:.1f}% of cycle 1), "
          f"{bytes_second / 1e6:.2f} MB ({100 * bytes_second / bytes_first:.1f}%)")  # fmt: skip
    print(f"polls recorded per database write (group commit): {2 * args.sources / writes:.1f}")
    print(
        f"sources={args.sources} latency_ms={args.latency * 1000:.0f} "
        f"concurrency={args.concurrency} bound_s={bound:.2f} reference_s={reference:.2f} "
        f"reference_cpu_s={cpu_ref:.2f} "
        f"cycle1_s={c1:.2f} cycle1_vs_bound={c1 / bound:.2f} cycle2_s={c2:.2f} "
        f"cycle2_vs_bound={c2 / bound:.2f} cpu1_s={cpu_first:.2f} cpu2_s={cpu_second:.2f} "
        f"cpu2_pct_of_cpu1={100 * cpu_second / cpu_first:.1f} bytes1={bytes_first} "
        f"bytes2={bytes_second} not_modified={not_modified}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=100, help="polls at a time")
    parser.add_argument("--items", type=int, default=20, help="items per feed")
    asyncio.run(main(parser.parse_args()))
