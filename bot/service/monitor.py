"""``GET /metrics`` and ``GET /healthz`` of one service process, on its own address.

The exposition is prometheus_client's own (text, or OpenMetrics when the scraper asks for
it); the server is aiohttp's, on the service's event loop, so the health checks query the
same database and scheduler the service uses.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from bot.core.addresses import ListenAddress
from bot.service.health import Health
from bot.service.metrics import Metrics

log = logging.getLogger(__name__)

# A scrape must answer even when the database is slow: what it read last time stands.
REFRESH_DEADLINE = 5.0
INDEX = b"""<!doctype html><title>BreachRadar</title>
<p><a href="/metrics">/metrics</a> (Prometheus) &middot; <a href="/healthz">/healthz</a></p>
"""


class Monitor:
    """Serves the metrics and health of one process until closed."""

    def __init__(self, address: ListenAddress, metrics: Metrics, health: Health) -> None:
        self.address = address
        self.metrics = metrics
        self.health = health
        self._runner: web.AppRunner | None = None
        self.bound: ListenAddress | None = None  # the address served, port 0 resolved

    async def start(self) -> ListenAddress:
        """Listen; raise OSError if the address cannot be served (in use, not local)."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/", self._index)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.address.host, self.address.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = self.address.port
        for sockname in runner.addresses:
            port = int(sockname[1])
            break
        self.bound = ListenAddress(self.address.host, port)
        log.info(
            "metrics on %s, health on %s", self.bound.url("/metrics"), self.bound.url("/healthz")
        )
        return self.bound

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(REFRESH_DEADLINE):
                await self.metrics.refresh()
        except Exception as exc:
            # /healthz says what is wrong; the counters of this process are still worth it.
            log.debug("metrics refresh failed: %s", type(exc).__name__)
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = encoder(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _healthz(self, request: web.Request) -> web.Response:
        report = await self.health.check()
        status = 200 if report.ok else 503
        return web.json_response(report.as_json(self.metrics.role), status=status)

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(body=INDEX, content_type="text/html")
