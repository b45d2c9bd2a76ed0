"""The clock: timezone-aware UTC, the only kind of datetime BreachRadar keeps."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
