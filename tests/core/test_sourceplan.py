"""The source plan: batches spread over the period, within the search host's budget."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.core.sourceplan import HEADROOM, SearchSchedule, make_plan
from bot.core.watchlist import Company
from scrapers.base import SourceSpec

SEARCH = SourceSpec(
    "google-news",
    "news-search",
    "https://news.google.com/rss/search?q={query}&hl=en-US&gl=US&ceid=US:en",
    every=timedelta(hours=1),
)
FEED = SourceSpec("bleepingcomputer", "rss", "https://www.bleepingcomputer.com/feed/")


def companies(count: int) -> list[Company]:
    return [Company(f"Contoso Payments {i:05d}") for i in range(count)]


def requests_at(batches: list[SourceSpec], periods: int) -> list[tuple[float, str]]:
    """When each batch runs over ``periods`` periods, as the plan places them (seconds)."""
    return sorted(
        (float(b.options["offset"]) + k * b.every.total_seconds(), b.name)
        for b in batches
        for k in range(periods)
    )


@pytest.mark.parametrize("terms", [0, 32])
def test_batches_are_spread_evenly_and_each_company_searched_within_the_period(
    terms: int,
) -> None:
    """One request every period/n; every company asked again within search_every."""
    spec = replace(SEARCH, options={"terms_per_query": terms})
    plan = make_plan([FEED, spec], companies(3000 if terms == 0 else 500))
    feed, *batches = plan.sources
    # A general feed is not paced: every poll of it is matched against every company.
    assert (feed.name, feed.every, feed.options) == (FEED.name, FEED.every, {})
    (schedule,) = plan.schedules
    assert schedule.batches == len(batches) > 10
    assert all(b.options["paced"] for b in batches)
    times = requests_at(batches, periods=3)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(times)]
    spacing = schedule.spacing.total_seconds()
    assert min(gaps) == pytest.approx(spacing, abs=0.01)
    assert max(gaps) == pytest.approx(spacing, abs=0.01)
    # Each batch (so each of its companies) runs again before search_every is up, with
    # room for a late start.
    assert all(b.every < schedule.every <= timedelta(hours=1) for b in batches)
    assert timedelta(hours=1) - batches[0].every <= timedelta(minutes=1)
    # Never more than the budget in any hour.
    hour = 3600.0
    busiest = max(sum(1 for t, _ in times if start <= t < start + hour) for start, _ in times)
    assert busiest <= schedule.budget
    assert schedule.requests_per_hour == pytest.approx(
        len(batches) * hour / batches[0].every.total_seconds()
    )
    assert not schedule.stretched and schedule.warning() is None


def test_a_budget_too_small_for_the_period_stretches_it_and_says_so() -> None:
    """Rather than exceed the host's budget, each company is searched less often."""
    plan = make_plan([SEARCH], companies(5000))
    (schedule,) = plan.schedules
    assert schedule.batches > 600  # five companies a query under the 32-word cap
    assert schedule.stretched and schedule.every > timedelta(hours=1)
    assert schedule.requests_per_hour <= 600
    expected = timedelta(hours=schedule.batches * HEADROOM / 600)
    assert abs(schedule.every - expected) <= timedelta(minutes=2)
    warning = schedule.warning()
    assert warning is not None and "terms_per_query = 0" in warning
    assert "not every 1h" in warning
    times = requests_at(list(plan.sources), periods=2)
    assert max(sum(1 for t, _ in times if s <= t < s + 3600) for s, _ in times) <= 600


@pytest.mark.parametrize("budget", [600, 120, 900])
def test_at_the_budget_no_minute_holds_more_than_its_share_even_with_late_starts(
    budget: int,
) -> None:
    """A host counting requests a minute sees at most budget/60, if each poll starts late.

    The scheduler starts a due poll at its next one-second tick: the first request of a
    minute may be up to a second late while the last is on time.
    """
    spec = replace(SEARCH, options={"requests_per_hour": budget})
    plan = make_plan([spec], companies(5000))
    (schedule,) = plan.schedules
    assert schedule.stretched and schedule.requests_per_hour <= budget
    times = [t for t, _ in requests_at(list(plan.sources), periods=1)]
    window = 60.0 + 1.0  # a minute, widened by the first request's late start
    share = budget / 60
    busiest = max(sum(1 for t in times if s <= t < s + window) for s in times)
    assert busiest <= share


def test_the_same_companies_without_the_word_cap_fit_the_hour() -> None:
    """By URL length alone the same 5,000 companies need under 600 requests an hour."""
    spec = replace(SEARCH, options={"terms_per_query": 0})
    (schedule,) = make_plan([spec], companies(5000)).schedules
    assert schedule.every == timedelta(hours=1) and schedule.requests_per_hour < 600


def test_describe_says_what_the_search_sends() -> None:
    schedule = SearchSchedule(
        entry="google-news",
        companies=10_000,
        batches=1500,
        search_every=timedelta(hours=1),
        every=timedelta(hours=2, minutes=31),
        batch_every=timedelta(hours=2, minutes=30),
        requests_per_hour=600,
        budget=600,
    )
    assert schedule.describe() == (
        "google-news: 10,000 companies in 1,500 searches, each company searched every "
        "2h31m (600 requests an hour, at most 600)"
    )


def test_a_search_is_named_as_written_in_what_people_read() -> None:
    """An entry written as "Google News" is shown so, while its batches keep the key."""
    spec = replace(SEARCH, display_name="Google News", options={"requests_per_hour": 10})
    plan = make_plan([spec], companies(5000))
    (schedule,) = plan.schedules
    assert schedule.entry == SEARCH.name
    assert schedule.describe().startswith("Google News: 5,000 companies in ")
    warning = schedule.warning()
    assert warning is not None and warning.startswith("Google News: 5,000 companies need ")
    assert all(s.name.startswith(f"{SEARCH.name}-") for s in plan.sources)
