"""`breachradar deliveries` and `deliveries retry`, run as the real command."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.clock import utcnow
from bot.store import Store
from tests.support.alerts import queue_alert
from tests.support.cli import run_cli
from tests.support.crashrig import COMPANIES

WIDE = {"COLUMNS": "250"}
SOC_TOKEN = "tok-soc-9f3a77c1e2b5d8a4"  # a made-up webhook token
LEGAL_TOKEN = "tok-legal-0c4d1e2f3a4b5c6d"
CHANNEL = "channel:1290000000000000042"


def configure(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.toml").write_text(
        '[[sources]]\nname = "security-news"\nkind = "rss"\n'
        'url = "https://news.example.org/feed"\n',
        encoding="utf-8",
    )
    (config / "watchlist.toml").write_text('[[companies]]\nname = "Casio"\n', encoding="utf-8")
    (config / "settings.toml").write_text(
        "[[webhooks]]\n"
        'name = "Security Operations"\n'
        f'url = "https://discord.com/api/webhooks/1290433333333333333/{SOC_TOKEN}"\n'
        "[[webhooks]]\n"
        'name = "legal"\nurl_env = "HOOK_LEGAL"\n'
        "[[webhooks]]\n"
        'name = "unused"\nurl_env = "HOOK_UNUSED"\n',
        encoding="utf-8",
    )
    env = {
        "HOOK_LEGAL": f"https://discord.com/api/webhooks/1290444444444444444/{LEGAL_TOKEN}",
        "HOOK_UNUSED": "https://hooks.example.net/notify?key=very-secret-key",
        **WIDE,
    }
    return config, env


async def outage_state(db: str) -> None:
    """soc down for three minutes, legal gone (404), a channel fine with two alerts out."""
    store = await Store.open(db)
    try:
        now = utcnow()
        targets = ["webhook:Security Operations", "webhook:legal", CHANNEL]
        for company in COMPANIES[:3]:
            await queue_alert(store, targets, company, now=now - timedelta(minutes=5))
        claims = {c.target: c for c in await store.claim(owner="x", now=now)}
        soc = claims["webhook:Security Operations"].deliveries[0]
        await store.mark_down(
            "webhook:Security Operations", soc.id, "502 Bad Gateway",
            retry_at=now + timedelta(seconds=6), now=now - timedelta(minutes=3),
        )  # fmt: skip
        await store.give_up_target("webhook:legal", "404 Unknown Webhook (10015)", now=now)
        for delivery in claims[CHANNEL].deliveries[:2]:
            await store.mark_sent(delivery.id, message_id="1", now=now, target=CHANNEL)
        await store.recover_interrupted("x")
    finally:
        await store.close()


@pytest.fixture
def state(tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    config, env = configure(tmp_path)
    db = f"sqlite:///{tmp_path / 'state.db'}"
    asyncio.run(outage_state(db.replace("sqlite://", "sqlite+aiosqlite://")))
    return config, env, db


def test_deliveries_shows_each_target_without_secrets(
    state: tuple[Path, dict[str, str], str],
) -> None:
    config, env, db = state
    result = run_cli("deliveries", "--config", str(config), "--db", db, env=env)
    assert result.code == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    soc = rows["webhook:Security Operations"]
    assert "discord.com/…/webhooks/1290433333333333333/***" in soc
    assert "down for 3m (1 failure)" in soc
    assert "3, next in" in soc and "502 Bad Gateway" in soc
    legal = rows["webhook:legal"]
    assert "gone" in legal and "3: 404 Unknown Webhook (10015)" in legal
    assert "ok" in rows[CHANNEL] and "ago" in rows[CHANNEL].rsplit("│", 2)[-2]
    assert "hooks.example.net/***" in rows["webhook:unused"]
    for secret in (SOC_TOKEN, LEGAL_TOKEN, "very-secret-key"):
        assert secret not in result.stdout + result.stderr


def test_deliveries_json_holds_every_figure(state: tuple[Path, dict[str, str], str]) -> None:
    config, env, db = state
    result = run_cli("deliveries", "--json", "--config", str(config), "--db", db, env=env)
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    by_target = {t["target"]: t for t in data["targets"]}
    soc = by_target["webhook:Security Operations"]
    assert soc["name"] == "Security Operations" and soc["kind"] == "webhook"
    assert (soc["state"], soc["queued"], soc["waiting"], soc["failures"]) == ("down", 3, 3, 1)
    assert soc["next_attempt_at"] and soc["down_since"] and soc["last_answer"] == "502 Bad Gateway"
    legal = by_target["webhook:legal"]
    assert (legal["state"], legal["given_up"], legal["queued"]) == ("gone", 3, 0)
    assert legal["given_up_reason"] == "404 Unknown Webhook (10015)"
    channel = by_target[CHANNEL]
    assert (channel["state"], channel["queued"], channel["sent"]) == ("up", 1, 2)
    assert channel["last_success_at"] is not None
    assert by_target["webhook:unused"]["queued"] == 0
    assert SOC_TOKEN not in result.stdout and LEGAL_TOKEN not in result.stdout


def test_retry_queues_a_targets_given_up_alerts_again(
    state: tuple[Path, dict[str, str], str],
) -> None:
    config, env, db = state
    # By the name the operator gave it, options before or after the action.
    result = run_cli("deliveries", "--config", str(config), "--db", db, "retry", "legal", env=env)
    assert result.code == 0, result.stderr
    assert "webhook:legal: 3 given-up alerts queued again" in result.stdout
    shown = json.loads(
        run_cli("deliveries", "--json", "--config", str(config), "--db", db, env=env).stdout
    )
    legal = next(t for t in shown["targets"] if t["target"] == "webhook:legal")
    assert (legal["state"], legal["queued"], legal["given_up"]) == ("up", 3, 0)
    again = run_cli("deliveries", "retry", "--all", "--config", str(config), "--db", db, env=env)
    assert again.code == 0 and "no given-up alerts to retry" in again.stdout
    unknown = run_cli("deliveries", "retry", "nope", "--config", str(config), "--db", db, env=env)
    assert unknown.code == 2
    assert "no delivery target 'nope'" in unknown.stderr and "webhook:legal" in unknown.stderr
    both = run_cli("deliveries", "retry", "legal", "--all", "--config", str(config), env=env)
    assert both.code == 2 and "a TARGET or --all" in both.stderr
