"""Durations written the way operators write them: ``30s``, ``10m``, ``1h``, ``3d``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Duration(timedelta):
    """A duration that remembers how the operator wrote it ("3d", "1h30m"), so what the
    configuration says is printed back the same way; otherwise a plain ``timedelta``."""

    written: str

    def __new__(cls, value: timedelta, written: str) -> Duration:
        self = super().__new__(
            cls, days=value.days, seconds=value.seconds, microseconds=value.microseconds
        )
        self.written = written
        return self

    def __str__(self) -> str:
        return self.written

    def __repr__(self) -> str:
        return f"Duration({self.written!r})"

    def __reduce__(self) -> Any:
        return (Duration, (timedelta(self.days, self.seconds, self.microseconds), self.written))


def parse_duration(text: str) -> Duration:
    """Parse ``"90s"``, ``"10m"``, ``"1h30m"`` or ``"3d"``; raise ``ValueError`` otherwise."""
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        raise ValueError("empty duration")
    total = 0.0
    pos = 0
    for m in _PART.finditer(cleaned):
        if m.start() != pos:
            break
        total += float(m[1]) * _UNITS[m[2].lower()]
        pos = m.end()
    if pos != len(cleaned):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 10m, 1h, 3d)")
    if total <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return Duration(timedelta(seconds=total), text.strip())


def format_duration(value: timedelta) -> str:
    """Write ``value`` the way it was written if it was (``Duration``), else compactly in
    units: ``3d``, ``1h30m``, ``20s``, ``1.5s``."""
    if isinstance(value, Duration):
        return value.written
    seconds = value.total_seconds()
    whole = int(seconds)
    if whole != seconds or whole < 60:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)
