"""``breachradar doctor``: the real command against local sources, receivers and databases."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.service.doctor import PROBLEM, database
from bot.store import Store
from tests.support.cli import Result, run_cli
from tests.support.localserver import DiscordWebhook, LocalServer, Response
from tests.support.scenario import rss_source, write_config

SECRET = "secret-token"  # the token part of every test webhook URL


def doctor(*args: str, env: dict[str, str] | None = None) -> tuple[Result, dict[str, Any]]:
    result = run_cli("doctor", "--json", *args, env=env)
    assert SECRET not in result.stdout + result.stderr
    return result, json.loads(result.stdout)


def by_subject(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{c['check']} {c['subject'].split(' (')[0]}": c for c in report["checks"]}


def migrated_sqlite(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"

    async def make() -> None:
        store = await Store.open(url)
        await store.close()

    asyncio.run(make())
    return url


def test_all_well_is_exit_0_and_nothing_is_posted(
    tmp_path: Path, web: LocalServer, receiver: LocalServer
) -> None:
    web.serve_file("/feed", "bleepingcomputer/feed-2024-10-08.xml", "application/rss+xml")
    hook = DiscordWebhook(receiver)
    cfg = write_config(
        tmp_path / "c",
        loopback=True,
        sources=rss_source("bleepingcomputer", web.url("/feed")),
        settings=f'[[webhooks]]\nname = "soc"\nurl = "{hook.url}"\n',
    )
    url = migrated_sqlite(tmp_path / "br.db")
    result, report = doctor("--config", str(cfg), "--db", url)
    assert result.code == 0, result.stdout
    assert report["ok"] is True and report["problems"] == 0
    checks = by_subject(report)
    assert checks["database sqlite+aiosqlite:///" + str(tmp_path / "br.db")]["status"] == "ok"
    source = checks["source bleepingcomputer"]
    assert source["status"] == "ok"
    # Four items: the two breach stories would match, the watch review and patch notes not.
    assert source["facts"]["items"] == 4 and source["facts"]["would_match"] == 2
    assert source["facts"]["status"] == 200 and source["detail"].startswith("HTTP 200, ")
    assert source["facts"]["bytes"] == len(
        (Path("tests/fixtures/bleepingcomputer/feed-2024-10-08.xml")).read_bytes()
    )
    webhook = checks["webhook soc"]
    assert webhook["status"] == "ok"
    assert webhook["detail"] == "answering: posts as 'Spidey Bot' in channel 1290001122334455667"
    assert webhook["subject"] == f"soc (http://127.0.0.1:{receiver.port}/api/webhooks/1/***)"
    assert checks["discord bot token"]["status"] == "skipped"
    # Checked with a GET, which Discord answers without posting: nothing was sent.
    assert hook.posts() == [] and len(receiver.received("GET", hook.path)) == 1


def test_each_problem_gets_one_line_with_what_to_do_and_exit_1(
    tmp_path: Path, web: LocalServer, receiver: LocalServer
) -> None:
    web.route("/down", Response(500, b"<html><body>Internal Server Error</body></html>"))
    web.route("/slow", Response(200, b"<rss/>", delay=3.0))
    web.serve_file("/empty", "bleepingcomputer/challenge.html", "text/html")
    gone = "/api/webhooks/2/secret-token-deleted"
    receiver.route(
        gone,
        Response(404, b'{"message": "Unknown Webhook", "code": 10015}',
                 {"Content-Type": "application/json"}),
    )  # fmt: skip
    cfg = write_config(
        tmp_path / "c",
        loopback=True,
        sources=rss_source("down", web.url("/down"))
        + rss_source("slow", web.url("/slow"))
        + rss_source("disabled", web.url("/never"), enabled="false"),
        settings=(
            f'[[webhooks]]\nname = "deleted"\nurl = "{receiver.url(gone)}"\n'
            '[[webhooks]]\nname = "mangled"\n'
            'url = "https://discord.com/api/webhooks/secret-token"\n'
        ),
    )
    url = migrated_sqlite(tmp_path / "br.db")
    # A database that a newer BreachRadar upgraded.
    with sqlite3.connect(tmp_path / "br.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    result, report = doctor("--config", str(cfg), "--db", url, "--deadline", "1")
    assert result.code == 1
    checks = by_subject(report)
    assert checks["source down"]["status"] == PROBLEM
    assert "500" in checks["source down"]["detail"]
    assert checks["source down"]["facts"] == {"status": 500}
    assert checks["source slow"]["detail"] == "no complete answer within 1s"
    assert "source disabled" not in checks  # disabled sources are not fetched
    assert web.received("GET", "/never") == []
    deleted = checks["webhook deleted"]
    assert deleted["detail"] == "answered 404 Unknown Webhook (code 10015)"
    assert "create one in the channel's settings" in deleted["fix"]
    mangled = checks["webhook mangled"]
    assert mangled["status"] == PROBLEM and "not a Discord webhook URL" in mangled["detail"]
    assert mangled["subject"] == "mangled (https://discord.com/***)"
    db = next(c for c in report["checks"] if c["check"] == "database")
    assert db["status"] == PROBLEM and "0099_from_the_future" in db["detail"]
    assert report["problems"] == 5

    table = run_cli("doctor", "--config", str(cfg), "--db", url, "--deadline", "1")
    assert table.code == 1
    assert SECRET not in table.stdout + table.stderr
    lines = [line for line in table.stdout.splitlines() if line.startswith("problem: ")]
    assert len(lines) == 5
    assert all(" -> " in line for line in lines)  # each says what to do
    assert table.stdout.rstrip().endswith("5 problem(s) found")


def test_an_invalid_configuration_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "c", sources='[[sources]]\nname = "x"\nkind = "rss"\nurl = "ftp://x"\n'
    )
    result, report = doctor("--config", str(cfg))
    assert result.code == 1
    [finding] = report["checks"]
    assert finding["check"] == "configuration" and finding["status"] == PROBLEM
    assert "'url' must be an http(s) URL" in finding["detail"]
    assert "check-config" in finding["fix"]


def test_a_sqlite_file_not_created_yet_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "later" / "br.db"
    [finding] = asyncio.run(database(f"sqlite+aiosqlite:///{path}", 5))
    assert finding.status == "ok" and "creates it on start" in finding.detail
    assert not path.parent.exists()  # doctor created nothing


@pytest.mark.postgres
async def test_an_empty_postgresql_database_needs_db_upgrade(postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    # The test cluster trusts local users, so any password connects; none may be shown.
    with_password = make_url(postgres_url).set(password="hunter2").render_as_string(False)
    [finding] = await database(with_password, 10)
    assert finding.status == PROBLEM
    assert finding.detail.startswith("reachable, empty; this version needs 000")
    assert finding.fix == "stop the other processes and run `breachradar db upgrade` once"
    assert "hunter2" not in finding.subject + finding.detail and "***" in finding.subject
    store = await Store.open(postgres_url, create=False)
    await store.create_schema()
    await store.close()
    [finding] = await database(postgres_url, 10)
    assert finding.status == "ok" and finding.detail.endswith("(latest)")


async def test_a_database_server_nobody_answers_says_what_to_check() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    url = f"postgresql+asyncpg://breachradar:hunter2@127.0.0.1:{closed}/breachradar"
    [finding] = await database(url, 5)
    assert finding.status == PROBLEM
    assert finding.detail.startswith("cannot connect: ")
    assert finding.fix is not None and "that the server runs" in finding.fix
    assert "hunter2" not in finding.subject + finding.detail + finding.fix
    assert finding.subject == f"postgresql+asyncpg://breachradar:***@127.0.0.1:{closed}/breachradar"
    assert "ConnectionRefusedError" in finding.detail
