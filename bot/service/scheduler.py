"""The long-running service: poll each source at its own interval and deliver.

One in-memory tick job (APScheduler) claims the sources whose next poll is due from the
database (``source_state.next_poll_at`` with a lease, see ``Store.claim_sources``). The
schedule therefore survives restarts and is shared: any number of processes may poll the
same sources and each source is still polled once per interval, by one of them. The outbox
runs beside it (``Outbox.run``), leasing targets and their alerts the same way
(``Store.claim``), woken by each poll that queued alerts.

Roles split the work between processes: ``scraper`` polls, ``delivery`` delivers, ``all``
does both (the single-process default).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.core.clock import utcnow
from bot.core.logfields import about
from bot.delivery import Outbox
from bot.service.pipeline import Pipeline, SourceResult
from bot.store import Store
from scrapers.base import SourceSpec

log = logging.getLogger(__name__)

# How often a running service looks for dead processes on its host whose work it can take.
REAP_EVERY = timedelta(seconds=10)

# Told how each scheduled poll ended: the source's name, its result (None: it crashed) and
# how long it took in seconds.
PollObserver = Callable[[str, SourceResult | None, float], None]


def process_owner() -> str:
    """A name for this process in lease columns: host and pid."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def dead_local_owners(owners: Iterable[str]) -> list[str]:
    """The owners that were processes on this host and no longer exist."""
    host = socket.gethostname()[:40]
    dead = []
    for owner in owners:
        name, _, pid = owner.rpartition(":")
        if name != host or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            dead.append(owner)
        except PermissionError:
            pass  # alive, under another user
    return dead


async def reap_dead_owners(store: Store) -> list[str]:
    """Expire the leases of processes on this host that died (SIGKILL, power cut of one).

    Without this a restarted service would wait out the dead process's leases before
    polling its sources or resending what it was sending; other hosts' leases still
    simply expire.
    """
    dead = dead_local_owners(await store.lease_owners())
    if dead:
        log.info("taking over the work of %d dead process(es): %s", len(dead), ", ".join(dead))
        await store.expire_leases(dead)
    return dead


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
        poll: bool = True,
        deliver: bool = True,
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        max_polls: int = 100,
        on_poll: PollObserver | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.outbox = outbox
        self.sources = {s.name: s for s in sources}
        self.tick_seconds = tick
        self.deliver_every = deliver_every
        self.stop_grace = stop_grace
        self.poll_sources = poll
        self.deliver_alerts = deliver
        self.owner = owner or process_owner()
        # A claimed source stays ours this long even if we die; longer than any poll takes.
        self.lease = lease
        self.max_polls = max_polls
        self._claiming = asyncio.Lock()
        self._backlog = False  # the last claim was cut short by max_polls
        self._refills: set[asyncio.Task[None]] = set()
        self._due: dict[str, datetime] = {}
        self._reaped_at = utcnow()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._delivery: asyncio.Task[None] | None = None
        # Polls still waiting for their source's answer: these count against max_polls.
        # A poll that has its answer and is matching and storing it frees its slot, so
        # the next source's request does not wait for the database.
        self._fetching: set[str] = set()
        self._stopped = asyncio.Event()
        self.scheduler: AsyncIOScheduler | None = None
        self.polls = 0
        self.on_poll = on_poll
        # When the scheduler last fired each job, for health checks; the clock is
        # replaceable so a test can stall time instead of waiting.
        self.monotonic: Callable[[], float] = time.monotonic
        self.beats: dict[str, float] = {}
        self.beat_listeners: list[Callable[[str], None]] = []
        self.started_at: float | None = None

    async def start(self) -> None:
        """Register the sources and start the scheduler inside the running loop."""
        store = self.pipeline.store
        now = utcnow()
        await reap_dead_owners(store)
        self._reaped_at = now
        if self.poll_sources:
            await self._place_paced(now)
            await store.ensure_sources(
                self.sources, names={k: s.display_name for k, s in self.sources.items()}
            )
            health = await store.source_health()
            for name in self.sources:
                known = health.get(name)
                self._due[name] = known.next_poll_at if known and known.next_poll_at else now
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        # A busy loop may run a tick late; it must not be skipped for that.
        if self.poll_sources:
            self.scheduler.add_job(
                self._tick, "interval", seconds=self.tick_seconds, id="tick",
                misfire_grace_time=60, coalesce=True, max_instances=1, next_run_time=now,
            )  # fmt: skip
        # Fired counts as alive even when the job is still busy from last time (a long flush).
        self.scheduler.add_listener(self._beat, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)
        self.started_at = self.monotonic()
        self.scheduler.start()
        if self.deliver_alerts:
            # The outbox runs on its own: a pass whenever an alert or a probe is due, and
            # at least every deliver_every for alerts other processes queue.
            self.outbox.idle_every = self.deliver_every
            # The runner is alive while it goes round its loop, busy or idle.
            self.outbox.heartbeat = lambda: self.beat("deliver")
            self._delivery = asyncio.create_task(self.outbox.run(), name="deliver")

    def _beat(self, event: JobEvent) -> None:
        self.beat(event.job_id)

    def beat(self, job: str) -> None:
        """``job`` showed it is alive (the tick fired, the delivery runner went round)."""
        self.beats[job] = self.monotonic()
        for listener in list(self.beat_listeners):
            listener(job)

    @property
    def job_intervals(self) -> dict[str, float]:
        """Each scheduled job of this process and its interval in seconds."""
        jobs = {"tick": self.tick_seconds} if self.poll_sources else {}
        if self.deliver_alerts:
            jobs["deliver"] = self.deliver_every
        return jobs

    async def _place_paced(self, now: datetime, only: Iterable[str] | None = None) -> None:
        """Put paced sources (a news search's batches) on the moments the plan gave them.

        A batch never polled before first runs at its offset into the period, so the
        batches reach the search host evenly spread, not all at once. Batches whose
        poll is overdue (the service was down) are spread again from now, in the order
        they fell due, one spacing apart; batches due later keep their moment.
        """
        names = set(self.sources if only is None else only)
        groups: dict[str, list[SourceSpec]] = {}
        for name in names:
            spec = self.sources.get(name)
            if spec is not None and spec.options.get("paced"):
                groups.setdefault(str(spec.options.get("expanded_from", "")), []).append(spec)
        if not groups:
            return
        store = self.pipeline.store
        health = await store.source_health()
        due: dict[str, datetime] = {}
        for specs in groups.values():
            total = max(int(specs[0].options.get("batches", len(specs)) or 1), 1)
            spacing = specs[0].every / total
            late: list[tuple[datetime, float, str]] = []
            for spec in specs:
                offset = float(spec.options.get("offset", 0.0) or 0.0)
                known = health.get(spec.name)
                if known is None or (
                    known.next_poll_at is None
                    and known.last_success_at is None
                    and known.last_error_at is None
                ):
                    due[spec.name] = now + timedelta(seconds=offset)
                elif known.next_poll_at is None or known.next_poll_at <= now:
                    late.append((known.next_poll_at or now, offset, spec.name))
            for rank, (_, _, name) in enumerate(sorted(late)):
                due[name] = now + spacing * rank
        if due:
            placed = await store.schedule_sources(due, now=now)
            log.debug("placed %d paced sources on their moments", placed)

    async def update_sources(self, sources: Sequence[SourceSpec]) -> None:
        """Poll ``sources`` from now on: the plan changed (a server watches new companies).

        Sources that keep their name keep their schedule (a batch whose companies moved
        keeps its moment); new ones are placed on theirs; dropped ones are no longer
        claimed (a poll of one already running finishes).
        """
        new = {s.name: s for s in sources}
        async with self._claiming:  # a claim reads the set of sources
            added = [n for n in new if n not in self.sources]
            for name in set(self.sources) - set(new):
                self._due.pop(name, None)
            self.sources = new
            if self.poll_sources and added and self.scheduler is not None:
                now = utcnow()
                await self._place_paced(now, only=added)
                await self.pipeline.store.ensure_sources(
                    added, names={n: new[n].display_name for n in added}
                )
                health = await self.pipeline.store.source_health()
                for name in added:
                    known = health.get(name)
                    self._due[name] = known.next_poll_at if known and known.next_poll_at else now

    async def _tick(self) -> None:
        if self._claiming.locked():
            return
        async with self._claiming:
            if utcnow() - self._reaped_at > REAP_EVERY:
                self._reaped_at = utcnow()
                try:
                    await reap_dead_owners(self.pipeline.store)
                except Exception:
                    log.exception("could not check for dead processes")
            await self._claim()

    async def _claim(self) -> None:
        # Polls storing what they fetched are bounded too: at most max_polls of them.
        room = min(self.max_polls - len(self._fetching), 2 * self.max_polls - len(self._running))
        free = {n: s.every for n, s in self.sources.items() if n not in self._running}
        if room <= 0 or not free:
            return
        try:
            claimed = await self.pipeline.store.claim_sources(
                free, owner=self.owner, lease=self.lease, limit=room
            )
        except Exception:
            log.exception("could not claim due sources")
            return
        self._backlog = len(claimed) >= room
        validators = self.pipeline.fetcher.validators
        for source in claimed:
            spec = self.sources[source.name]
            # Another process may have polled it last: use what the server told that one.
            if source.validators.etag or source.validators.last_modified:
                validators[spec.url] = source.validators
            self._due[source.name] = utcnow() + spec.every
            self._fetching.add(source.name)
            self._running[source.name] = asyncio.create_task(
                self._poll(source.name, source.due), name=f"poll:{source.name}"
            )

    def _fetched(self, name: str) -> None:
        """``name``'s source answered: its slot may serve another fetch."""
        if name in self._fetching:
            self._fetching.discard(name)
            self._maybe_refill()

    def _maybe_refill(self) -> None:
        """More sources are due than we could start: claim now, not at the next tick."""
        free = min(self.max_polls - len(self._fetching), 2 * self.max_polls - len(self._running))
        if self._backlog and free >= max(1, self.max_polls // 10):
            self._backlog = False
            task = asyncio.create_task(self._tick())
            self._refills.add(task)
            task.add_done_callback(self._refills.discard)

    async def _poll(self, name: str, due: datetime | None = None) -> None:
        spec = self.sources[name]
        recorded = False  # the pipeline recorded the outcome, which ends the lease
        began = time.monotonic()
        try:
            result: SourceResult = await self.pipeline.poll(
                spec, fetched=lambda: self._fetched(name), due=due
            )
            recorded = True
            self.polls += 1
            self._observe(name, result, began)
            if not result.ok:
                log.warning(
                    "source %s failed: %s",
                    spec.display_name,
                    result.error,
                    extra=about(source=spec.display_name),
                )
            elif result.found:
                for found in result.found:
                    log.info(
                        "match: [%s] %s %s (%s)",
                        found.match.company.name,
                        found.disclosure.title,
                        found.disclosure.url,
                        spec.display_name,
                        extra=about(source=spec.display_name, incident=found.incident_id),
                    )
                if self.deliver_alerts:
                    self.outbox.poke()
        except Exception:
            log.exception(
                "poll of %s crashed", spec.display_name, extra=about(source=spec.display_name)
            )
            self._observe(name, None, began)
        finally:
            if not recorded:
                try:
                    await self.pipeline.store.release_source(name, owner=self.owner)
                except Exception:
                    log.exception("could not release %s; its lease will expire", name)
            self._running.pop(name, None)
            self._fetching.discard(name)  # if the pipeline crashed before saying so
            self._maybe_refill()

    def _observe(self, name: str, result: SourceResult | None, began: float) -> None:
        if self.on_poll is not None:
            try:
                self.on_poll(name, result, time.monotonic() - began)
            except Exception:
                log.debug("could not record the poll of %s", name, exc_info=True)

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
        # The scheduler does not wait for a tick already claiming: wait for it here (a
        # claim cut off by closing the database would fail), and start no claim after.
        async with self._claiming:
            # A refill may be starting polls: stop it first, then every poll it started.
            for refill in list(self._refills):
                refill.cancel()
            await asyncio.gather(*self._refills, return_exceptions=True)
            for task in list(self._running.values()):
                task.cancel()
            await asyncio.gather(*self._running.values(), return_exceptions=True)
            self._running.clear()
            self._fetching.clear()
        # Let a delivery in progress finish (its HTTP client closes after us), briefly.
        delivery = self._delivery
        if delivery is not None and delivery is not asyncio.current_task():
            self.outbox.stop()
            _, late = await asyncio.wait({delivery}, timeout=self.stop_grace)
            for straggler in late:
                straggler.cancel()
            await asyncio.gather(delivery, return_exceptions=True)

    def next_due(self) -> dict[str, timedelta]:
        now = utcnow()
        return {name: due - now for name, due in self._due.items()}
