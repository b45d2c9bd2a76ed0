"""The store's contract, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.incidents import Neighbourhood
from bot.store import Store
from scrapers.http import Validators
from scrapers.models import Disclosure, Evidence
from tests.support.factories import casio

T0 = datetime(2024, 10, 10, 9, 0, tzinfo=UTC)
OtherStore = Callable[[], Awaitable[Store]]


async def _incident(store: Store, item: Disclosure, *, incident_id: int | None = None) -> int:
    await store.add_disclosures([item], now=T0)
    found, _ = await store.record_match(
        item,
        company_key="casio",
        company_name="Casio",
        matched=["Casio"],
        reason="name in title",
        incident_id=incident_id,
        now=T0,
    )
    return found


async def _queue(store: Store, target: str, n: int, *, now: datetime = T0) -> list[int]:
    incident = await _incident(store, casio(1000 + n))
    for i in range(n):
        item = casio(i)
        await store.add_disclosures([item], now=now)
        assert await store.enqueue(
            target, incident_id=incident, disclosure_id=item.identity, payload={"n": i}, now=now
        )
    claimed = await store.claim_due(
        owner="peek", now=now + timedelta(days=365), limit=1000, target_prefix=target
    )
    queued = [d.id for d in claimed]
    await store.recover_interrupted("peek")  # give the target and its rows back untouched
    return queued


# -- disclosures --------------------------------------------------------------------------


async def test_add_disclosures_returns_only_items_never_seen(store: Store) -> None:
    """The second time an item is offered it is not new; new ones come back in input order."""
    first = await store.add_disclosures([casio(2), casio(1)], now=T0)
    assert [d.url for d in first] == [casio(2).url, casio(1).url]
    again = await store.add_disclosures([casio(3), casio(1), casio(2)], now=T0)
    assert [d.url for d in again] == [casio(3).url]
    assert await store.count_disclosures() == 3


async def test_add_disclosures_dedupes_within_one_batch(store: Store) -> None:
    """The same story twice in one feed is stored and returned once."""
    fresh = await store.add_disclosures([casio(1), casio(1), casio(2)], now=T0)
    assert len(fresh) == 2
    assert await store.add_disclosures([], now=T0) == []


async def test_add_disclosures_handles_batches_larger_than_one_statement(store: Store) -> None:
    """A first poll of a big archive (more than one insert chunk) stores every item."""
    items = [casio(i) for i in range(1234)]
    assert len(await store.add_disclosures(items, now=T0)) == 1234
    assert await store.add_disclosures(items[600:700], now=T0) == []


async def test_concurrent_add_disclosures_store_each_item_once(
    store: Store, other_store: OtherStore
) -> None:
    """Two processes offering overlapping items at once: each item is new to exactly one."""
    stores = [store, await other_store(), await other_store()]
    batches = [[casio(i) for i in range(start, start + 300)] for start in (0, 100, 200)]
    results = await asyncio.gather(
        *(s.add_disclosures(b, now=T0) for s, b in zip(stores, batches, strict=True))
    )
    claimed = [d.identity for r in results for d in r]
    assert len(claimed) == len(set(claimed)) == 500
    assert await store.count_disclosures() == 500


async def test_held_items_are_offered_again_until_released(store: Store) -> None:
    """Items a poll stored but did not finish stay held: the next poll gets them again."""
    done, stranded = casio(1), casio(2)
    first = await store.add_disclosures([done, stranded], now=T0, hold=True)
    assert [d.url for d in first] == [done.url, stranded.url]
    await store.release_held([done.identity])
    # The process died before releasing the second: the next poll takes it up at once.
    again = await store.add_disclosures([done, stranded], now=T0 + timedelta(seconds=1), hold=True)
    assert [d.url for d in again] == [stranded.url]
    await store.release_held([stranded.identity])
    assert (
        await store.add_disclosures([done, stranded], now=T0 + timedelta(days=1), hold=True) == []
    )
    # Without hold (a one-off scan), stored items are simply seen.
    assert await store.add_disclosures([casio(3)], now=T0) != []
    assert await store.add_disclosures([casio(3)], now=T0) == []


# -- incidents and matches ----------------------------------------------------------------


async def test_record_match_opens_an_incident_then_attaches_to_it(store: Store) -> None:
    """The first match opens an incident; a later one joins it and moves last_seen on."""
    first = casio(1)
    incident = await _incident(store, first)
    second = casio(2, source="bleepingcomputer")
    await store.add_disclosures([second])
    later = T0 + timedelta(hours=5)
    again, created = await store.record_match(
        second, company_key="casio", company_name="Casio", matched=["Casio"], reason="title",
        incident_id=incident, now=later,
    )  # fmt: skip
    assert (again, created) == (incident, False)
    row = await store.get_incident(incident)
    assert row is not None
    assert row.first_seen == T0 and row.last_seen == later
    assert row.company_name == "Casio" and row.title == first.title
    assert await store.incident_url_keys(incident) == {first.url_key, second.url_key}
    sources = await store.incident_sources(incident)
    assert [s["source"] for s in sources] == ["the-record", "bleepingcomputer"]
    assert sources[0]["first_seen"] == T0


async def test_stronger_evidence_upgrades_the_incident_and_weaker_does_not(store: Store) -> None:
    """A company statement upgrades a press report's incident and becomes its link."""
    incident = await _incident(store, casio(1))
    statement = Disclosure(
        source="casio-jp-releases",
        title="ランサムウェア被害による個人情報漏洩に関するお知らせ",
        url="https://www.casio.co.jp/release/2024/1008-incident/",
        organization="Casio",
        evidence=Evidence.CONFIRMED,
        language="ja",
    )
    await _incident(store, statement, incident_id=incident)
    await _incident(store, casio(3, evidence=Evidence.CLAIMED), incident_id=incident)
    row = await store.get_incident(incident)
    assert row is not None
    assert row.evidence is Evidence.CONFIRMED
    assert row.url == statement.url and row.title == statement.title


async def test_record_match_twice_keeps_one_match(store: Store) -> None:
    """Recording the same (disclosure, company) again does not duplicate the match."""
    item = casio(1)
    incident = await _incident(store, item)
    await _incident(store, item, incident_id=incident)
    assert len(await store.incident_sources(incident)) == 1


def _around(
    start: datetime, end: datetime, url_key: str = "none", naming: str = "-"
) -> Neighbourhood:
    return Neighbourhood(
        spans=((start, end),), url_key=url_key, naming=naming, naming_span=(end, end)
    )


async def test_a_companys_stories_near_a_time_are_found_by_publication_time(
    store: Store,
) -> None:
    """The book reads a company's stories by when they were published (first seen without a
    date), any with the same link however old, and the look backs years later that name a
    month; other companies' stay out."""
    dated = [
        Disclosure(
            source="the-record",
            title=f"Casio report {n}",
            url=f"https://therecord.media/casio-{n}",
            published=T0 + timedelta(days=days),
            guid=str(n),
        )
        for n, days in enumerate([-400, -10, 0, 20, 500])
    ]
    undated = Disclosure(source="ransomlook", title="Casio Computer", url="https://r.test/casio")
    look_back = Disclosure(
        source="asm-pro",
        title="Casio's ransomware attack, a look back",
        summary="On October 10, 2024, Casio found unauthorized access to its network.",
        url="https://asm.test/casio",
        published=T0 + timedelta(days=900),
    )
    copy = Disclosure(
        source="google-news",
        title="Casio report 0 - The Record",
        url="https://therecord.media/casio-0?utm_source=rss",
        published=T0 + timedelta(days=1),
    )
    for item in [*dated, undated, look_back]:
        seen = max(T0 + timedelta(days=700), item.published or T0)
        await store.add_disclosures([item], now=seen)
        await store.record_match(
            item, company_key="casio", company_name="Casio", matched=["Casio"], reason="",
            incident_id=None, now=seen,
        )  # fmt: skip
    await store.add_disclosures([copy], now=T0)
    await store.record_match(
        copy, company_key="moneygram", company_name="MoneyGram", matched=[], reason="",
        incident_id=None, now=T0,
    )  # fmt: skip
    async with store.book("casio") as book:
        month = timedelta(days=30)
        near = await book.near(_around(T0 - month, T0 + month, copy.url_key))
        assert {s.title for s in near} == {"Casio report 0", "Casio report 1", "Casio report 2",
                                           "Casio report 3"}  # fmt: skip
        assert all(s.incident is not None for s in near)
        late = await book.near(_around(T0 + 20 * month, T0 + 25 * month))
        assert [(s.title, s.at) for s in late] == [("Casio Computer", T0 + timedelta(days=700))]
        naming = Neighbourhood(
            spans=(), url_key="none", naming="2024-10",
            naming_span=(T0 + timedelta(days=365), T0 + timedelta(days=3 * 365)),
        )  # fmt: skip
        assert [s.title for s in await book.near(naming)] == [look_back.title]
    async with store.book("moneygram") as book:
        assert [s.title for s in await book.near(_around(T0, T0))] == []


async def test_folding_an_incident_keeps_the_alerts_sent_and_announces_nothing_twice(
    store: Store,
) -> None:
    """Two incidents found to be one: the older keeps its id and its sent alert, which later
    updates edit; the other's queued alert becomes an update where the target already has
    an alert, and stays an alert where it has none; held digest entries follow."""
    older = await _incident(store, casio(1))
    newer = await _incident(store, casio(2))
    both = casio(3)
    await store.enqueue("webhook:soc", incident_id=older, disclosure_id=casio(1).identity,
                        payload={"kind": "alert", "incident": older}, now=T0)  # fmt: skip
    [sent] = await store.claim_due(owner="w", now=T0)
    await store.mark_sent(sent.id, message_id="m-older", now=T0)
    await store.release("w", "webhook:soc")  # the sender is done with the target
    for target in ("webhook:soc", "webhook:ops"):
        await store.enqueue(target, incident_id=newer, disclosure_id=casio(2).identity,
                            payload={"kind": "alert", "incident": newer}, now=T0)  # fmt: skip
    await store.guilds.hold_for_digest(7, 70, older, {"incident": older, "n": 1}, now=T0)
    await store.guilds.hold_for_digest(7, 70, newer, {"incident": newer, "n": 2}, now=T0)
    async with store.book("casio") as book:
        await book.merge(older, [newer])
        await book.refresh([older])
    assert await store.get_incident(newer) is None
    assert len(await store.incident_sources(older)) == 2
    queued = {d.target: d for d in await store.claim_due(owner="w", now=T0)}
    assert queued["webhook:soc"].incident_id == older
    assert queued["webhook:soc"].kind == "update"
    assert queued["webhook:soc"].payload == {"kind": "update", "incident": older}
    assert queued["webhook:ops"].kind == "alert"
    assert queued["webhook:ops"].payload["incident"] == older
    assert await store.sent_message_id("webhook:soc", older) == "m-older"
    held = await store.guilds.held_alerts()
    assert [(h.channel_id, h.payload) for h in held] == [(70, {"incident": older, "n": 2})]
    async with store.book("casio") as book:
        stories = await book.near(_around(T0 - timedelta(days=3), T0, both.url_key))
    assert [s.incident for s in stories] == [older, older]


# -- outbox -------------------------------------------------------------------------------


async def test_enqueue_accepts_each_target_incident_disclosure_once(store: Store) -> None:
    """Queuing the same alert to the same target twice queues it once."""
    item = casio(1)
    incident = await _incident(store, item)
    args = {"incident_id": incident, "disclosure_id": item.identity, "payload": {"a": 1}}
    assert await store.enqueue("webhook:soc", **args, now=T0) is True
    assert await store.enqueue("webhook:soc", **args, now=T0) is False
    assert await store.enqueue("webhook:legal", **args, now=T0) is True
    assert await store.pending_count() == 2


async def test_a_claim_leases_targets_with_their_oldest_alerts(store: Store) -> None:
    """A claim takes each target with its oldest due alerts; nobody else gets anything of
    a leased target until the lease expires, while other targets stay free to claim."""
    soc = await _queue(store, "webhook:soc", 5)
    hour = timedelta(hours=1)
    first = await store.claim(owner="a", now=T0, per_target=3, lease=timedelta(minutes=2))
    assert [(c.target, c.state, [d.id for d in c.deliveries]) for c in first] == [
        ("webhook:soc", "up", soc[:3])
    ]
    assert first[0].deliveries[0].payload == {"n": 0} and first[0].deliveries[0].kind == "alert"
    legal = await _queue(store, "webhook:legal", 2)
    # The rest of soc is not handed to anyone else: its order would not survive that.
    rest = await store.claim(owner="b", now=T0 + timedelta(minutes=1), lease=hour)
    assert [(c.target, [d.id for d in c.deliveries]) for c in rest] == [("webhook:legal", legal)]
    assert await store.claim(owner="c", now=T0 + timedelta(minutes=1)) == []
    # The holder asks for more of its own target.
    more = await store.claim_more("webhook:soc", owner="a", now=T0 + timedelta(minutes=1))
    assert [d.id for d in more] == soc[3:]
    assert await store.claim_more("webhook:soc", owner="c", now=T0) == []
    expired = await store.claim(owner="c", now=T0 + timedelta(minutes=3, seconds=1))
    assert [(c.target, [d.id for d in c.deliveries]) for c in expired] == [("webhook:soc", soc)]


async def test_claim_due_respects_retry_time_and_target_prefix(store: Store) -> None:
    """An alert waiting for its own retry (a failed update) is not due and holds nothing
    up; a prefix limits the claim to its targets."""
    soc = await _queue(store, "webhook:soc", 2)
    await store.mark_retry(soc[0], "503", retry_at=T0 + timedelta(minutes=10))
    channel = await _queue(store, "channel:1234", 1)
    by_prefix = await store.claim_due(owner="a", now=T0, target_prefix="channel:")
    assert [d.id for d in by_prefix] == channel
    assert [d.id for d in await store.claim_due(owner="a", now=T0)] == [soc[1]]
    await store.recover_interrupted("a")
    later = await store.claim_due(
        owner="a", now=T0 + timedelta(minutes=10), target_prefix="webhook:"
    )
    assert [(d.id, d.attempts) for d in later] == [(soc[0], 1), (soc[1], 0)]


async def test_a_down_target_offers_one_probe_when_due(store: Store) -> None:
    """A down target is offered once its probe is due, with its oldest alert only; a
    success ends the outage and the whole queue is offered again."""
    soc = await _queue(store, "webhook:soc", 4)
    [claim] = await store.claim(owner="a", now=T0)
    failures = await store.mark_down(
        "webhook:soc", soc[0], "500 Internal Server Error",
        retry_at=T0 + timedelta(seconds=8), now=T0,
    )  # fmt: skip
    assert failures == 1
    await store.release("a", "webhook:soc", [d.id for d in claim.deliveries[1:]])
    assert await store.claim(owner="a", now=T0 + timedelta(seconds=7)) == []
    assert await store.next_due_at() == T0 + timedelta(seconds=8)
    [probe] = await store.claim(owner="b", now=T0 + timedelta(seconds=8))
    assert (probe.state, probe.failures, probe.down_since) == ("down", 1, T0)
    assert [(d.id, d.attempts) for d in probe.deliveries] == [(soc[0], 1)]
    # One probe at a time: the target is leased to its prober.
    assert await store.claim(owner="c", now=T0 + timedelta(seconds=9)) == []
    await store.mark_sent(soc[0], now=T0 + timedelta(seconds=9), target="webhook:soc")
    assert [d.id for d in await store.claim_more("webhook:soc", owner="b", now=T0)] == soc[1:]
    [status] = await store.target_status(now=T0 + timedelta(seconds=10))
    assert (status.state, status.queued, status.sent, status.failures) == ("up", 3, 1, 0)
    assert status.last_success_at == T0 + timedelta(seconds=9)


async def test_a_gone_target_keeps_its_alerts_as_given_up_until_retried(store: Store) -> None:
    """A permanent refusal gives up every queued alert, with the answer; retry puts them
    back and makes the target worth trying again."""
    soc = await _queue(store, "webhook:soc", 3)
    await store.claim(owner="a", now=T0)
    assert await store.give_up_target("webhook:soc", "404 Unknown Webhook (10015)", now=T0) == 3
    await store.release("a", "webhook:soc")
    assert await store.delivery_counts() == {"dead": 3}
    assert await store.claim(owner="a", now=T0 + timedelta(days=1)) == []
    [status] = await store.target_status(now=T0)
    assert (status.state, status.given_up, status.queued) == ("gone", 3, 0)
    assert status.given_up_reason == "404 Unknown Webhook (10015)"
    assert await store.retry_given_up(["webhook:legal"], now=T0) == 0
    assert await store.retry_given_up(["webhook:soc"], now=T0) == 3
    [claim] = await store.claim(owner="b", now=T0)
    assert claim.state == "up" and [d.id for d in claim.deliveries] == soc


async def test_concurrent_claims_hand_out_each_delivery_once_and_in_order(
    store: Store, other_store: OtherStore
) -> None:
    """Four workers claiming at once never share a row nor a target, take them all, and
    each target's alerts are handed out oldest first."""
    ids: dict[str, list[int]] = {}
    for n in range(12):
        ids[f"webhook:t{n}"] = await _queue(store, f"webhook:t{n}", 10)
    workers = [store] + [await other_store() for _ in range(3)]
    handed: list[tuple[str, int]] = []  # (target, id) in the order workers got them
    holding: set[str] = set()

    async def drain(s: Store, owner: str) -> None:
        while claims := await s.claim(owner=owner, now=T0, limit=7, per_target=3):
            for claim in claims:
                assert claim.target not in holding
                holding.add(claim.target)
                handed.extend((claim.target, d.id) for d in claim.deliveries)
            for claim in claims:
                for d in claim.deliveries:
                    await s.mark_sent(d.id, now=T0, target=claim.target)
                holding.discard(claim.target)
                await s.release(owner, claim.target)

    await asyncio.gather(*(drain(s, f"w{i}") for i, s in enumerate(workers)))
    assert sorted(i for _, i in handed) == sorted(i for v in ids.values() for i in v)
    assert len(handed) == len(set(handed))
    for target, expected in ids.items():
        assert [i for t, i in handed if t == target] == expected


async def test_mark_sent_records_the_message_and_ends_the_delivery(store: Store) -> None:
    """A sent alert is not claimed again and its message id is found for later edits."""
    [delivery_id] = await _queue(store, "webhook:soc", 1)
    [claimed] = await store.claim_due(owner="a", now=T0)
    await store.mark_sent(delivery_id, message_id="1293847561234567890", now=T0)
    assert await store.claim_due(owner="b", now=T0 + timedelta(days=1)) == []
    assert await store.sent_message_id("webhook:soc", claimed.incident_id) == "1293847561234567890"
    assert await store.sent_message_id("webhook:legal", claimed.incident_id) is None
    assert await store.delivery_counts() == {"sent": 1}
    assert await store.pending_count() == 0


async def test_mark_retry_counts_attempts_and_gives_up_when_dead(store: Store) -> None:
    """A retry counts an attempt unless told not to; a dead row is never claimed again."""
    first, second = await _queue(store, "webhook:soc", 2)
    await store.claim_due(owner="a", now=T0)
    await store.mark_retry(first, "503", retry_at=T0 + timedelta(seconds=30))
    await store.mark_retry(second, "waiting", retry_at=T0 + timedelta(seconds=30), count=False)
    await store.release("a", "webhook:soc")
    again = await store.claim_due(owner="a", now=T0 + timedelta(seconds=30))
    # Per-target order survives a retry: the failed first alert still comes first.
    assert [(d.id, d.attempts) for d in again] == [(first, 1), (second, 0)]
    await store.mark_retry(first, "404", retry_at=T0, dead=True)
    await store.mark_retry(second, "503", retry_at=T0 + timedelta(seconds=60))
    assert await store.delivery_counts() == {"dead": 1, "pending": 1}
    assert [d.id for d in await store.claim_due(owner="a", now=T0 + timedelta(days=1))] == [second]


# -- sources ------------------------------------------------------------------------------


async def test_source_state_remembers_validators_failures_and_successes(store: Store) -> None:
    """Failures count up and reset on success; validators survive for the next process."""
    assert await store.record_failure("the-record", "timed out", next_poll_at=T0, now=T0) == 1
    assert await store.record_failure("the-record", "503", next_poll_at=T0, now=T0) == 2
    nxt = T0 + timedelta(minutes=10)
    await store.record_success(
        "the-record", items=25, validators=Validators('"abc"', None), next_poll_at=nxt, now=T0
    )
    await store.record_success("the-record", items=5, validators=None, next_poll_at=nxt, now=T0)
    health = (await store.source_health())["the-record"]
    assert health.consecutive_failures == 0 and health.items_seen == 30
    assert health.last_error == "503" and health.last_error_at == T0
    assert health.last_success_at == T0 and health.next_poll_at == nxt
    assert await store.load_validators() == {"the-record": Validators('"abc"', None)}


async def test_claim_sources_leases_due_sources_and_moves_their_schedule(store: Store) -> None:
    """A claimed source is not due again until its interval passed and its lease ended."""
    every = {"the-record": timedelta(minutes=10), "securityweek": timedelta(minutes=15)}
    await store.ensure_sources(every)
    await store.record_success(
        "the-record", items=1, validators=Validators(None, "Tue, 08 Oct 2024 12:00:00 GMT"),
        next_poll_at=T0, now=T0,
    )  # fmt: skip
    claimed = await store.claim_sources(every, owner="a", now=T0, lease=timedelta(minutes=1))
    assert [c.name for c in claimed] == ["securityweek", "the-record"]
    assert claimed[1].validators.last_modified == "Tue, 08 Oct 2024 12:00:00 GMT"
    health = await store.source_health()
    assert health["securityweek"].next_poll_at == T0 + timedelta(minutes=15)
    assert await store.claim_sources(every, owner="b", now=T0 + timedelta(minutes=9)) == []
    # Done (recording the poll ends the lease), but not due before its interval.
    await store.record_success(
        "the-record", items=0, validators=None, next_poll_at=T0 + timedelta(minutes=10), now=T0
    )
    assert (await store.source_health())["the-record"].next_poll_at == T0 + timedelta(minutes=10)
    assert await store.claim_sources(every, owner="b", now=T0 + timedelta(minutes=9)) == []
    later = await store.claim_sources(every, owner="b", now=T0 + timedelta(minutes=10))
    assert [c.name for c in later] == ["the-record"]


async def test_a_lease_outlives_the_schedule_until_it_expires(store: Store) -> None:
    """A poll running past its interval keeps the source; a dead owner's lease runs out."""
    every = {"databreaches-net": timedelta(seconds=30)}
    await store.ensure_sources(every)
    await store.claim_sources(every, owner="dead", now=T0, lease=timedelta(minutes=2))
    assert await store.claim_sources(every, owner="b", now=T0 + timedelta(minutes=1)) == []
    await store.release_source("databreaches-net", owner="b")  # not b's lease: no effect
    assert await store.claim_sources(every, owner="b", now=T0 + timedelta(minutes=1)) == []
    taken = await store.claim_sources(every, owner="b", now=T0 + timedelta(minutes=2, seconds=1))
    assert [c.name for c in taken] == ["databreaches-net"]
    # b's poll crashed before recording anything: it gives the lease back itself.
    await store.release_source("databreaches-net", owner="b")
    again = await store.claim_sources(every, owner="c", now=T0 + timedelta(minutes=3))
    assert [c.name for c in again] == ["databreaches-net"]


async def test_concurrent_source_claims_give_each_source_to_one_process(
    store: Store, other_store: OtherStore
) -> None:
    """Five processes claiming the same 200 due sources at once share none of them."""
    every = {f"feed-{i:03d}": timedelta(minutes=5) for i in range(200)}
    await store.ensure_sources(every)
    workers = [store] + [await other_store() for _ in range(4)]

    async def drain(s: Store, owner: str) -> list[str]:
        taken: list[str] = []
        while batch := await s.claim_sources(every, owner=owner, now=T0, limit=9):
            taken += [c.name for c in batch]
        return taken

    results = await asyncio.gather(*(drain(s, f"p{i}") for i, s in enumerate(workers)))
    everything = [n for r in results for n in r]
    assert sorted(everything) == sorted(every)


async def test_ensure_sources_keeps_existing_state(store: Store) -> None:
    """Registering known sources again does not reset their counters."""
    await store.record_failure("the-record", "timed out", next_poll_at=T0, now=T0)
    await store.ensure_sources(["the-record", "securityweek"])
    health = await store.source_health()
    assert health["the-record"].consecutive_failures == 1
    assert health["securityweek"].consecutive_failures == 0
    assert health["securityweek"].next_poll_at is None


# -- meta and opening ---------------------------------------------------------------------


async def test_meta_values_are_set_and_overwritten(store: Store) -> None:
    """Meta keys read back what was last written."""
    assert await store.get_meta("command-hash") is None
    await store.set_meta("command-hash", "a1")
    await store.set_meta("command-hash", "b2")
    assert await store.get_meta("command-hash") == "b2"


async def test_open_creates_the_sqlite_folder(tmp_path: Path) -> None:
    """The default SQLite file may live in a folder that does not exist yet."""
    target = tmp_path / "data" / "nested" / "breachradar.db"
    store = await Store.open(f"sqlite+aiosqlite:///{target}")
    try:
        await store.set_meta("k", "v")
    finally:
        await store.close()
    assert target.exists()


async def test_polls_finishing_together_are_recorded_together_each_with_its_own_news(
    store: Store,
) -> None:
    """Concurrent records share a transaction; each caller learns which of its items are new."""
    every = {f"feed-{n}": timedelta(minutes=10) for n in range(30)}
    await store.ensure_sources(every)
    known = casio(0, source="feed-0")
    await store.add_disclosures([known], now=T0)
    held = casio(1, source="feed-1")
    await store.add_disclosures([held], now=T0, hold=True)  # left by an interrupted poll
    nxt = T0 + timedelta(minutes=10)
    news = await asyncio.gather(
        *(
            store.record_success(
                name,
                items=2,
                validators=Validators(f'"{name}"', None) if n % 2 else None,
                next_poll_at=nxt,
                now=T0,
                # Every feed still lists the known story; feed-1 also its held one.
                add=[casio(100 + n, source=name), known] + ([held] if n == 1 else []),
                release=[held.identity] if n == 1 else [],
            )
            for n, name in enumerate(every)
        )
    )
    assert news == [{casio(100 + n, source=f"feed-{n}").identity} for n in range(30)]
    assert store.poll_writes < 30  # shared: the first write took one, the rest waited
    assert await store.count_disclosures() == 2 + 30
    assert await store.add_disclosures([held], now=T0, hold=True) == []  # released
    health = await store.source_health()
    assert {h.items_seen for h in health.values()} == {2}
    assert {h.next_poll_at for h in health.values()} == {nxt}
    validators = await store.load_validators()
    assert validators == {f"feed-{n}": Validators(f'"feed-{n}"', None) for n in range(1, 30, 2)}


async def test_a_failed_group_write_fails_every_poll_in_it(store: Store) -> None:
    """A database error reaches each waiting poll (so each is retried), and later ones work."""
    item = Disclosure(source="x", title="t", url="https://a.example/", guid="g")
    calls = [
        store.record_success("ok", items=0, validators=None, next_poll_at=T0, now=T0),
        store.record_success("bad", items=1, validators=None, next_poll_at=T0, now=T0, add=[item]),
    ]
    original = store.sources._write_polls

    async def failing(records: list) -> set[str]:  # type: ignore[type-arg]
        raise ConnectionError("database went away")

    store.sources._write_polls = failing  # type: ignore[method-assign]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    store.sources._write_polls = original  # type: ignore[method-assign]
    await store.record_success("ok", items=3, validators=None, next_poll_at=T0, now=T0)
    assert (await store.source_health())["ok"].items_seen == 3


async def test_settling_releases_only_what_the_same_source_held(store: Store) -> None:
    """A feed with no match settles its own held items, never another source's."""
    story = casio(7, source="press-page")  # no guid: the same identity in every feed
    await store.add_disclosures([story], now=T0, hold=True)  # press-page was interrupted
    copy = casio(7, source="aggregator")
    await store.record_success(
        "aggregator", items=1, validators=None, next_poll_at=T0, now=T0,
        add=[copy], settle=[copy.identity],
    )  # fmt: skip
    assert [d.url for d in await store.add_disclosures([story], now=T0, hold=True)] == [story.url]
    await store.record_success(
        "press-page", items=1, validators=None, next_poll_at=T0, now=T0,
        add=[story], settle=[story.identity],
    )  # fmt: skip
    assert await store.add_disclosures([story], now=T0, hold=True) == []


async def test_next_due_waits_for_a_lease_held_elsewhere(store: Store) -> None:
    """An alert claimed by another process is not due for us before its lease ends, so an
    idle runner sleeps until then instead of asking again and again."""
    await _queue(store, "webhook:soc", 2)
    assert await store.next_due_at() == T0
    await store.claim(owner="elsewhere", now=T0, lease=timedelta(minutes=2))
    assert await store.next_due_at() == T0 + timedelta(minutes=2)
    await store.recover_interrupted("elsewhere")
    assert await store.next_due_at() == T0
