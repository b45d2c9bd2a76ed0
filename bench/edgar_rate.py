"""Measure how fast the EDGAR sources really send requests, against a local server.

Polls the per-company filings source for 40 companies and a full-text search at once,
with no per-host spacing, so only the shared EDGAR limiter sets the pace; prints the
request count, the elapsed time, the most requests that arrived within any one second
and the smallest gap between two arrivals.

    python -m bench.edgar_rate
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from pathlib import Path

from scrapers.base import SourceSpec, Subject
from scrapers.http import Fetcher, FetchPolicy
from scrapers.sec import EdgarFilingsScraper, EdgarSearchScraper
from tests.support.localserver import LocalServer, Recorded, Response

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


async def main() -> None:
    arrivals: list[float] = []
    filing = (FIXTURES / "sec-edgar-filings" / "CIK0000732717.json").read_bytes()
    search = (FIXTURES / "sec-edgar-search" / "cyber-8k.json").read_bytes()

    def answer(body: bytes) -> Callable[[Recorded], Response]:
        def handler(request: Recorded) -> Response:
            arrivals.append(time.monotonic())
            return Response(200, body, {"Content-Type": "application/json"})

        return handler

    server = LocalServer().start()
    try:
        for n in range(40):
            server.route(f"/submissions/CIK{732717 + n:010d}.json", answer(filing))
        server.route("/LATEST/search-index", answer(search))
        filings = EdgarFilingsScraper(
            SourceSpec(
                "sec-filings",
                "sec-filings",
                server.url("/submissions/"),
                subjects=tuple(Subject(f"C{n}", cik=str(732717 + n)) for n in range(40)),
            )
        )
        searcher = EdgarSearchScraper(
            SourceSpec("sec-8k", "sec-search", server.url("/LATEST/search-index?q=x"))
        )
        policy = FetchPolicy(
            user_agent="BreachRadar/bench (bench@example.com)",
            allow_private=True,
            host_spacing=0.0,
            per_host_connections=8,
        )
        started = time.monotonic()
        async with Fetcher(policy) as fetcher:
            await asyncio.gather(filings.collect(fetcher.fetch), searcher.collect(fetcher.fetch))
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    arrivals.sort()
    window = max(sum(1 for b in arrivals if a <= b < a + 1.0) for a in arrivals)
    gap = min(b - a for a, b in itertools.pairwise(arrivals))
    print(f"requests: {len(arrivals)}")
    print(f"elapsed: {elapsed:.2f} s ({len(arrivals) / elapsed:.2f} requests/s)")
    print(f"most arrivals in any 1 s window: {window} (limit 10)")
    print(f"smallest gap between arrivals: {gap * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
