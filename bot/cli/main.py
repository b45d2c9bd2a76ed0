"""The ``breachradar`` command line: one module per command, put together here.

A command module has a ``NAME``, ``add_parser(sub)`` for its options and ``command()``
that runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bot import __version__
from bot.cli import check_config, db, evaluate, run, scan, sources, watch
from bot.cli._common import EXIT_CONFIG, EXIT_SCHEMA
from bot.settings import Config, ConfigError, load_config

# In the order ``--help`` lists them; eval needs no configuration.
COMMANDS = (scan, run, check_config, sources, watch, evaluate, db)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="breachradar",
        description="Watch public sources for breach disclosures about the companies "
        "you care about.",
    )
    parser.add_argument("--version", action="version", version=f"breachradar {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
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
    if args.command == evaluate.NAME:
        return evaluate.command(args)
    try:
        config = load_config(args.config, database=getattr(args, "db", None))
    except ConfigError as exc:
        print(f"breachradar: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    handlers: dict[str, Callable[[Config, argparse.Namespace], int]] = {
        scan.NAME: scan.command,
        run.NAME: run.command,
        check_config.NAME: check_config.command,
        sources.NAME: sources.command,
        watch.NAME: watch.command,
        db.NAME: db.command,
    }
    from bot.store.migrate import SchemaError

    try:
        return handlers[args.command](config, args)
    except SchemaError as exc:
        print(f"breachradar: {exc}", file=sys.stderr)
        return EXIT_SCHEMA
    except KeyboardInterrupt:
        return 130
