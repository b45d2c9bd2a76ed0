"""``breachradar init [DIR]``: a copy of the bundled configuration to edit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.cli._common import EXIT_CONFIG
from bot.settings import CONFIG_FILES, bundled_config, user_config

NAME = "init"
EXIT_EXISTS = 1


def add_parser(sub: Any) -> None:
    init = sub.add_parser("init", help="write a copy of the bundled configuration to edit")
    init.add_argument(
        "directory",
        nargs="?",
        metavar="DIR",
        help=f"where to write it (default: {user_config()}, read by every command "
        "when neither --config nor BREACHRADAR_CONFIG is given)",
    )


def command(args: argparse.Namespace) -> int:
    """Copy sources.toml, watchlist.toml and settings.toml; never overwrite one."""
    default = user_config()
    target = Path(args.directory).expanduser() if args.directory else default
    if target.exists() and not target.is_dir():
        print(f"breachradar: {target} exists and is not a directory", file=sys.stderr)
        return EXIT_CONFIG
    present = [name for name in CONFIG_FILES if (target / name).exists()]
    if present:
        # Someone's edits may be in there: refuse rather than merge or overwrite.
        print(
            f"breachradar: {target} already has {', '.join(present)}; nothing written "
            "(move them away or choose another directory)",
            file=sys.stderr,
        )
        return EXIT_EXISTS
    source = bundled_config()
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in CONFIG_FILES:
            with (target / name).open("x", encoding="utf-8") as out:
                out.write((source / name).read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"breachradar: cannot write to {target}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"wrote {', '.join(CONFIG_FILES)} to {target}")
    if target.resolve() == default.resolve():
        print("breachradar reads this configuration from now on (--config DIR picks another)")
        print("edit them, then run: breachradar check-config")
    else:
        print(f"use it with --config {target} or BREACHRADAR_CONFIG={target}")
        print(f"edit them, then run: breachradar check-config --config {target}")
    return 0
