"""A loopback web for benchmarks: many feed hosts and a webhook receiver in a child process.

Each source gets its own loopback address (127.0.x.y; Linux routes all of 127/8 to the
loopback interface), because the fetch policy limits connections per host and a thousand
sources on one host would measure that politeness, not the poller. The server runs in its
own process so its CPU is not counted against the code under test. It answers each request
after a fixed latency, honours ``If-None-Match`` with 304, publishes items on a schedule,
and records bytes, requests and webhook arrivals in shared counters.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

RSS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
    "<title>Security news {n}</title><link>https://news{n}.example/</link>"
    "<description>Security news desk {n}</description>\n"
)
ITEM = (
    "<item><title>{title}</title><link>https://news{n}.example/{slug}</link>"
    '<guid isPermaLink="false">news{n}-{slug}</guid><pubDate>{date}</pubDate>'
    "<description>{summary}</description></item>\n"
)
SUMMARY = (
    "Researchers published an analysis of the campaign and the infrastructure it used, "
    "and urged administrators to apply the vendor's patches."
)
# Word lists for synthetic company names (a watchlist of thousands of vendors).
_FIRST = (
    "Northwind Contoso Fabrikam Adatum Litware Proseware Tailspin Wingtip Woodgrove Fourth "
    "Lucerne Margie Trey Alpine Blue Coho Humongous Wide Graphic Southridge Liberty Datum "
    "Relecloud Munson Lamna Nod Best Consolidated Bellows Fincher"
).split()
_SECOND = (
    "Traders Logistics Insurance Pharma Foods Energy Robotics Analytics Payments Health "
    "Telecom Airlines Retail Mining Capital Media Software Chemicals Motors Textiles"
).split()

FILLER = [
    "Patch Tuesday fixes {k} vulnerabilities, including two zero-days",
    "Researchers detail new loader {k} used in phishing campaigns",
    "CISA adds {k} flaws to its Known Exploited Vulnerabilities catalog",
    "Browser update {k} fixes exploited memory corruption bug",
    "Open-source maintainers rotate signing keys after incident review {k}",
]


def host_for(n: int) -> str:
    """The loopback address serving source ``n`` (127.0.1.1, 127.0.1.2, ...)."""
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


@dataclass(frozen=True)
class Published:
    """An item that appears on source ``source`` at ``at`` (seconds after start)."""

    source: int
    at: float
    title: str
    slug: str


class Counters:
    """Shared between the server process and the benchmark."""

    def __init__(self) -> None:
        self.requests = mp.Value("q", 0)
        self.not_modified = mp.Value("q", 0)
        self.bytes_in = mp.Value("q", 0)
        self.bytes_out = mp.Value("q", 0)
        self.webhooks = mp.Value("q", 0)

    def snapshot(self) -> dict[str, int]:
        return {
            "requests": int(self.requests.value),
            "not_modified": int(self.not_modified.value),
            "bytes_in": int(self.bytes_in.value),
            "bytes_out": int(self.bytes_out.value),
            "webhooks": int(self.webhooks.value),
        }


class LocalWeb:
    """Start the child process; ``feed_url(n)`` and ``webhook_url`` point into it."""

    def __init__(
        self,
        sources: int,
        *,
        latency: float,
        items_per_feed: int = 20,
        schedule: list[Published] | None = None,
        port: int = 18080,
        record_polls: bool = False,
    ) -> None:
        self.sources = sources
        self.port = port
        self.counters = Counters()
        self.arrivals: Any = mp.get_context("fork").Queue()
        self._control: Any = mp.get_context("fork").Queue()
        self._ready = mp.get_context("fork").Event()
        self.start_wall = time.time()
        self._proc = mp.get_context("fork").Process(
            target=_serve,
            args=(
                _Plan(sources, latency, items_per_feed, schedule or [], port, self.counters,
                      self.arrivals, self._control, self._ready, record_polls),
            ),
            daemon=True,
        )  # fmt: skip

    def __enter__(self) -> LocalWeb:
        self._proc.start()
        if not self._ready.wait(60):
            raise RuntimeError("the local web did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        self._proc.join(10)

    def feed_url(self, n: int) -> str:
        return f"http://{host_for(n)}:{self.port}/feed/{n}"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/webhooks/1/bench-token"

    def set_start(self, wall: float) -> None:
        """Times in the schedule count from ``wall`` (time.time()); sent to the child."""
        self._control.put(("start", wall))


@dataclass
class _Plan:
    sources: int
    latency: float
    items_per_feed: int
    schedule: list[Published]
    port: int
    counters: Counters
    arrivals: Any
    control: Any
    ready: Any
    record_polls: bool


def _serve(plan: _Plan) -> None:
    asyncio.run(_main(plan))


async def _main(plan: _Plan) -> None:
    sources, latency, items_per_feed, schedule, port = (
        plan.sources, plan.latency, plan.items_per_feed, plan.schedule, plan.port,
    )  # fmt: skip
    counters, arrivals, control, ready = plan.counters, plan.arrivals, plan.control, plan.ready
    when = format_datetime(datetime(2024, 10, 8, 9, 0, tzinfo=UTC))
    base = []
    for n in range(sources):
        items = "".join(
            ITEM.format(
                n=n, title=FILLER[k % len(FILLER)].format(k=f"{n}-{k}"), slug=f"story-{k}",
                date=when, summary=SUMMARY,
            )
            for k in range(items_per_feed)
        )  # fmt: skip
        base.append(items)
    by_source: dict[int, list[Published]] = {}
    for item in schedule:
        by_source.setdefault(item.source, []).append(item)
    # Nothing scheduled is visible until the benchmark says when its clock starts.
    start = {"wall": float("inf") if schedule else time.time()}

    def feed(n: int, etag_seen: str | None) -> tuple[int, dict[str, str], bytes]:
        now = time.time() - start["wall"]
        visible = [p for p in by_source.get(n, []) if p.at <= now]
        etag = f'"feed-{n}-{len(visible)}"'
        if etag_seen == etag:
            return 304, {"ETag": etag}, b""
        fresh = "".join(
            ITEM.format(n=n, title=p.title, slug=p.slug, date=when, summary=SUMMARY)
            for p in reversed(visible)
        )
        body = (RSS_HEAD.format(n=n) + fresh + base[n] + "</channel></rss>\n").encode()
        return 200, {"ETag": etag, "Content-Type": "application/rss+xml"}, body

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _version = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
                }
                length = int(headers.get("content-length") or 0)
                body_in = await reader.readexactly(length) if length else b""
                received = time.time()
                await asyncio.sleep(latency if method == "GET" else 0)
                if method == "POST" and path.startswith("/api/webhooks/"):
                    message = json.loads(body_in)
                    embed = message["embeds"][0]
                    arrivals.put(("alert", received, embed.get("url", ""), embed.get("title", "")))
                    with counters.webhooks.get_lock():
                        counters.webhooks.value += 1
                    status, extra, body = (
                        200,
                        {"Content-Type": "application/json"},
                        json.dumps({"id": str(10**18 + counters.webhooks.value)}).encode(),
                    )
                elif path.startswith("/feed/"):
                    if plan.record_polls:
                        # The moment the answer is composed: what it shows is visible then.
                        arrivals.put(("poll", time.time(), int(path.rsplit("/", 1)[1])))
                    status, extra, body = feed(
                        int(path.rsplit("/", 1)[1]), headers.get("if-none-match")
                    )
                else:
                    status, extra, body = 404, {}, b"not found"
                reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
                out = [f"HTTP/1.1 {status} {reason}"]
                out += [f"{k}: {v}" for k, v in extra.items()]
                if status != 304:
                    out.append(f"Content-Length: {len(body)}")
                response = ("\r\n".join(out) + "\r\n\r\n").encode() + body
                writer.write(response)
                await writer.drain()
                with counters.requests.get_lock():
                    counters.requests.value += 1
                    counters.bytes_in.value += len(head) + len(body_in)
                    counters.bytes_out.value += len(response)
                    if status == 304:
                        counters.not_modified.value += 1
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    hosts = sorted({host_for(n) for n in range(sources)} | {"127.0.0.1"})
    server = await asyncio.start_server(handle, host=hosts, port=port, backlog=4096)
    ready.set()
    loop = asyncio.get_running_loop()

    def watch_control() -> None:
        # The benchmark may reset the schedule's zero once the service is up.
        while True:
            kind, *rest = control.get()
            if kind == "start":
                start["wall"] = rest[0]
            elif kind == "stop":
                loop.call_soon_threadsafe(server.close)
                return

    threading.Thread(target=watch_control, daemon=True).start()
    async with server:
        await server.serve_forever()


def company_name(k: int) -> str:
    """A distinct, plausible company name for index ``k``."""
    first = _FIRST[k % len(_FIRST)]
    second = _SECOND[(k // len(_FIRST)) % len(_SECOND)]
    batch = k // (len(_FIRST) * len(_SECOND))
    return f"{first} {second}" + (f" {batch + 1}" if batch else "")


def watchlist_toml(count: int) -> str:
    """A watchlist of ``count`` companies with an alias and a domain each."""
    parts = []
    for k in range(count):
        name = company_name(k)
        slug = name.lower().replace(" ", "")
        parts.append(
            f'[[companies]]\nname = "{name}"\naliases = ["{name} Group"]\n'
            f'domains = ["{slug}.example"]\n\n'
        )
    return "".join(parts)


def write_config(
    directory: Path, web: LocalWeb, *, every: str, watchlist: str, settings: str = ""
) -> Path:
    """A configuration directory with one RSS source per feed of ``web``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sources.toml").write_text(
        "".join(
            f'[[sources]]\nname = "news-{n:05d}"\nkind = "rss"\nurl = "{web.feed_url(n)}"\n'
            f'every = "{every}"\n\n'
            for n in range(web.sources)
        ),
        encoding="utf-8",
    )
    (directory / "watchlist.toml").write_text(watchlist, encoding="utf-8")
    (directory / "settings.toml").write_text(
        "allow_private_addresses = true\n" + settings, encoding="utf-8"
    )
    return directory
