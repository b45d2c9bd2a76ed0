"""What the commands share: their common options, exit codes and small helpers."""

from __future__ import annotations

import argparse

EXIT_CONFIG = 2
EXIT_SCHEMA = 3


def common_options(parser: argparse.ArgumentParser, *, db: bool = True) -> None:
    parser.add_argument(
        "--config", metavar="DIR", help="configuration directory (default: bundled config/)"
    )
    if db:
        parser.add_argument("--db", metavar="URL", help="database URL (default: SQLite file)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="log as readable text or one JSON object a line (default: the log_format "
        "setting, else text)",
    )


def redact_db(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
