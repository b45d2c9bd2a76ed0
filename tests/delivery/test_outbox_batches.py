"""The outbox claims its next batch while the last one is still being sent: order holds,
and a failing target holds up nothing but itself."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.core.clock import utcnow
from bot.core.records import Delivery
from bot.delivery import DeliveryError, Outbox
from bot.delivery import outbox as outbox_module
from bot.store import Store
from bot.store.schema import deliveries
from scrapers.models import Disclosure, Evidence


class RecordingSink:
    """Accepts alerts after a short, uneven delay; refuses those listed in ``failing``."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.failing = failing
        self.received: list[tuple[str, str]] = []  # (target, title)
        self.tried: list[str] = []
        self.rng = random.Random(7)

    async def send(self, item: Delivery) -> str | None:
        await asyncio.sleep(self.rng.uniform(0, 0.004))
        title = str(item.payload["title"])
        self.tried.append(title)
        if title in self.failing:
            raise DeliveryError(f"{title}: receiver down")
        self.received.append((item.target, title))
        return None


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # Batches of five, two alerts of a target at a time, the next batch claimed with two
    # left: every target spans several claims.
    monkeypatch.setattr(outbox_module, "BATCH", 5)
    monkeypatch.setattr(outbox_module, "PER_TARGET", 2)
    monkeypatch.setattr(outbox_module, "REFILL_AT", 2)


async def queue(store: Store, plan: list[tuple[str, str]]) -> None:
    """Queue (target, title) alerts in this order, each for an incident of its own."""
    for target, title in plan:
        item = Disclosure(
            source="test",
            url=f"https://example.com/{title}",
            title=title,
            evidence=Evidence.CONFIRMED,
        )
        await store.add_disclosures([item])
        incident_id, _ = await store.record_match(
            item,
            company_key=title,
            company_name=title,
            matched=[title],
            reason="test",
            incident_id=None,
        )
        await store.enqueue(
            target, incident_id=incident_id, disclosure_id=item.identity, payload={"title": title}
        )


def plan_of(targets: int, per_target: int) -> list[tuple[str, str]]:
    return [(f"t{t}", f"t{t}-{n}") for n in range(per_target) for t in range(targets)]


async def test_every_target_gets_its_alerts_in_order_across_batches(store: Store) -> None:
    plan = plan_of(targets=4, per_target=6)
    await queue(store, plan)
    sink = RecordingSink()
    outbox = Outbox(store, {}, routes={"t": sink}, inline_retries=0)
    report = await outbox.flush()
    assert report.sent == len(plan)
    assert sorted(sink.received) == sorted(plan)
    for target in {t for t, _ in plan}:
        got = [title for t, title in sink.received if t == target]
        assert got == [title for t, title in plan if t == target]
    assert await store.delivery_counts() == {"sent": len(plan)}


async def test_a_failed_alert_marks_its_target_down_and_only_it_waits(store: Store) -> None:
    """t1's second alert fails: t1 is down and its later alerts wait, untouched, behind it;
    t0 and t2 get all theirs."""
    plan = plan_of(targets=3, per_target=5)
    await queue(store, plan)
    T0 = utcnow()  # the pass's fixed clock
    sink = RecordingSink(failing=frozenset({"t1-1"}))
    outbox = Outbox(store, {}, routes={"t": sink}, inline_retries=0)
    report = await outbox.flush(now=T0)
    assert [title for t, title in sink.received if t == "t1"] == ["t1-0"]
    for target in ("t0", "t2"):
        assert [title for t, title in sink.received if t == target] == [
            f"{target}-{n}" for n in range(5)
        ]
    assert (report.sent, report.down) == (11, 1)
    async with store.engine.connect() as conn:
        rows = list(
            await conn.execute(
                select(deliveries.c.payload, deliveries.c.last_error, deliveries.c.attempts)
                .where(deliveries.c.target == "t1", deliveries.c.status == "pending")
                .order_by(deliveries.c.id)
            )
        )
    assert [r.last_error for r in rows] == ["t1-1: receiver down", None, None, None]
    assert [r.attempts for r in rows] == [1, 0, 0, 0]
    status = {s.target: s for s in await store.target_status(now=T0)}
    assert status["t1"].state == "down" and status["t1"].failures == 1
    assert status["t1"].waiting == 4 and status["t1"].next_attempt_at is not None
    assert T0 < status["t1"].next_attempt_at <= T0 + timedelta(seconds=outbox_module.PROBE_CAP)
    assert status["t0"].state == status["t2"].state == "up"
    # Nothing more is tried before the probe is due; at it, t1's queue goes out in order.
    assert (await outbox.flush(now=T0)).sent == 0
    sink.failing = frozenset()
    later = await outbox.flush(now=status["t1"].next_attempt_at)
    assert later.sent == 4 and later.recovered == 1
    assert [title for t, title in sink.received if t == "t1"] == [f"t1-{n}" for n in range(5)]


async def test_every_target_failing_tries_each_once_and_stops(store: Store) -> None:
    """Twelve targets all failing: each is tried once and marked down; the pass ends."""
    plan = plan_of(targets=12, per_target=2)
    await queue(store, plan)
    T0 = utcnow()  # the pass's fixed clock
    sink = RecordingSink(failing=frozenset(title for _, title in plan))
    outbox = Outbox(store, {}, routes={"t": sink}, inline_retries=0)
    report = await outbox.flush(now=T0)
    assert report.sent == 0
    assert report.down == 12
    assert sorted(sink.tried) == sorted(f"t{n}-0" for n in range(12))
