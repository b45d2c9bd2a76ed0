"""The outbox runner: send queued alerts through their sinks, target by target.

The outbox in the store is the source of truth: an alert is marked sent only after the
receiver accepted it, so a crash or an outage delays an alert but never loses it. Each
send is marked ``sending`` first, so after a crash the only deliveries that may have
reached a receiver twice are exactly those known to have been interrupted mid-send.

Health is kept per target, in the database. A target that refuses for now (5xx, a
timeout, a refused connection, a 429 longer than we wait) is *down*: its alerts wait and
one probe at a time tries the oldest, after a jittered wait that doubles from half a
second up to :data:`PROBE_CAP`. The first success marks it up and its whole queue goes
out at once, in order, at the pace the receiver allows. Only a permanent answer (the
webhook or channel is gone) ends delivery; those alerts are kept as given up, with the
answer, until ``breachradar deliveries retry``. No counter ever drops an alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.core.clock import utcnow
from bot.core.logfields import about
from bot.core.records import Delivery
from bot.core.sharding import ShardSet
from bot.core.sinks import DeliveryError, MessageGone, Sink
from bot.store import Store, TargetClaim
from bot.store.outbox import GONE
from scrapers.models import Evidence

log = logging.getLogger(__name__)

# A down target's probes: the first after half a second, each wait twice the last, none
# longer than PROBE_CAP, each shortened at random by up to half so that targets that went
# down together do not come back in lockstep. 6 s rather than the 15 s the promise
# allows: a probe at most 6 s after the receiver is back leaves 9 s for the queue, which
# holds a webhook's bucket of 5 and the next 5 (Discord: 5 posts per 5 s per webhook)
# with room for a busy machine.
PROBE_FIRST = 0.5
PROBE_CAP = 6.0
# An update that fails on its own (its target up) waits like a probe, holding nothing up.
BATCH = 200  # deliveries claimed at a time, across targets
PER_TARGET = 20  # a target's alerts claimed at a time: one busy target never fills a batch
# The next batch is claimed when this few of those claimed are left, so that claiming
# overlaps sending and a paced sink never waits for work.
REFILL_AT = BATCH // 4
# While sending, new work (other targets' alerts, a probe falling due) is looked for at
# least this often.
CLAIM_EVERY = 1.0


def probe_delay(failures: int, rng: random.Random | None = None) -> float:
    """Seconds until the next probe of a target that failed ``failures`` times in a row."""
    base = min(PROBE_CAP, PROBE_FIRST * 2.0 ** max(0, min(failures, 30) - 1))
    return float(base * (rng or random).uniform(0.5, 1.0))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One alert tried and how it ended: what an observer (metrics, a test) is told.

    ``outcome`` is ``sent``, ``failed`` (to be retried; ``target_down`` if that made or
    kept the target down), ``given_up`` (permanently refused; ``target_gone`` if the
    target itself is) or ``settled`` (nothing to send: an update with nothing to edit or
    already overtaken by a later one).
    """

    target: str
    delivery_id: int
    kind: str
    outcome: str
    probe: bool = False
    target_down: bool = False
    target_gone: bool = False
    recovered: bool = False  # this success ended an outage of the target
    error: str | None = None
    seconds: float = 0.0  # how long the receiver took


@dataclass(slots=True)
class FlushReport:
    sent: int = 0
    retried: int = 0  # claimed and still queued: failed, or waiting behind a down target
    dead: int = 0  # given up
    down: int = 0  # targets found down (or still down at their probe)
    recovered: int = 0  # targets that came back up

    def add(self, other: FlushReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.down += other.down
        self.recovered += other.recovered


@runtime_checkable
class Paced(Protocol):
    """A sink that may ask the outbox to wait before the next send to its target."""

    async def wait_turn(self) -> None: ...


class _Stop(Exception):
    """The outbox is stopping: the lane gives its alerts back."""


@dataclass(slots=True)
class _Lane:
    """One target being sent to in this pass, and the alerts of it claimed and unsettled."""

    claim: TargetClaim
    unsettled: set[int] = field(default_factory=set)


class Outbox:
    """Send queued alerts through their sinks, in order per target, with per-target health."""

    def __init__(
        self,
        store: Store,
        sinks: Mapping[str, Sink],
        *,
        owner: str = "local",
        max_inline_wait: float = 30.0,
        inline_retries: int = 1,
        routes: Mapping[str, Sink] | None = None,
        lease: timedelta = timedelta(minutes=2),
        target_prefix: str | None = None,
        shards: ShardSet | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        idle_every: float = 5.0,
        on_attempt: Callable[[Attempt], None] | None = None,
    ) -> None:
        self.store = store
        self.sinks = dict(sinks)
        # Sinks for whole families of targets by prefix ("channel:" -> one ChannelSink).
        self.routes = dict(routes or {})
        self.owner = owner
        # Claimed targets and rows stay ours this long; if we die, another process sends
        # them after it (at once if it finds we died on its host).
        self.lease = lease
        # Only targets of this family ("webhook:"): leave the rest to a process that has
        # their sink (channels need the Discord client), rather than postponing them.
        self.target_prefix = target_prefix
        # A bot process running some of the shards: only its servers' channels.
        self.shards = shards
        # A 429's retry_after up to this long is waited out in the target's lane; a longer
        # one marks the target down until then.
        self.max_inline_wait = max_inline_wait
        # Quick retries of a failed send before its target counts as down (a lone 500).
        self.inline_retries = inline_retries
        self.clock = clock
        self.rng = rng or random.Random()
        # How long the runner sleeps when nothing is due (others may queue alerts).
        self.idle_every = idle_every
        self._observers: list[Callable[[Attempt], None]] = [on_attempt] if on_attempt else []
        # Called each time the runner goes round, idle or in a long pass (health checks).
        self.heartbeat: Callable[[], None] | None = None
        # One pass at a time: a pass takes back what this owner left claimed when it starts.
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()  # a running pass looks for work now
        self._poked = asyncio.Event()  # the idle runner starts a pass now
        self._stopping = False

    # -- what the service uses -----------------------------------------------------------

    def observe(self, callback: Callable[[Attempt], None]) -> None:
        """Call ``callback`` with every attempt's outcome (metrics, logs, tests)."""
        self._observers.append(callback)

    def _beat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat()

    def poke(self) -> None:
        """New alerts were queued: deliver them now rather than at the next check."""
        self._wake.set()
        self._poked.set()

    def stop(self) -> None:
        """Finish the sends in progress, start no more; :meth:`run` then returns."""
        self._stopping = True
        self.poke()

    async def run(self) -> None:
        """Deliver until :meth:`stop`: a pass whenever something is due or poked."""
        while not self._stopping:
            self._beat()
            try:
                report = await self.flush()
                if report.sent or report.dead:
                    log.info("delivered %d alerts (%d given up)", report.sent, report.dead)
            except Exception:
                log.exception("delivery failed; trying again shortly")
            if self._stopping:
                break
            wait = self.idle_every
            try:
                due = await self.store.next_due_at(
                    target_prefix=self.target_prefix, shards=self.shards
                )
            except Exception:
                log.exception("could not read when the next delivery is due")
                due = None
            if due is not None:
                wait = min(wait, max(0.05, (due - self.clock()).total_seconds()))
            self._poked.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), wait)

    async def recover(self, now: datetime | None = None) -> list[int]:
        """Take back what a crashed run of this owner left claimed or mid-send."""
        interrupted = await self.store.recover_interrupted(self.owner, now=now or self.clock())
        for delivery_id in interrupted:
            log.warning("delivery %s was interrupted while sending; sending it again", delivery_id)
        return interrupted

    async def flush(self, now: datetime | None = None) -> FlushReport:
        """Deliver everything due, target by target, until nothing more is due.

        ``now`` fixes the clock for this pass (tests and benchmarks simulate time so).
        """
        clock = self.clock if now is None else (lambda: now)
        async with self._lock:
            # Passes of one outbox never overlap, so nothing of ours is in flight here:
            # whatever this owner, or a dead process whose lease ran out, left claimed or
            # mid-send is taken back now, not only at start.
            await self.recover(clock())
            return await self._pass(clock)

    def sink_for(self, target: str) -> Sink | None:
        """The sink for ``target``: an exact one, else the one for its prefix."""
        sink = self.sinks.get(target)
        if sink is None:
            for prefix, routed in self.routes.items():
                if target.startswith(prefix):
                    return routed
        return sink

    # -- one pass ------------------------------------------------------------------------

    async def _pass(self, clock: Callable[[], datetime]) -> FlushReport:
        report = FlushReport()
        lanes: dict[str, asyncio.Task[None]] = {}
        state: dict[str, _Lane] = {}

        def unsettled() -> int:
            return sum(len(lane.unsettled) for lane in state.values())

        last_claim = -CLAIM_EVERY
        woke = True
        try:
            while True:
                self._beat()
                room = BATCH - unsettled()
                # Claim when little is left to send, when poked, on the tick (new alerts for
                # other targets, probes falling due), and when every lane is done.
                wanted = (
                    not lanes
                    or woke
                    or unsettled() <= REFILL_AT
                    or time.monotonic() - last_claim >= CLAIM_EVERY
                )
                if wanted and room > 0 and not self._stopping:
                    last_claim = time.monotonic()
                    claims = await self.store.claim(
                        owner=self.owner,
                        now=clock(),
                        limit=room,
                        per_target=PER_TARGET,
                        lease=self.lease,
                        target_prefix=self.target_prefix,
                        shards=self.shards,
                    )
                    for claim in claims:
                        lane = _Lane(claim, {d.id for d in claim.deliveries})
                        state[claim.target] = lane
                        lanes[claim.target] = asyncio.create_task(
                            self._lane(lane, clock, report), name=f"deliver:{claim.target}"
                        )
                if not lanes:
                    return report
                self._wake.clear()
                waiter = asyncio.create_task(self._wake.wait())
                timeout = max(0.01, CLAIM_EVERY - (time.monotonic() - last_claim))
                await asyncio.wait(
                    {waiter, *lanes.values()}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                woke = waiter.done()
                waiter.cancel()
                for target, task in list(lanes.items()):
                    if task.done():
                        del lanes[target]
                        del state[target]
                        task.result()  # a lane's failure (the database) ends the pass
        finally:
            # Never leave sends running behind the pass (on an error or a cancellation).
            for task in lanes.values():
                task.cancel()
            await asyncio.gather(*lanes.values(), return_exceptions=True)

    async def _lane(self, lane: _Lane, clock: Callable[[], datetime], report: FlushReport) -> None:
        """Send one target's claimed alerts in order, then its next ones, until it is
        drained, down or gone; give back whatever is left."""
        claim = lane.claim
        target = claim.target
        sink = self.sink_for(target)
        items = list(claim.deliveries)
        probing = claim.probing
        failures = claim.failures
        try:
            while items:
                if sink is None:
                    # The target is no longer configured; keep its alerts for when it returns.
                    for item in items:
                        await self.store.mark_retry(
                            item.id,
                            "target not configured",
                            retry_at=clock() + timedelta(hours=1),
                            count=False,
                        )
                        lane.unsettled.discard(item.id)
                        report.retried += 1
                    return
                recovered = False
                for item in items:
                    outcome = await self._deliver(
                        sink, claim, item, probing=probing, failures=failures, clock=clock
                    )
                    lane.unsettled.discard(item.id)
                    self._notify(outcome)
                    if outcome.outcome == "sent":
                        report.sent += 1
                    elif outcome.outcome == "given_up":
                        report.dead += 1
                    elif outcome.outcome == "failed":
                        report.retried += 1
                    if outcome.recovered:
                        report.recovered += 1
                        recovered = True
                        probing = False
                        failures = 0
                        await self._recovered(target, sink, claim, clock)
                    if outcome.target_down:
                        report.down += 1
                        report.retried += len(lane.unsettled)
                        return
                    if outcome.target_gone:
                        report.dead += len(lane.unsettled)
                        lane.unsettled.clear()
                        return
                if probing:
                    return  # a probe that ended otherwise (an update settled): next claim
                if len(items) < PER_TARGET and not recovered:
                    return  # drained; alerts queued meanwhile come with the next claim
                if self._stopping:
                    return
                items = await self.store.claim_more(
                    target, owner=self.owner, now=clock(), limit=PER_TARGET, lease=self.lease
                )
                lane.unsettled.update(d.id for d in items)
        except _Stop:
            report.retried += len(lane.unsettled)
        finally:
            # Shielded: a cancelled pass must still give the target back, or it would wait
            # for its lease to run out.
            await asyncio.shield(self.store.release(self.owner, target, lane.unsettled))

    async def _recovered(
        self, target: str, sink: Sink, claim: TargetClaim, clock: Callable[[], datetime]
    ) -> None:
        since = claim.down_since
        outage = f" after {(clock() - since).total_seconds():.0f} s" if since else ""
        log.info("%s answers again%s; sending its queued alerts", target, outage)
        # Targets on the same host most likely came back too (a Discord outage ends for
        # every webhook at once): probe them now rather than at their next probe.
        group = getattr(sink, "group", None)
        if group is None:
            return
        mates = [
            other
            for other in await self.store.down_targets()
            if other != target and getattr(self.sink_for(other), "group", None) == group
        ]
        if mates and await self.store.probe_soon(mates, now=clock()):
            self._wake.set()

    async def _deliver(
        self,
        sink: Sink,
        claim: TargetClaim,
        item: Delivery,
        *,
        probing: bool,
        failures: int,
        clock: Callable[[], datetime],
    ) -> Attempt:
        """Try one alert (with quick retries while its target is up); say how it ended."""
        target = item.target
        if item.kind == "update":
            settled = await self._prepare_update(item, clock)
            if settled is not None:
                return settled
        reposted = False
        throttled = False
        attempt = 0
        while True:
            if isinstance(sink, Paced):
                await sink.wait_turn()
            if self._stopping:
                raise _Stop
            await self.store.mark_sending(item.id)
            started = time.monotonic()
            try:
                message_id = await sink.send(item)
            except MessageGone as exc:
                await self.store.mark_unsent(item.id)
                if not reposted and await self._raises_evidence(item):
                    # The alert was deleted, and this update says more: a message of its own.
                    item.payload.pop("edit_message_id", None)
                    reposted = True
                    continue
                note = f"the message to update was deleted ({exc})"
                await self.store.mark_sent(item.id, message_id=None, now=clock(), note=note)
                return Attempt(target, item.id, item.kind, "settled", probing, error=str(exc))
            except DeliveryError as exc:
                seconds = time.monotonic() - started
                error = str(exc) or type(exc).__name__
                if exc.gone:
                    return await self._gone(item, error, claim, seconds, clock)
                if exc.permanent:
                    # This alert was refused (malformed, too large), not the target.
                    log.error(
                        "alert %s to %s given up: %s", item.id, target, error,
                        extra=about(target=target, incident=item.incident_id),
                    )  # fmt: skip
                    await self.store.mark_retry(item.id, error, retry_at=clock(), dead=True)
                    if probing:
                        # The receiver answered, so it is up, whatever it thought of this one.
                        await self.store.mark_up(target)
                    return Attempt(
                        target, item.id, item.kind, "given_up", probing, recovered=probing,
                        error=error, seconds=seconds,
                    )  # fmt: skip
                wait = exc.retry_after
                if wait is not None and wait <= self.max_inline_wait and not throttled:
                    # A rate limit within reach: honour it and try once more, no failure;
                    # refused again after waiting it out, the target counts as down.
                    await self.store.mark_unsent(item.id)
                    await asyncio.sleep(wait)
                    throttled = True
                    continue
                if wait is None and not probing and attempt < self.inline_retries:
                    await self.store.mark_unsent(item.id)
                    await asyncio.sleep(0.25 * 2**attempt)
                    attempt += 1
                    continue
                return await self._failed(
                    item, error, retry_after=wait, probing=probing, failures=failures,
                    seconds=seconds, clock=clock,
                )  # fmt: skip
            except Exception as exc:
                # A fault of ours (rendering, a bug): the alert is kept and the target
                # shown down with the reason, never dropped.
                log.exception("sending alert %s to %s failed", item.id, target)
                error = f"internal error: {type(exc).__name__}"
                seconds = time.monotonic() - started
                return await self._failed(
                    item, error, retry_after=None, probing=probing, failures=failures,
                    seconds=seconds, clock=clock,
                )  # fmt: skip
            await self.store.mark_sent(item.id, message_id=message_id, now=clock(), target=target)
            return Attempt(
                target, item.id, item.kind, "sent", probing, recovered=probing,
                seconds=time.monotonic() - started,
            )  # fmt: skip

    async def _failed(
        self,
        item: Delivery,
        error: str,
        *,
        retry_after: float | None,
        probing: bool,
        failures: int,
        seconds: float,
        clock: Callable[[], datetime],
    ) -> Attempt:
        """A transient refusal: the alert waits; an alert's failure marks the target down."""
        now = clock()
        if item.kind == "update" and not probing:
            # An edit failing alone holds back nothing: it waits, the target's new alerts go.
            delay = max(retry_after or 0.0, probe_delay(item.attempts + 1, self.rng))
            await self.store.mark_retry(item.id, error, retry_at=now + timedelta(seconds=delay))
            log.warning("update %s to %s failed, retrying in %.1f s: %s", item.id,
                        item.target, delay, error, extra=self._about(item))  # fmt: skip
            return Attempt(item.target, item.id, item.kind, "failed", error=error,
                           seconds=seconds)  # fmt: skip
        delay = max(retry_after or 0.0, probe_delay(failures + 1, self.rng))
        count = await self.store.mark_down(
            item.target, item.id, error, retry_at=now + timedelta(seconds=delay), now=now
        )
        if probing:
            log.debug("%s still down (%d failures in a row): %s", item.target, count, error)
        else:
            log.warning("%s is down: %s; its alerts wait, next try in %.1f s", item.target,
                        error, delay, extra=self._about(item))  # fmt: skip
        return Attempt(item.target, item.id, item.kind, "failed", probing, target_down=True,
                       error=error, seconds=seconds)  # fmt: skip

    @staticmethod
    def _about(item: Delivery) -> dict[str, object]:
        """The log fields of a line about this alert."""
        return about(target=item.target, incident=item.incident_id)

    async def _gone(
        self,
        item: Delivery,
        error: str,
        claim: TargetClaim,
        seconds: float,
        clock: Callable[[], datetime],
    ) -> Attempt:
        """The target refused for good: every alert queued for it is kept as given up."""
        count = await self.store.give_up_target(item.target, error, now=clock())
        if claim.state == GONE:
            # Already known gone: a new alert for it met the same answer.
            log.warning("%s still refuses (%s): %d more alerts given up", item.target, error,
                        count, extra=self._about(item))  # fmt: skip
        else:
            log.error(
                "%s refused for good (%s): %d alerts given up and kept; once it is fixed, "
                "`breachradar deliveries retry %s` sends them",
                item.target, error, count, item.target, extra=self._about(item),
            )  # fmt: skip
        return Attempt(item.target, item.id, item.kind, "given_up", claim.probing,
                       target_gone=True, error=error, seconds=seconds)  # fmt: skip

    async def _prepare_update(
        self, item: Delivery, clock: Callable[[], datetime]
    ) -> Attempt | None:
        """Point an update at the message it edits; settle it if it has nothing to do."""
        target, incident = item.target, item.incident_id
        if await self.store.newer_update_shown(target, incident, item.id):
            # Retried late, after a later update already edited the message: that one says
            # more, and this one must not overwrite it.
            note = "overtaken by a later update"
            await self.store.mark_sent(item.id, message_id=None, now=clock(), note=note)
            return Attempt(target, item.id, item.kind, "settled")
        original = await self.store.sent_message_id(target, incident)
        if original:
            item.payload["edit_message_id"] = original
        elif not await self.store.alert_sent(target, incident):
            # This target never had the incident's alert (it came before the target was
            # configured, a filter held the incident back, or it was given up): this update
            # announces it instead, and is the alert later updates edit.
            item.payload["kind"] = "alert"
            await self.store.mark_alert(item.id)
        elif not await self._raises_evidence(item):
            # Nothing to edit (the receiver gave no message id), and nothing stronger to
            # tell: a message of its own would only repeat the alert.
            note = "nothing to edit; no stronger evidence"
            await self.store.mark_sent(item.id, message_id=None, now=clock(), note=note)
            return Attempt(target, item.id, item.kind, "settled")
        return None

    async def _raises_evidence(self, item: Delivery) -> bool:
        """Whether this update shows stronger evidence than the target was shown so far."""
        try:
            evidence = Evidence(str(item.payload.get("evidence")))
        except ValueError:
            return False
        shown = await self.store.shown_evidence(item.target, item.incident_id)
        return shown is None or evidence.rank > shown.rank

    def _notify(self, attempt: Attempt) -> None:
        for observer in self._observers:
            try:
                observer(attempt)
            except Exception:
                log.exception("a delivery observer failed")
