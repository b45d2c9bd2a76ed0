"""A real PostgreSQL server for tests: the one CI provides, or a throwaway local cluster.

``BREACHRADAR_TEST_POSTGRES`` (a ``postgresql://`` URL of a role that may create databases)
wins. Without it, and if PostgreSQL's server binaries are installed, a cluster is created
with ``initdb`` in a temporary folder and started on a free loopback port for the test
session. PostgreSQL refuses to run as root, so under root the cluster belongs to the
``postgres`` system user (created by the distribution's package) and is started with
``runuser``. Each test gets its own fresh database, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ENV_URL = "BREACHRADAR_TEST_POSTGRES"
_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL server binaries, or None."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    for folder in _BIN_DIRS:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalCluster:
    """A PostgreSQL cluster in a temporary folder, trusted on 127.0.0.1 only."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="breachradar-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories='{self.root}' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _in_thread(work: Callable[[], Any]) -> Any:
    # Fixtures may run while a test's event loop exists; asyncpg gets a loop of its own.
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(work())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _admin(url: str, statement: str) -> None:
    import asyncpg

    async def work() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    _in_thread(work)


def async_url(url: str, database: str | None = None) -> str:
    """The SQLAlchemy asyncpg URL for ``url``, optionally naming another database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql+asyncpg")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


class PostgresServer:
    """A running server tests can carve fresh databases out of."""

    def __init__(self, url: str) -> None:
        self.url = url  # plain postgresql:// URL of an administrative database

    def create_database(self) -> str:
        """Create an empty database; return its SQLAlchemy asyncpg URL."""
        name = f"br_test_{uuid.uuid4().hex[:12]}"
        _admin(self.url, f'CREATE DATABASE "{name}"')
        return async_url(self.url, name)

    def drop_database(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        _admin(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server; skips (outside CI) when there is none."""
    from sqlalchemy.engine import make_url

    given = os.environ.get(ENV_URL, "").strip()
    if given:
        plain = make_url(given).set(drivername="postgresql").render_as_string(False)
        yield PostgresServer(plain)
        return
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test on PostgreSQL: set {ENV_URL} (see .ci/postgres.sh)")
        pytest.skip(
            f"no PostgreSQL: set {ENV_URL} to a server URL or install the server "
            "(apt-get install postgresql)"
        )
    cluster = LocalCluster(bindir)
    try:
        url = cluster.start()
    except (subprocess.SubprocessError, OSError, LookupError) as exc:
        cluster.stop()
        pytest.skip(f"could not start a local PostgreSQL from {bindir}: {exc}")
    try:
        yield PostgresServer(url)
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (SQLAlchemy asyncpg URL)."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)
