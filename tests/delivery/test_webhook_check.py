"""Checking a webhook's URL and asking it, without posting and without showing its token."""

from __future__ import annotations

import socket

import httpx
import pytest

from bot.delivery.webhook_check import ask_webhook, redact_webhook_url, url_problem
from tests.support.localserver import LocalServer, Response

TOKEN = "Xk3-secret_webhook_token_0123456789abcdef"
GOOD = f"https://discord.com/api/webhooks/1290001122334455667/{TOKEN}"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (GOOD, None),
        (GOOD.replace("/api/", "/api/v10/"), None),
        (GOOD.replace("discord.com", "canary.discord.com"), None),
        ("https://hooks.example.org/breachradar", None),  # any receiver of the same JSON
        ("discord.com/api/webhooks/1/x", "not an http(s) URL"),
        (GOOD.replace("https", "http"), "a Discord webhook URL starts with https://"),
        (
            "https://discord.com/api/webhooks/123/short",
            "not a Discord webhook URL: expected https://discord.com/api/webhooks/<id>/<token>",
        ),
        # discord.py's own pattern accepts this one and would post to discord.com anyway.
        (
            f"https://evil.example/discord.com/api/webhooks/1290001122334455667/{TOKEN}",
            "looks like a Discord webhook but the host is evil.example",
        ),
    ],
)
def test_url_shapes(url: str, problem: str | None) -> None:
    assert url_problem(url) == problem
    assert TOKEN not in (url_problem(url) or "")


def test_redaction_keeps_the_host_and_hides_the_token() -> None:
    assert redact_webhook_url(GOOD) == "https://discord.com/api/webhooks/1290…/***"
    with_userinfo = "https://me:pa55@hooks.example.org:8443/in/" + TOKEN
    assert redact_webhook_url(with_userinfo) == "https://hooks.example.org:8443/***"


async def test_a_rate_limited_and_an_unreachable_webhook(receiver: LocalServer) -> None:
    path = f"/api/webhooks/7/{TOKEN}"
    body = b'{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}'
    receiver.route(path, Response(429, body, {"Content-Type": "application/json"}))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    async with httpx.AsyncClient(timeout=5) as client:
        limited = await ask_webhook(receiver.url(path) + "?wait=true", client)
        unreachable = await ask_webhook(f"http://127.0.0.1:{closed}{path}", client)
    assert limited.status == 429 and limited.retry_after == 1.5
    assert limited.message == "You are being rate limited."
    # Only a GET, and without the query a post would carry.
    [asked] = receiver.received(path=path)
    assert asked.method == "GET" and asked.path == path
    assert unreachable.status is None and unreachable.error == "ConnectError"
