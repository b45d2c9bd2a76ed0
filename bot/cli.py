"""The ``breachradar`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from bot import __version__
from bot.core.clock import utcnow
from bot.core.sharding import Sharding
from bot.delivery import Outbox, Sink, make_webhook_sinks
from bot.pipeline import PassReport, Pipeline, SourceResult
from bot.settings import Config, ConfigError, load_config
from bot.store import Store
from scrapers.http import Fetcher

log = logging.getLogger("breachradar")
EXIT_CONFIG = 2
EXIT_SCHEMA = 3


def _common(parser: argparse.ArgumentParser, *, db: bool = True) -> None:
    parser.add_argument(
        "--config", metavar="DIR", help="configuration directory (default: bundled config/)"
    )
    if db:
        parser.add_argument("--db", metavar="URL", help="database URL (default: SQLite file)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="breachradar",
        description="Watch public sources for breach disclosures about the companies "
        "you care about.",
    )
    parser.add_argument("--version", action="version", version=f"breachradar {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = sub.add_parser("scan", help="poll every enabled source once and deliver new alerts")
    _common(scan)
    scan.add_argument("--json", action="store_true", help="one JSON object per line")

    run = sub.add_parser("run", help="run the service: poll on schedule and deliver")
    _common(run)
    run.add_argument(
        "--dev-guild",
        type=int,
        metavar="ID",
        help="sync slash commands to this Discord server only (instant, for development)",
    )
    run.add_argument(
        "--role",
        choices=("all", "scraper", "delivery", "bot"),
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
        "--reload-every",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often scraper and bot processes look for subscriptions changed by other "
        "processes (default 5)",
    )

    check = sub.add_parser("check-config", help="validate the configuration")
    _common(check, db=False)

    sources = sub.add_parser("sources", help="show each source's health, or test one")
    _common(sources)
    sources_sub = sources.add_subparsers(dest="sources_command", metavar="ACTION")
    test = sources_sub.add_parser("test", help="fetch one source once and show what it parsed")
    test.add_argument("name", help="the source's name in sources.toml")
    _common(test)

    evaluate = sub.add_parser(
        "eval", help="measure matching and incident grouping on the labeled evaluation set"
    )
    evaluate.add_argument("--data", metavar="DIR", help="evaluation folder (default: bundled)")
    evaluate.add_argument("--errors", action="store_true", help="list every wrong decision")

    db = sub.add_parser("db", help="manage the database schema")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    _common(db_sub.add_parser("upgrade", help="create the schema or apply new migrations"))
    _common(db_sub.add_parser("current", help="show the schema revision of the database"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``breachradar`` and ``python -m bot``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request URL at INFO; webhook URLs are secrets.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # APScheduler logs every run of the one-second tick job at INFO.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if not getattr(args, "verbose", False):
        # Alembic narrates every step at INFO; the db command prints its own summary.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "eval":
        return cmd_eval(args)
    try:
        config = load_config(args.config, database=getattr(args, "db", None))
    except ConfigError as exc:
        print(f"breachradar: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    handlers = {
        "scan": cmd_scan,
        "run": cmd_run,
        "check-config": cmd_check_config,
        "sources": cmd_sources,
        "db": cmd_db,
    }
    from bot.store.migrate import SchemaError

    try:
        return handlers[args.command](config, args)
    except SchemaError as exc:
        print(f"breachradar: {exc}", file=sys.stderr)
        return EXIT_SCHEMA
    except KeyboardInterrupt:
        return 130


# -- eval --------------------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    """Print precision, recall and grouping per split; the last line covers everything."""
    from pathlib import Path

    from bot.evaluation import DEFAULT_DIR, evaluate, load

    directory = Path(args.data) if args.data else DEFAULT_DIR
    if not (directory / "watchlist.toml").is_file():
        print(f"breachradar: no evaluation set in {directory} (use --data DIR)", file=sys.stderr)
        return EXIT_CONFIG
    watchlist, items = load(directory)
    scores = asyncio.run(evaluate(watchlist, items))
    for split in sorted(s for s in scores if s != "all"):
        part = scores[split]
        count = sum(1 for i in items if i.split == split)
        print(f"{split}: items={count} {part.line()} clusters={part.clusters:.2f}")
        if args.errors:
            for error in part.errors:
                print(f"  {error}")
    print(scores["all"].line())
    return 0


# -- check-config ------------------------------------------------------------------------


def cmd_check_config(config: Config, args: argparse.Namespace) -> int:
    s = config.settings
    enabled = config.enabled_sources
    kinds: dict[str, int] = {}
    for spec in enabled:
        kinds[spec.kind] = kinds.get(spec.kind, 0) + 1
    print(f"configuration: {config.directory}")
    print(
        f"sources: {len(config.sources)} ({len(enabled)} enabled: "
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + ")"
    )
    print(f"watchlist: {len(config.watchlist)} companies")
    print(f"webhooks: {len(s.webhooks)}")
    print(f"database: {_redact_db(s.database)}")
    age = "none" if s.max_alert_age is None else str(s.max_alert_age)
    print(f"max alert age: {age}")
    for warning in source_warnings(config):
        print(f"warning: {warning}")
    print("ok")
    return 0


def source_warnings(config: Config) -> list[str]:
    """Problems that will make enabled sources fail, worth fixing before ``run``."""
    warnings: list[str] = []
    sec = [s.name for s in config.enabled_sources if s.kind.startswith("sec-")]
    if sec and "@" not in config.settings.user_agent:
        warnings.append(
            f"{', '.join(sec)}: SEC EDGAR refuses requests whose User-Agent has no contact "
            'email; set user_agent in settings.toml, e.g. "BreachRadar/0.1 (you@example.com)"'
        )
    return warnings


def _redact_db(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# -- scan ----------------------------------------------------------------------------------


def make_sinks(config: Config, client: httpx.AsyncClient) -> dict[str, Sink]:
    sinks = make_webhook_sinks(config.settings.webhooks, client)
    return sinks


async def _scan(config: Config, args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    store = await Store.open(config.settings.database)
    specs = config.enabled_sources
    try:
        async with (
            Fetcher(Pipeline.fetch_policy(config)) as fetcher,
            httpx.AsyncClient(
                timeout=15.0, headers={"User-Agent": config.settings.user_agent}
            ) as client,
        ):
            pipeline = Pipeline(config, store, fetcher)
            outbox = Outbox(store, make_sinks(config, client), owner="scan")

            def failed(result: SourceResult) -> None:
                if not result.ok:
                    print(f"source {result.name} failed: {result.error}", file=sys.stderr)

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
                        progress.update(task, advance=1, description=result.name)
                        failed(result)

                    report = await pipeline.run_pass(specs, on_done=done)
            else:
                report = await pipeline.run_pass(specs, on_done=failed)
            flushed = await outbox.flush()
    finally:
        await store.close()
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
            d.source,
            d.published.date().isoformat() if d.published else "",
            d.url,
        )
    Console(soft_wrap=False, width=200 if not sys.stdout.isatty() else None).print(table)


def cmd_scan(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(_scan(config, args))


# -- run -----------------------------------------------------------------------------------


async def _run(config: Config, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from bot.scheduler import Service, process_owner

    role = getattr(args, "role", "all")
    if role == "bot" and not config.settings.discord_token:
        print("breachradar: --role bot needs DISCORD_TOKEN in the environment", file=sys.stderr)
        return EXIT_CONFIG
    try:
        sharding = resolve_sharding(config, args, role)
    except ValueError as exc:
        print(f"breachradar: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    reload_every = getattr(args, "reload_every", 5.0)
    lease = timedelta(seconds=getattr(args, "lease", 300.0))
    store = await Store.open(config.settings.database)
    try:
        async with (
            Fetcher(Pipeline.fetch_policy(config)) as fetcher,
            httpx.AsyncClient(
                timeout=15.0, headers={"User-Agent": config.settings.user_agent}
            ) as client,
        ):
            pipeline = Pipeline(config, store, fetcher)
            sinks = make_sinks(config, client)
            routes: dict[str, Any] = {}
            discord_bot = None
            subscriptions: Any = None
            if config.settings.discord_token and role in ("all", "bot"):
                from bot.discordbot.client import prepare

                discord_bot, routes = await prepare(
                    config,
                    store,
                    pipeline,
                    fetcher,
                    dev_guild=getattr(args, "dev_guild", None),
                    sharding=sharding,
                )
                subscriptions = discord_bot.subscriptions
            elif role == "scraper":
                # Matches must still reach subscribed channels, which a bot process delivers.
                from bot.pipeline import connect_pipeline
                from bot.subscriptions import Subscriptions

                subscriptions = Subscriptions(store, config.watchlist)
                await subscriptions.load()
                await connect_pipeline(pipeline, subscriptions)
            if role == "bot":
                sinks = {}  # webhooks are a delivery process's work
            if not sinks and not routes:
                log.info("no webhooks configured: matches go to the log only")
            owner = process_owner()
            # A delivery process has no Discord client: it sends webhooks only; a bot
            # process sends to its channels only.
            outbox = Outbox(
                store,
                sinks,
                owner=owner,
                routes=routes,
                lease=lease,
                target_prefix={"delivery": "webhook:", "bot": "channel:"}.get(role),
                # A bot process running some of the shards: its guilds' channels only.
                shards=discord_bot.served if discord_bot is not None else None,
            )
            service = Service(
                pipeline,
                outbox,
                config.enabled_sources,
                poll=role in ("all", "scraper"),
                deliver=role in ("all", "delivery", "bot"),
                owner=owner,
                lease=lease,
                deliver_every=getattr(args, "deliver_every", 5.0),
                max_polls=getattr(args, "max_polls", 100),
            )
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, service.request_stop)
            log.info(
                "watching %d companies across %d sources (role %s, process %s%s)",
                len(pipeline.matcher.companies),
                len(config.enabled_sources),
                role,
                owner,
                f", {sharding.describe()}" if discord_bot is not None and sharding else "",
            )
            bot_task = None
            feeds_task = None
            # Subscriptions other processes add or remove reach this one's routing.
            reload_task = None
            if subscriptions is not None:
                reload_task = asyncio.create_task(
                    subscriptions.watch(reload_every), name="subscription-changes"
                )
            if discord_bot is not None:
                bot_task = asyncio.create_task(
                    discord_bot.start(config.settings.discord_token or ""), name="discord"
                )
                bot_task.add_done_callback(lambda task: _bot_ended(task, service))
                feeds_task = asyncio.create_task(
                    _bot_background(
                        discord_bot.subscriptions, pipeline, outbox, routes, discord_bot.serves
                    ),
                    name="server-feeds-and-digests",
                )
            try:
                await service.run_forever()
            finally:
                for task in (feeds_task, reload_task):
                    if task is not None:
                        task.cancel()
                        await asyncio.gather(task, return_exceptions=True)
                if discord_bot is not None and bot_task is not None:
                    await discord_bot.close()
                    await asyncio.gather(bot_task, return_exceptions=True)
            if (
                bot_task is not None
                and bot_task.done()
                and not bot_task.cancelled()
                and bot_task.exception() is not None
            ):
                return 1
    finally:
        await store.close()
    return 0


def resolve_sharding(config: Config, args: argparse.Namespace, role: str) -> Sharding | None:
    """The bot's sharding: each of ``--shard-count``/``--shard-ids`` given replaces its
    setting (``shard_count``/``shard_ids``, or ``BREACHRADAR_SHARD_COUNT``/``_IDS``)."""
    from bot.core.sharding import parse_shard_count, parse_shard_ids

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


async def _bot_background(
    subscriptions: Any,
    pipeline: Pipeline,
    outbox: Outbox,
    routes: dict[str, Any],
    serves: Callable[[int | None], bool] | None = None,
) -> None:
    """Once a minute: poll the feeds servers added, deliver, and send due digests.

    ``serves`` keeps the guilds this process serves (a sharded bot: its shards' guilds).
    """
    from bot.discordbot.digests import DigestSender
    from bot.guild_feeds import GuildFeeds

    feeds = GuildFeeds(pipeline, subscriptions, guilds=serves)
    digests = DigestSender(routes["channel:"], guilds=serves)
    while True:
        try:
            results = await feeds.poll_due()
            if any(r.found for r in results):
                await outbox.flush()
            await digests.send_due()
        except Exception:
            log.exception("server feeds or digests failed")
        await asyncio.sleep(60)


def _bot_ended(task: asyncio.Task[None], service: Any) -> None:
    """Stop the service when the bot stops by itself (a bad token, say): fail loudly."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        # Never print the exception's arguments: a login error may echo the request.
        log.error("the Discord bot stopped: %s", type(error).__name__)
        service.request_stop()


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(_run(config, args))


# -- sources -------------------------------------------------------------------------------


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


async def _sources(config: Config, args: argparse.Namespace) -> int:
    store = await Store.open(config.settings.database)
    try:
        health = await store.source_health()
    finally:
        await store.close()
    table = Table(title="Sources")
    for column in (
        "Name",
        "Kind",
        "Every",
        "Status",
        "Last success",
        "Failures",
        "Items",
        "Next poll",
        "Last error",
    ):
        table.add_column(column)
    for spec in config.sources:
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
            spec.name,
            spec.kind,
            _span(int(spec.every.total_seconds())),
            status,
            _ago(h.last_success_at) if h else "never",
            str(h.consecutive_failures) if h else "0",
            str(h.items_seen) if h else "0",
            _ago(h.next_poll_at) if h and h.next_poll_at else "now",
            (h.last_error or "")[:80] if h else "",
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)
    return 0


async def _source_test(config: Config, args: argparse.Namespace) -> int:
    from bot.core.matching import Matcher
    from scrapers.errors import ScraperError
    from scrapers.registry import build

    spec = next((s for s in config.sources if s.name == args.name), None)
    if spec is None:
        print(f"breachradar: no source named {args.name!r} in sources.toml", file=sys.stderr)
        return EXIT_CONFIG
    matcher = Matcher(config.watchlist.companies)
    allow = spec.allow_private or config.settings.allow_private_addresses
    async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:

        async def fetch(url: str, *, conditional: bool = True) -> Any:
            return await fetcher.fetch(url, conditional=False, allow_private=allow)

        try:
            items = await build(spec).collect(fetch) or []
        except ScraperError as exc:
            print(f"source {spec.name} failed: {exc}", file=sys.stderr)
            return 1
    table = Table(title=f"{spec.name}: {len(items)} items")
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


def cmd_sources(config: Config, args: argparse.Namespace) -> int:
    if getattr(args, "sources_command", None) == "test":
        return asyncio.run(_source_test(config, args))
    return asyncio.run(_sources(config, args))


# -- db ------------------------------------------------------------------------------------


async def _db(config: Config, args: argparse.Namespace) -> int:
    from bot.store import migrate

    store = await Store.open(config.settings.database, create=False)
    try:
        where = _redact_db(config.settings.database)
        if args.db_command == "current":
            at = await migrate.current_revision(store.engine)
            head = migrate.head()
            state = "current" if at == head else f"needs upgrade to {head}"
            print(f"{where}: revision {at or 'none'} ({state})")
            return 0 if at == head else 1
        before, after = await migrate.upgrade(store.engine)
    finally:
        await store.close()
    if before == after:
        print(f"{where}: already at revision {after}")
    else:
        print(f"{where}: upgraded from revision {before or 'none'} to {after}")
    return 0


def cmd_db(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(_db(config, args))
