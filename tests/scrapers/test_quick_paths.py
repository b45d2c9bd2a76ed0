"""The quick paths for links and dates give exactly what the general ones give."""

from __future__ import annotations

import email.utils
import re
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrapers import models, plainfeed

HOSTS = st.sampled_from(["www.", "", "WWW.", "news."]).flatmap(
    lambda prefix: st.text("abc0-.", min_size=1, max_size=8).map(lambda h: prefix + h)
)
PATHS = st.text("abcAB0-._~/%é?#:@ \t", max_size=12)


def general_normalize(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(models, "_PLAIN_URL", re.compile(r"(?!x)x"))  # never the quick path
        return models.normalize_url.__wrapped__(url)  # type: ignore[attr-defined,no-any-return]


@settings(max_examples=400)
@given(
    scheme=st.sampled_from(["http://", "https://", " https://", "HTTP://"]),
    host=HOSTS,
    path=PATHS,
    end=st.sampled_from(["", "/", "//", " "]),
)
def test_quick_link_normalizing_agrees_with_the_general_one(
    scheme: str, host: str, path: str, end: str
) -> None:
    url = scheme + host + "/" + path + end
    with pytest.MonkeyPatch.context() as patch:
        try:
            expected = general_normalize(url, patch)
        except ValueError:
            return  # urlsplit refuses it: so does everything else
    assert models.normalize_url.__wrapped__(url) == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("http://www.example.com/news/story/", "https://example.com/news/story"),
        ("https://example.com", "https://example.com/"),
        ("https://Example.com/A?utm_source=x&b=1", "https://example.com/A?b=1"),
    ],
)
def test_links_normalize_as_before(url: str, normal: str) -> None:
    assert models.normalize_url(url) == normal


DATES = st.builds(
    "{}{:02d} {} {} {:02d}:{:02d}:{:02d} {}".format,
    st.sampled_from(["Tue, ", "", "tue, ", "Xyz, "]),
    st.integers(0, 32),
    st.sampled_from("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec jan FEB Foo".split()),
    st.integers(1990, 2035),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.sampled_from(["GMT", "UTC", "UT", "Z", "+0000", "-0400", "+0930", "EST", "+2400"]),
)


@settings(max_examples=600)
@given(DATES)
def test_quick_dates_agree_with_the_library(text: str) -> None:
    try:
        expected: datetime | None = plainfeed._utc(email.utils.parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        expected = None
    try:
        found: datetime | None = plainfeed._rfc822_text.__wrapped__(text)
    except plainfeed._NotPlain:
        found = None
    assert found == expected
