"""The bundled source catalog on loopback: each host its own address, latency and pages.

Every enabled source of ``config/sources.toml`` is served from a loopback address of its
own (so per-host politeness applies per host, as on the web) with the recorded page of a
source of its kind from ``tests/fixtures``. The news search host answers each query with
a Google News-shaped feed about the companies the query names: now and then a breach
report about one of them, and ordinary headlines that share words with common names. It
also models a host that blocks bursts: past ``search_limit`` requests in any
``search_window`` seconds it answers its "unusual traffic" page instead of results.

The server runs in a child process, so its CPU is not counted against the service.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import random
import re
import time
import tomllib
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SEARCH = "search"
_QUOTED = re.compile(r'"([^"]+)"')
_TERMS = {"data leak"}
# Ordinary news a search for common names also finds ("Target", "Block", "Shell", "Box").
NOISE = [
    "Ransomware gangs target hospitals with new extortion tactics",
    "Police block access to phishing sites after data leak warning",
    "Shell companies used to launder ransomware payments, report finds",
    "How a hacked smart box exposed a home network",
    "Cyberattack on regional water utility disrupts billing",
]
BREACH = [
    "{name} confirms cyberattack, investigates data breach",
    "{name} says hackers stole customer data in ransomware attack",
    "{name} discloses data breach after unauthorized access to its systems",
]
OUTLETS = ["Reuters", "BleepingComputer", "The Record from Recorded Future News", "SecurityWeek"]


def address(n: int) -> str:
    """The loopback address of host ``n`` (127.0.7.1, 127.0.7.2, ...)."""
    return f"127.0.{7 + n // 250}.{1 + n % 250}"


@dataclass(frozen=True)
class Host:
    """One host of the catalog: what it serves and how slowly."""

    source: str  # the catalog source it serves, or SEARCH
    latency: float
    status: int = 200
    content_type: str = "application/xml"
    body: bytes = b""


def fixture_for(name: str, kind: str) -> tuple[str, bytes]:
    """A recorded page for source ``name``: its own if recorded, else one of its kind."""
    cases = []
    for path in sorted(FIXTURES.glob("*/*.toml")):
        data = tomllib.loads(path.read_text("utf-8"))
        if data.get("kind") == kind and "error" not in data:
            cases.append((path.parent.name != name, path, data))
    if not cases:
        raise LookupError(f"no recorded page of kind {kind}")
    _, path, data = min(cases, key=lambda c: (c[0], str(c[1])))
    content_type = data.get("content_type", "application/xml")
    if data.get("encoding"):
        content_type += f"; charset={data['encoding']}"
    return content_type, path.with_name(data["body"]).read_bytes()


def search_feed(query: str, rng: random.Random, breach_share: float) -> bytes:
    """A Google News answer to ``query``: its names now and then in a breach report."""
    names = [n for n in _QUOTED.findall(query) if n not in _TERMS]
    now = datetime.now(UTC)
    stamp = format_datetime(now, usegmt=True)
    items: list[tuple[str, str]] = []
    if names and rng.random() < breach_share:
        name = rng.choice(names)
        items.append((rng.choice(BREACH).format(name=name), rng.choice(OUTLETS)))
    for headline in rng.sample(NOISE, rng.randint(0, 3)):
        items.append((headline, rng.choice(OUTLETS)))
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss version="2.0" '
        'xmlns:media="http://search.yahoo.com/mrss/"><channel><generator>NFE/5.0</generator>'
        f"<title>{_xml(json.dumps(query, ensure_ascii=False))} - Google News</title>"
        f"<link>https://news.google.com/search?q={quote_plus(query)}&amp;hl=en-US&amp;gl=US"
        "&amp;ceid=US:en</link><language>en-US</language>"
        f"<webMaster>news-webmaster@google.com</webMaster><lastBuildDate>{stamp}"
        "</lastBuildDate><description>Google News</description>"
    ]
    for headline, outlet in items:
        article = f"CBMi{rng.getrandbits(160):040x}"
        link = f"https://news.google.com/rss/articles/{article}?oc=5"
        out.append(
            f"<item><title>{_xml(headline)} - {outlet}</title><link>{link}</link>"
            f'<guid isPermaLink="false">{article}</guid><pubDate>{stamp}</pubDate>'
            f'<description>{_xml(headline)}</description><source url="https://news.example">'
            f"{outlet}</source></item>"
        )
    out.append("</channel></rss>")
    return "".join(out).encode()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


BLOCK_PAGE = (FIXTURES / "google-news-moneygram" / "unusual-traffic.html").read_bytes()


class Counters:
    """Shared between the server process and the benchmark."""

    def __init__(self) -> None:
        self.requests = mp.Value("q", 0)
        self.search_requests = mp.Value("q", 0)
        self.blocked = mp.Value("q", 0)
        self.first_request = mp.Value("d", 0.0)  # time.time() of the first request


class CatalogWeb:
    """Start the child process serving ``hosts`` (index -> Host) on ``port``."""

    def __init__(
        self,
        hosts: dict[int, Host],
        *,
        port: int,
        search_limit: int,
        search_window: float,
        breach_share: float = 0.05,
    ) -> None:
        self.hosts = hosts
        self.port = port
        self.counters = Counters()
        context = mp.get_context("fork")
        self.events: Any = context.Queue()  # ("search", t, names) and ("page", t, source)
        self._ready = context.Event()
        plan = _Plan(hosts, port, search_limit, search_window, breach_share, self.counters,
                     self.events, self._ready)  # fmt: skip
        self._proc = context.Process(target=_serve, args=(plan,), daemon=True)

    def __enter__(self) -> CatalogWeb:
        self._proc.start()
        if not self._ready.wait(60):
            raise RuntimeError("the catalog web did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        self._proc.join(10)

    def base(self, n: int) -> str:
        return f"http://{address(n)}:{self.port}"

    def drain(self) -> list[tuple[Any, ...]]:
        found = []
        while True:
            try:
                found.append(self.events.get_nowait())
            except Exception:
                return found


@dataclass
class _Plan:
    hosts: dict[int, Host]
    port: int
    search_limit: int
    search_window: float
    breach_share: float
    counters: Counters
    events: Any
    ready: Any


def _serve(plan: _Plan) -> None:
    asyncio.run(_main(plan))


async def _main(plan: _Plan) -> None:
    hosts, port, counters, events = plan.hosts, plan.port, plan.counters, plan.events
    search_limit, search_window, breach_share = (
        plan.search_limit, plan.search_window, plan.breach_share,
    )  # fmt: skip
    by_address = {address(n): host for n, host in hosts.items()}
    rng = random.Random(23)
    recent: deque[float] = deque()

    def answer(host: Host, target: str) -> tuple[int, str, bytes]:
        if host.source != SEARCH:
            events.put(("page", time.time(), host.source))
            return host.status, host.content_type, host.body
        now = time.time()
        while recent and now - recent[0] > search_window:
            recent.popleft()
        recent.append(now)
        with counters.search_requests.get_lock():
            counters.search_requests.value += 1
        query = parse_qs(urlsplit(target).query).get("q", [""])[0]
        names = [n for n in _QUOTED.findall(query) if n not in _TERMS]
        if len(recent) > search_limit:
            with counters.blocked.get_lock():
                counters.blocked.value += 1
            events.put(("blocked", now, len(names)))
            return 200, "text/html; charset=UTF-8", BLOCK_PAGE
        events.put(("search", now, len(names)))
        return 200, "application/xml; charset=UTF-8", search_feed(query, rng, breach_share)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        local = writer.get_extra_info("sockname")[0]
        host = by_address.get(local)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                _method, target, _version = line.split(" ", 2)
                with counters.requests.get_lock():
                    if counters.requests.value == 0:
                        counters.first_request.value = time.time()
                    counters.requests.value += 1
                if host is None:
                    status, kind, body = 404, "text/plain", b"not found"
                else:
                    await asyncio.sleep(host.latency)
                    status, kind, body = answer(host, target)
                reason = {200: "OK", 404: "Not Found"}.get(status, "OK")
                writer.write(
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host=sorted(by_address), port=port, backlog=1024)
    plan.ready.set()
    async with server:
        await server.serve_forever()


def catalog_hosts(entries: list[dict[str, Any]], seed: int = 5) -> dict[int, Host]:
    """A host for each enabled entry: the search host first, latencies of real sites."""
    rng = random.Random(seed)
    hosts: dict[int, Host] = {}
    for n, entry in enumerate(entries):
        if entry["kind"] == "news-search":
            hosts[n] = Host(SEARCH, latency=0.3)
            continue
        content_type, body = fixture_for(entry["name"], entry["kind"])
        hosts[n] = Host(entry["name"], rng.uniform(0.1, 0.4), 200, content_type, body)
    return hosts
