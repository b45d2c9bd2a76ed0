"""``breachradar watch import``: subscribe a server's channel to a list of vendors.

What ``/watch import`` does in Discord, from a file on the operator's machine: one
transaction and one routing reload for the whole list, so thousands of lines take seconds;
running processes pick the new subscriptions up within their ``--reload-every``. Each
line that names a company is reported: added, already watched (a rerun of the same file
adds nothing), listed twice, or refused with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bot.cli._common import EXIT_CONFIG, common_options
from bot.settings import Config
from bot.store import Store

NAME = "watch"
# Discord ids are 64-bit snowflakes.
_MAX_ID = 2**63 - 1


def _snowflake(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Discord id (digits)") from None
    if not 0 < value <= _MAX_ID:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Discord id")
    return value


def add_parser(sub: Any) -> None:
    watch = sub.add_parser("watch", help="manage what servers' channels watch")
    actions = watch.add_subparsers(dest="watch_command", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import",
        help="subscribe a channel to every vendor in a text or CSV file",
        description="Subscribe a channel to every company of FILE: one per line, or CSV "
        "with the name first and aliases after it. Lines starting with # are skipped.",
    )
    imp.add_argument("file", metavar="FILE", help="the vendor list ('-' reads standard input)")
    imp.add_argument("--guild", type=_snowflake, required=True, metavar="ID", help="server id")
    imp.add_argument("--channel", type=_snowflake, required=True, metavar="ID", help="channel id")
    imp.add_argument("--by", type=_snowflake, metavar="ID", help="user id recorded as the author")
    imp.add_argument("--json", action="store_true", help="print the report as one JSON object")
    common_options(imp)


def _read(path: str) -> str:
    data = sys.stdin.buffer.read() if path == "-" else Path(path).expanduser().read_bytes()
    return data.decode("utf-8-sig")


async def _import(config: Config, args: argparse.Namespace, text: str) -> int:
    from bot.subscriptions import SubscriptionError, Subscriptions

    store = await Store.open(config.settings.database)
    try:
        subscriptions = Subscriptions(store, config.watchlist)
        try:
            report = await subscriptions.import_text(args.guild, args.channel, text, by=args.by)
        except SubscriptionError as exc:
            print(f"breachradar: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    finally:
        await store.close()
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(
            f"added {len(report.added)}, already watched {len(report.already)}, "
            f"listed twice {len(report.duplicates)}, refused {len(report.refused)} "
            f"for channel {args.channel} of server {args.guild}"
        )
        for line in report.lines:
            if line.outcome in ("refused", "duplicate"):
                print(line.describe())
    return 1 if report.refused else 0


def command(config: Config, args: argparse.Namespace) -> int:
    try:
        text = _read(args.file)
    except OSError as exc:
        print(f"breachradar: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CONFIG
    except UnicodeDecodeError:
        print(f"breachradar: {args.file} is not UTF-8 text", file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(_import(config, args, text))
