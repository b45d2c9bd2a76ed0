"""One connection pool per origin: separate, bounded, and never closed under a reader."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from scrapers.transport import OriginPools
from tests.support.localserver import LocalServer, Response


@pytest.fixture
def servers() -> Iterator[list[LocalServer]]:
    started = [LocalServer().start() for _ in range(3)]
    for n, server in enumerate(started):
        server.route("/page", Response(body=f"server {n} ".encode() * 2000))
    yield started
    for server in started:
        server.stop()


async def test_each_origin_gets_its_own_pool_and_answers_its_own_body(
    servers: list[LocalServer],
) -> None:
    pools = OriginPools(connections_per_origin=2)
    async with httpx.AsyncClient(transport=pools) as client:
        for n, server in enumerate(servers):
            answer = await client.get(server.url("/page"))
            assert answer.text.startswith(f"server {n} ")
        assert len(pools) == 3
        # Again: the same three pools serve, no new ones.
        for server in servers:
            (await client.get(server.url("/page"))).raise_for_status()
        assert len(pools) == 3


async def test_one_address_under_two_server_names_uses_two_pools(
    servers: list[LocalServer],
) -> None:
    """A connection verified for one site's name is never lent to another site."""
    pools = OriginPools(connections_per_origin=2)
    async with httpx.AsyncClient(transport=pools) as client:
        for name in ("a.example", "b.example", "a.example"):
            answer = await client.get(servers[0].url("/page"), extensions={"sni_hostname": name})
            answer.raise_for_status()
        assert len(pools) == 2
    assert len(pools) == 0  # closing the client closes every pool


async def test_idle_pools_past_the_limit_are_closed_but_a_busy_one_is_kept(
    servers: list[LocalServer],
) -> None:
    pools = OriginPools(connections_per_origin=2, max_pools=1)
    async with httpx.AsyncClient(transport=pools) as client:
        busy = await client.send(client.build_request("GET", servers[0].url("/page")), stream=True)
        try:
            for server in servers[1:]:
                (await client.get(server.url("/page"))).raise_for_status()
            # The streaming pool and the newest one; the idle one in between was closed.
            assert len(pools) == 2
            body = await busy.aread()
        finally:
            await busy.aclose()
        assert body == b"server 0 " * 2000
        (await client.get(servers[2].url("/page"))).raise_for_status()
        assert len(pools) == 1  # once idle, the streaming pool went too
