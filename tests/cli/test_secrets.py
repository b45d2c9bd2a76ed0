"""Secrets never appear in output: webhook URLs and the bot token, through every fault."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.crashrig import (
    COMPANIES,
    REPO,
    GrowingFeed,
    Receiver,
    Service,
    Webhook,
    wait_until,
)
from tests.support.localserver import LocalServer, Response


def secret() -> str:
    return "s3cr3t" + os.urandom(12).hex()


@pytest.fixture
def faulty_setup(
    web: LocalServer, receiver: LocalServer, tmp_path: Path
) -> tuple[Path, dict[str, str], list[str]]:
    """Sources that fail in several ways and webhooks that refuse in several ways."""
    feed = GrowingFeed(web)
    for company in COMPANIES[:4]:
        feed.add(company)
    web.route("/down", Response(500, b"Internal Server Error"))
    web.route("/loop", Response(302, headers={"Location": "/loop"}))
    hooks = {
        "deleted": Webhook("deleted", "1290466666666666666", secret()),
        "broken": Webhook("broken", "1290477777777777777", secret()),
        "throttled": Webhook("throttled", "1290488888888888888", secret()),
    }
    receiver.route(
        hooks["deleted"].path, Response(404, b'{"message": "Unknown Webhook", "code": 10015}'),
        method="POST",
    )  # fmt: skip
    receiver.route(hooks["broken"].path, Response(502, b"Bad Gateway"), method="POST")
    receiver.route(
        hooks["throttled"].path,
        Response(429, b'{"message": "You are being rate limited.", "retry_after": 3600}'),
        method="POST",
    )
    unreachable_token = secret()
    token = "MTI5MDQ" + secret()
    config = tmp_path / "config"
    config.mkdir()
    sources = "".join(
        f'[[sources]]\nname = "{name}"\nkind = "rss"\nurl = "{url}"\nevery = "1s"\n'
        f"allow_private = {private}\n\n"
        for name, url, private in [
            ("security-news", web.url("/feed"), "true"),
            ("down", web.url("/down"), "true"),
            ("loop", web.url("/loop"), "true"),
            ("blocked", web.url("/feed"), "false"),
        ]
    )
    (config / "sources.toml").write_text(sources, encoding="utf-8")
    (config / "watchlist.toml").write_text(
        "".join(f'[[companies]]\nname = "{c}"\n\n' for c in COMPANIES[:4]), encoding="utf-8"
    )
    (config / "settings.toml").write_text(
        'jitter = 0\nmax_alert_age = "none"\n'
        + "".join(
            f'[[webhooks]]\nname = "{label}"\nurl_env = "HOOK_{label.upper()}"\n'
            for label in [*hooks, "unreachable"]
        ),
        encoding="utf-8",
    )
    env = {f"HOOK_{label.upper()}": receiver.url(h.path) for label, h in hooks.items()}
    env["HOOK_UNREACHABLE"] = (
        f"http://127.0.0.1:9/api/webhooks/1290499999999999999/{unreachable_token}"
    )
    env["DISCORD_TOKEN"] = token
    Receiver(receiver, [])  # nothing accepted: every hook refuses
    secrets = [*env.values(), *(h.token for h in hooks.values()), unreachable_token, token]
    return config, env, secrets


def output(*args: str, env: dict[str, str]) -> str:
    """Everything the command printed, on stdout and stderr."""
    result = run_cli(*args, env=env)
    return result.stdout + result.stderr


@pytest.mark.slow
def test_no_secret_in_any_output_of_a_faulty_run(
    faulty_setup: tuple[Path, dict[str, str], list[str]],
    receiver: LocalServer,
    tmp_path: Path,
) -> None:
    """scan, run (verbose), sources, deliveries and check-config never print a webhook URL
    or token."""
    config, env, secrets = faulty_setup
    db = f"sqlite:///{tmp_path / 'state.db'}"
    outputs = {
        "check-config": output("check-config", "--config", str(config), env=env),
        "scan": output("scan", "--config", str(config), "--db", db, "-v", env=env),
        "scan --json": output("scan", "--json", "--config", str(config), "--db", db, env=env),
        "sources": output("sources", "--config", str(config), "--db", db, env=env),
    }
    hook_ids = ("1290466666666666666", "1290477777777777777", "1290488888888888888")

    def posts() -> dict[str, int]:
        return {
            hook: len([r for r in receiver.received("POST") if hook in r.path]) for hook in hook_ids
        }

    # With a token Discord refuses, run says so and stops, printing no secret.
    receiver.route(
        "/api/v10/users/@me",
        Response(
            401,
            b'{"message": "401: Unauthorized", "code": 0}',
            {"Content-Type": "application/json"},
        ),
    )
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config), "--db", db],
        cwd=REPO,
        env={**os.environ, **env, "PYTHONPATH": str(REPO),
             "BREACHRADAR_DISCORD_API_URL": receiver.url("/api/v10")},
        capture_output=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    outputs["run with a refused token"] = refused.stdout.decode() + refused.stderr.decode()
    assert receiver.received("GET", "/api/v10/users/@me")

    # Without a bot, the service runs and meets every refusing webhook.
    env = {k: v for k, v in env.items() if k != "DISCORD_TOKEN"}
    before = posts()
    service = Service(config, tmp_path / "run.db", env, tmp_path / "run.log")
    service.start()
    try:
        # Every refusing webhook is tried by the service before it is stopped.
        assert wait_until(
            receiver, lambda: all(n > before[h] for h, n in posts().items()), timeout=30
        )
    finally:
        assert service.stop() == 0
    outputs["run"] = (tmp_path / "run.log").read_text(errors="replace")
    run_db = f"sqlite:///{tmp_path / 'run.db'}"
    for args in (("deliveries",), ("deliveries", "--json"), ("deliveries", "retry", "--all")):
        outputs[" ".join(args)] = output(*args, "--config", str(config), "--db", run_db, env=env)

    # The faults really happened and were reported...
    assert "source down failed: HTTP 500" in outputs["scan"]
    assert "more than 5 redirects" in outputs["scan"]
    assert "source blocked failed: port" in outputs["scan"]
    assert "webhook:deleted refused for good (404 Unknown Webhook (10015))" in outputs["run"]
    assert "webhook:throttled is down: 429 You are being rate limited." in outputs["run"]
    assert "404 Unknown Webhook (10015)" in outputs["deliveries --json"]
    assert "1290466666666666666" in outputs["deliveries"]  # the webhook's id, not its token
    assert "webhook:broken is down: 502 Bad Gateway" in outputs["scan"]
    assert "webhook:unreachable is down: connection refused" in outputs["scan"]
    # ...and no output carries a secret.
    for name, text in outputs.items():
        for value in secrets:
            assert value not in text, f"a secret leaked into the output of {name}"
        assert "/api/webhooks/" not in text, name


def test_a_malformed_webhook_url_is_not_echoed(tmp_path: Path) -> None:
    """A configuration error about a webhook names the entry, not the URL."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.toml").write_text("", encoding="utf-8")
    (config / "watchlist.toml").write_text('[[companies]]\nname = "Casio"\n', encoding="utf-8")
    token = secret()
    (config / "settings.toml").write_text(
        f'[[webhooks]]\nurl = "discord.com/api/webhooks/1/{token}"\n', encoding="utf-8"
    )
    out = output("check-config", "--config", str(config), env={})
    assert "webhook #1: webhook URL must be an http(s) URL" in out
    assert token not in out
