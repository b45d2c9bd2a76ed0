"""``breachradar doctor``: check the configuration, database, webhooks, bot and sources,
and say what to do about each problem. Exit 1 when something is wrong."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.cli._common import common_options
from bot.cli.check_config import source_warnings
from bot.service.doctor import (
    DEFAULT_DEADLINE,
    OK,
    PROBLEM,
    WARNING,
    Finding,
    configuration_error,
    diagnose,
)
from bot.settings import ConfigError, config_directory, load_config

NAME = "doctor"
MARKS = {OK: "ok", WARNING: "warning", PROBLEM: "PROBLEM", "skipped": "skipped"}


def add_parser(sub: Any) -> None:
    doctor = sub.add_parser(
        "doctor", help="check configuration, database, webhooks, bot token and sources"
    )
    common_options(doctor)
    doctor.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    doctor.add_argument(
        "--deadline",
        type=float,
        default=DEFAULT_DEADLINE,
        metavar="SECONDS",
        help=f"how long each network check may take (default {DEFAULT_DEADLINE:g})",
    )


async def _findings(args: argparse.Namespace) -> list[Finding]:
    try:
        config = load_config(args.config, database=args.db)
    except ConfigError as exc:
        # Nothing else can be checked without a configuration.
        return [configuration_error(str(config_directory(args.config)), str(exc))]
    found = await diagnose(config, deadline=args.deadline)
    for warning in source_warnings(config):
        found.insert(1, Finding("configuration", "user_agent", PROBLEM, warning, _ua_fix()))
    return found


def _ua_fix() -> str:
    return (
        'set user_agent in settings.toml with a contact, e.g. "BreachRadar/0.1 (you@example.com)"'
    )


def command(args: argparse.Namespace) -> int:
    """Run doctor (it loads the configuration itself: an invalid one is a finding)."""
    import logging

    # Doctor reports in its table; discord.py's login narration would only interleave.
    logging.getLogger("discord").setLevel(logging.WARNING)
    findings = asyncio.run(_findings(args))
    problems = [f for f in findings if f.status == PROBLEM]
    if args.json:
        print(
            json.dumps(
                {
                    "ok": not problems,
                    "problems": len(problems),
                    "warnings": sum(1 for f in findings if f.status == WARNING),
                    "checks": [f.as_json() for f in findings],
                },
                ensure_ascii=False,
            )
        )
        return 1 if problems else 0
    console = Console(width=200 if not sys.stdout.isatty() else None, highlight=False)
    table = Table(title="breachradar doctor")
    for column in ("Check", "Subject", "Status", "Detail"):
        table.add_column(column)
    for f in findings:
        table.add_row(f.check, escape(f.subject), MARKS.get(f.status, f.status), escape(f.detail))
    console.print(table)
    # One line per problem (and warning), with what to do.
    for f in findings:
        if f.status in (PROBLEM, WARNING) and f.fix:
            mark = "problem" if f.status == PROBLEM else "warning"
            line = f"{mark}: {f.check} {f.subject}: {f.detail} -> {f.fix}"
            console.print(escape(line), soft_wrap=True)
    if problems:
        console.print(f"{len(problems)} problem(s) found")
        return 1
    console.print("all well")
    return 0
