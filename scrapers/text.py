"""Helpers to turn markup into plain, bounded text."""

from __future__ import annotations

import html

from bs4 import BeautifulSoup

MAX_SUMMARY = 2000


def clean_text(value: str | None, limit: int = MAX_SUMMARY) -> str:
    """Strip tags, collapse white space and cut to ``limit`` characters."""
    if not value:
        return ""
    if "<" in value and ">" in value:
        value = BeautifulSoup(value, "lxml").get_text(" ")
    if "&" in value and ";" in value:
        # Feeds that escape HTML twice leave "M&amp;S" after one round of decoding.
        value = html.unescape(value)
    # str.split() breaks on exactly what \s matches, several times faster than the regex.
    value = " ".join(value.split())
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value
