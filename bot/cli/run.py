"""``breachradar run``: the service, polling on schedule and delivering, in one role."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from datetime import timedelta
from typing import Any

from bot.cli._common import EXIT_CONFIG, common_options
from bot.core.addresses import ListenAddress, parse_listen_address
from bot.core.sharding import Sharding, parse_shard_count, parse_shard_ids
from bot.service.app import ROLES, App, RunOptions, connect
from bot.settings import Config

NAME = "run"


def add_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run the service: poll on schedule and deliver")
    common_options(run)
    run.add_argument(
        "--dev-guild",
        type=int,
        metavar="ID",
        help="sync slash commands to this Discord server only (instant, for development)",
    )
    run.add_argument(
        "--role",
        choices=ROLES,
        default="all",
        help="what this process does; run several scraper and delivery processes against "
        "one PostgreSQL database to scale out (default: all)",
    )
    run.add_argument(
        "--lease",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long a claimed source or alert stays this process's if it dies (default 300)",
    )
    run.add_argument(
        "--deliver-every",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often to look for alerts to deliver (default 5)",
    )
    run.add_argument(
        "--max-polls",
        type=int,
        default=100,
        metavar="N",
        help="sources polled at the same time by this process (default 100)",
    )
    run.add_argument(
        "--shard-count",
        metavar="N|auto",
        help="run the Discord bot in N shards ('auto': as many as Discord recommends); "
        "roles bot and all (default: no sharding, or BREACHRADAR_SHARD_COUNT)",
    )
    run.add_argument(
        "--shard-ids",
        metavar="IDS",
        help="the shards this process runs, e.g. 0,1 or 0-3, with --shard-count; each "
        "serves and delivers to its own guilds (default: all, or BREACHRADAR_SHARD_IDS)",
    )
    run.add_argument(
        "--metrics",
        metavar="ADDRESS",
        help="serve /metrics (Prometheus) and /healthz on this address, e.g. 127.0.0.1:9464; "
        "'off' serves nothing (default: metrics_address, BREACHRADAR_METRICS_ADDRESS, or off)",
    )
    run.add_argument(
        "--reload-every",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often scraper and bot processes look for subscriptions changed by other "
        "processes (default 5)",
    )


async def _run(config: Config, args: argparse.Namespace) -> int:
    role = getattr(args, "role", "all")
    if role == "bot" and not config.settings.discord_token:
        print("breachradar: --role bot needs DISCORD_TOKEN in the environment", file=sys.stderr)
        return EXIT_CONFIG
    try:
        sharding = resolve_sharding(config, args, role)
        metrics = resolve_metrics(config, args)
    except ValueError as exc:
        print(f"breachradar: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    options = RunOptions(
        role=role,
        dev_guild=getattr(args, "dev_guild", None),
        sharding=sharding,
        lease=timedelta(seconds=getattr(args, "lease", 300.0)),
        deliver_every=getattr(args, "deliver_every", 5.0),
        max_polls=getattr(args, "max_polls", 100),
        reload_every=getattr(args, "reload_every", 5.0),
        metrics=metrics,
    )
    async with connect(config) as parts:
        app = await App.build(config, options, parts)
        try:
            await app.open_monitor()
        except OSError as exc:
            # The errno's own words, not the event loop's long "while attempting to bind...".
            reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            print(f"breachradar: cannot serve metrics on {metrics}: {reason}", file=sys.stderr)
            return EXIT_CONFIG
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, app.request_stop)
        return await app.run()


def resolve_metrics(config: Config, args: argparse.Namespace) -> ListenAddress | None:
    """Where to serve /metrics and /healthz: ``--metrics``, else the setting."""
    given = getattr(args, "metrics", None)
    if given is None:
        return config.settings.metrics_address
    try:
        return parse_listen_address(given)
    except ValueError as exc:
        raise ValueError(f"--metrics: {exc}") from None


def resolve_sharding(config: Config, args: argparse.Namespace, role: str) -> Sharding | None:
    """The bot's sharding: each of ``--shard-count``/``--shard-ids`` given replaces its
    setting (``shard_count``/``shard_ids``, or ``BREACHRADAR_SHARD_COUNT``/``_IDS``)."""
    count_arg = getattr(args, "shard_count", None)
    ids_arg = getattr(args, "shard_ids", None)
    if count_arg is None and ids_arg is None:
        return config.settings.sharding
    if role not in ("all", "bot"):
        raise ValueError("--shard-count and --shard-ids are for --role bot or all")
    configured = config.settings.sharding
    try:
        count = parse_shard_count(count_arg) if count_arg is not None else None
    except ValueError as exc:
        raise ValueError(f"--shard-count {exc}") from None
    if count_arg is None:
        if configured is None:
            raise ValueError("--shard-ids needs --shard-count (or BREACHRADAR_SHARD_COUNT)")
        count = configured.count
    try:
        ids = parse_shard_ids(ids_arg) if ids_arg is not None else None
    except ValueError as exc:
        raise ValueError(f"--shard-ids: {exc}") from None
    if ids_arg is None and configured is not None:
        ids = configured.ids
    try:
        return Sharding(count, ids)
    except ValueError as exc:
        raise ValueError(f"sharding: {exc}") from None


def command(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(_run(config, args))
