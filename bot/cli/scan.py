"""``breachradar scan``: poll every enabled source once and deliver new alerts."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from bot.cli._common import common_options
from bot.delivery import Outbox
from bot.service.app import connect, webhook_sinks
from bot.service.pipeline import PassReport, Pipeline, SourceResult
from bot.settings import Config

NAME = "scan"


def add_parser(sub: Any) -> None:
    scan = sub.add_parser("scan", help="poll every enabled source once and deliver new alerts")
    common_options(scan)
    scan.add_argument("--json", action="store_true", help="one JSON object per line")


async def _scan(config: Config, args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    specs = config.enabled_sources
    async with connect(config) as parts:
        pipeline = Pipeline(config, parts.store, parts.fetcher)
        outbox = Outbox(parts.store, webhook_sinks(config, parts.client), owner="scan")

        def failed(result: SourceResult) -> None:
            if not result.ok:
                print(f"source {result.shown} failed: {result.error}", file=sys.stderr)

        if console.is_terminal and not args.json:
            with Progress(
                TextColumn("[bold]scanning"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("", total=len(specs))

                def done(result: SourceResult) -> None:
                    progress.update(task, advance=1, description=result.shown)
                    failed(result)

                report = await pipeline.run_pass(specs, on_done=done)
        else:
            report = await pipeline.run_pass(specs, on_done=failed)
        flushed = await outbox.flush()
    _print_found(report, args.json)
    if not args.json:
        ok = len(report.results) - len(report.failed)
        items = sum(r.items for r in report.results)
        print(
            f"{ok} sources ok, {len(report.failed)} failed; {items} items seen, "
            f"{sum(r.new for r in report.results)} new, {len(report.found)} matches; "
            f"{flushed.sent} alerts delivered"
            + (f", {flushed.retried} waiting to retry" if flushed.retried else ""),
            file=sys.stderr,
        )
    return 0


def _print_found(report: PassReport, as_json: bool) -> None:
    found = report.found
    if as_json:
        for item in found:
            print(json.dumps(item.as_json(), ensure_ascii=False))
        return
    if not found:
        return
    table = Table(title="New matching disclosures", show_lines=False)
    table.add_column("Company", style="bold")
    table.add_column("Title")
    table.add_column("Source")
    table.add_column("Published")
    table.add_column("URL", overflow="fold")
    for item in found:
        d = item.disclosure
        table.add_row(
            item.match.company.name,
            d.title,
            item.source,
            d.published.date().isoformat() if d.published else "",
            d.url,
        )
    Console(soft_wrap=False, width=200 if not sys.stdout.isatty() else None).print(table)


def command(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(_scan(config, args))
