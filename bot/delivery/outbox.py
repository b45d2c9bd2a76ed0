"""The outbox runner: send due deliveries through their sinks, in order, with retries.

The outbox in the store is the source of truth: an alert is marked sent only after the
receiver accepted it, so a crash or an outage delays an alert but never loses it. Each
send is marked ``sending`` first, so after a crash the only deliveries that may have
reached a receiver twice are exactly those known to have been interrupted mid-send.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.clock import utcnow
from bot.core.records import Delivery
from bot.core.sharding import ShardSet
from bot.core.sinks import DeliveryError, Sink
from bot.store import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # about a day of backoff before an alert is given up on


@dataclass(slots=True)
class FlushReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0

    def add(self, other: FlushReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead


@dataclass(slots=True)
class _TargetRun:
    """What sending one target's items in a batch came to."""

    report: FlushReport
    # Set when an item is to be retried: the target's later items wait until then.
    blocked_until: datetime | None = None


BATCH = 200  # deliveries claimed at a time
# The next batch is claimed when this few of the current one are left, so that claiming
# and preparing it overlaps their sending and a paced sink never waits for work.
REFILL_AT = BATCH // 4


class Outbox:
    """Send due deliveries through their sinks, in order per target, with retries."""

    def __init__(
        self,
        store: Store,
        sinks: Mapping[str, Sink],
        *,
        owner: str = "local",
        max_inline_wait: float = 30.0,
        inline_retries: int = 2,
        routes: Mapping[str, Sink] | None = None,
        lease: timedelta = timedelta(minutes=2),
        target_prefix: str | None = None,
        shards: ShardSet | None = None,
    ) -> None:
        self.store = store
        self.sinks = dict(sinks)
        # Sinks for whole families of targets by prefix ("channel:" -> one ChannelSink).
        self.routes = dict(routes or {})
        self.owner = owner
        # Claimed rows stay ours this long; if we die, another process sends them after it.
        self.lease = lease
        # Only targets of this family ("webhook:"): leave the rest to a process that has
        # their sink (channels need the Discord client), rather than postponing them.
        self.target_prefix = target_prefix
        # A bot process running some of the shards: only its servers' channels.
        self.shards = shards
        # Waits up to this long inside one flush (a 429's retry_after); longer waits are left
        # to the next flush so one slow receiver cannot hold the others.
        self.max_inline_wait = max_inline_wait
        self.inline_retries = inline_retries
        # One flush at a time: two overlapping flushes could send one target out of order.
        self._lock = asyncio.Lock()

    async def recover(self) -> list[int]:
        """Take back what a crashed run of this owner left claimed or mid-send."""
        interrupted = await self.store.recover_interrupted(self.owner)
        for delivery_id in interrupted:
            log.warning("delivery %s was interrupted while sending; sending it again", delivery_id)
        return interrupted

    async def flush(self, now: datetime | None = None) -> FlushReport:
        """Deliver everything due; one target's trouble does not hold up the others."""
        async with self._lock:
            # Flushes of one outbox never overlap, so nothing of ours is in flight here:
            # whatever this owner, or a dead process whose lease ran out, left claimed or
            # mid-send is taken back now, not only at start.
            await self.recover()
            return await self._flush(now)

    async def _flush(self, now: datetime | None) -> FlushReport:
        report = FlushReport()
        # Batches overlap: the next is claimed while the last items of the current one are
        # still being sent. Each target's latest task is kept: a later batch's items for
        # that target start only after it, so per-target order holds across batches (and
        # behind an alert put back for a retry, the target's later ones wait too).
        last: dict[str, asyncio.Task[_TargetRun]] = {}
        batches: list[list[asyncio.Task[_TargetRun]]] = []
        left = 0  # items claimed and not yet settled
        refill = asyncio.Event()

        def settled(count: int, _: object) -> None:
            nonlocal left
            left -= count
            if left <= REFILL_AT:
                refill.set()

        def in_flight() -> list[asyncio.Task[_TargetRun]]:
            return [task for batch in batches for task in batch]

        def finished_batches() -> bool:
            """Count the batches done so far; True if one sent nothing (the flush ends)."""
            idle = False
            while batches and all(task.done() for task in batches[0]):
                runs = [task.result() for task in batches.pop(0)]
                for run in runs:
                    report.add(run.report)
                idle = idle or all(run.report.sent == 0 for run in runs)
            return idle

        try:
            while True:
                due = await self.store.claim_due(
                    owner=self.owner,
                    now=now,
                    limit=BATCH,
                    lease=self.lease,
                    target_prefix=self.target_prefix,
                    shards=self.shards,
                )
                if not due:
                    if not batches:
                        return report
                    # Sends still running may put items back that are due again.
                    await asyncio.gather(*in_flight())
                    if finished_batches():
                        return report
                    continue
                by_target: dict[str, list[Delivery]] = {}
                for item in due:
                    by_target.setdefault(item.target, []).append(item)
                batch: list[asyncio.Task[_TargetRun]] = []
                for target, items in by_target.items():
                    task = asyncio.create_task(self._send_after(last.get(target), target, items))
                    task.add_done_callback(functools.partial(settled, len(items)))
                    last[target] = task
                    batch.append(task)
                batches.append(batch)
                left += len(due)
                refill.clear()
                if left <= REFILL_AT:
                    refill.set()
                await refill.wait()
                if not any(_sent_some(task) for task in batch):
                    # Nothing of it went out yet (a small batch, or the sink is failing):
                    # see it through before claiming more, as a flush that sends nothing
                    # ends there.
                    await asyncio.gather(*in_flight())
                if finished_batches():
                    break
            await asyncio.gather(*in_flight())
            finished_batches()
            return report
        finally:
            # Never leave sends running behind the flush (on an error or a cancellation).
            tasks = in_flight()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def sink_for(self, target: str) -> Sink | None:
        """The sink for ``target``: an exact one, else the one for its prefix."""
        sink = self.sinks.get(target)
        if sink is None:
            for prefix, routed in self.routes.items():
                if target.startswith(prefix):
                    return routed
        return sink

    async def _send_after(
        self, previous: asyncio.Task[_TargetRun] | None, target: str, items: list[Delivery]
    ) -> _TargetRun:
        """Send ``items`` once the target's items of an earlier batch are settled."""
        if previous is not None:
            # An error there ends these too: their items keep their lease and are taken
            # back like any others a failed flush left claimed.
            before = await previous
            if before.blocked_until is not None:
                report = FlushReport()
                for item in items:
                    await self.store.mark_retry(
                        item.id,
                        "waiting for an earlier alert",
                        retry_at=before.blocked_until,
                        count=False,
                    )
                    report.retried += 1
                return _TargetRun(report, before.blocked_until)
        return await self._send_in_order(target, items)

    async def _send_in_order(self, target: str, items: list[Delivery]) -> _TargetRun:
        report = FlushReport()
        sink = self.sink_for(target)
        for index, item in enumerate(items):
            if sink is None:
                # The target is no longer configured; keep the row for when it returns.
                await self.store.mark_retry(
                    item.id, "target not configured", retry_at=utcnow() + timedelta(hours=1)
                )
                report.retried += 1
                continue
            outcome, retry_at = await self._send_one(sink, item)
            if outcome == "sent":
                report.sent += 1
            elif outcome == "dead":
                report.dead += 1
            else:
                report.retried += 1
                # Keep per-target order: the rest wait until the failed one is retried.
                for rest in items[index + 1 :]:
                    await self.store.mark_retry(
                        rest.id, "waiting for an earlier alert", retry_at=retry_at, count=False
                    )
                    report.retried += 1
                return _TargetRun(report, retry_at)
        return _TargetRun(report)

    async def _send_one(self, sink: Sink, item: Delivery) -> tuple[str, datetime]:
        if item.kind == "update":
            # Per-target order guarantees the alert went out first: edit it in place.
            original = await self.store.sent_message_id(item.target, item.incident_id)
            if original:
                item.payload["edit_message_id"] = original
            elif not await self.store.alert_sent(item.target, item.incident_id):
                # This target never had the incident's alert (it came before the target was
                # configured, a filter held the incident back, or a crash mislabelled it):
                # this update announces it instead, and is the alert later updates edit.
                item.payload["kind"] = "alert"
                await self.store.mark_alert(item.id)
            elif item.payload.get("disclosure_evidence") != "confirmed":
                # Nothing to edit (the receiver gave no message id): only a confirmation by
                # the company or a regulator is worth a message of its own.
                await self.store.mark_sent(item.id, message_id=None)
                return "sent", utcnow()
        for attempt in range(self.inline_retries + 1):
            await self.store.mark_sending(item.id)
            try:
                message_id = await sink.send(item)
            except DeliveryError as exc:
                # The receiver answered: this attempt is settled, not in doubt.
                await self.store.mark_unsent(item.id)
                if exc.permanent:
                    log.warning("delivery %s to %s given up: %s", item.id, item.target, exc)
                    await self.store.mark_retry(item.id, str(exc), retry_at=utcnow(), dead=True)
                    return "dead", utcnow()
                wait = exc.retry_after if exc.retry_after is not None else 0.25 * 2**attempt
                if attempt < self.inline_retries and wait <= self.max_inline_wait:
                    await asyncio.sleep(wait)
                    continue
                attempts = item.attempts + 1
                dead = attempts >= MAX_ATTEMPTS
                backoff = max(wait, min(3600.0, 30.0 * 2 ** min(attempts, 7)))
                backoff += random.uniform(0, backoff / 4)
                log.warning("delivery %s to %s failed, will retry: %s", item.id, item.target, exc)
                retry_at = utcnow() + timedelta(seconds=backoff)
                await self.store.mark_retry(item.id, str(exc), retry_at=retry_at, dead=dead)
                return ("dead" if dead else "retry"), retry_at
            await self.store.mark_sent(item.id, message_id=message_id)
            return "sent", utcnow()
        raise AssertionError("unreachable")  # pragma: no cover


def _sent_some(task: asyncio.Task[_TargetRun]) -> bool:
    if not task.done() or task.cancelled() or task.exception() is not None:
        return False
    return task.result().report.sent > 0
