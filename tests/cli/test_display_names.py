"""Display names through the real commands: scan, its alerts, sources, sources test."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.sources import find_source
from bot.settings import load_config
from tests.support.cli import run_cli
from tests.support.localserver import DiscordWebhook, LocalServer, Response
from tests.support.scenario import write_config

BLEEPING = "bleepingcomputer/feed-2024-10-08.xml"
CASIO = "casio-jp-releases/release-list-2024-10.html"
FEED_NAME = 'Bleeping "Computer" 🔥'
PRESS_NAME = "カシオ ニュースリリース"
WIDE = {"COLUMNS": "250"}


@pytest.fixture
def named(tmp_path: Path, web: LocalServer, receiver: LocalServer) -> tuple[Path, DiscordWebhook]:
    """A hand-written configuration with display names, a failing source and a webhook."""
    web.serve_file("/feed/", BLEEPING, "application/rss+xml; charset=UTF-8")
    web.serve_file("/release/", CASIO, "text/html; charset=UTF-8")
    web.route("/down", Response(500, b"oops"))
    hook = DiscordWebhook(receiver)
    sources = f"""
[[sources]]
name = '{FEED_NAME}  '
kind = "rss"
url = "{web.url("/feed/")}"

[[sources]]
name = "{PRESS_NAME}"
kind = "html"
url = "{web.url("/release/")}"
item = "li.p-release__item"
title = ".p-release__title a"
date = ".p-release__date"
organization = "Casio"

[[sources]]
name = "Ｄｏｗｎ Ｔｏｗｎ"
kind = "rss"
url = "{web.url("/down")}"
"""
    settings = f'max_alert_age = "none"\n[[webhooks]]\nurl = "{hook.url}"\n'
    config = write_config(tmp_path / "config", sources=sources, settings=settings, loopback=True)
    return config, hook


@pytest.mark.slow
def test_names_are_shown_as_written_everywhere(
    named: tuple[Path, DiscordWebhook], tmp_path: Path
) -> None:
    """--json `source`, the stderr line of a failing source, the embeds of the alerts and
    the `sources` table all show the name as written; the database keys stay kebab-case."""
    config, hook = named
    db = f"sqlite:///{tmp_path / 'state.db'}"
    result = run_cli("scan", "--json", "--config", str(config), "--db", db)
    assert result.code == 0, result.stderr
    by_source = {row["source"] for row in result.json_lines()}
    assert by_source == {FEED_NAME, PRESS_NAME}
    assert "source Ｄｏｗｎ Ｔｏｗｎ failed: HTTP 500" in result.stderr

    embeds = [embed for message in hook.messages.values() for embed in message["embeds"]]
    assert embeds
    shown = " ".join(str(field["value"]) for e in embeds for field in e["fields"])
    # Escaped for Discord's markdown, but the name as written.
    assert "カシオ ニュースリリース" in shown
    assert 'Bleeping "Computer" 🔥' in shown
    assert "bleeping-computer" not in shown

    table = run_cli("sources", "--config", str(config), "--db", db, env=WIDE)
    assert table.code == 0, table.stderr
    rows = {line.split("│")[1].strip(): line for line in table.stdout.splitlines() if "│" in line}
    assert rows[FEED_NAME].split("│")[2].strip() == "bleeping-computer"  # the Key column
    assert rows[PRESS_NAME].split("│")[2].strip() == "カシオ-ニュースリリース"
    assert "ok" in rows[FEED_NAME] and "failing" in rows["Ｄｏｗｎ Ｔｏｗｎ"]


@pytest.mark.slow
def test_sources_test_takes_the_kebab_case_form(
    named: tuple[Path, DiscordWebhook], tmp_path: Path
) -> None:
    config, _ = named
    db = f"sqlite:///{tmp_path / 'state.db'}"
    result = run_cli(
        "sources", "test", "bleeping-computer", "--config", str(config), "--db", db, env=WIDE
    )
    assert result.code == 0, result.stderr
    assert f"{FEED_NAME}: 4 items" in result.stdout


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        (FEED_NAME, FEED_NAME),
        ("bleeping-computer", FEED_NAME),
        ('BLEEPING "computer" 🔥', FEED_NAME),
        ("カシオ-ニュースリリース", PRESS_NAME),
        ("ｶｼｵ ﾆｭｰｽﾘﾘｰｽ", PRESS_NAME),  # half-width, as some keyboards type it
        ("Bleeping", None),
    ],
)
def test_a_source_is_found_by_its_name_or_kebab_case_form(
    named: tuple[Path, DiscordWebhook], typed: str, found: str | None
) -> None:
    config = load_config(named[0], environ={})
    spec = find_source(config, typed)
    assert (spec.display_name if spec else None) == found
