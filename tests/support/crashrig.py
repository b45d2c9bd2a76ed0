"""Run the real ``breachradar run`` process against a local feed and local receivers.

Shared by the crash and secrets tests: a feed that grows over time, webhook receivers
that answer like Discord's execute-webhook endpoint, and a handle on the process so a
test can SIGKILL it at chosen moments and start it again.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

from tests.support.localserver import LocalServer, Recorded, Response

REPO = Path(__file__).resolve().parents[2]

# Organisations with publicly reported breaches or cyberattacks in 2023-2025.
COMPANIES = [
    "Casio", "MoneyGram", "Change Healthcare", "Ticketmaster", "AT&T", "23andMe",
    "KADOKAWA", "Marks & Spencer", "Co-op", "Harrods", "Snowflake", "Santander",
    "Advance Auto Parts", "Neiman Marcus", "loanDepot", "Dell", "CDK Global", "Synnovis",
    "Patelco Credit Union", "Kaiser Permanente", "Fidelity Investments", "Prudential",
    "Infosys McCamish", "MGM Resorts", "Caesars Entertainment", "Boeing", "Okta",
    "Xfinity", "Mr. Cooper", "Rite Aid", "Hot Topic", "Halliburton", "Globe Life",
    "Ascension", "Frontier Communications", "Coinbase", "Adidas", "Europcar",
]  # fmt: skip

HEADLINES = [
    "{} confirms data breach after ransomware attack",
    "{} discloses cyberattack, says customer data was stolen",
    "{} investigating security incident affecting customer records",
    "Hackers claim {} data leak; company confirms unauthorized access",
]


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


class GrowingFeed:
    """An RSS feed whose items are added while the process runs (newest first)."""

    def __init__(self, server: LocalServer, path: str = "/feed") -> None:
        self.items: list[tuple[str, str, datetime]] = []  # (company, link, published)
        self._lock = threading.Lock()
        self.path = path
        server.route(path, self._answer)

    def add(self, company: str) -> str:
        link = f"https://news.example.org/2024/10/{slug(company)}-cyberattack"
        with self._lock:
            self.items.append((company, link, datetime.now(UTC)))
        return link

    def _answer(self, _: Recorded) -> Response:
        with self._lock:
            items = list(reversed(self.items))
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            "<title>Security News</title><link>https://news.example.org/</link>"
            "<description>Breach news</description>"
        ]
        for index, (company, link, published) in enumerate(items):
            title = HEADLINES[index % len(HEADLINES)].format(company)
            parts.append(
                f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                f'<guid isPermaLink="true">{escape(link)}</guid>'
                f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate></item>"
            )
        parts.append("</channel></rss>")
        return Response(200, "".join(parts).encode(), {"Content-Type": "application/rss+xml"})


@dataclass
class Webhook:
    """One Discord-style webhook on the receiver, with its secret token."""

    label: str
    webhook_id: str
    token: str
    companies: list[str] | None = None

    @property
    def path(self) -> str:
        return f"/api/webhooks/{self.webhook_id}/{self.token}"


@dataclass
class Receiver:
    """Answers webhook executes like Discord (``?wait=true`` returns the message)."""

    server: LocalServer
    hooks: list[Webhook]
    # Called with each accepted post before the answer is sent (e.g. to kill the sender).
    on_post: Any = None
    failing: bool = False  # answer 500 instead of accepting
    accepted: list[tuple[str, Recorded]] = field(default_factory=list)
    _next_id: int = 1_290_000_000_000_000_000

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        for hook in self.hooks:
            self.server.route(hook.path, self._handler(hook), method="POST")

    def _handler(self, hook: Webhook) -> Any:
        def answer(request: Recorded) -> Response:
            if self.failing:
                return Response(500, b'{"message": "500: Internal Server Error", "code": 0}')
            try:
                json.loads(request.body)
            except ValueError:
                # The sender died mid-body; Discord would reject the fragment too.
                return Response(400, b'{"message": "Cannot send an empty message", "code": 50006}')
            with self._lock:
                self._next_id += 1
                message_id = str(self._next_id)
                self.accepted.append((hook.label, request))
            if self.on_post is not None:
                self.on_post(hook, request)
            body = {
                "id": message_id,
                "channel_id": "1290000000000000001",
                "webhook_id": hook.webhook_id,
            }
            return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

        return answer

    def urls_by_hook(self) -> dict[str, Counter[str]]:
        """How many times each alert link reached each webhook."""
        seen: dict[str, Counter[str]] = {hook.label: Counter() for hook in self.hooks}
        with self._lock:
            for label, request in self.accepted:
                for embed in request.json().get("embeds", []):
                    seen[label][embed.get("url", "")] += 1
        return seen

    def keys_by_hook(self) -> dict[str, Counter[str]]:
        """How many times each Idempotency-Key reached each webhook."""
        seen: dict[str, Counter[str]] = {hook.label: Counter() for hook in self.hooks}
        with self._lock:
            for label, request in self.accepted:
                seen[label][request.headers.get("idempotency-key", "")] += 1
        return seen


class Service:
    """The real ``python -m bot run`` process over one configuration and database."""

    def __init__(self, config_dir: Path, db_path: Path, env: dict[str, str], log: Path) -> None:
        self.config_dir = config_dir
        self.db_path = db_path
        self.env = {**os.environ, **env, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self._out: IO[bytes] | None = None
        self._log_offset = 0

    def start(self) -> None:
        self._close()
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        self._out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "run",
                "--config",
                str(self.config_dir),
                "--db",
                f"sqlite:///{self.db_path}",
            ],
            cwd=REPO,
            env=self.env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        self.runs += 1

    def kill(self, proc: subprocess.Popen[bytes] | None = None) -> bool:
        """SIGKILL the process (by its id); return False if it had already exited.

        A delayed kill passes the process it was aimed at, so it can never hit a later run.
        """
        proc = proc or self.proc
        if proc is None:
            return False
        alive = proc.poll() is None
        if alive:
            os.kill(proc.pid, signal.SIGKILL)
        # May run on a server thread; the log file is closed by the next start or stop.
        proc.wait(10)
        return alive

    def stop(self) -> int:
        """Ask the process to stop (SIGTERM) and return its exit code."""
        proc = self.proc
        assert proc is not None
        # SIGTERM before the service has installed its handler would kill it outright;
        # the "watching ..." line is logged once the handler is in place.
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            if b"watching " in self.log.read_bytes()[self._log_offset :]:
                break
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            code = proc.wait(10)
        self._close()
        return code

    def _close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Read the service's database (a separate connection; WAL lets us)."""
        if not self.db_path.exists():
            return []
        with sqlite3.connect(self.db_path, timeout=30) as conn:
            try:
                return list(conn.execute(sql))
            except sqlite3.OperationalError:
                return []  # the schema is not created yet


def wait_until(server: LocalServer, predicate: Any, timeout: float) -> bool:
    """Wait for ``predicate()``, waking at each request the server receives."""
    deadline = time.monotonic() + timeout
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        server.wait_for(len(server.requests) + 1, timeout=min(remaining, 0.5))
    return True
