"""Lenient date parsing for the many ways pages write a date."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?"
)
_JA = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DOTTED = re.compile(r"(?<!\d)(\d{4})[./](\d{1,2})[./](\d{1,2})(?!\d)")
_MONTH_FIRST = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_DAY_FIRST = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")
_US_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)")


def _tz(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _make(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def parse_date(text: str | None) -> datetime | None:
    """Return the first date found in ``text`` as an aware UTC datetime, or ``None``.

    Understands ISO 8601, ``October 7, 2024``, ``7 Oct 2024``, ``2024.10.07``,
    ``2024/10/07``, ``2024年10月7日`` (full-width digits too) and ``10/07/2024`` (US order).
    A date without a time is taken as midnight UTC.
    """
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    m = _ISO.search(text)
    if m:
        year, month, day = int(m[1]), int(m[2]), int(m[3])
        if m[4] is not None:
            try:
                value = datetime(
                    year, month, day, int(m[4]), int(m[5]), int(m[6] or 0), tzinfo=_tz(m[7])
                )
            except ValueError:
                return None
            return value.astimezone(UTC)
        return _make(year, month, day)
    m = _JA.search(text)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]))
    m = _DOTTED.search(text)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]))
    m = _MONTH_FIRST.search(text)
    if m and m[1].lower() in _MONTHS:
        return _make(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
    m = _DAY_FIRST.search(text)
    if m and m[2].lower() in _MONTHS:
        return _make(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
    m = _US_NUMERIC.search(text)
    if m:
        return _make(int(m[3]), int(m[1]), int(m[2]))
    return None
