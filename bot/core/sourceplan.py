"""Turn configured sources and the watched companies into the sources that are polled.

Some sources ask about each watched company (SEC filings by CIK, a news search): they get
the companies as :class:`~scrapers.base.Subject` records. A news search expands into
batches, each an OR-query about many companies (``scrapers/newssearch.py`` packs them
within the search's limits), and this plan decides when each batch runs:

- every company is searched at least every ``search_every`` (default 1h): each batch runs
  once per period, a little under it, so a poll that starts a tick late still keeps it;
- the batches are spread evenly over the period (batch ``i`` of ``n`` first runs
  ``i/n`` of a period after start), so the search host sees one request every
  ``period / n`` rather than bursts;
- never more than ``requests_per_hour`` (default 600) requests to the search: if the
  batches do not fit in ``search_every`` at that rate, the period grows until they do,
  and the plan says so (``breachradar check-config``, the log at start, ``breachradar
  sources``). Being refused by the search stops every company's search; searching each
  company a little less often does not.

General feeds, regulators and trackers are not per company: every poll of theirs is
matched against every watched company.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from bot.core.durations import format_duration, parse_duration
from bot.core.watchlist import Company, Watchlist
from scrapers.base import SourceSpec, Subject
from scrapers.registry import expand

SEARCH_EVERY = timedelta(hours=1)
REQUESTS_PER_HOUR = 600.0
# A batch runs this much earlier than its period, so a poll started late (the scheduler
# ticks once a second, claims take a moment) still searches each company in time.
MAX_SLACK = timedelta(minutes=1)
# At the budget, batches are spaced 2% wider than requests_per_hour alone asks: a poll
# may start up to a second after its moment (the scheduler ticks once a second), and a
# host that counts requests per minute must still never see more than budget/60 in any
# minute. Ten 6.12 s gaps are 61.2 s, so one late start cannot squeeze in an eleventh.
HEADROOM = 1.02


def subject_of(company: Company) -> Subject:
    """What a source may know of a watched company."""
    return Subject(
        name=company.name,
        aliases=company.aliases,
        cik=company.cik,
        ticker=company.ticker,
        domains=company.domains,
    )


@dataclass(frozen=True, slots=True)
class SearchSchedule:
    """How one per-company entry (a news search) covers every watched company."""

    entry: str
    companies: int
    batches: int
    search_every: timedelta  # what the entry asks for
    every: timedelta  # what each company gets: search_every, or longer to stay in budget
    batch_every: timedelta  # how often each batch runs (a little under ``every``)
    requests_per_hour: float  # what the plan sends to the search
    budget: float  # the most the entry may send an hour
    over_limits: int = 0  # companies whose name alone breaks a query limit
    display_name: str = ""  # the entry's name as written (empty: ``entry``, its key)

    @property
    def shown(self) -> str:
        return self.display_name or self.entry

    @property
    def stretched(self) -> bool:
        """The budget does not let every company be searched within ``search_every``."""
        return self.every > self.search_every

    @property
    def spacing(self) -> timedelta:
        """Time between two requests of this entry's batches."""
        return self.batch_every / max(1, self.batches)

    def describe(self) -> str:
        """One line for people: what the entry sends and how often each company is asked."""
        plural = "es" if self.batches != 1 else ""
        return (
            f"{self.shown}: {self.companies:,} companies in {self.batches:,} search{plural}, "
            f"each company searched every {_human(self.every)} "
            f"({self.requests_per_hour:,.0f} requests an hour, at most {self.budget:,.0f})"
        )

    def warning(self) -> str | None:
        """What the operator should know when the plan falls short of ``search_every``."""
        notes = []
        if self.stretched:
            notes.append(
                f"{self.shown}: {self.companies:,} companies need {self.batches:,} searches; "
                f"at most {self.budget:,.0f} an hour searches each company every "
                f"{_human(self.every)}, not every {_human(self.search_every)} "
                "(if the search takes longer queries, terms_per_query = 0 packs about ten "
                "times as many companies into each; or raise requests_per_hour)"
            )
        if self.over_limits:
            notes.append(
                f"{self.shown}: {self.over_limits} companies' names alone break the query "
                "limits; each is searched on its own anyway"
            )
        return "; ".join(notes) or None


@dataclass(frozen=True, slots=True)
class SourcePlan:
    """The sources to poll and how each per-company search covers the companies."""

    sources: tuple[SourceSpec, ...]
    schedules: tuple[SearchSchedule, ...] = ()


def make_plan(specs: Iterable[SourceSpec], companies: Sequence[Company]) -> SourcePlan:
    """Give each source the watched companies, expand per-company entries, pace batches."""
    subjects = tuple(subject_of(c) for c in companies)
    planned: list[SourceSpec] = []
    schedules: list[SearchSchedule] = []
    names: set[str] = set()
    for spec in specs:
        expanded = expand(replace(spec, subjects=subjects))
        paced = [s for s in expanded if s.options.get("expanded_from") == spec.name]
        if paced and "batches" in paced[0].options:
            schedule = _schedule(spec, paced, len(subjects))
            schedules.append(schedule)
            expanded = _paced(paced, schedule)
        for one in expanded:
            if one.name in names:
                raise ValueError(f"source name {one.name!r} is used twice after expansion")
            names.add(one.name)
            planned.append(one)
    return SourcePlan(tuple(planned), tuple(schedules))


def plan_sources(specs: Iterable[SourceSpec], watchlist: Watchlist) -> tuple[SourceSpec, ...]:
    """The sources for the operator's watchlist alone (see :func:`make_plan`)."""
    return make_plan(specs, watchlist.companies).sources


def search_options(spec: SourceSpec) -> tuple[timedelta, float]:
    """``search_every`` (else the entry's ``every``) and ``requests_per_hour`` of an entry.

    Raise ``ValueError`` naming the key when one is not valid.
    """
    raw_every = spec.options.get("search_every")
    every = spec.every
    if raw_every is not None:
        if not isinstance(raw_every, str):
            raise ValueError("'search_every' must be a duration like \"1h\"")
        try:
            every = parse_duration(raw_every)
        except ValueError as exc:
            raise ValueError(f"'search_every': {exc}") from None
    budget: Any = spec.options.get("requests_per_hour", REQUESTS_PER_HOUR)
    if isinstance(budget, str):
        with contextlib.suppress(ValueError):  # "600" or "1,200" as a person writes it
            budget = float(budget.strip().replace(",", "").replace("_", ""))
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not budget > 0:
        raise ValueError("'requests_per_hour' must be a positive number")
    return every, float(budget)


def _slack(period: timedelta) -> timedelta:
    return min(MAX_SLACK, period / 100)


def _schedule(spec: SourceSpec, batches: list[SourceSpec], companies: int) -> SearchSchedule:
    try:
        search_every, budget = search_options(spec)
    except ValueError as exc:
        raise ValueError(f"source {spec.display_name!r}: {exc}") from None
    count = len(batches)
    batch_every = search_every - _slack(search_every)
    # The shortest period the budget allows for this many batches, with room for a late start.
    floor = timedelta(hours=count * HEADROOM / budget)
    batch_every = max(batch_every, floor)
    every = max(search_every, batch_every + _slack(batch_every))
    rate = count / (batch_every.total_seconds() / 3600) if count else 0.0
    over = sum(1 for b in batches if b.options.get("over_limits"))
    return SearchSchedule(
        entry=spec.name,
        display_name=spec.display_name,
        companies=companies,
        batches=count,
        search_every=search_every,
        every=every,
        batch_every=batch_every,
        requests_per_hour=rate,
        budget=budget,
        over_limits=over,
    )


def _paced(batches: list[SourceSpec], schedule: SearchSchedule) -> list[SourceSpec]:
    """Each batch with its interval and its place in the period (``offset``, seconds)."""
    spacing = schedule.spacing.total_seconds()
    return [
        replace(
            batch,
            every=schedule.batch_every,
            options={**batch.options, "paced": True, "offset": round(i * spacing, 3)},
        )
        for i, batch in enumerate(batches)
    ]


def _human(value: timedelta) -> str:
    """``2h30m``, ``1h``, ``45m``: whole minutes, as people read intervals."""
    minutes = round(value.total_seconds() / 60)
    if minutes < 1:
        return format_duration(value)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours}h{rest:02d}m"
    return f"{hours}h" if hours else f"{rest}m"
