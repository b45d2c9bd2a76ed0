"""``breachradar run --metrics``: the real process serves /metrics and /healthz."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cli import REPO, ProcessLog, cli_env, run_cli
from tests.support.localserver import DiscordWebhook, LocalServer, Response
from tests.support.scenario import rss_source, write_config

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base: str) -> Samples:
    """GET /metrics and parse it with prometheus_client's own parser."""
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def delivered(lines: list[str]) -> int:
    """Alerts the service says it delivered so far (it logs after each flush)."""
    return sum(
        int(m.group(1)) for line in lines if (m := re.search(r"delivered (\d+) alerts", line))
    )


@pytest.mark.slow
def test_metrics_move_with_a_poll_and_a_delivery_and_health_sees_the_database_go(
    tmp_path: Path, web: LocalServer, receiver: LocalServer
) -> None:
    """A recorded BleepingComputer feed (two breach stories, a watch review, a patch
    roundup) polled into a local webhook that fails once: every counter says so."""
    web.serve_file("/feed", "bleepingcomputer/feed-2024-10-08.xml", "application/rss+xml")
    hook = DiscordWebhook(receiver)
    hook.refuse.append(Response(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}))
    cfg = write_config(
        tmp_path / "c",
        loopback=True,
        sources=rss_source("bleepingcomputer", web.url("/feed"), every="1s"),
        settings=f'max_alert_age = "none"\njitter = 0\n[[webhooks]]\nname = "alerts"\nurl = "{hook.url}"\n',
    )
    db = tmp_path / "r.db"
    started = time.time()
    command = ["run", "--config", str(cfg), "--db", f"sqlite:///{db}", "--metrics", "127.0.0.1:0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", *command],
        cwd=REPO,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = ProcessLog(proc.stderr)  # type: ignore[arg-type]
    try:
        line = log.wait_line("metrics on http://127.0.0.1:")
        base = re.search(r"(http://127\.0\.0\.1:\d+)/metrics", line).group(1)  # type: ignore[union-attr]
        # Casio and MoneyGram, each accepted once (after the one 502).
        log.wait_for(lambda lines: delivered(lines) >= 2)
        samples = scrape(base)
        health = httpx.get(f"{base}/healthz", timeout=10)
        assert health.status_code == 200, health.text
        body = health.json()
        assert body["status"] == "ok" and body["role"] == "all"
        assert body["checks"]["database"]["ok"] and body["checks"]["scheduler"]["ok"]
        assert set(body["checks"]["scheduler"]["jobs"]) == {"tick", "deliver"}

        # The database goes away under the running service: health says so, and which part.
        db.unlink()
        gone = httpx.get(f"{base}/healthz", timeout=10)
        assert gone.status_code == 503
        assert gone.json()["failing"] == ["database"]
        assert "gone" in gone.json()["checks"]["database"]["error"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    assert proc.returncode == 0, log.text()

    source = {"source": "bleepingcomputer"}
    assert (value(samples, "breachradar_polls_total", outcome="ok", **source) or 0) >= 1
    assert (value(samples, "breachradar_items_total", **source) or 0) >= 4
    assert value(samples, "breachradar_new_items_total", **source) == 4
    # The watch review and the patch roundup match nothing; the two breaches match once each.
    assert value(samples, "breachradar_matches_total") == 2
    webhook = {"target_kind": "webhook"}
    assert value(samples, "breachradar_deliveries_total", outcome="failed", **webhook) == 1
    assert value(samples, "breachradar_deliveries_total", outcome="sent", **webhook) == 2
    assert value(samples, "breachradar_alert_latency_seconds_count") == 2
    assert value(samples, "breachradar_outbox_pending") == 0
    last = value(samples, "breachradar_source_last_success_timestamp_seconds", **source)
    assert last is not None and started - 1 <= last <= time.time()
    assert value(samples, "breachradar_build_info", version="0.1.0", role="all") == 1
    assert (value(samples, "process_resident_memory_bytes") or 0) > 0
    assert ("process_cpu_seconds_total", frozenset()) in samples
    # Label values come from the configuration, never from what the feed said.
    labels = {v for _name, pairs in samples for _k, v in pairs}
    assert not any("Casio" in v or "MoneyGram" in v for v in labels)


def test_run_refuses_a_bad_metrics_address_in_one_line(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c", sources="")
    result = run_cli("run", "--config", str(cfg), "--metrics", "localhost:http")
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        "breachradar: --metrics: port 'http' must be a number from 0 to 65535"
    ]


def test_run_refuses_a_metrics_address_in_use(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c", sources="")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "run", "--config", str(cfg), "--db", f"sqlite:///{tmp_path / 'r.db'}",
            env={"BREACHRADAR_METRICS_ADDRESS": f"127.0.0.1:{port}"},
        )  # fmt: skip
    assert result.code == 2
    problem = [line for line in result.stderr.splitlines() if "metrics" in line]
    assert problem == [
        f"breachradar: cannot serve metrics on 127.0.0.1:{port}: address already in use"
    ]
