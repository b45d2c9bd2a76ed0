"""Per-target health: down targets are probed, gone ones give up once, updates wait alone.

Real httpx against Discord-like webhooks on 127.0.0.1 (rate limits and all); simulated
time goes through the outbox's clock, never a sleep.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

import httpx
import pytest

from bot.core.clock import utcnow
from bot.delivery import PROBE_CAP, Attempt, Outbox, WebhookSink
from bot.delivery.webhook import Host
from bot.store import Store
from scrapers.models import Evidence
from tests.support.alerts import queue_alert
from tests.support.crashrig import COMPANIES
from tests.support.discordlike import DiscordLikeWebhooks
from tests.support.localserver import LocalServer, Response

# Once a target answers again, every alert queued for it is accepted within this long.
PROMISE = 15.0
HOOKS = {"soc": ("1290433333333333333", "tok-soc-secret"),
         "legal": ("1290444444444444444", "tok-legal-secret")}  # fmt: skip


@pytest.fixture
def hooks(receiver: LocalServer) -> DiscordLikeWebhooks:
    webhooks = DiscordLikeWebhooks(receiver)
    for label, (hook_id, token) in HOOKS.items():
        webhooks.add(label, hook_id, token)
    return webhooks


def sinks(hooks: DiscordLikeWebhooks, client: httpx.AsyncClient) -> dict[str, WebhookSink]:
    host = Host()
    return {
        f"webhook:{label}": WebhookSink(hooks.url(label), label, client, host=host)
        for label in hooks.hooks
    }


async def test_a_deleted_webhook_gives_up_once_beside_a_healthy_one(
    store: Store,
    hooks: DiscordLikeWebhooks,
    receiver: LocalServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 404 Unknown Webhook ends delivery to that webhook after one request: its alerts
    are kept as given up with the answer, one ERROR says so, the healthy webhook gets
    everything; after the operator fixes it, retry sends them all, in order."""
    hooks.hooks["legal"].gone = True
    gone_path = hooks.hooks["legal"].path
    links = [
        (await queue_alert(store, ["webhook:soc", "webhook:legal"], company))[1]
        for company in COMPANIES[:4]
    ]
    async with httpx.AsyncClient(timeout=5.0) as client:
        outbox = Outbox(store, sinks(hooks, client))
        with caplog.at_level(logging.INFO, logger="bot.delivery.outbox"):
            report = await outbox.flush()
        assert hooks.urls("soc") == links
        assert len(receiver.received("POST", gone_path)) == 1  # one request, not four
        assert (report.sent, report.dead) == (4, 4)
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1
        assert "webhook:legal refused for good (404 Unknown Webhook (10015))" in errors[0]
        assert "4 alerts given up" in errors[0]
        status = {s.target: s for s in await store.target_status()}
        legal = status["webhook:legal"]
        assert (legal.state, legal.queued, legal.given_up) == ("gone", 0, 4)
        assert legal.given_up_reason == "404 Unknown Webhook (10015)"
        assert status["webhook:soc"].state == "up" and status["webhook:soc"].sent == 4

        # A new alert for it is tried once, kept as given up too; no second ERROR.
        caplog.clear()
        _, fifth = await queue_alert(store, ["webhook:soc", "webhook:legal"], COMPANIES[4])
        with caplog.at_level(logging.INFO, logger="bot.delivery.outbox"):
            await outbox.flush()
        assert len(receiver.received("POST", gone_path)) == 2
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        [legal] = await store.target_status(targets=["webhook:legal"])
        assert legal.given_up == 5 and legal.state == "gone"

        # The operator recreates the webhook and retries: all five arrive, in order.
        hooks.hooks["legal"].gone = False
        assert await store.retry_given_up(["webhook:legal"]) == 5
        report = await outbox.flush()
    assert report.sent == 5
    assert hooks.urls("legal") == [*links, fifth]
    assert hooks.urls("soc") == [*links, fifth]
    assert hooks.rate_limited == {"global": 0, "bucket": 0}


async def test_two_simulated_hours_down_and_a_crash_then_one_probe_sends_everything(
    store: Store, hooks: DiscordLikeWebhooks, receiver: LocalServer
) -> None:
    """Down for two hours (simulated), with the sender killed mid-probe: one probe at a
    time, of the oldest alert, never more than PROBE_CAP apart, nothing given up; the
    first probe after the receiver is back sends the whole queue, in order, once."""
    hooks.set_down(True)
    t0 = utcnow()
    links = [(await queue_alert(store, ["webhook:soc"], c, now=t0))[1] for c in COMPANIES[:5]]
    attempts: list[Attempt] = []
    async with httpx.AsyncClient(timeout=5.0) as client:
        first = Outbox(store, sinks(hooks, client), owner="run-1", rng=random.Random(5),
                       on_attempt=attempts.append)  # fmt: skip
        clock = t0
        waits: list[float] = []
        while clock < t0 + timedelta(hours=2):
            await first.flush(now=clock)
            [soc] = await store.target_status(targets=["webhook:soc"], now=clock)
            assert (soc.state, soc.queued, soc.given_up) == ("down", 5, 0)
            assert soc.next_attempt_at is not None
            waits.append((soc.next_attempt_at - clock).total_seconds())
            # The first minute as the runner lives it (woken at each probe); then in
            # ten-minute leaps, as if nothing had run in between.
            minute = clock - t0 < timedelta(minutes=1)
            clock = soc.next_attempt_at if minute else clock + timedelta(minutes=10)
        tried = [r.json()["embeds"][0]["url"] for r in receiver.received("POST")]
        assert set(tried) == {links[0]}  # only ever the oldest alert
        # The first failure is retried once inline; every later flush makes one probe.
        assert len(tried) == len(waits) + 1
        assert all(a.target_down and a.outcome == "failed" for a in attempts)
        assert 0.25 <= waits[0] <= 0.5
        assert max(waits) <= PROBE_CAP < PROMISE and waits[-1] >= PROBE_CAP / 2
        assert waits[:4] == sorted(waits[:4])  # doubling, jitter never reorders them

        # Killed while probing: its claim and the send in flight are left behind.
        [claim] = await store.claim(owner="run-1", now=clock)
        await store.mark_sending(claim.deliveries[0].id)
        await store.expire_leases(["run-1"])  # a restart finds run-1 dead on its host
        healed = clock + timedelta(seconds=3.7)
        hooks.set_down(False)
        second = Outbox(store, sinks(hooks, client), owner="run-2", on_attempt=attempts.append)
        await second.recover(healed)
        due = await store.next_due_at()
        assert due is not None and due - healed <= timedelta(seconds=PROMISE)
        report = await second.flush(now=max(due, healed))
    assert report.sent == 5 and report.recovered == 1
    assert hooks.urls("soc") == links
    assert len(hooks.keys("soc")) == 5  # once each
    assert await store.get_meta("deliveries_interrupted") == "1"
    assert attempts[-5].recovered and attempts[-5].probe
    # The drain itself, by the receiver's clock: the rest of the promise.
    assert (due - healed).total_seconds() + hooks.accepted[-1].at - hooks.accepted[0].at < PROMISE
    [soc] = await store.target_status(targets=["webhook:soc"])
    assert (soc.state, soc.failures, soc.queued, soc.sent) == ("up", 0, 0, 5)


async def test_a_failing_edit_holds_back_no_new_alert(
    store: Store, hooks: DiscordLikeWebhooks
) -> None:
    """An update whose edit keeps failing waits on its own; the next alert goes out at
    once; the edit lands later, on the original message."""
    incident, casio = await queue_alert(store, ["webhook:soc"], "Casio")
    async with httpx.AsyncClient(timeout=5.0) as client:
        outbox = Outbox(store, sinks(hooks, client))
        await outbox.flush()
        (original,) = hooks.accepted
        hooks.hooks["soc"].fail_edits = 100
        await queue_alert(store, ["webhook:soc"], "Casio", n=1, incident=incident,
                          evidence=Evidence.CONFIRMED)  # fmt: skip
        _, moneygram = await queue_alert(store, ["webhook:soc"], "MoneyGram")
        now = utcnow()
        report = await outbox.flush(now=now)
        assert report.sent == 1 and report.down == 0
        assert hooks.urls("soc") == [casio, moneygram]
        assert hooks.edited == []
        [soc] = await store.target_status(targets=["webhook:soc"], now=now)
        assert soc.state == "up" and (soc.queued, soc.waiting) == (1, 1)
        assert soc.next_attempt_at is not None
        assert soc.next_attempt_at - now <= timedelta(seconds=PROBE_CAP)
        hooks.hooks["soc"].fail_edits = 0
        assert (await outbox.flush(now=soc.next_attempt_at)).sent == 1
    (edit,) = hooks.edited
    assert edit.message_id == original.message_id
    assert len(hooks.accepted) == 2  # the update edited; it posted nothing new


async def test_an_update_retried_after_a_later_one_is_not_sent(
    store: Store, hooks: DiscordLikeWebhooks
) -> None:
    """The first update's edit fails, the second's succeeds: the first, retried later,
    must not put the older text back."""
    incident, _ = await queue_alert(store, ["webhook:soc"], "Casio")
    async with httpx.AsyncClient(timeout=5.0) as client:
        outbox = Outbox(store, sinks(hooks, client), inline_retries=0)
        await outbox.flush()
        hooks.hooks["soc"].fail_edits = 1
        for n in (1, 2):
            await queue_alert(store, ["webhook:soc"], "Casio", n=n, incident=incident)
        now = utcnow()
        await outbox.flush(now=now)
        assert [e.url for e in hooks.edited] == ["https://news.example.org/2024/10/casio-2"]
        report = await outbox.flush(now=now + timedelta(seconds=PROBE_CAP))
    assert report.sent == 0
    assert len(hooks.edited) == 1
    assert await store.delivery_counts() == {"sent": 3}


async def test_an_update_whose_message_was_deleted_posts_only_stronger_evidence(
    store: Store, hooks: DiscordLikeWebhooks, receiver: LocalServer
) -> None:
    """Someone deleted the alert: an update saying no more is dropped quietly; one that
    raises the evidence (a confirmation) is posted as a message of its own, and later
    updates edit that one."""
    incident, _ = await queue_alert(store, ["webhook:soc"], "Casio")
    async with httpx.AsyncClient(timeout=5.0) as client:
        outbox = Outbox(store, sinks(hooks, client))
        await outbox.flush()
        (original,) = hooks.accepted
        deleted = Response(404, b'{"message": "Unknown Message", "code": 10008}',
                           {"Content-Type": "application/json"})  # fmt: skip
        receiver.route(
            f"{hooks.hooks['soc'].path}/messages/{original.message_id}", deleted, method="PATCH"
        )
        await queue_alert(store, ["webhook:soc"], "Casio", n=1, incident=incident)
        assert (await outbox.flush()).sent == 0
        assert len(hooks.accepted) == 1
        _, confirmed = await queue_alert(store, ["webhook:soc"], "Casio", n=2, incident=incident,
                                         evidence=Evidence.CONFIRMED)  # fmt: skip
        assert (await outbox.flush()).sent == 1
        assert [a.url for a in hooks.accepted] == [original.url, confirmed]
        await queue_alert(store, ["webhook:soc"], "Casio", n=3, incident=incident,
                          evidence=Evidence.CONFIRMED)  # fmt: skip
        assert (await outbox.flush()).sent == 1
    (edit,) = hooks.edited
    assert edit.message_id == hooks.accepted[1].message_id


async def test_webhooks_on_one_host_come_back_together(
    store: Store, hooks: DiscordLikeWebhooks
) -> None:
    """When one webhook of a host answers again, the others on it are probed at once
    rather than at their own next probe."""
    hooks.set_down(True)
    now = utcnow()
    for company in COMPANIES[:3]:
        await queue_alert(store, ["webhook:soc", "webhook:legal"], company, now=now)
    async with httpx.AsyncClient(timeout=5.0) as client:
        outbox = Outbox(store, sinks(hooks, client), inline_retries=0, rng=random.Random(3))
        for _ in range(4):  # a few failures each: their next probes drift apart
            await outbox.flush(now=now)
            statuses = await store.target_status(now=now)
            now = min(s.next_attempt_at for s in statuses if s.next_attempt_at is not None)
        statuses = await store.target_status(now=now)
        probes = sorted(s.next_attempt_at for s in statuses if s.next_attempt_at is not None)
        assert len(probes) == 2 and probes[0] < probes[1]
        hooks.set_down(False)
        report = await outbox.flush(now=probes[0])
    assert report.recovered == 2 and report.sent == 6
    assert len(hooks.urls("soc")) == len(hooks.urls("legal")) == 3


async def test_a_webhook_is_sent_at_the_pace_its_headers_announce(
    store: Store, receiver: LocalServer
) -> None:
    """A bucket of two posts per 0.6 s: the outbox waits for it to refill, never meeting
    a 429, and the alerts arrive in order."""
    hooks = DiscordLikeWebhooks(receiver, bucket=2, bucket_seconds=0.6)
    hooks.add("soc", *HOOKS["soc"])
    links = [(await queue_alert(store, ["webhook:soc"], c))[1] for c in COMPANIES[:6]]
    async with httpx.AsyncClient(timeout=5.0) as client:
        report = await Outbox(store, sinks(hooks, client)).flush()
    assert report.sent == 6
    assert hooks.urls("soc") == links
    assert hooks.rate_limited == {"global": 0, "bucket": 0}
    stamps = [a.at for a in hooks.accepted]
    assert all(later - earlier >= 0.6 for earlier, later in zip(stamps, stamps[2:], strict=False))


async def test_a_webhook_that_never_answers_slows_no_other(
    store: Store, hooks: DiscordLikeWebhooks, receiver: LocalServer
) -> None:
    """A webhook whose host accepts the connection but never answers (a timeout) is marked
    down after its one quick retry, only its oldest alert tried; the healthy webhook's
    alerts are all accepted, by the receiver's clock, before the hung one's first request
    even timed out."""
    hung = LocalServer().start()
    try:
        path = "/api/webhooks/1290477777777777777/tok-hung-secret"
        hung.route(path, Response(200, b"{}", {"Content-Type": "application/json"},
                                  delay=2.0), method="POST")  # fmt: skip
        links = [
            (await queue_alert(store, ["webhook:hung", "webhook:soc"], c))[1] for c in COMPANIES[:4]
        ]
        timed_out: list[float] = []

        def seen(attempt: Attempt) -> None:
            if attempt.target == "webhook:hung":
                timed_out.append(time.monotonic())

        started = time.monotonic()
        async with httpx.AsyncClient(timeout=0.6) as client:
            host = Host()
            outbox = Outbox(
                store,
                {
                    "webhook:hung": WebhookSink(hung.url(path), "hung", client, host=host),
                    "webhook:soc": WebhookSink(hooks.url("soc"), "soc", client, host=host),
                },
                on_attempt=seen,
            )
            report = await outbox.flush()
        assert hooks.urls("soc") == links
        assert (report.sent, report.down) == (4, 1)
        # The first timeout came no sooner than the client's timeout after the start; the
        # healthy webhook was done before it.
        assert timed_out and timed_out[0] - started >= 0.6
        assert hooks.accepted[-1].at < started + 0.6
        tried = [r.json()["embeds"][0]["url"] for r in hung.received("POST")]
        assert tried == [links[0], links[0]]  # one quick retry, of the oldest alert only
        [status] = await store.target_status(targets=["webhook:hung"])
        assert (status.state, status.queued, status.given_up) == ("down", 4, 0)
        assert status.last_error == "no answer in time"
        assert status.next_attempt_at is not None
    finally:
        hung.stop()
