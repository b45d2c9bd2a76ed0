"""Helpers for sources that publish data (JSON, CSV) rather than pages."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from scrapers.base import Page
from scrapers.errors import ParseError


def page_text(page: Page, default: str = "utf-8") -> str:
    """Decode ``page`` with its declared charset (a UTF-8 BOM is dropped)."""
    encoding = page.encoding or default
    try:
        text = page.body.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        text = page.body.decode(default, errors="replace")
    return text.removeprefix("\ufeff")


def load_json(page: Page) -> Any:
    """Parse ``page`` as JSON or raise :class:`ParseError` saying what came instead."""
    text = page_text(page)
    try:
        return json.loads(text)
    except ValueError as exc:
        start = text.lstrip()[:40].replace("\n", " ")
        raise ParseError(f"expected JSON from {page.url}, got {start!r}... ({exc})") from None


def expect_list(value: Any, what: str) -> list[Any]:
    """Return ``value`` if it is a JSON array, else raise :class:`ParseError`."""
    if not isinstance(value, list):
        raise ParseError(f"{what}: expected a JSON array, got {type(value).__name__}")
    return value


def read_csv(page: Page, required: tuple[str, ...]) -> list[dict[str, str]]:
    """Read ``page`` as CSV with a header row that has every column in ``required``."""
    reader = csv.DictReader(io.StringIO(page_text(page), newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise ParseError(
            f"CSV from {page.url} lacks column(s) {', '.join(map(repr, missing))} "
            f"(found {', '.join(map(repr, header[:8])) or 'no header'})"
        )
    reader.fieldnames = header
    return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def iso_day(value: str | None) -> datetime | None:
    """Parse ``YYYY-MM-DD`` (anything after the day is ignored) as midnight UTC."""
    if not value or len(value) < 10:
        return None
    try:
        return datetime.strptime(value[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def text_field(item: dict[str, Any], key: str) -> str:
    """Return ``item[key]`` as stripped text ('' when absent or not a string/number)."""
    value = item.get(key)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""
