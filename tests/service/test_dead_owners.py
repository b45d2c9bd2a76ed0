"""A restarted service takes over a dead process's leases at once, not after they expire."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

from bot.service.scheduler import dead_local_owners, process_owner, reap_dead_owners
from bot.store import Store


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_vanished_processes_on_this_host_count_as_dead() -> None:
    host = socket.gethostname()[:40]
    gone = f"{host}:{dead_pid()}"
    alive = process_owner()
    elsewhere = f"other-host.example:{dead_pid()}"
    assert dead_local_owners([gone, alive, elsewhere, "scan", f"{host}:notapid"]) == [gone]


async def test_a_dead_processs_source_lease_is_taken_over(db_url: str) -> None:
    """A source leased for five minutes by a killed process is claimable after a reap."""
    store = await Store.open(db_url)
    try:
        await store.ensure_sources({"feed": timedelta(minutes=10)})
        gone = f"{socket.gethostname()[:40]}:{dead_pid()}"
        assert [c.name for c in await store.claim_sources({"feed": timedelta(0)}, owner=gone)] == [
            "feed"
        ]
        me = process_owner()
        # Still leased: nobody else may poll it...
        assert await store.claim_sources({"feed": timedelta(0)}, owner=me) == []
        assert await reap_dead_owners(store) == [gone]
        # ...until the dead owner's lease is ended.
        assert [c.name for c in await store.claim_sources({"feed": timedelta(0)}, owner=me)] == [
            "feed"
        ]
        assert await reap_dead_owners(store) == []
    finally:
        await store.close()
