"""``breachradar check-config``: validate the configuration and say what it holds."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from bot.cli._common import common_options, redact_db
from bot.core.durations import format_duration
from bot.settings import Config

NAME = "check-config"


def add_parser(sub: Any) -> None:
    check = sub.add_parser("check-config", help="validate the configuration")
    common_options(check, db=False)


def command(config: Config, args: argparse.Namespace) -> int:
    s = config.settings
    enabled = config.enabled_sources
    kinds: dict[str, int] = {}
    for spec in enabled:
        kinds[spec.kind] = kinds.get(spec.kind, 0) + 1
    print(f"configuration: {config.directory}")
    print(
        f"sources: {len(config.sources)} ({len(enabled)} enabled: "
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + ")"
    )
    print(f"watchlist: {len(config.watchlist)} companies")
    for schedule in config.schedules:
        print(f"search: {schedule.describe()}")
    print(f"webhooks: {len(s.webhooks)}")
    print(f"database: {redact_db(s.database)}")
    # Durations as the configuration writes them ("3d"), not as Python would ("3 days, 0:00:00").
    age = "none" if s.max_alert_age is None else format_duration(s.max_alert_age)
    print(f"max alert age: {age}")
    print(f"fetch timeout: {format_duration(timedelta(seconds=s.fetch_timeout))}")
    for warning in source_warnings(config):
        print(f"warning: {warning}")
    print("ok")
    return 0


def source_warnings(config: Config) -> list[str]:
    """Problems that will make enabled sources fail, worth fixing before ``run``."""
    warnings: list[str] = []
    sec = [s.display_name for s in config.enabled_sources if s.kind.startswith("sec-")]
    if sec and "@" not in config.settings.user_agent:
        warnings.append(
            f"{', '.join(sec)}: SEC EDGAR refuses requests whose User-Agent has no contact "
            'email; set user_agent in settings.toml, e.g. "BreachRadar/0.1 (you@example.com)"'
        )
    enabled = {s.name for s in config.enabled_sources}
    for schedule in config.schedules:
        warning = schedule.warning()
        if warning and any(n.startswith(f"{schedule.entry}-") for n in enabled):
            warnings.append(warning)
    return warnings
