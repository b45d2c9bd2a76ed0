"""What a log record is about: the source, delivery target and incident it concerns.

Log shippers filter on these, so they travel as fields of the record (the JSON log format
writes them as keys), not only inside the message. A call site passes them with
``extra=about(source=...)``; code that runs on behalf of one source or target (a poll, a
delivery) sets them once with :func:`log_context`, and every record logged inside, by any
module, carries them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

FIELDS = ("source", "target", "incident")

_context: ContextVar[dict[str, Any] | None] = ContextVar("breachradar_log_fields", default=None)


def about(
    *, source: str | None = None, target: str | None = None, incident: int | None = None
) -> dict[str, Any]:
    """The ``extra`` of a log call about this source, target or incident."""
    given = {"source": source, "target": target, "incident": incident}
    return {k: v for k, v in given.items() if v is not None}


@contextlib.contextmanager
def log_context(
    *, source: str | None = None, target: str | None = None, incident: int | None = None
) -> Iterator[None]:
    """Records logged inside (in this task) are about this source, target or incident."""
    merged = {**(_context.get() or {}), **about(source=source, target=target, incident=incident)}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


class ContextFields(logging.Filter):
    """Adds the fields of the current :func:`log_context` to records that lack them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True
