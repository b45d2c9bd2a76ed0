"""One poll of one source, and one pass over many: fetch -> parse -> match -> store -> queue."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core import incidents
from bot.core.cards import (
    affected_count,
    card_of,
    card_to_dict,
    data_categories,
    diff,
    extract,
    extraction_to_dict,
    fact_value,
)
from bot.core.clock import utcnow
from bot.core.logfields import log_context
from bot.core.matching import Match, Matcher
from bot.service.routing import Routing, WebhookRouting
from bot.service.sharing import ResponseShare
from bot.settings import Config
from bot.store import Store
from scrapers.base import Fetch, Page, SourceSpec
from scrapers.errors import ScraperError
from scrapers.http import Fetcher, FetchPolicy
from scrapers.models import Disclosure
from scrapers.registry import build

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)

# How a pipeline fetches for one source: the fetch function that source's scraper gets.
FetchFor = Callable[[SourceSpec], Fetch]


@dataclass(frozen=True, slots=True)
class Found:
    """A new disclosure that matched a watched company."""

    disclosure: Disclosure
    match: Match
    incident_id: int
    new_incident: bool
    pushed: bool  # queued for delivery (fresh enough and wanted by someone)
    source_name: str = ""  # the source's name as written (the disclosure holds its key)
    # The incident's card with this disclosure in it (``card_to_dict``'s form).
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.source_name or self.disclosure.source

    def as_json(self) -> dict[str, Any]:
        d = self.disclosure
        card = self.card
        return {
            "company": self.match.company.name,
            "title": d.title,
            "url": d.url,
            "source": self.source,
            "published": d.published.isoformat() if d.published else None,
            "matched": list(self.match.matched),
            "reason": self.match.reason,
            "evidence": d.evidence.value,
            "incident": self.incident_id,
            "new_incident": self.new_incident,
            # The incident's card as it stands with this disclosure (null or empty: not known).
            "affected": affected_count(card),
            "data": sorted(data_categories(card)),
            "attack": fact_value(card, "attack"),
            "actor": fact_value(card, "actor"),
        }


@dataclass(slots=True)
class SourceResult:
    """What one poll of one source produced."""

    name: str  # the source's key
    ok: bool
    items: int = 0
    new: int = 0
    not_modified: bool = False
    error: str | None = None
    found: list[Found] = field(default_factory=list)
    display_name: str = ""  # the source's name as written

    @property
    def shown(self) -> str:
        return self.display_name or self.name


@dataclass(slots=True)
class PassReport:
    results: list[SourceResult] = field(default_factory=list)

    @property
    def found(self) -> list[Found]:
        return [f for r in self.results for f in r.found]

    @property
    def failed(self) -> list[SourceResult]:
        return [r for r in self.results if not r.ok]


def backoff_delay(every: timedelta, failures: int) -> timedelta:
    """How long to wait after ``failures`` failed polls in a row: doubling, capped."""
    if failures <= 0:
        return every
    grown: timedelta = every * (2 ** min(failures, 10))
    return min(grown, max(MAX_BACKOFF, every))


class Pipeline:
    """Polls sources and turns what they say into stored matches and queued alerts.

    What it matches and where matches go is its ``routing`` (by default the operator's
    watchlist to the operator's webhooks); how each source fetches is ``fetch_for`` (by
    default :meth:`shared_fetch`).
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        *,
        matcher: Matcher | None = None,
        routing: Routing | None = None,
        fetch_for: FetchFor | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.routing: Routing = routing or WebhookRouting(
            config.settings.webhooks, matcher or Matcher(config.watchlist.companies)
        )
        self.fetch_for: FetchFor = fetch_for or self.shared_fetch
        self.clock = clock
        self._lock = asyncio.Lock()  # incident assignment must not interleave
        # Sources naming the same URL share one fetch per poll interval.
        self.responses = ResponseShare()
        # Alerts show each source's name as written; the database knows it by its key.
        self._names = {s.name: s.display_name for s in config.sources}

    @classmethod
    def fetch_policy(cls, config: Config) -> FetchPolicy:
        s = config.settings
        # fetch_timeout bounds one fetch as a whole, so a host that drips a byte a second
        # holds a scan (and a poll) no longer than that; no single wait may exceed it.
        return FetchPolicy(
            user_agent=s.user_agent,
            connect_timeout=min(10.0, s.fetch_timeout),
            read_timeout=s.fetch_timeout,
            total_timeout=s.fetch_timeout,
            max_bytes=s.max_page_bytes,
            allow_private=s.allow_private_addresses,
        )

    def source_name(self, key: str) -> str:
        """A source's name as written, from its key (the key itself for one not configured)."""
        return self._names.get(key, key)

    @property
    def matcher(self) -> Matcher:
        """The matcher of this pipeline's routing, as it is now."""
        return self.routing.matcher

    async def poll(
        self,
        spec: SourceSpec,
        *,
        fetched: Callable[[], None] | None = None,
        due: datetime | None = None,
    ) -> SourceResult:
        """Poll one source; never raises for the source's own faults.

        ``fetched`` is called once the source has answered (or failed to), before its
        items are matched and stored: a scheduler may start another fetch from then on.
        ``due`` is the moment the poll was due, from which a paced source's next one counts.
        """
        # Whatever is logged during the poll, by any module, is about this source.
        with log_context(source=spec.display_name):
            return await self._poll(spec, fetched=fetched, due=due)

    async def _poll(
        self,
        spec: SourceSpec,
        *,
        fetched: Callable[[], None] | None,
        due: datetime | None,
    ) -> SourceResult:
        result = SourceResult(name=spec.name, ok=True, display_name=spec.display_name)
        self._names[spec.name] = spec.display_name  # a server's feed is not in the config
        now = self.clock()
        try:
            scraper = build(spec)
            items = await scraper.collect(self.fetch_for(spec))
        except ScraperError as exc:
            if fetched is not None:
                fetched()
            # A long Retry-After (429/503) is honoured here, by the schedule, not inline.
            retry_after = getattr(exc, "retry_after", None)
            return await self._failed(
                spec, result, str(exc) or type(exc).__name__, retry_after=retry_after
            )
        except Exception as exc:  # a bug in one parser must not stop the pass
            if fetched is not None:
                fetched()
            log.exception("source %s crashed", spec.display_name)
            return await self._failed(spec, result, f"internal error: {type(exc).__name__}: {exc}")
        if fetched is not None:
            fetched()
        validators = self.fetcher.validators.get(spec.url)
        if items is None:
            result.not_modified = True
            items = []
        result.items = len(items)
        next_poll_at = self._next_poll(spec, now, due)
        # Matched once here, used below too (the first item of an identity counts, as in
        # the store).
        matches: dict[str, list[Match]] = {}
        for item in items:
            if item.identity not in matches:
                matches[item.identity] = self.matcher.match(item)
        if not any(matches.values()):
            # Nothing here concerns a watched company (most polls): the items are stored
            # with the poll's record in one write; there is no alert to hold them for.
            try:
                new = await self.store.record_success(
                    spec.name,
                    items=len(items),
                    validators=validators,
                    next_poll_at=next_poll_at,
                    now=now,
                    add=items,
                    # Held by an interrupted poll of this source, they need no alert after all.
                    settle=[d.identity for d in items],
                )
            except BaseException:
                # Not stored: the next poll must get the full page, not a 304.
                self.fetcher.validators.pop(spec.url, None)
                raise
            result.new = len(new)
            return result
        # Held until matched and queued, so a crash in between is finished by the next poll.
        held = await self.store.add_disclosures(items, now=now, hold=True)
        fresh = await self._without_reissues(spec, held)
        result.new = len(fresh)
        try:
            # Read once per disclosure, not per company or target, and kept with it.
            await self._read_cards([d for d in fresh if matches[d.identity]])
            # Oldest first, as they happened: a backfill announces each incident with its
            # first report and updates it with the later ones, whatever order the feed used.
            for disclosure in sorted(fresh, key=lambda d: incidents.event_time(d.published, now)):
                for match in matches[disclosure.identity]:
                    result.found.append(await self._record(spec, disclosure, match, now))
        except BaseException:
            # Without the validators the next poll gets the full page, held items included.
            self.fetcher.validators.pop(spec.url, None)
            raise
        await self.store.record_success(
            spec.name,
            items=len(items),
            validators=validators,
            next_poll_at=next_poll_at,
            now=now,
            # Their alerts are queued: no longer held (one transaction with the record).
            release=[d.identity for d in held],
        )
        return result

    async def _read_cards(self, items: list[Disclosure]) -> None:
        """Extract the incident-card fields of matched items not read yet, and store them."""
        if not items:
            return
        known = await self.store.cards_of(d.identity for d in items)
        found = {
            d.identity: extraction_to_dict(
                extract(d.title, d.summary, published=d.published, fields=d.extra or None)
            )
            for d in items
            if d.identity not in known
        }
        await self.store.save_cards(found)

    def shared_fetch(self, spec: SourceSpec) -> Fetch:
        """Fetch under the operator's address policy, sharing answers between sources."""
        allow = spec.allow_private or self.config.settings.allow_private_addresses

        async def fetch(url: str, *, conditional: bool = True) -> Page | None:
            async def request() -> Page | None:
                return await self.fetcher.fetch(url, conditional=conditional, allow_private=allow)

            if not conditional:
                return await request()
            # Only sources under the same address policy share: a page fetched by a source
            # allowed on private addresses must never reach one that is not.
            key = f"{'private' if allow else 'public'} {url}"
            return await self.responses.get(key, spec.every.total_seconds(), request, spec.name)

        return fetch

    async def _without_reissues(
        self, spec: SourceSpec, items: list[Disclosure]
    ) -> list[Disclosure]:
        """Drop items this source already published under another GUID (a reissued feed).

        Some feeds give every item a new GUID on each rebuild; matched again, each would
        become a new alert or update. The normalized link says it is the same item.
        """
        if not items:
            return items
        known = await self.store.known_link_keys(
            spec.name, (d.url_key for d in items), besides=[d.identity for d in items]
        )
        kept: list[Disclosure] = []
        seen = set(known)
        for item in items:
            if item.url_key in seen:
                continue
            seen.add(item.url_key)
            kept.append(item)
        if len(kept) < len(items):
            log.info(
                "source %s reissued %d known items under new ids; ignored",
                spec.display_name,
                len(items) - len(kept),
            )
        return kept

    def _next_poll(self, spec: SourceSpec, now: datetime, due: datetime | None) -> datetime:
        """When ``spec`` is polled next, after a poll that started at ``now``.

        A paced source (a news search's batch) counts from the moment it was due, not from
        when its poll started: a poll starts at the scheduler's next tick, and were each
        batch's lateness carried into its next moment, the batches would wander off their
        even spacing and bunch up at the search host.
        """
        if spec.options.get("paced") and due is not None and due + spec.every > now:
            return due + spec.every
        return now + self._interval(spec)

    def _interval(self, spec: SourceSpec) -> timedelta:
        every, jitter = spec.every, self.config.settings.jitter
        if spec.options.get("paced"):
            # The source plan spread these over their period; jitter would undo it and
            # stretch a company's search past its period.
            return every
        return every + every * random.uniform(0, jitter) if jitter else every

    async def _failed(
        self,
        spec: SourceSpec,
        result: SourceResult,
        error: str,
        *,
        retry_after: float | None = None,
    ) -> SourceResult:
        now = self.clock()
        result.ok = False
        result.error = error
        health = await self.store.source_health()
        failures = (health[spec.name].consecutive_failures if spec.name in health else 0) + 1
        delay = backoff_delay(spec.every, failures)
        if retry_after is not None:
            delay = max(delay, min(timedelta(seconds=retry_after), MAX_BACKOFF))
        await self.store.record_failure(spec.name, error, next_poll_at=now + delay, now=now)
        return result

    async def _record(
        self, spec: SourceSpec, disclosure: Disclosure, match: Match, now: datetime
    ) -> Found:
        async with self._lock:
            # A poll finished after a crash may have recorded this match already.
            known = await self.store.match_of(disclosure, match.company.key)
            if known is not None:
                (incident_id, created), repeat = known, False
            else:
                placed = await incidents.place(self.store.incidents, disclosure, match, now)
                incident_id, created, repeat = placed.incident_id, placed.created, placed.repeat
                if placed.merged:
                    log.info(
                        "%s: incidents %s are one with incident %d (%s)",
                        match.company.name,
                        ", ".join(map(str, placed.merged)),
                        incident_id,
                        disclosure.url,
                    )
        max_age = self.config.settings.max_alert_age
        fresh = (
            max_age is None
            or disclosure.published is None
            or (now - disclosure.published <= max_age)
        )
        # The card names each source as the configuration writes it, as the alert does.
        rows = [
            {**row, "source": self.source_name(row["source"])}
            for row in (await self.store.sightings_of([incident_id])).get(incident_id, [])
        ]
        card = card_of(rows)
        before = None if created else card_of(rows, without=disclosure.identity)
        changes = [
            {"field": c.field, "text": c.text, "who": c.who, "what": c.what}
            for c in (diff(before, card) if before is not None else ())
        ]
        card_json = card_to_dict(card)
        # Another feed's copy of a story the incident holds tells subscribers nothing new,
        # unless it moves the card (a count, a confirmation).
        fresh = fresh and (not repeat or bool(changes))
        pushed = False
        if fresh:
            # A target told of the incident hears its updates; one not told yet hears of it
            # only once its card passes the target's filter.
            told = await self.store.targets_of(incident_id)
            targets = [
                t
                for t in self.routing.targets(match)
                if t in told or self.routing.wants(t, card_json)
            ]
            payload = await self.alert_payload(incident_id, disclosure, match, created)
            payload["card"] = card_json
            payload["changes"] = changes
            for target in targets:
                queued = await self.store.enqueue(
                    target,
                    incident_id=incident_id,
                    disclosure_id=disclosure.identity,
                    payload=payload,
                    kind="alert" if created else "update",
                    now=now,
                )
                pushed = pushed or queued
        return Found(disclosure, match, incident_id, created, pushed, spec.display_name, card_json)

    async def alert_payload(
        self, incident_id: int, disclosure: Disclosure, match: Match, created: bool
    ) -> dict[str, Any]:
        incident = await self.store.get_incident(incident_id)
        sources = await self.store.incident_sources(incident_id)
        return {
            "kind": "alert" if created else "update",
            "incident": incident_id,
            "company": match.company.name,
            "title": incident.title if incident else disclosure.title,
            "url": incident.url if incident else disclosure.url,
            "source": self.source_name(disclosure.source),
            "disclosure_evidence": disclosure.evidence.value,
            "evidence": incident.evidence.value if incident else disclosure.evidence.value,
            "published": disclosure.published.isoformat() if disclosure.published else None,
            "first_seen": incident.first_seen.isoformat() if incident else None,
            "summary": disclosure.summary,
            "reason": match.reason,
            "matched": list(match.matched),
            "sources": [
                {
                    "source": self.source_name(s["source"]),
                    "url": s["url"],
                    "evidence": s["evidence"],
                }
                for s in sources
            ],
        }

    async def run_pass(
        self,
        specs: Sequence[SourceSpec],
        *,
        on_done: Callable[[SourceResult], None] | None = None,
    ) -> PassReport:
        """Poll every source concurrently; one failing source never stops the others."""
        await self.store.ensure_sources(
            [s.name for s in specs], names={s.name: s.display_name for s in specs}
        )
        validators = await self.store.load_validators()
        for spec in specs:
            if spec.name in validators and spec.url not in self.fetcher.validators:
                self.fetcher.validators[spec.url] = validators[spec.name]

        async def one(spec: SourceSpec) -> SourceResult:
            res = await self.poll(spec)
            if on_done is not None:
                on_done(res)
            return res

        results = await asyncio.gather(*(one(s) for s in specs))
        return PassReport(list(results))


__all__ = ["Found", "PassReport", "Pipeline", "SourceResult", "backoff_delay"]
