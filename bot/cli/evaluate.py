"""``breachradar eval``: precision, recall and grouping on the labeled evaluation set, and
the incident cards' per-field scores (``cards <split>:`` lines)."""

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
    evaluate.add_argument(
        "--errors",
        action="store_true",
        help="list every wrong decision (card errors of development splits only)",
    )
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
    """Print precision, recall and grouping per split, then the cards' figures per split; the
    last line covers everything."""
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
    # The cards' lines come before the overall line, which stays the last.
    status = _cards(directory, args.errors)
    print(scores["all"].line())
    return status


def _cards(directory: object, errors: bool) -> int:
    """Print one ``cards <split>:`` line per labeled split (none if the set has no cards/)."""
    from pathlib import Path

    from bot.service.card_evaluation import CardSetError, evaluate

    assert isinstance(directory, Path)
    if not (directory / "cards").is_dir():
        return 0
    try:
        scores = evaluate(directory)
    except CardSetError as exc:
        print(f"breachradar: card labels: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for split in sorted(scores, key=lambda s: (s != "dev", s)):
        print(scores[split].line(split))
        # Held-out errors are never listed: reading them would tune the rules to them.
        if errors and split == "dev":
            for key, name, want, got in scores[split].errors:
                print(f"  {name:<10} label={want:<24} got={got:<24} [{key[:90]}]")
    return 0
