"""Direct touches on the outbox for tests that cannot wait for a real backoff."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from sqlalchemy.engine import make_url


def make_due(db_url: str) -> int:
    """Make every pending delivery due now, as if its backoff had passed; return how many."""
    path = make_url(db_url).database
    assert path
    with sqlite3.connect(path) as conn:
        cur = conn.execute(
            "UPDATE deliveries SET next_attempt_at = ? WHERE status = 'pending'",
            (datetime(2000, 1, 1, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),),
        )
        return cur.rowcount
