"""``breachradar db``: create the schema, apply new migrations, or show the revision."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.cli._common import common_options, redact_db
from bot.settings import Config
from bot.store import Store

NAME = "db"


def add_parser(sub: Any) -> None:
    db = sub.add_parser("db", help="manage the database schema")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    common_options(db_sub.add_parser("upgrade", help="create the schema or apply new migrations"))
    common_options(db_sub.add_parser("current", help="show the schema revision of the database"))


async def _db(config: Config, args: argparse.Namespace) -> int:
    from bot.store import migrate

    store = await Store.open(config.settings.database, create=False)
    try:
        where = redact_db(config.settings.database)
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


def command(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(_db(config, args))
