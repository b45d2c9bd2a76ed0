"""``breachradar sources``: each source's health, or one source fetched and parsed once."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.cli._common import EXIT_CONFIG, common_options
from bot.core.clock import utcnow
from bot.core.durations import format_duration
from bot.core.records import GUILD_SOURCE_PREFIX, SourceHealth
from bot.core.sourcenames import names_match
from bot.core.sourceplan import SourcePlan, make_plan
from bot.core.watchlist import Company
from bot.service.pipeline import Pipeline
from bot.settings import Config
from bot.store import Store
from scrapers.base import SourceSpec
from scrapers.http import Fetcher

NAME = "sources"


def add_parser(sub: Any) -> None:
    sources = sub.add_parser("sources", help="show each source's health, or test one")
    common_options(sources)
    sources_sub = sources.add_subparsers(dest="sources_command", metavar="ACTION")
    test = sources_sub.add_parser("test", help="fetch one source once and show what it parsed")
    test.add_argument(
        "name", help="the source's name in sources.toml (as written, or its kebab-case form)"
    )
    common_options(test)


def _ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    seconds = int((utcnow() - value).total_seconds())
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


async def planned(config: Config, store: Store) -> tuple[SourcePlan, list[Company]]:
    """The sources ``run`` polls and the companies it matches: the operator's watchlist
    and every company a server added, which the searches cover too."""
    from bot.subscriptions.companies import all_companies

    companies = await all_companies(store, config.watchlist)
    return make_plan(config.entries or config.sources, companies), companies


def covers(spec: SourceSpec) -> str:
    """What a source asks about: a batch's companies counted, else every company."""
    if "batches" not in spec.options:
        return "every company"
    names = [s.name for s in spec.subjects]
    count = f"{len(names)} {'company' if len(names) == 1 else 'companies'}"
    shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    return f"{count}: {shown}"[:60]


async def _sources(config: Config, args: argparse.Namespace) -> int:
    store = await Store.open(config.settings.database)
    try:
        health = await store.source_health()
        plan, _ = await planned(config, store)
    finally:
        await store.close()
    for schedule in plan.schedules:
        print(schedule.describe())
        warning = schedule.warning()
        if warning:
            print(f"warning: {warning}")
    table = Table(title="Sources")
    # A key is worth showing where it differs from the name: it is what `id` pins.
    keyed = any(spec.name != spec.display_name for spec in plan.sources)
    for column in (
        "Name",
        *(("Key",) if keyed else ()),
        "Kind",
        "Covers",
        "Every",
        "Status",
        "Last success",
        "Failures",
        "Items",
        "Next poll",
        "Last error",
    ):
        table.add_column(column)
    for spec in plan.sources:
        h = health.get(spec.name)
        if not spec.enabled:
            status = "disabled"
        elif h is None:
            status = "not polled yet"
        elif h.consecutive_failures >= 3:
            status = f"backing off ({h.consecutive_failures} failures)"
        elif h.consecutive_failures:
            status = "failing"
        else:
            status = "ok"
        table.add_row(
            spec.display_name,
            *((spec.name,) if keyed else ()),
            spec.kind,
            covers(spec),
            format_duration(spec.every),
            status,
            _ago(h.last_success_at) if h else "never",
            str(h.consecutive_failures) if h else "0",
            str(h.items_seen) if h else "0",
            _ago(h.next_poll_at) if h and h.next_poll_at else "now",
            (h.last_error or "")[:80] if h else "",
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)
    _print_unconfigured(plan, health)
    return 0


def _print_unconfigured(plan: SourcePlan, health: dict[str, SourceHealth]) -> None:
    """Sources the database remembers that the configuration no longer names (renamed or
    removed), so a rename that lost its history is visible, with the key to pin."""
    configured = {spec.name for spec in plan.sources}
    left = [
        h
        for key, h in sorted(health.items())
        if key not in configured and not key.startswith(GUILD_SOURCE_PREFIX)
    ]
    if not left:
        return
    print(
        f"{len(left)} source(s) in the database are not in sources.toml "
        "(renamed or removed; to keep a renamed source's history, set its id to the old key):"
    )
    for h in left:
        shown = h.shown if h.shown == h.name else f"{h.shown} (key {h.name})"
        print(f"  {shown}: last success {_ago(h.last_success_at)}, {h.items_seen} items seen")


async def _source_test(config: Config, args: argparse.Namespace) -> int:
    from bot.core.matching import Matcher
    from scrapers.errors import ScraperError
    from scrapers.registry import build

    store = await Store.open(config.settings.database)
    try:
        plan, companies = await planned(config, store)
    finally:
        await store.close()
    spec = find_source(plan.sources, args.name)
    if spec is None:
        entry = find_source(config.entries or config.sources, args.name)
        expanded = [
            s.display_name
            for s in plan.sources
            if entry is not None and s.options.get("expanded_from") == entry.name
        ]
        if expanded:
            shown = ", ".join(expanded[:3]) + (", …" if len(expanded) > 3 else "")
            print(
                f"breachradar: {args.name!r} stands for {len(expanded)} "
                f"search{'es' if len(expanded) != 1 else ''} ({shown}); "
                "`breachradar sources` lists them: test one by its name",
                file=sys.stderr,
            )
        else:
            print(f"breachradar: no source named {args.name!r} in sources.toml", file=sys.stderr)
        return EXIT_CONFIG
    matcher = Matcher(companies)
    allow = spec.allow_private or config.settings.allow_private_addresses
    async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:

        async def fetch(url: str, *, conditional: bool = True) -> Any:
            return await fetcher.fetch(url, conditional=False, allow_private=allow)

        try:
            items = await build(spec).collect(fetch) or []
        except ScraperError as exc:
            print(f"source {spec.display_name} failed: {exc}", file=sys.stderr)
            return 1
    table = Table(title=f"{spec.display_name}: {len(items)} items")
    table.add_column("Published")
    table.add_column("Title")
    table.add_column("Organization")
    table.add_column("Evidence")
    table.add_column("Would match")
    for item in items:
        found = matcher.match(item)
        table.add_row(
            item.published.date().isoformat() if item.published else "",
            item.title,
            item.organization or "",
            item.evidence.value + (" (incident)" if item.incident_by_nature else ""),
            ", ".join(m.company.name for m in found),
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)
    return 0


def find_source(config: Config | Sequence[SourceSpec], query: str) -> SourceSpec | None:
    """The source ``query`` names (of the configuration's, or of ``sources``): its name as
    written (case and width aside), its kebab-case form or its key; the exact name wins
    over a looser match."""
    sources = config.sources if isinstance(config, Config) else config
    exact = [s for s in sources if query.strip() in (s.display_name, s.name)]
    if exact:
        return exact[0]
    return next((s for s in sources if names_match(query, s.display_name, s.name)), None)


def command(config: Config, args: argparse.Namespace) -> int:
    if getattr(args, "sources_command", None) == "test":
        return asyncio.run(_source_test(config, args))
    return asyncio.run(_sources(config, args))
