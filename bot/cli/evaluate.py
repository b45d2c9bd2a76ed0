"""``breachradar eval``: precision, recall and grouping on the labeled evaluation set."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tomllib
from typing import Any

from bot.cli._common import EXIT_CONFIG

NAME = "eval"


def add_parser(sub: Any) -> None:
    evaluate = sub.add_parser(
        "eval", help="measure matching and incident grouping on the labeled evaluation set"
    )
    evaluate.add_argument("--data", metavar="DIR", help="evaluation folder (default: bundled)")
    evaluate.add_argument("--errors", action="store_true", help="list every wrong decision")
    evaluate.add_argument(
        "--order",
        choices=["time", "reverse", "shuffled", "backfill"],
        default="time",
        help="how the items arrive: one by one as published (default), in reverse, shuffled, "
        "or all in one shuffled scan (backfill)",
    )
    evaluate.add_argument(
        "--seed", type=int, default=0, help="the shuffle of --order shuffled/backfill"
    )


def command(args: argparse.Namespace) -> int:
    """Print precision, recall and grouping per split; the last line covers everything."""
    from pathlib import Path

    from bot.service.evaluation import bundled_set, evaluate, load

    directory = Path(args.data) if args.data else bundled_set()
    if not (directory / "watchlist.toml").is_file():
        print(f"breachradar: no evaluation set in {directory} (use --data DIR)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        watchlist, items = load(directory)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        print(f"breachradar: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    scores = asyncio.run(evaluate(watchlist, items, order=args.order, seed=args.seed))
    for split in sorted(s for s in scores if s != "all"):
        part = scores[split]
        print(part.split_line(split))
        if args.errors:
            for error in part.errors:
                print(f"  {error}")
    print(scores["all"].line())
    return 0
