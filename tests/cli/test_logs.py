"""Logs: readable text by default, JSON lines for shippers, never a secret in either."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli._logs import REDACTED, configure_logging
from bot.core.logfields import about, log_context
from tests.support.cli import run_cli
from tests.support.crashrig import COMPANIES, GrowingFeed, Receiver, Service, Webhook, wait_until
from tests.support.localserver import LocalServer, Response

TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) \S+: ")


def secret() -> str:
    return "s3cr3t" + os.urandom(12).hex()


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The process's log handler, writing to a buffer; taken away after the test."""
    buffer = io.StringIO()
    yield buffer
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "breachradar"]:
        root.removeHandler(handler)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_secrets_are_redacted_from_messages_arguments_and_tracebacks(
    captured: io.StringIO, log_format: str
) -> None:
    """Configured secrets and anything shaped like a webhook URL or bot token are replaced,
    wherever in a record they are: message, argument, exception text."""
    token = "MTI5MDQ" + secret()
    configured = f"https://hooks.example.net/relay/{secret()}"
    unconfigured = f"https://discord.com/api/webhooks/1290466666666666666/{secret()}"
    bot_token = "MTI5MDQ2NjY2NjY2NjY2NjY2Ng.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
    configure_logging(log_format, secrets=[token, configured], stream=captured)
    log = logging.getLogger("bot.test")
    log.warning("posting to %s failed", configured)
    log.info("token %s and hook %s", token, unconfigured)
    log.info("someone's token: %s", bot_token)
    try:
        raise ConnectionError(f"cannot reach {unconfigured} with {token}")
    except ConnectionError:
        log.exception("delivery crashed")
    out = captured.getvalue()
    for value in (token, configured, unconfigured, bot_token, unconfigured.rsplit("/", 1)[1]):
        assert value not in out
    assert out.count(REDACTED) >= 6
    assert "/api/webhooks/1290466666666666666/[redacted]" in out  # the id helps, and stays
    assert "ConnectionError" in out


def test_json_lines_carry_time_level_logger_message_and_what_they_are_about(
    captured: io.StringIO,
) -> None:
    configure_logging("json", stream=captured)
    log = logging.getLogger("bot.delivery")
    log.warning("delivery failed", extra=about(target="webhook:security", incident=42))
    with log_context(source="KADOKAWA ニュースリリース"):
        logging.getLogger("scrapers.rss").info("feed has no items")
        log.info("inner", extra=about(incident=7))
    log.info("plain")
    rows = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [r["message"] for r in rows] == [
        "delivery failed",
        "feed has no items",
        "inner",
        "plain",
    ]
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["time"])
        assert row["level"] in {"INFO", "WARNING"} and row["logger"].startswith(("bot", "scrapers"))
    assert rows[0]["target"] == "webhook:security" and rows[0]["incident"] == 42
    assert rows[1]["source"] == "KADOKAWA ニュースリリース" and "incident" not in rows[1]
    assert rows[2]["source"] == "KADOKAWA ニュースリリース" and rows[2]["incident"] == 7
    assert not {"source", "target", "incident"} & set(rows[3])


def test_the_default_is_readable_text(captured: io.StringIO) -> None:
    configure_logging(stream=captured)
    logging.getLogger("bot.service").info("watching %d companies", 8, extra=about(source="x"))
    (line,) = captured.getvalue().splitlines()
    assert TEXT_LINE.match(line) and line.endswith("INFO bot.service: watching 8 companies")


@pytest.fixture
def noisy(web: LocalServer, receiver: LocalServer, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A matching feed under a display name, a failing source and a refusing webhook."""
    feed = GrowingFeed(web)
    for company in COMPANIES[:2]:
        feed.add(company)
    web.route("/down", Response(500, b"Internal Server Error"))
    hook = Webhook("security", "1290477777777777777", secret())
    receiver.route(hook.path, Response(502, b"Bad Gateway"), method="POST")
    Receiver(receiver, [])
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.toml").write_text(
        f'[[sources]]\nname = "Security News 🔥"\nkind = "rss"\nurl = "{web.url("/feed")}"\n'
        'every = "1s"\nallow_private = true\n\n'
        f'[[sources]]\nname = "Ｄｏｗｎ"\nkind = "rss"\nurl = "{web.url("/down")}"\n'
        'every = "1s"\nallow_private = true\n',
        encoding="utf-8",
    )
    (config / "watchlist.toml").write_text(
        "".join(f'[[companies]]\nname = "{c}"\n\n' for c in COMPANIES[:2]), encoding="utf-8"
    )
    (config / "settings.toml").write_text(
        'jitter = 0\nmax_alert_age = "none"\nlog_format = "json"\n'
        '[[webhooks]]\nname = "security"\nurl_env = "HOOK_SECURITY"\n',
        encoding="utf-8",
    )
    return config, {"HOOK_SECURITY": receiver.url(hook.path)}


@pytest.mark.slow
def test_a_service_logging_json_writes_one_object_a_line_without_secrets(
    noisy: tuple[Path, dict[str, str]], receiver: LocalServer, tmp_path: Path
) -> None:
    """`log_format = "json"` in settings.toml: every line of a real run is one JSON object;
    source failures, matches and delivery failures carry source, target and incident."""
    config, env = noisy
    service = Service(config, tmp_path / "run.db", env, tmp_path / "run.log")
    log = tmp_path / "run.log"
    service.start()
    try:
        # The webhook refused an alert, and the failing source was given up on (retries).
        assert wait_until(
            receiver,
            lambda: receiver.received("POST") and "Ｄｏｗｎ failed" in log.read_text("utf-8"),
            timeout=30,
        )
    finally:
        assert service.stop() == 0
    text = log.read_text(encoding="utf-8")
    rows: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines() if line]
    assert rows and all({"time", "level", "logger", "message"} <= set(r) for r in rows)
    failed = [r for r in rows if r["message"].startswith("source Ｄｏｗｎ failed: HTTP 500")]
    assert failed and all(r["source"] == "Ｄｏｗｎ" for r in failed)
    matches = [r for r in rows if r["message"].startswith("match: ")]
    assert {r["source"] for r in matches} == {"Security News 🔥"}
    assert all(isinstance(r["incident"], int) for r in matches)
    refused = [r for r in rows if " is down: " in r["message"]]
    assert refused and all(r["target"] == "webhook:security" for r in refused)
    assert {r["incident"] for r in refused} <= {r["incident"] for r in matches}
    assert env["HOOK_SECURITY"] not in text and "/api/webhooks/" not in text


@pytest.mark.slow
def test_a_refused_bot_token_is_never_logged_in_json(
    noisy: tuple[Path, dict[str, str]], receiver: LocalServer, tmp_path: Path
) -> None:
    """Discord refuses the token: run says so in JSON lines and exits 1 (the text format
    meets the same refusal in tests/cli/test_secrets.py)."""
    config, env = noisy
    receiver.route(
        "/api/v10/users/@me",
        Response(401, b'{"message": "401: Unauthorized", "code": 0}',
                 {"Content-Type": "application/json"}),
    )  # fmt: skip
    token = "MTI5MDQ" + secret()
    result = run_cli(
        "run", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'bot.db'}",
        env={**env, "DISCORD_TOKEN": token,
             "BREACHRADAR_DISCORD_API_URL": receiver.url("/api/v10")},
    )  # fmt: skip
    assert result.code == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    rows = [json.loads(line) for line in lines]  # every line, the refusal included
    assert any(r["level"] == "ERROR" and "Discord bot stopped" in r["message"] for r in rows)
    assert token not in result.stdout + result.stderr
    assert env["HOOK_SECURITY"] not in result.stdout + result.stderr
