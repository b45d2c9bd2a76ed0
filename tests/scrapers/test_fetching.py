"""Multi-request sources fetched for real over HTTP from a local server."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from scrapers import ratelimit
from scrapers.base import SourceSpec, Subject
from scrapers.errors import HTTPStatusError
from scrapers.http import Fetcher, FetchPolicy
from scrapers.ratelimit import RateLimiter
from scrapers.registry import build
from scrapers.sec import EDGAR_REQUESTS_PER_SECOND, EdgarFilingsScraper, EdgarSearchScraper
from scrapers.tdnet import TdnetScraper
from tests.support.localserver import FIXTURES, LocalServer, Response

AGENT = "BreachRadar/0.1 (security-team@example.com)"


def policy() -> FetchPolicy:
    # No per-host spacing: the EDGAR limiter alone must keep the pace.
    return FetchPolicy(user_agent=AGENT, allow_private=True, host_spacing=0.0, retries=0)


class RecordingLimiter(RateLimiter):
    """EDGAR's limiter on a virtual clock that records every start time it grants."""

    def __init__(self) -> None:
        self.now = 0.0

        async def sleep(seconds: float) -> None:
            self.now = max(self.now, self.now + seconds)
            await asyncio.sleep(0)

        super().__init__(EDGAR_REQUESTS_PER_SECOND, clock=lambda: self.now, sleep=sleep)
        self.slots: list[float] = []

    async def wait(self) -> float:
        slot = await super().wait()
        self.slots.append(slot)
        return slot


@pytest.fixture
def edgar_limiter(monkeypatch: pytest.MonkeyPatch) -> RecordingLimiter:
    limiter = RecordingLimiter()
    monkeypatch.setitem(ratelimit._SHARED, "sec.gov", limiter)
    return limiter


def fixed(when: datetime) -> Callable[[], datetime]:
    return lambda: when


async def test_limiter_never_lets_more_than_ten_requests_start_in_a_second() -> None:
    """Concurrent callers are given start times a tenth of a second apart."""
    now = [100.0]

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    limiter = RateLimiter(10.0, clock=lambda: now[0], sleep=sleep)
    slots = sorted(await asyncio.gather(*(limiter.wait() for _ in range(35))))
    assert slots[0] == 100.0
    assert all(b - a == pytest.approx(0.1) for a, b in itertools.pairwise(slots))
    # In any one-second window there are at most ten starts.
    assert max(sum(1 for s in slots if t <= s < t + 1.0) for t in slots) == 10


async def test_edgar_filings_declare_the_user_agent_and_resolve_tickers(
    web: LocalServer, edgar_limiter: RecordingLimiter
) -> None:
    """Watched companies by CIK and by ticker are fetched with the contact User-Agent."""
    web.serve_file(
        "/files/company_tickers.json", "sec-edgar-filings/company_tickers.json", "application/json"
    )
    for cik in ("0000732717", "0001335258"):
        web.serve_file(
            f"/submissions/CIK{cik}.json", f"sec-edgar-filings/CIK{cik}.json", "application/json"
        )
    spec = SourceSpec(
        "sec-filings",
        "sec-filings",
        web.url("/submissions/"),
        options={"tickers_url": web.url("/files/company_tickers.json")},
        subjects=(
            Subject("AT&T", cik="732717"),
            Subject("Ticketmaster", ticker="lyv"),
            Subject("Casio"),  # listed in Tokyo only: no EDGAR request at all
        ),
    )
    async with Fetcher(policy()) as fetcher:
        items = await build(spec).collect(fetcher.fetch)
    assert items is not None
    assert sorted((i.organization or "", i.published) for i in items) == [
        ("AT&T INC.", datetime(2024, 7, 12, 6, 6, 52, tzinfo=UTC)),
        ("Live Nation Entertainment, Inc.", datetime(2024, 5, 31, 21, 3, 38, tzinfo=UTC)),
    ]
    by_org = {i.organization: i for i in items}
    assert by_org["AT&T INC."].extra["subject"] == "AT&T"
    live_nation = by_org["Live Nation Entertainment, Inc."]
    assert live_nation.extra["subject"] == "Ticketmaster"
    assert live_nation.summary.endswith("is the SEC filer watched for Ticketmaster.")
    requests = web.received()
    assert sorted(r.path for r in requests) == [
        "/files/company_tickers.json",
        "/submissions/CIK0000732717.json",
        "/submissions/CIK0001335258.json",
    ]
    assert {r.headers["user-agent"] for r in requests} == {AGENT}
    assert len(edgar_limiter.slots) == len(requests)


async def test_all_edgar_sources_share_one_limit_under_ten_per_second(
    web: LocalServer, edgar_limiter: RecordingLimiter
) -> None:
    """A search and a dozen companies polled at once still start requests evenly apart."""
    web.serve_file("/LATEST/search-index", "sec-edgar-search/cyber-8k.json", "application/json")
    web.serve_file(
        "/submissions/CIK0000732717.json",
        "sec-edgar-filings/CIK0000732717.json",
        "application/json",
    )
    ciks = [str(732717 + n) for n in range(12)]  # all but the first answer 404
    filings = EdgarFilingsScraper(
        SourceSpec(
            "sec-filings",
            "sec-filings",
            web.url("/submissions/"),
            subjects=tuple(Subject(f"Company {c}", cik=c) for c in ciks),
        )
    )
    search = EdgarSearchScraper(
        SourceSpec("sec-8k", "sec-search", web.url("/LATEST/search-index?q=%22Item%201.05%22"))
    )
    search.clock = fixed(datetime(2024, 7, 31, tzinfo=UTC))
    async with Fetcher(policy()) as fetcher:

        async def tolerant(url: str, *, conditional: bool = True) -> object:
            try:
                return await fetcher.fetch(url, conditional=conditional)
            except HTTPStatusError as exc:
                assert exc.status == 404
                return None

        results = await asyncio.gather(
            filings.collect(tolerant),  # type: ignore[arg-type]
            search.collect(fetcher.fetch),
        )
    assert results[0] is not None and results[1] is not None
    assert len(web.received()) == 13
    assert len(edgar_limiter.slots) == 13
    gaps = [b - a for a, b in zip(edgar_limiter.slots, edgar_limiter.slots[1:], strict=False)]
    assert min(gaps) == pytest.approx(1 / EDGAR_REQUESTS_PER_SECOND)
    assert EDGAR_REQUESTS_PER_SECOND < 10
    search_request = web.received(path="/LATEST/search-index")[0]
    assert "startdt=2024-07-17" in search_request.path and "enddt=2024-07-31" in search_request.path


async def test_tdnet_day_without_disclosures_is_not_an_error(web: LocalServer) -> None:
    """TDnet answers 404 for a day with no list; the poll succeeds with nothing."""
    scraper = TdnetScraper(SourceSpec("tdnet", "tdnet", web.url("/inbs/")))
    scraper.clock = fixed(datetime(2024, 10, 12, 3, 0, tzinfo=UTC))  # a Saturday in Tokyo
    async with Fetcher(policy()) as fetcher:
        assert await scraper.collect(fetcher.fetch) == []
    assert [r.path for r in web.received()] == ["/inbs/I_list_001_20241012.html"]


async def test_tdnet_reads_every_page_the_pager_lists(web: LocalServer) -> None:
    """The day's second page is fetched because the first page's pager lists it."""
    for n in ("001", "002"):
        web.serve_file(
            f"/inbs/I_list_{n}_20241011.html", f"tdnet/I_list_{n}_20241011.html", "text/html"
        )
    spec = SourceSpec("tdnet", "tdnet", web.url("/inbs/"), options={"all": True})
    scraper = TdnetScraper(spec)
    scraper.clock = fixed(datetime(2024, 10, 11, 9, 0, tzinfo=UTC))  # 18:00 in Tokyo
    async with Fetcher(policy()) as fetcher:
        items = await scraper.collect(fetcher.fetch)
    assert items is not None
    assert [r.path for r in web.received()] == [
        "/inbs/I_list_001_20241011.html",
        "/inbs/I_list_002_20241011.html",
    ]
    assert len(items) == 7
    assert items[2].organization == "カシオ計算機"
    assert items[-1].organization == "三越伊勢丹ホールディングス"


async def test_tdnet_server_error_is_reported_not_swallowed(web: LocalServer) -> None:
    """Only 404 means an empty day; a 503 fails the poll so the health table shows it."""
    web.route("/inbs/I_list_001_20241011.html", Response(503, b"busy"))
    scraper = TdnetScraper(SourceSpec("tdnet", "tdnet", web.url("/inbs/")))
    scraper.clock = fixed(datetime(2024, 10, 11, 9, 0, tzinfo=UTC))
    async with Fetcher(policy()) as fetcher:
        with pytest.raises(HTTPStatusError) as caught:
            await scraper.collect(fetcher.fetch)
    assert caught.value.status == 503


async def test_tdnet_unchanged_first_page_costs_one_request(web: LocalServer) -> None:
    """With a 304 on the first page nothing else is fetched and nothing is parsed."""
    page = (FIXTURES / "tdnet/I_list_001_20241011.html").read_bytes()
    web.route(
        "/inbs/I_list_001_20241011.html",
        Response(200, page, {"ETag": '"a"', "Content-Type": "text/html"}),
        Response(304, b"", {"ETag": '"a"'}),
    )
    web.serve_file("/inbs/I_list_002_20241011.html", "tdnet/I_list_002_20241011.html", "text/html")
    scraper = TdnetScraper(SourceSpec("tdnet", "tdnet", web.url("/inbs/")))
    scraper.clock = fixed(datetime(2024, 10, 11, 9, 0, tzinfo=UTC))
    async with Fetcher(policy()) as fetcher:
        first = await scraper.collect(fetcher.fetch)
        second = await scraper.collect(fetcher.fetch)
    assert first is not None and len(first) == 1
    assert second is None
    assert [r.path for r in web.received()][-1] == "/inbs/I_list_001_20241011.html"
    assert web.received()[-1].headers["if-none-match"] == '"a"'


async def test_maine_reads_the_newest_notices_for_their_details(web: LocalServer) -> None:
    """The newest notice's page adds counts and dates; a missing page leaves its row as is."""
    base = "/agviewer/content/ag/985235c7-cb95-4be2-8792-a1252b4f8318/"
    web.serve_file(base + "list.html", "maine-ag/list.html", "text/html")
    web.serve_file(
        base + "5b0e5f3a-0c1c-4cda-9c4c-2a4bbf3e9a11.html",
        "maine-ag/notice-moneygram.html",
        "text/html",
    )
    spec = SourceSpec("maine-ag", "maine-ag", web.url(base + "list.html"), options={"details": 2})
    async with Fetcher(policy()) as fetcher:
        items = await build(spec).collect(fetcher.fetch)
    assert items is not None and len(items) == 5
    assert items[0].summary == (
        "Reported to the Maine Attorney General on 10/07/2024. persons affected: 1,204,326; "
        "Maine residents affected: 2,094; breach occurred: 09/20/2024; discovered: "
        "09/27/2024; breach: External system breach (hacking); information acquired: "
        "Social Security Number, Driver's License Number or Non-Driver Identification Card "
        "Number, Financial Account Number or Credit/Debit Card Number (in combination with "
        "security code, access code, password or PIN for the account)."
    )
    assert items[1].summary == "Reported to the Maine Attorney General on 07/29/2024."
    # Two detail pages asked for (the second answered 404), none beyond ``details``.
    assert len(web.received()) == 3
