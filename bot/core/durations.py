"""Durations written the way operators write them: ``30s``, ``10m``, ``1h``, ``3d``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
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
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    """Write ``value`` back in the shortest unit form, e.g. ``10m``."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
