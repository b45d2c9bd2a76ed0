"""A one-shot scan is bounded by fetch_timeout, and durations print as they are written."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.durations import format_duration
from bot.settings import ConfigError, parse_settings
from tests.support.cli import run_cli
from tests.support.localserver import LocalServer, Response
from tests.support.scenario import rss_source, write_config

BLEEPING = "bleepingcomputer/feed-2024-10-08.xml"
DRIP_BYTES = 90  # at a byte a second: a minute and a half unbounded


@pytest.mark.slow
def test_a_dripping_source_holds_scan_about_fetch_timeout_and_is_named(
    web: LocalServer, tmp_path: Path
) -> None:
    """With fetch_timeout = 2s a source that drips a byte a second fails after about 2 s
    with a line naming it and saying why; the healthy source's match is still printed."""
    web.serve_file("/feed", BLEEPING, "application/rss+xml")
    web.route("/drip", Response(200, b"<?xml version='1.0'?><rss>".ljust(DRIP_BYTES), drip=1.0))
    config = write_config(
        tmp_path / "config",
        sources=rss_source("Bleeping Computer", web.url("/feed"))
        + rss_source("Slow Drip 💧", web.url("/drip")),
        settings='fetch_timeout = "2s"\nmax_alert_age = "none"\n',
        loopback=True,
    )
    db = f"sqlite:///{tmp_path / 'state.db'}"
    started = time.monotonic()
    result = run_cli("scan", "--config", str(config), "--db", db, "--json")
    took = time.monotonic() - started
    print(f"scan with a {DRIP_BYTES} s drip took {took:.1f}s (fetch_timeout 2s)")
    assert result.code == 0, result.stderr
    assert any(r["company"] == "Casio" for r in result.json_lines())
    (line,) = [x for x in result.stderr.splitlines() if "Slow Drip" in x]
    assert line.startswith("source Slow Drip 💧 failed: timed out after 2s for the whole fetch")
    assert "the server was still sending" in line
    # Unbounded the drip would hold the scan 90 s; bounded, a small fraction of that
    # (start-up and the other source included).
    assert took < DRIP_BYTES / 4, took


def test_check_config_prints_durations_as_written(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config",
        sources=rss_source("feed", "https://example.com/feed", every="90s"),
        settings='max_alert_age = "72h"\nfetch_timeout = "1m"\n',
    )
    out = run_cli("check-config", "--config", str(config))
    assert out.code == 0, out.stderr
    assert "max alert age: 72h\n" in out.stdout
    assert "fetch timeout: 1m\n" in out.stdout
    assert "days" not in out.stdout and "0:00" not in out.stdout
    table = run_cli(
        "sources", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'db'}",
        env={"COLUMNS": "200"},
    )  # fmt: skip
    rows = [[cell.strip() for cell in re.split("[│┃]", line)] for line in table.stdout.splitlines()]
    (header,) = [cells for cells in rows if "Every" in cells]
    (row,) = [cells for cells in rows if "feed" in cells]
    assert row[header.index("Every")] == "90s"


def test_defaults_print_as_an_operator_writes_them() -> None:
    settings = parse_settings({}, {})
    assert settings.max_alert_age is not None
    assert format_duration(settings.max_alert_age) == "3d"
    assert format_duration(timedelta(seconds=settings.fetch_timeout)) == "20s"
    assert format_duration(timedelta(minutes=90)) == "1h30m"


@pytest.mark.parametrize(
    ("written", "seconds"), [(20, 20.0), ("7.5", 7.5), ("20s", 20.0), ("1m", 60.0)]
)
def test_fetch_timeout_takes_seconds_or_a_duration(written: object, seconds: float) -> None:
    assert parse_settings({"fetch_timeout": written}, {}).fetch_timeout == seconds


@pytest.mark.parametrize(
    ("written", "problem"),
    [(0, "must be more than zero"), ("soon", "must be seconds or a duration"),
     ("nan", "must be seconds or a duration")],
)  # fmt: skip
def test_a_bad_fetch_timeout_is_one_clear_line(written: object, problem: str) -> None:
    with pytest.raises(ConfigError, match=f"settings.toml: fetch_timeout: {problem}"):
        parse_settings({"fetch_timeout": written}, {})
