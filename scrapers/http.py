"""The one fetch policy every source uses.

A shared httpx client; connect/read timeouts and a total deadline; a descriptive
User-Agent; conditional GET; a size cap enforced while streaming (after decompression, so
a gzip bomb stops at the cap); at most a few connections and a minimum spacing per host;
retries with backoff and jitter for transient errors, honouring ``Retry-After``; and a
guard that refuses private addresses unless the operator opted in, checked at every
redirect against the address actually connected to.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
import zlib
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from scrapers.base import Page
from scrapers.errors import BlockedAddressError, FetchError, HTTPStatusError, TooLargeError
from scrapers.netguard import Resolver, check_url_shape, resolve_public
from scrapers.transport import OriginPools

DEFAULT_USER_AGENT = "BreachRadar/0.1 (+https://github.com/breachradar/breachradar)"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_REDIRECTS = 5


@dataclass(slots=True)
class Validators:
    """What a server told us last time, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Limits applied to every fetch."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    per_host_connections: int = 2
    host_spacing: float = 0.25  # seconds between two requests to one host
    retries: int = 2
    backoff: float = 1.0
    max_retry_after: float = 60.0  # a longer wait is left to the scheduler
    allow_private: bool = False


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(slots=True)
class _Progress:
    """How far one fetch got, to say why it timed out."""

    requests: int = 0
    answered: bool = False  # the current response's headers arrived
    received: int = 0  # bytes of the current response's body so far

    def describe(self) -> str:
        if not self.requests:
            return "waiting for a free connection to the host"
        if not self.answered:
            what = "waiting for an answer"
        elif self.received:
            what = f"the server was still sending ({self.received:,} bytes received)"
        else:
            what = "the server answered but sent no body"
        if self.requests > 1:
            what += f", after {self.requests} requests"
        return what


class _HostGate:
    """Per-host connection limit and spacing."""

    def __init__(self, connections: int, spacing: float) -> None:
        self._sem = asyncio.Semaphore(connections)
        self._spacing = spacing
        self._lock = asyncio.Lock()
        self._next = 0.0

    async def __aenter__(self) -> None:
        await self._sem.acquire()
        try:
            async with self._lock:
                wait = self._next - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._next = time.monotonic() + self._spacing
        except BaseException:
            self._sem.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._sem.release()


class Fetcher:
    """Fetch pages under one :class:`FetchPolicy` with one shared client."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        validators: MutableMapping[str, Validators] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        resolve: Resolver | None = None,
    ) -> None:
        self.policy = policy or FetchPolicy()
        # How host names become addresses for the private-network guard (None: the system's).
        self._resolve = resolve
        # Keyed by URL; the caller may pass a mapping it persists between runs.
        self.validators: MutableMapping[str, Validators] = {} if validators is None else validators
        self._gates: dict[str, _HostGate] = {}
        self._client = httpx.AsyncClient(
            transport=transport
            or OriginPools(connections_per_origin=self.policy.per_host_connections),
            follow_redirects=False,
            timeout=httpx.Timeout(
                self.policy.read_timeout, connect=self.policy.connect_timeout, pool=None
            ),
            headers={
                "User-Agent": self.policy.user_agent,
                "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                "text/html;q=0.9, application/json;q=0.9, */*;q=0.5",
                # Decoded here, not by httpx, so the size cap holds after decompression.
                "Accept-Encoding": "gzip, deflate",
            },
        )
        self.requests_sent = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def fetch(
        self, url: str, *, conditional: bool = True, allow_private: bool | None = None
    ) -> Page | None:
        """Fetch ``url``; return ``None`` if the server says it has not changed (304)."""
        private_ok = self.policy.allow_private if allow_private is None else allow_private
        progress = _Progress()
        # One deadline for the whole fetch, redirects and retries included: a host that
        # answers a byte at a time never trips a read timeout, but it does trip this.
        deadline = asyncio.get_running_loop().time() + self.policy.total_timeout
        try:
            async with asyncio.timeout_at(deadline):
                return await self._fetch_with_retries(
                    url, conditional, private_ok, progress, deadline
                )
        except TimeoutError:
            raise FetchError(
                f"timed out after {self.policy.total_timeout:g}s for the whole fetch "
                f"({progress.describe()}): {url}"
            ) from None

    async def _fetch_with_retries(
        self, url: str, conditional: bool, private_ok: bool, progress: _Progress, deadline: float
    ) -> Page | None:
        attempt = 0
        while True:
            try:
                return await self._fetch_following(url, conditional, private_ok, progress)
            except HTTPStatusError as exc:
                if exc.status not in _RETRY_STATUSES or attempt >= self.policy.retries:
                    raise
                if exc.retry_after is not None and exc.retry_after > self.policy.max_retry_after:
                    raise
                delay = exc.retry_after if exc.retry_after is not None else self._backoff(attempt)
                if asyncio.get_running_loop().time() + delay >= deadline:
                    raise  # the retry would not fit in the fetch's time: report the answer
            except httpx.TransportError as exc:
                failed = FetchError(f"{type(exc).__name__} fetching {url}: {exc}")
                if attempt >= self.policy.retries:
                    raise failed from None
                delay = self._backoff(attempt)
                if asyncio.get_running_loop().time() + delay >= deadline:
                    raise failed from None
            attempt += 1
            await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        base: float = self.policy.backoff * (2**attempt)
        return base + random.uniform(0, base / 2)

    async def _fetch_following(
        self, url: str, conditional: bool, private_ok: bool, progress: _Progress
    ) -> Page | None:
        current = url
        for _ in range(_MAX_REDIRECTS + 1):
            response_or_next = await self._one_request(
                current, url, conditional, private_ok, progress
            )
            if isinstance(response_or_next, str):
                current = response_or_next
                continue
            return response_or_next
        raise FetchError(f"more than {_MAX_REDIRECTS} redirects from {url}")

    async def _one_request(
        self, url: str, original: str, conditional: bool, private_ok: bool, progress: _Progress
    ) -> Page | str | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BlockedAddressError(f"not an http(s) URL: {url}")
        host = parts.hostname
        headers: dict[str, str] = {}
        extensions: dict[str, object] = {}
        target = url
        if not private_ok:
            _, _, port = check_url_shape(url)
            addresses = await resolve_public(host, port, resolve=self._resolve)
            # Connect to the address we checked, so a DNS answer that changes between the
            # check and the connection cannot smuggle in a private address.
            ip = addresses[0]
            netloc = f"[{ip}]" if ":" in ip else ip
            if parts.port:
                netloc += f":{parts.port}"
            target = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
            headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
            extensions["sni_hostname"] = host
        if conditional:
            known = self.validators.get(original)
            if known is not None:
                if known.etag:
                    headers["If-None-Match"] = known.etag
                if known.last_modified:
                    headers["If-Modified-Since"] = known.last_modified
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = _HostGate(
                self.policy.per_host_connections, self.policy.host_spacing
            )
        async with gate:
            self.requests_sent += 1
            progress.requests += 1
            progress.answered, progress.received = False, 0
            request = self._client.build_request(
                "GET", target, headers=headers, extensions=extensions
            )
            response = await self._client.send(request, stream=True)
            progress.answered = True
            try:
                if response.status_code == 304:
                    return None
                if response.has_redirect_location:
                    return urljoin(url, response.headers["Location"])
                if response.status_code >= 400:
                    raise HTTPStatusError(
                        response.status_code,
                        original,
                        parse_retry_after(response.headers.get("Retry-After")),
                    )
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self.policy.max_bytes:
                    raise TooLargeError(
                        f"{original} is {int(declared):,} bytes, over the cap of "
                        f"{self.policy.max_bytes:,}"
                    )
                body = await self._read_capped(response, original, progress)
            except httpx.DecodingError as exc:
                raise FetchError(f"cannot decode the body of {original}: {exc}") from None
            finally:
                await response.aclose()
        etag = response.headers.get("ETag")
        modified = response.headers.get("Last-Modified")
        if etag or modified:
            self.validators[original] = Validators(etag, modified)
        content_type = response.headers.get("Content-Type", "")
        return Page(
            url=url,
            body=body,
            content_type=content_type.split(";", 1)[0].strip().lower(),
            encoding=response.charset_encoding,
            status=response.status_code,
        )

    async def _read_capped(
        self, response: httpx.Response, original: str, progress: _Progress
    ) -> bytes:
        """Read and decompress the body, stopping as soon as it passes the size cap."""
        cap = self.policy.max_bytes
        decoder = _Decoder.for_encoding(response.headers.get("Content-Encoding", ""), original)
        chunks: list[bytes] = []
        size = 0
        async for raw in response.aiter_raw():
            progress.received += len(raw)
            for chunk in decoder.feed(raw, cap - size + 1):
                size += len(chunk)
                if size > cap:
                    raise TooLargeError(f"{original} is over the cap of {cap:,} bytes")
                chunks.append(chunk)
        tail = decoder.flush()
        size += len(tail)
        if size > cap:
            raise TooLargeError(f"{original} is over the cap of {cap:,} bytes")
        chunks.append(tail)
        return b"".join(chunks)


class _Decoder:
    """Undo gzip or deflate a bounded slice at a time, so a bomb never inflates in memory."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: zlib._Decompress | None = None
        if encoding == "gzip":
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        self._first = True

    @classmethod
    def for_encoding(cls, header: str, url: str) -> _Decoder:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if not codings:
            return cls("identity")
        if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported Content-Encoding {header!r} from {url}")
        return cls("gzip" if codings[0] == "x-gzip" else codings[0])

    def feed(self, data: bytes, budget: int) -> list[bytes]:
        """Return the decoded output of ``data``, at most about ``budget`` bytes a slice."""
        if self._zlib is None:
            return [data] if data else []
        out: list[bytes] = []
        pending = data
        step = max(1, min(budget, 1 << 20))
        while pending:
            try:
                piece = self._zlib.decompress(pending, step)
            except zlib.error:
                if self.encoding == "deflate" and self._first:
                    # Some servers send raw deflate without the zlib header.
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._first = False
                    continue
                raise httpx.DecodingError(f"invalid {self.encoding} data") from None
            self._first = False
            if piece:
                out.append(piece)
                budget -= len(piece)
                if budget <= 0:
                    return out  # the caller stops at the cap; no need to inflate more
            pending = self._zlib.unconsumed_tail
            if self._zlib.eof:
                break
        return out

    def flush(self) -> bytes:
        if self._zlib is None:
            return b""
        try:
            return self._zlib.flush()
        except zlib.error:
            raise httpx.DecodingError(f"truncated {self.encoding} data") from None
