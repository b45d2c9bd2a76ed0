"""Lenient date reading for press pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.durations import format_duration, parse_duration
from scrapers.dates import parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-10-07", datetime(2024, 10, 7, tzinfo=UTC)),
        ("2024-10-07T09:30:00+09:00", datetime(2024, 10, 7, 0, 30, tzinfo=UTC)),
        ("2024-10-07T09:30:00Z", datetime(2024, 10, 7, 9, 30, tzinfo=UTC)),
        ("October 7, 2024", datetime(2024, 10, 7, tzinfo=UTC)),
        ("Posted Oct. 7, 2024 by PR Newswire", datetime(2024, 10, 7, tzinfo=UTC)),
        ("7 October 2024", datetime(2024, 10, 7, tzinfo=UTC)),
        ("2024.10.07", datetime(2024, 10, 7, tzinfo=UTC)),
        ("2024/10/7", datetime(2024, 10, 7, tzinfo=UTC)),
        ("2024年10月7日", datetime(2024, 10, 7, tzinfo=UTC)),
        ("２０２４年１０月７日", datetime(2024, 10, 7, tzinfo=UTC)),  # full-width digits
        ("09/23/2024", datetime(2024, 9, 23, tzinfo=UTC)),
    ],
)
def test_dates_in_the_ways_pages_write_them(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "yesterday", "2024-13-45", "Smarch 3, 2024", None])
def test_unreadable_dates_are_none(text: str | None) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("10m", 600), ("1h30m", 5400), ("3d", 259200)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


@pytest.mark.parametrize("text", ["", "10", "ten minutes", "0s", "5x", "10m later"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
