"""The bundled source catalog loads, and covers what a breach watcher needs."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.settings import load_config
from scrapers.registry import build


def test_bundled_catalog_builds_every_source() -> None:
    """Every bundled entry is valid for its kind, expanded per watched company where asked."""
    config = load_config(environ={})
    for spec in config.sources:
        assert build(spec).spec is spec
    kinds = Counter(s.kind for s in config.sources)
    assert kinds["rss"] >= 12
    searches = [s for s in config.sources if s.kind == "news-search"]
    # The news search covers every watched company exactly once, in a few batches.
    assert 1 <= len(searches) < len(config.watchlist)
    covered = [subject.name for s in searches for subject in s.subjects]
    assert covered == [c.name for c in config.watchlist.companies]
    (schedule,) = config.schedules
    assert schedule.every == schedule.search_every == timedelta(hours=1)
    for kind in ("sec-search", "sec-filings", "ca-ag", "wa-ag", "maine-ag", "hhs-ocr", "tdnet"):
        assert kinds[kind] >= 1, kind
    for kind in ("ransomware-live", "ransomlook", "hibp"):
        assert kinds[kind] == 1, kind
    names = {s.name for s in config.sources}
    assert {"casio-jp-releases", "casio-world-news", "moneygram-newsroom"} <= names


def test_edgar_sources_ship_disabled_until_a_contact_is_set() -> None:
    """EDGAR refuses the default User-Agent, so its sources wait for the operator."""
    config = load_config(environ={})
    sec = [s for s in config.sources if s.kind.startswith("sec-")]
    assert sec and not any(s.enabled for s in sec)
    assert "@" not in config.settings.user_agent


def test_bundled_press_page_entries_read_their_recorded_pages() -> None:
    """The shipped selectors, not only the fixtures' copies, give the expected records."""
    from dataclasses import replace

    from tests.support.fixturecases import as_record, cases

    bundled = {s.name: s for s in load_config(environ={}).sources}
    checked = 0
    for case in cases():
        spec = bundled.get(case.path.parent.name)
        if case.error is None and spec is not None and spec.kind == "html":
            spec = replace(spec, url=case.url)
            records = [as_record(d) for d in build(spec).parse(case.page())]
            assert records == case.expected(), case.id
            checked += 1
    assert checked == 3
