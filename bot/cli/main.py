"""The ``breachradar`` command line: one module per command, put together here.

A command module has a ``NAME``, ``add_parser(sub)`` for its options and ``command()``
that runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from bot import __version__
from bot.cli import (
    check_config,
    db,
    deliveries,
    doctor,
    evaluate,
    init,
    run,
    scan,
    sources,
    watch,
)
from bot.cli._common import EXIT_CONFIG, EXIT_SCHEMA
from bot.cli._logs import configure_logging
from bot.settings import Config, ConfigError, load_config

# In the order ``--help`` lists them; eval and init need no configuration, and doctor
# reports an invalid one among its findings.
COMMANDS = (scan, run, check_config, doctor, sources, watch, deliveries, evaluate, db, init)


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


def config_secrets(config: Config) -> list[str]:
    """What must never reach a log line: each webhook URL and the bot token."""
    found = [hook.url for hook in config.settings.webhooks]
    if config.settings.discord_token:
        found.append(config.settings.discord_token)
    return found


def _environment_secrets() -> list[str]:
    return [
        value
        for key, value in os.environ.items()
        if key == "DISCORD_TOKEN" or (key.startswith("BREACHRADAR_") and "WEBHOOK" in key)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``breachradar`` and ``python -m bot``."""
    args = build_parser().parse_args(argv)
    verbose = bool(getattr(args, "verbose", False))
    # Until the configuration is read: the format the command line or environment asks for.
    early_format = getattr(args, "log_format", None) or os.environ.get(
        "BREACHRADAR_LOG_FORMAT", "text"
    )
    configure_logging(early_format.strip().lower(), verbose=verbose, secrets=_environment_secrets())
    if args.command == evaluate.NAME:
        return evaluate.command(args)
    if args.command == init.NAME:
        return init.command(args)
    if args.command == doctor.NAME:
        return doctor.command(args)
    try:
        config = load_config(args.config, database=getattr(args, "db", None))
    except ConfigError as exc:
        print(f"breachradar: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(
        getattr(args, "log_format", None) or config.settings.log_format,
        verbose=verbose,
        secrets=[*_environment_secrets(), *config_secrets(config)],
    )
    handlers: dict[str, Callable[[Config, argparse.Namespace], int]] = {
        scan.NAME: scan.command,
        run.NAME: run.command,
        check_config.NAME: check_config.command,
        sources.NAME: sources.command,
        watch.NAME: watch.command,
        deliveries.NAME: deliveries.command,
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
