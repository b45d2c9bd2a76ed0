"""``breachradar deliveries``: each target's queue and health; ``retry`` given-up alerts.

Targets are shown by name (``webhook:<name>``, ``channel:<id>``) and a webhook by its host
and id: a webhook URL holds its token, a secret, and is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.cli._common import EXIT_CONFIG, common_options
from bot.core.clock import utcnow
from bot.delivery import redacted
from bot.settings import Config
from bot.store import Store, TargetStatus

NAME = "deliveries"


def add_parser(sub: Any) -> None:
    deliveries = sub.add_parser(
        "deliveries", help="show each delivery target's queue and health, or retry given-up alerts"
    )
    common_options(deliveries)
    deliveries.add_argument("--json", action="store_true", help="one JSON object")
    actions = deliveries.add_subparsers(dest="deliveries_command", metavar="ACTION")
    retry = actions.add_parser(
        "retry", help="queue a target's given-up alerts again (after fixing the target)"
    )
    retry.add_argument(
        "target", nargs="?", help="webhook:NAME, a webhook's name, channel:ID or a channel id"
    )
    retry.add_argument("--all", action="store_true", help="every target's given-up alerts")
    # Accepted after the action too; suppressed defaults leave what came before it alone.
    retry.add_argument(
        "--config",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="configuration directory (default: bundled config/)",
    )
    retry.add_argument(
        "--db", metavar="URL", default=argparse.SUPPRESS, help="database URL (default: SQLite file)"
    )
    retry.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                       help="log debug detail")  # fmt: skip


def _span(seconds: float) -> str:
    seconds = int(abs(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = (now - value).total_seconds()
    return f"in {_span(seconds)}" if seconds < 0 else f"{_span(seconds)} ago"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class _Targets:
    """The targets the database knows, with the webhooks configured but not used yet."""

    def __init__(self, config: Config, statuses: list[TargetStatus]) -> None:
        self.webhooks = {f"webhook:{w.label}": w.url for w in config.settings.webhooks}
        known = {s.target: s for s in statuses}
        for target in self.webhooks:
            known.setdefault(target, _unused(target))
        self.statuses = [known[t] for t in sorted(known, key=_order)]

    def receiver(self, target: str) -> str:
        """Where a target's alerts go, fit to print."""
        if target in self.webhooks:
            return redacted(self.webhooks[target])
        if target.startswith("webhook:"):
            return "not configured"
        if target.startswith("channel:"):
            return "Discord channel"
        return ""

    def resolve(self, name: str) -> str | None:
        """The target an operator means by ``name``."""
        known = {s.target for s in self.statuses}
        for candidate in (name, f"webhook:{name}", f"channel:{name.removeprefix('#')}"):
            if candidate in known:
                return candidate
        return None


def _order(target: str) -> tuple[int, str]:
    return (0 if target.startswith("webhook:") else 1, target)


def _unused(target: str) -> TargetStatus:
    return TargetStatus(
        target=target, state="up", queued=0, waiting=0, next_attempt_at=None, given_up=0,
        given_up_reason=None, sent=0, last_success_at=None, last_error=None,
        last_error_at=None, down_since=None, failures=0, guild_id=None,
    )  # fmt: skip


def _state(s: TargetStatus, now: datetime) -> str:
    if s.state == "down":
        since = f" for {_span((now - s.down_since).total_seconds())}" if s.down_since else ""
        return f"down{since} ({s.failures} failure{'s' if s.failures != 1 else ''})"
    if s.state == "gone":
        return "gone: alerts given up"
    return "ok"


def _as_json(targets: _Targets, now: datetime) -> dict[str, Any]:
    rows = []
    for s in targets.statuses:
        family, _, name = s.target.partition(":")
        rows.append(
            {
                "target": s.target,
                "kind": family,
                "name": name,
                "receiver": targets.receiver(s.target),
                "configured": s.target in targets.webhooks or family != "webhook",
                "state": s.state,
                "queued": s.queued,
                "waiting": s.waiting,
                "next_attempt_at": _iso(s.next_attempt_at),
                "given_up": s.given_up,
                "given_up_reason": s.given_up_reason,
                "sent": s.sent,
                "last_success_at": _iso(s.last_success_at),
                "last_answer": s.last_error,
                "last_answer_at": _iso(s.last_error_at),
                "down_since": _iso(s.down_since),
                "failures": s.failures,
                "guild_id": s.guild_id,
            }
        )
    return {"generated_at": now.isoformat(), "targets": rows}


def _table(targets: _Targets, now: datetime) -> Table:
    table = Table(title="Deliveries")
    for column in ("Target", "Receiver", "State"):
        table.add_column(column, no_wrap=True)
    for column in ("Queued", "Waiting for retry", "Given up", "Last answer", "Last success"):
        table.add_column(column)
    for s in targets.statuses:
        waiting = ""
        if s.waiting:
            waiting = f"{s.waiting}, next {_ago(s.next_attempt_at, now)}"
        given_up = str(s.given_up)
        if s.given_up and s.given_up_reason:
            given_up += f": {s.given_up_reason[:60]}"
        answer = ""
        if s.last_error and s.last_error != s.given_up_reason:
            answer = f"{s.last_error[:60]} ({_ago(s.last_error_at, now)})"
        table.add_row(
            s.target,
            targets.receiver(s.target),
            _state(s, now),
            str(s.queued),
            waiting,
            given_up,
            answer,
            _ago(s.last_success_at, now),
        )
    return table


async def _show(config: Config, args: argparse.Namespace) -> int:
    now = utcnow()
    store = await Store.open(config.settings.database)
    try:
        targets = _Targets(config, await store.target_status(now=now))
    finally:
        await store.close()
    if getattr(args, "json", False):
        print(json.dumps(_as_json(targets, now), ensure_ascii=False))
        return 0
    if not targets.statuses:
        print("No delivery targets yet: configure a webhook or subscribe a channel.")
        return 0
    # Piped: wide enough that a line holds a target whole, for grep.
    Console(width=250 if not sys.stdout.isatty() else None).print(_table(targets, now))
    return 0


async def _retry(config: Config, args: argparse.Namespace) -> int:
    name = getattr(args, "target", None)
    every = getattr(args, "all", False)
    if bool(name) == every:
        print("breachradar: deliveries retry takes a TARGET or --all", file=sys.stderr)
        return EXIT_CONFIG
    store = await Store.open(config.settings.database)
    try:
        targets = _Targets(config, await store.target_status())
        chosen: list[str] | None = None
        if name:
            target = targets.resolve(name)
            if target is None:
                known = ", ".join(s.target for s in targets.statuses) or "none"
                print(f"breachradar: no delivery target {name!r} (known: {known})", file=sys.stderr)
                return EXIT_CONFIG
            chosen = [target]
        count = await store.retry_given_up(chosen)
    finally:
        await store.close()
    what = chosen[0] if chosen else "every target"
    if count:
        print(
            f"{what}: {count} given-up alerts queued again; the running service sends them "
            "within seconds"
        )
    else:
        print(f"{what}: no given-up alerts to retry")
    return 0


def command(config: Config, args: argparse.Namespace) -> int:
    if getattr(args, "deliveries_command", None) == "retry":
        return asyncio.run(_retry(config, args))
    return asyncio.run(_show(config, args))
