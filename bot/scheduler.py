"""The long-running service: poll each source at its own interval and deliver.

One in-memory tick job (APScheduler) picks the sources whose next poll is due, so the
schedule lives in our own table (``source_state.next_poll_at``) and survives restarts, and
no source is ever polled twice at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery import Outbox
from bot.pipeline import Pipeline, SourceResult
from bot.store import utcnow
from scrapers.base import SourceSpec

log = logging.getLogger(__name__)


class Service:
    """Runs polls and deliveries until stopped."""

    def __init__(
        self,
        pipeline: Pipeline,
        outbox: Outbox,
        sources: Sequence[SourceSpec],
        *,
        tick: float = 1.0,
        deliver_every: float = 5.0,
        stop_grace: float = 10.0,
    ) -> None:
        self.pipeline = pipeline
        self.outbox = outbox
        self.sources = {s.name: s for s in sources}
        self.tick_seconds = tick
        self.deliver_every = deliver_every
        self.stop_grace = stop_grace
        self._due: dict[str, datetime] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._deliver_now = asyncio.Event()
        self._delivering: set[asyncio.Task[object]] = set()
        self._stopped = asyncio.Event()
        self.scheduler: AsyncIOScheduler | None = None
        self.polls = 0

    async def start(self) -> None:
        """Load the schedule and start the scheduler inside the running loop."""
        health = await self.pipeline.store.source_health()
        now = utcnow()
        for name in self.sources:
            known = health.get(name)
            self._due[name] = known.next_poll_at if known and known.next_poll_at else now
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        # A busy loop may run a tick late; it must not be skipped for that.
        self.scheduler.add_job(
            self._tick, "interval", seconds=self.tick_seconds, id="tick",
            misfire_grace_time=60, coalesce=True, max_instances=1, next_run_time=now,
        )  # fmt: skip
        self.scheduler.add_job(
            self._deliver, "interval", seconds=self.deliver_every, id="deliver",
            misfire_grace_time=60, coalesce=True, max_instances=1, next_run_time=now,
        )  # fmt: skip
        self.scheduler.start()

    async def _tick(self) -> None:
        now = utcnow()
        for name, due in self._due.items():
            if due <= now and name not in self._running:
                self._running[name] = asyncio.create_task(self._poll(name), name=f"poll:{name}")

    async def _poll(self, name: str) -> None:
        spec = self.sources[name]
        try:
            result: SourceResult = await self.pipeline.poll(spec)
            self.polls += 1
            if not result.ok:
                log.warning("source %s failed: %s", name, result.error)
            elif result.found:
                for found in result.found:
                    log.info(
                        "match: [%s] %s %s (%s)",
                        found.match.company.name,
                        found.disclosure.title,
                        found.disclosure.url,
                        name,
                    )
                self._deliver_now.set()
        except Exception:
            log.exception("poll of %s crashed", name)
        finally:
            health = (await self.pipeline.store.source_health()).get(name)
            next_at = health.next_poll_at if health and health.next_poll_at else None
            self._due[name] = next_at or utcnow() + spec.every
            self._running.pop(name, None)
            if self._deliver_now.is_set():
                self._deliver_now.clear()
                await self._deliver()

    async def _deliver(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._delivering.add(task)
            task.add_done_callback(self._delivering.discard)
        try:
            report = await self.outbox.flush()
            if report.sent or report.dead:
                log.info("delivered %d alerts (%d given up)", report.sent, report.dead)
        except Exception:
            log.exception("delivery failed")

    async def run_forever(self) -> None:
        await self.start()
        try:
            await self._stopped.wait()
        finally:
            await self.stop()

    def request_stop(self) -> None:
        self._stopped.set()

    async def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        self._running.clear()
        # Let a delivery in progress finish (its HTTP client closes after us), briefly.
        pending = {t for t in self._delivering if t is not asyncio.current_task()}
        if pending:
            _, late = await asyncio.wait(pending, timeout=self.stop_grace)
            for straggler in late:
                straggler.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def next_due(self) -> dict[str, timedelta]:
        now = utcnow()
        return {name: due - now for name, due in self._due.items()}
