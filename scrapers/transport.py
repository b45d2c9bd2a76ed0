"""One small connection pool per origin, instead of one pool for every host.

httpcore's pool scans all of its connections for every request it places, so with a
thousand feed hosts each request costs time in proportion to the connections open to the
other 999 (measured: most of the client's CPU in a poll cycle). A pool per origin keeps
each scan to a connection or two. Pools are keyed by the TLS server name as well as the
address: the fetcher connects to the address it checked, and two sites behind one address
must not share a connection whose certificate was verified for only one of them.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator

import httpx

# Pools kept open at once; the least recently used idle one is closed past this.
MAX_POOLS = 256


class _Counted(httpx.AsyncByteStream):
    """A response body that tells its pool when it is done with the connection."""

    def __init__(self, stream: httpx.AsyncByteStream, pool: _Pool) -> None:
        self._stream = stream
        self._pool = pool
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._pool.in_use -= 1
        await self._stream.aclose()


class _Pool:
    def __init__(self, transport: httpx.AsyncHTTPTransport) -> None:
        self.transport = transport
        self.in_use = 0


class OriginPools(httpx.AsyncBaseTransport):
    """Route each request to the pool of its (scheme, address, port, server name)."""

    def __init__(
        self,
        *,
        connections_per_origin: int,
        keepalive_expiry: float = 5.0,
        max_pools: int = MAX_POOLS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        # One TLS context for all pools: building one loads the CA bundle (tens of ms).
        self._ssl = ssl_context or httpx.create_ssl_context()
        self._limits = httpx.Limits(
            max_connections=connections_per_origin,
            max_keepalive_connections=connections_per_origin,
            keepalive_expiry=keepalive_expiry,
        )
        self._max_pools = max_pools
        self._pools: OrderedDict[tuple[str, str, int | None, str], _Pool] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        server_name = request.extensions.get("sni_hostname") or url.host
        key = (url.scheme, url.host, url.port, str(server_name))
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(
                httpx.AsyncHTTPTransport(verify=self._ssl, limits=self._limits)
            )
        else:
            self._pools.move_to_end(key)
        pool.in_use += 1  # before trimming, so the pool just made is never the one closed
        try:
            await self._trim()
            response = await pool.transport.handle_async_request(request)
        except BaseException:
            pool.in_use -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Counted(response.stream, pool)
        return response

    async def _trim(self) -> None:
        if len(self._pools) <= self._max_pools:
            return
        # Oldest first, and stop as soon as enough are found, so a trim costs a step or
        # two; busy pools stay until they are idle.
        excess = len(self._pools) - self._max_pools
        victims: list[tuple[str, str, int | None, str]] = []
        for key, pool in self._pools.items():
            if len(victims) >= excess:
                break
            if pool.in_use == 0:
                victims.append(key)
        for key in victims:
            await self._pools.pop(key).transport.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.transport.aclose()
