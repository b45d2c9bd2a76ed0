"""Real text for the card tests: the development lines of the matching set and the
recorded fixtures' expected records (never the held-out lines)."""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path

import pytest

from bot.core.cards import Extraction, extract

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def dev_files() -> list[Path]:
    """The development files of the matching set (``dev*.txt``)."""
    return sorted((FIXTURES / "eval").glob("dev*.txt"))


@cache
def _eval_lines() -> dict[str, tuple[str, str, date]]:
    out = {}
    for path in dev_files():
        for raw in path.read_text(encoding="utf-8").splitlines():
            if raw.strip() and not raw.startswith("#"):
                parts = raw.split(" | ", 7)
                out.setdefault(
                    parts[4].strip(), (parts[6], parts[7], date.fromisoformat(parts[2].strip()))
                )
    return out


def eval_line(url: str) -> tuple[str, str, date]:
    """Return (title, summary, published) of the development line with ``url``."""
    try:
        return _eval_lines()[url]
    except KeyError:
        pytest.fail(f"no eval line {url}")


def from_eval(url: str) -> Extraction:
    """Extract the development line with ``url``."""
    title, summary, published = eval_line(url)
    return extract(title, summary, published=published)


def fixture_records(name: str) -> list[dict[str, object]]:
    """Return a recorded fixture's expected records (``<folder>/<file>``)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def from_record(record: dict[str, object]) -> Extraction:
    """Extract one expected record of a recorded fixture."""
    published = record["published"]
    when = datetime.fromisoformat(published).date() if isinstance(published, str) else None
    extra = record.get("extra") or {}
    return extract(
        str(record["title"]),
        str(record["summary"]),
        published=when,
        fields=dict(extra) if isinstance(extra, dict) and extra else None,
    )


def line(fragment: str) -> Extraction:
    """Extract the development line whose URL is, or alone contains, ``fragment``."""
    if fragment in _eval_lines():
        return from_eval(fragment)
    hits = [url for url in _eval_lines() if fragment in url]
    if len(hits) != 1:
        pytest.fail(f"{fragment!r} names {len(hits)} eval lines")
    return from_eval(hits[0])
