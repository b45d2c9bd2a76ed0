"""Hostile sources: each is bounded, marked unhealthy with a reason, and harms no other."""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.service.pipeline import Pipeline
from bot.store import Store
from scrapers.base import Page
from scrapers.html import MAX_ITEMS
from scrapers.http import Fetcher, FetchPolicy
from tests.support.localserver import FIXTURES, LocalServer, Recorded, Response
from tests.support.scenario import load, rss_source, write_config

MB = 1024 * 1024
CAP = 8 * MB
RSS = "application/rss+xml; charset=UTF-8"


def zeros(total: int) -> Iterator[bytes]:
    block = b"\0" * 65536
    for _ in range(total // len(block)):
        yield block


def gzip_bomb(inflated: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * MB
    return b"".join([*(packer.compress(block) for _ in range(inflated // MB)), packer.flush()])


def press_page(items: int) -> bytes:
    """A press-release list in the layout of Casio's, with ``items`` entries."""
    rows = "".join(f'<li><a href="/release/{i}/">Casio notice {i}</a></li>\n' for i in range(items))
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="UTF-8"><title>News</title>'
        f'</head><body><ul class="list-release">\n{rows}</ul></body></html>'
    ).encode()


def policy(**overrides: object) -> FetchPolicy:
    values: dict[str, object] = {
        "max_bytes": CAP,
        "total_timeout": 5.0,
        "read_timeout": 5.0,
        "retries": 1,
        "backoff": 0.05,
        "host_spacing": 0.0,
        "per_host_connections": 8,
    }
    values.update(overrides)
    return FetchPolicy(**values)  # type: ignore[arg-type]


HOSTILE = {
    # name: (path, expected reason in the health record)
    "body-100mb": ("/big", "over the cap of 8,388,608 bytes"),
    "gzip-bomb": ("/bomb", "over the cap of 8,388,608 bytes"),
    "drip": ("/drip", "timed out after 5s"),
    "redirect-loop": ("/loop-a", "more than 5 redirects"),
    "challenge-page": ("/challenge", "not a readable feed"),
    "declared-100mb": ("/declared", "104,857,600 bytes, over the cap"),
}


async def test_hostile_sources_are_bounded_and_marked_unhealthy(
    web: LocalServer, store: Store, tmp_path: Path
) -> None:
    """Six hostile sources fail with clear reasons; memory stays bounded; others unharmed."""
    web.serve_file("/feed", "hostile/bleepingcomputer-casio.xml", RSS)
    web.route("/big", Response(200, headers={"Content-Type": RSS}, stream=lambda: zeros(100 * MB)))
    web.route(
        "/declared",
        Response(
            200,
            headers={"Content-Type": RSS, "Content-Length": str(100 * MB)},
            stream=lambda: zeros(100 * MB),
        ),
    )
    bomb = gzip_bomb(512 * MB)
    web.route("/bomb", Response(200, bomb, {"Content-Type": RSS, "Content-Encoding": "gzip"}))
    web.route("/drip", Response(200, b"<?xml version='1.0'?><rss>" * 20, drip=1.0))
    web.route("/loop-a", Response(302, headers={"Location": "/loop-b"}))
    web.route("/loop-b", Response(301, headers={"Location": "/loop-a"}))
    web.serve_file("/challenge", "hostile/challenge-page-instead-of-feed.html", "text/html")
    web.route("/press", Response(200, press_page(100_000), {"Content-Type": "text/html"}))
    sources = rss_source("bleepingcomputer", web.url("/feed"))
    for name, (path, _) in HOSTILE.items():
        sources += rss_source(name, web.url(path))
    sources += (
        "[[sources]]\n"
        'name = "huge-press-page"\n'
        'kind = "html"\n'
        f'url = "{web.url("/press")}"\n'
        "allow_private = true\n"
        'item = "ul.list-release li"\n'
        'title = "a"\n'
    )
    config = load(
        write_config(tmp_path / "config", sources=sources, settings='max_alert_age = "none"\n'),
        "unused",
    )
    async with Fetcher(policy()) as fetcher:
        pipeline = Pipeline(config, store, fetcher)
        tracemalloc.start()
        try:
            report = await pipeline.run_pass(config.enabled_sources)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    print(f"hostile pass: peak traced memory {peak / MB:.1f} MB")
    results = {r.name: r for r in report.results}
    health = await store.source_health()
    for name, (_, reason) in HOSTILE.items():
        assert not results[name].ok, name
        assert reason in (results[name].error or ""), (name, results[name].error)
        assert health[name].consecutive_failures == 1
        assert reason in (health[name].last_error or "")
        assert health[name].next_poll_at is not None
    healthy = results["bleepingcomputer"]
    assert healthy.ok and healthy.items == 2
    assert [f.match.company.name for f in healthy.found] == ["Casio"]
    assert health["bleepingcomputer"].consecutive_failures == 0
    press = results["huge-press-page"]
    assert press.ok and press.items == MAX_ITEMS
    # Well over 600 MB was offered (100 + 100 MB bodies, a 512 MB bomb, 5 MB of items);
    # what was held at once stays a small multiple of the 8 MB cap.
    assert peak < 10 * CAP, f"peak traced memory {peak / MB:.1f} MB"


async def test_wrong_and_missing_charsets_still_read_correctly(
    web: LocalServer, store: Store, tmp_path: Path
) -> None:
    """A header charset that lies, or none at all, does not garble or lose the items."""
    web.serve_file(
        "/uk",
        "hostile/windows-1252-declared.xml",
        "text/xml; charset=utf-8",  # wrong: the body is windows-1252, as it declares
    )
    web.serve_file("/ja", "hostile/shift-jis-declared.xml", "application/rss+xml")  # none
    sources = rss_source("uk-retail", web.url("/uk")) + rss_source("kadokawa", web.url("/ja"))
    config = load(
        write_config(tmp_path / "config", sources=sources, settings='max_alert_age = "none"\n'),
        "unused",
    )
    async with Fetcher(policy()) as fetcher:
        report = await Pipeline(config, store, fetcher).run_pass(config.enabled_sources)
    found = {f.disclosure.source: f for f in report.found}
    assert all(r.ok for r in report.results)
    assert found["uk-retail"].disclosure.title == (
        "M&S confirms customer data taken in cyber attack \u2013 \u2018we\u2019re sorry\u2019"
    )
    assert found["uk-retail"].match.company.name == "Marks & Spencer"
    assert found["kadokawa"].disclosure.title.startswith("ランサムウェアを含む大規模なサイバー攻撃")
    assert found["kadokawa"].match.company.name == "KADOKAWA"


async def test_a_truncated_feed_keeps_its_complete_items(
    web: LocalServer, store: Store, tmp_path: Path
) -> None:
    """A body cut off mid-item still yields the items before the cut."""
    web.serve_file("/feed", "hostile/truncated-feed.xml", RSS)
    config = load(
        write_config(
            tmp_path / "config",
            sources=rss_source("bleepingcomputer", web.url("/feed")),
            settings='max_alert_age = "none"\n',
        ),
        "unused",
    )
    async with Fetcher(policy()) as fetcher:
        result = await Pipeline(config, store, fetcher).poll(config.enabled_sources[0])
    assert result.ok and result.items == 1
    assert result.found[0].disclosure.title.startswith("Casio confirms")


async def test_a_feed_reissuing_items_under_new_guids_alerts_once(
    web: LocalServer, store: Store, tmp_path: Path
) -> None:
    """New GUIDs (and tracking parameters) on every rebuild do not make new alerts."""
    template = (FIXTURES / "hostile/bleepingcomputer-casio.xml").read_bytes()
    polls = [0]

    def rebuilt(_: Recorded) -> Response:
        polls[0] += 1
        body = template.replace(
            b'<guid isPermaLink="false">https://www.bleepingcomputer.com/news/',
            f'<guid isPermaLink="false">urn:rebuild-{polls[0]}:'.encode(),
        ).replace(
            b"ransomware-attack/</link>",
            f"ransomware-attack/?utm_source=rss&amp;utm_campaign=build{polls[0]}</link>".encode(),
        )
        return Response(200, body, {"Content-Type": RSS})

    web.route("/feed", rebuilt)
    settings = (
        'max_alert_age = "none"\n'
        "[[webhooks]]\n"
        'url = "https://discord.com/api/webhooks/1/token"\n'
        'name = "security"\n'
    )
    config = load(
        write_config(
            tmp_path / "config",
            sources=rss_source("bleepingcomputer", web.url("/feed")),
            settings=settings,
        ),
        "unused",
    )
    spec = config.enabled_sources[0]
    async with Fetcher(policy()) as fetcher:
        pipeline = Pipeline(config, store, fetcher)
        results = [await pipeline.poll(spec) for _ in range(4)]
    assert polls[0] == 4
    assert [r.items for r in results] == [2, 2, 2, 2]
    assert [r.new for r in results] == [2, 0, 0, 0]
    assert [len(r.found) for r in results] == [1, 0, 0, 0]
    assert await store.delivery_counts() == {"pending": 1}


async def test_a_long_retry_after_sets_the_next_poll(
    web: LocalServer, store: Store, tmp_path: Path
) -> None:
    """A 503 asking for two hours is honoured by the schedule, not waited out inline."""
    web.route("/feed", Response(503, b"maintenance", {"Retry-After": "7200"}))
    config = load(
        write_config(
            tmp_path / "config", sources=rss_source("securityweek", web.url("/feed"), "10m")
        ),
        "unused",
    )
    now = datetime(2024, 10, 11, 12, 0, tzinfo=UTC)
    async with Fetcher(policy()) as fetcher:
        pipeline = Pipeline(config, store, fetcher, clock=lambda: now)
        result = await pipeline.poll(config.enabled_sources[0])
    assert not result.ok and "HTTP 503" in (result.error or "")
    health = (await store.source_health())["securityweek"]
    assert health.next_poll_at is not None
    assert health.next_poll_at >= now + timedelta(hours=2)
    assert len(web.received(path="/feed")) == 1


async def test_a_source_down_for_hours_backs_off_and_recovers(
    web: LocalServer, store: Store, tmp_path: Path
) -> None:
    """Failures double the wait up to a cap; the first success resets it."""
    web.route("/feed", *([Response(500)] * 12), Response(200, b"", {}))
    web.serve_file("/feed-ok", "hostile/bleepingcomputer-casio.xml", RSS)
    config = load(
        write_config(
            tmp_path / "config", sources=rss_source("the-record", web.url("/feed"), "10m")
        ),
        "unused",
    )
    spec = config.enabled_sources[0]
    now = [datetime(2024, 10, 11, 0, 0, tzinfo=UTC)]
    waits: list[timedelta] = []
    async with Fetcher(policy(retries=0)) as fetcher:
        pipeline = Pipeline(config, store, fetcher, clock=lambda: now[0])
        for _ in range(10):
            result = await pipeline.poll(spec)
            assert not result.ok
            due = (await store.source_health())["the-record"].next_poll_at
            assert due is not None
            waits.append(due - now[0])
            now[0] = due  # the scheduler polls again when due
        health = (await store.source_health())["the-record"]
        assert health.consecutive_failures == 10
        assert health.last_error == f"HTTP 500 from {web.url('/feed')}"
        # The source comes back.
        web.route(
            "/feed",
            lambda _: Response(
                200,
                (FIXTURES / "hostile/bleepingcomputer-casio.xml").read_bytes(),
                {"Content-Type": RSS},
            ),
        )
        result = await pipeline.poll(spec)
    assert result.ok and result.items == 2
    assert waits[:5] == [timedelta(minutes=20 * 2**i) for i in range(5)]
    assert max(waits) == timedelta(hours=6)
    assert waits[-1] == timedelta(hours=6)
    health = (await store.source_health())["the-record"]
    assert health.consecutive_failures == 0
    assert health.next_poll_at == now[0] + timedelta(minutes=10)


async def test_an_interrupted_poll_is_finished_by_the_next(
    web: LocalServer, store: Store, tmp_path: Path
) -> None:
    """Items stored by a poll that died before queueing alerts are matched next time."""
    web.serve_file("/feed", "hostile/bleepingcomputer-casio.xml", RSS)
    settings = (
        'max_alert_age = "none"\n[[webhooks]]\nurl = "https://discord.com/api/webhooks/1/token"\n'
    )
    config = load(
        write_config(
            tmp_path / "config",
            sources=rss_source("bleepingcomputer", web.url("/feed")),
            settings=settings,
        ),
        "unused",
    )
    spec = config.enabled_sources[0]
    async with Fetcher(policy()) as fetcher:
        page = await fetcher.fetch(spec.url, allow_private=True)
        assert page is not None
        from scrapers.registry import build

        # What a poll killed right after storing its items leaves behind.
        stored = await store.add_disclosures(build(spec).parse(page), hold=True)
        assert len(stored) == 2
        result = await Pipeline(config, store, fetcher).poll(spec)
        again = await Pipeline(config, store, fetcher).poll(spec)
    assert result.new == 2
    assert [f.match.company.name for f in result.found] == ["Casio"]
    assert result.found[0].new_incident
    assert again.new == 0 and not again.found
    assert await store.delivery_counts() == {"pending": 1}


async def test_an_interrupted_poll_then_a_reissue_still_alerts(
    web: LocalServer, store: Store, tmp_path: Path
) -> None:
    """Items held by a dead poll do not count as announced when the feed reissues them."""
    original = (FIXTURES / "hostile/bleepingcomputer-casio.xml").read_bytes()
    reissued = original.replace(
        b'<guid isPermaLink="false">https://www.bleepingcomputer.com/news/',
        b'<guid isPermaLink="false">urn:rebuild-2:',
    )
    web.route("/feed", Response(200, reissued, {"Content-Type": RSS}))
    config = load(
        write_config(
            tmp_path / "config",
            sources=rss_source("bleepingcomputer", web.url("/feed")),
            settings='max_alert_age = "none"\n',
        ),
        "unused",
    )
    spec = config.enabled_sources[0]
    from scrapers.registry import build

    # The first build of the feed was stored by a poll that died before queueing.
    await store.add_disclosures(build(spec).parse(Page(spec.url, original, RSS)), hold=True)
    async with Fetcher(policy()) as fetcher:
        result = await Pipeline(config, store, fetcher).poll(spec)
    assert [f.match.company.name for f in result.found] == ["Casio"]
