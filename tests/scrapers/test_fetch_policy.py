"""The one fetch policy, against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from scrapers.errors import FetchError, HTTPStatusError, TooLargeError
from scrapers.http import Fetcher, FetchPolicy, parse_retry_after
from tests.support.localserver import LocalServer, Recorded, Response

FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>Casio confirms ransomware attack</title>"
    b"<link>https://www.casio.com/news/2024/10/notice</link></item></channel></rss>"
)


def local(**overrides: object) -> FetchPolicy:
    """A policy for loopback tests: private addresses allowed, short waits."""
    values: dict[str, object] = {
        "allow_private": True,
        "backoff": 0.05,
        "host_spacing": 0.0,
        "total_timeout": 20.0,
    }
    values.update(overrides)
    return FetchPolicy(**values)  # type: ignore[arg-type]


@pytest.fixture
def other_host() -> Iterator[LocalServer]:
    """A second site on another loopback address, i.e. another host."""
    server = LocalServer(host="127.0.0.2").start()
    yield server
    server.stop()


async def test_unchanged_feed_costs_a_304_and_no_body(web: LocalServer) -> None:
    """A server that says 'not modified' to our validators yields None, not a page."""

    def answer(request: Recorded) -> Response:
        if request.headers.get("if-none-match") == '"v1"':
            return Response(304)
        return Response(200, FEED, {"ETag": '"v1"', "Content-Type": "application/rss+xml"})

    web.route("/feed", answer)
    async with Fetcher(local()) as fetcher:
        first = await fetcher.fetch(web.url("/feed"))
        second = await fetcher.fetch(web.url("/feed"))
    assert first is not None and first.body == FEED
    assert second is None
    sent = web.received(path="/feed")
    assert "if-none-match" not in sent[0].headers
    assert sent[1].headers["if-none-match"] == '"v1"'


async def test_last_modified_is_sent_back_as_if_modified_since(web: LocalServer) -> None:
    """Without an ETag, Last-Modified is remembered and sent back."""
    stamp = "Tue, 08 Oct 2024 06:00:00 GMT"

    def answer(request: Recorded) -> Response:
        if request.headers.get("if-modified-since") == stamp:
            return Response(304)
        return Response(200, FEED, {"Last-Modified": stamp})

    web.route("/feed", answer)
    async with Fetcher(local()) as fetcher:
        assert await fetcher.fetch(web.url("/feed")) is not None
        assert await fetcher.fetch(web.url("/feed")) is None
        # An unconditional fetch (``sources test``) always gets the body.
        assert await fetcher.fetch(web.url("/feed"), conditional=False) is not None


def _zeros(total: int, produced: list[int]) -> Iterator[bytes]:
    block = b"\0" * 65536
    sent = 0
    while sent < total:
        sent += len(block)
        produced[0] = sent
        yield block


async def test_declared_length_over_the_cap_is_refused_unread(web: LocalServer) -> None:
    """A Content-Length over the cap is refused before the body is read."""
    produced = [0]
    size = 100 * 1024 * 1024
    web.route(
        "/big",
        Response(200, headers={"Content-Length": str(size)}, stream=lambda: _zeros(size, produced)),
    )
    async with Fetcher(local(max_bytes=1024 * 1024)) as fetcher:
        with pytest.raises(TooLargeError, match="104,857,600 bytes, over the cap"):
            await fetcher.fetch(web.url("/big"))
    # The server could only push what the socket buffers took before we hung up.
    assert produced[0] < size // 4


async def test_streamed_body_over_the_cap_stops_at_the_cap(web: LocalServer) -> None:
    """A chunked body with no declared length is cut off once it passes the cap."""
    produced = [0]
    size = 100 * 1024 * 1024
    web.route("/stream", Response(200, stream=lambda: _zeros(size, produced)))
    async with Fetcher(local(max_bytes=1024 * 1024)) as fetcher:
        with pytest.raises(TooLargeError, match="over the cap of 1,048,576 bytes"):
            await fetcher.fetch(web.url("/stream"))
    assert produced[0] < size // 4


def gzip_bomb(inflated: int) -> bytes:
    """Gzip ``inflated`` zero bytes without ever holding them."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [packer.compress(block) for _ in range(inflated // len(block))]
    parts.append(packer.flush())
    return b"".join(parts)


async def test_gzip_bomb_stops_at_the_cap_after_decompression(web: LocalServer) -> None:
    """The cap counts decompressed bytes, and inflation stops as soon as it is passed."""
    bomb = gzip_bomb(256 * 1024 * 1024)
    assert len(bomb) < 512 * 1024  # a small download...
    web.route("/bomb", Response(200, bomb, {"Content-Encoding": "gzip"}))
    async with Fetcher(local(max_bytes=2 * 1024 * 1024)) as fetcher:
        with pytest.raises(TooLargeError, match="over the cap"):
            await fetcher.fetch(web.url("/bomb"))


async def test_gzip_within_the_cap_is_decoded(web: LocalServer) -> None:
    """An ordinary gzip-encoded feed arrives decoded."""
    web.route("/feed", Response(200, gzip.compress(FEED), {"Content-Encoding": "gzip"}))
    async with Fetcher(local()) as fetcher:
        page = await fetcher.fetch(web.url("/feed"))
    assert page is not None and page.body == FEED


async def test_corrupt_gzip_is_a_clear_fetch_error(web: LocalServer) -> None:
    """A body that claims gzip but is not says so, rather than crashing the parser."""
    web.route("/feed", Response(200, b"this is not gzip", {"Content-Encoding": "gzip"}))
    async with Fetcher(local()) as fetcher:
        with pytest.raises(FetchError, match="cannot decode the body"):
            await fetcher.fetch(web.url("/feed"))


async def test_429_with_retry_after_waits_then_succeeds(web: LocalServer) -> None:
    """A 429 asking for one second is retried no sooner than that."""
    arrivals: list[float] = []
    answers = iter([Response(429, b"slow down", {"Retry-After": "1"}), Response(200, FEED)])

    def answer(_: Recorded) -> Response:
        arrivals.append(time.monotonic())
        return next(answers)

    web.route("/feed", answer)
    async with Fetcher(local()) as fetcher:
        page = await fetcher.fetch(web.url("/feed"))
    assert page is not None and page.body == FEED
    assert len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= 0.95


async def test_long_retry_after_is_left_to_the_scheduler(web: LocalServer) -> None:
    """A 503 asking for an hour is not waited out inline: it fails at once with the delay."""
    web.route("/feed", Response(503, b"maintenance", {"Retry-After": "3600"}))
    async with Fetcher(local()) as fetcher:
        with pytest.raises(HTTPStatusError) as caught:
            await fetcher.fetch(web.url("/feed"))
    assert caught.value.status == 503
    assert caught.value.retry_after == 3600
    assert len(web.received(path="/feed")) == 1


async def test_transient_errors_are_retried_with_backoff(web: LocalServer) -> None:
    """Two 502s then a 200: the fetch succeeds on the third request."""
    web.route("/feed", Response(502), Response(502), Response(200, FEED))
    async with Fetcher(local(retries=2)) as fetcher:
        page = await fetcher.fetch(web.url("/feed"))
    assert page is not None
    assert len(web.received(path="/feed")) == 3


async def test_permanent_errors_are_not_retried(web: LocalServer) -> None:
    """A 404 is the answer; asking again would not change it."""
    web.route("/gone", Response(404))
    async with Fetcher(local(retries=3)) as fetcher:
        with pytest.raises(HTTPStatusError, match="HTTP 404"):
            await fetcher.fetch(web.url("/gone"))
    assert len(web.received(path="/gone")) == 1


async def test_refused_connection_is_retried_then_reported() -> None:
    """A host that refuses connections gives a FetchError naming the failure."""
    server = LocalServer().start()
    url = server.url("/feed")
    server.stop()  # nothing listens there any more
    async with Fetcher(local(retries=2)) as fetcher:
        with pytest.raises(FetchError, match="ConnectError"):
            await fetcher.fetch(url)


def test_backoff_doubles_with_up_to_half_again_of_jitter() -> None:
    """Backoff grows 1, 2, 4 times the base, each plus a random jitter of up to half."""
    fetcher_policy = FetchPolicy(backoff=1.0)
    fetcher = Fetcher.__new__(Fetcher)
    fetcher.policy = fetcher_policy
    for attempt, base in enumerate((1.0, 2.0, 4.0)):
        samples = [fetcher._backoff(attempt) for _ in range(200)]
        assert all(base <= s <= base * 1.5 for s in samples)
        assert len(set(samples)) > 1  # jittered, so retries from many hosts spread out


def test_retry_after_reads_seconds_and_http_dates() -> None:
    """Both forms of Retry-After give seconds; nonsense gives None."""
    assert parse_retry_after("120") == 120
    now = 1_728_367_200.0  # 2024-10-08 06:00:00 UTC
    assert parse_retry_after("Tue, 08 Oct 2024 06:01:00 GMT", now=now) == 60
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


async def test_at_most_the_per_host_limit_of_connections_at_once(web: LocalServer) -> None:
    """Eight fetches to one host never have more than two requests in flight there."""
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def answer(_: Recorded) -> Response:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.1)
        with lock:
            state["now"] -= 1
        return Response(200, FEED)

    web.route("/feed", answer)
    async with Fetcher(local(per_host_connections=2)) as fetcher:
        pages = await asyncio.gather(
            *(fetcher.fetch(web.url("/feed"), conditional=False) for _ in range(8))
        )
    assert all(p is not None for p in pages)
    assert state["peak"] == 2


async def test_requests_to_one_host_are_spaced(web: LocalServer) -> None:
    """Requests to one host start at least the configured spacing apart."""
    arrivals: list[float] = []

    def answer(_: Recorded) -> Response:
        arrivals.append(time.monotonic())
        return Response(200, FEED)

    web.route("/feed", answer)
    async with Fetcher(local(host_spacing=0.2)) as fetcher:
        await asyncio.gather(
            *(fetcher.fetch(web.url("/feed"), conditional=False) for _ in range(4))
        )
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(gaps) == 3
    # Loopback latency differs by far less than the 50 ms of slack allowed here.
    assert min(gaps) >= 0.15


async def test_a_hanging_host_does_not_delay_another(
    web: LocalServer, other_host: LocalServer
) -> None:
    """While one host hangs, fetches from another host all complete."""
    release = threading.Event()

    def hang(_: Recorded) -> Response:
        release.wait(30)
        return Response(200, FEED)

    web.route("/feed", hang)
    other_host.route("/feed", Response(200, FEED))
    try:
        async with Fetcher(local(per_host_connections=1, read_timeout=30)) as fetcher:
            hanging = [
                asyncio.create_task(fetcher.fetch(web.url("/feed"), conditional=False))
                for _ in range(3)
            ]
            pages = await asyncio.gather(
                *(fetcher.fetch(other_host.url("/feed"), conditional=False) for _ in range(5))
            )
            assert all(p is not None and p.body == FEED for p in pages)
            assert not any(task.done() for task in hanging)
            release.set()
            done = await asyncio.gather(*hanging)
            assert all(p is not None for p in done)
    finally:
        release.set()


async def test_a_dripping_body_hits_the_total_deadline(web: LocalServer) -> None:
    """One byte a second never times out a read, so a total deadline ends it."""
    web.route("/drip", Response(200, FEED, drip=1.0))
    async with Fetcher(local(total_timeout=1.5, read_timeout=5.0)) as fetcher:
        with pytest.raises(FetchError, match=r"timed out after 1\.5s"):
            await fetcher.fetch(web.url("/drip"))


async def test_the_deadline_covers_the_whole_fetch_and_says_what_it_waited_for(
    web: LocalServer,
) -> None:
    """A body dripping for 40 s ends at the 1.5 s deadline (a ratio, not a tight bound),
    and the error tells a drip from silence."""
    web.route("/drip", Response(200, FEED[:40], drip=1.0))
    web.route("/silent", Response(200, FEED, delay=30.0))
    async with Fetcher(local(total_timeout=1.5, read_timeout=5.0)) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as dripping:
            await fetcher.fetch(web.url("/drip"))
        took = time.monotonic() - started
        with pytest.raises(FetchError) as silent:
            await fetcher.fetch(web.url("/silent"))
    print(f"a 40 s drip held the fetch {took:.2f}s, {took / 1.5:.2f}x the deadline")
    assert 1.0 <= took / 1.5 < 3, took  # the drip alone would take 40 s: 26x
    assert "the server was still sending (" in str(dripping.value)
    assert "bytes received)" in str(dripping.value)
    assert "waiting for an answer" in str(silent.value)


async def test_redirects_count_against_the_same_deadline(web: LocalServer) -> None:
    """Each hop answers within the read timeout, but together they pass the deadline."""
    for hop in range(5):
        web.route(f"/hop{hop}", Response(302, headers={"Location": f"/hop{hop + 1}"}, delay=0.6))
    web.route("/hop5", Response(200, FEED))
    async with Fetcher(local(total_timeout=1.5, read_timeout=5.0)) as fetcher:
        with pytest.raises(FetchError, match=r"timed out after 1\.5s.*after [23] requests"):
            await fetcher.fetch(web.url("/hop0"))
    assert len(web.received()) < 6


async def test_a_retry_that_cannot_fit_in_the_deadline_reports_the_answer_at_once(
    web: LocalServer,
) -> None:
    """A 503 asking for 5 s when 2 s remain: the 503 is the error, given without waiting."""
    web.route("/busy", Response(503, b"busy", {"Retry-After": "5"}))
    async with Fetcher(local(total_timeout=2.0, retries=2)) as fetcher:
        started = time.monotonic()
        with pytest.raises(HTTPStatusError) as err:
            await fetcher.fetch(web.url("/busy"))
        took = time.monotonic() - started
    assert err.value.status == 503
    assert took < 1.5, took  # well under the deadline: it never slept towards the retry
    assert len(web.received()) == 1


async def test_redirect_loop_is_cut_off(web: LocalServer) -> None:
    """Two pages redirecting to each other end in a clear error after a few hops."""
    web.route("/a", Response(302, headers={"Location": "/b"}))
    web.route("/b", Response(302, headers={"Location": "/a"}))
    async with Fetcher(local()) as fetcher:
        with pytest.raises(FetchError, match="more than 5 redirects"):
            await fetcher.fetch(web.url("/a"))
    assert len(web.received()) == 6


async def test_redirect_is_followed_to_the_page(web: LocalServer) -> None:
    """A moved feed is followed and the page keeps its final URL."""
    web.route("/old", Response(301, headers={"Location": "/new"}))
    web.route("/new", Response(200, FEED))
    async with Fetcher(local()) as fetcher:
        page = await fetcher.fetch(web.url("/old"))
    assert page is not None and page.url == web.url("/new")


async def test_user_agent_comes_from_the_policy(web: LocalServer) -> None:
    """Every request carries the operator's descriptive User-Agent."""
    web.route("/feed", Response(200, FEED))
    agent = "BreachRadar/0.1 (security@example.org)"
    async with Fetcher(local(user_agent=agent)) as fetcher:
        await fetcher.fetch(web.url("/feed"))
    assert web.received(path="/feed")[0].headers["user-agent"] == agent
