"""Fuzzing: parsers, dates, matching, configuration and URLs never crash or hang.

Each property says what may come out: a result of the right shape, or the one error type
the caller is prepared to show. Anything else is a crash the operator would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.durations import format_duration, parse_duration
from bot.core.matching import Matcher
from bot.core.watchlist import Company
from bot.settings import ConfigError, load_config
from scrapers.base import Page, SourceSpec
from scrapers.dates import parse_date
from scrapers.errors import BlockedAddressError, ParseError
from scrapers.html import PressPageScraper
from scrapers.models import Disclosure
from scrapers.rss import FeedScraper

words = st.text(alphabet=string.ascii_letters + " &-.'カシオ角川", min_size=1, max_size=20)
markup_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["<b>x</b>", "&amp;", "&bogus;", "<![CDATA[ a ]]>", "]]>", "<", "&#0;", "\x00"]
    ),
)


# -- feeds and pages ---------------------------------------------------------------------


@st.composite
def feeds(draw: st.DrawFn) -> bytes:
    """RSS or Atom documents, well-formed or broken, with odd content in every slot."""
    items = []
    for _ in range(draw(st.integers(0, 4))):
        title = draw(markup_text)
        link = draw(st.one_of(st.just("https://www.casio.com/news/1"), markup_text))
        date = draw(st.one_of(st.just("Fri, 11 Oct 2024 10:17:44 -0400"), markup_text))
        guid = draw(st.one_of(st.none(), markup_text))
        items.append(
            f"<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate>"
            + (f"<guid>{guid}</guid>" if guid is not None else "")
            + f"<description>{draw(markup_text)}</description></item>"
        )
    kind = draw(st.sampled_from(["rss", "atom", "none"]))
    if kind == "rss":
        doc = f'<rss version="2.0"><channel><title>t</title>{"".join(items)}</channel></rss>'
    elif kind == "atom":
        doc = (
            '<feed xmlns="http://www.w3.org/2005/Atom">'
            + "".join(i.replace("<item>", "<entry>").replace("</item>", "</entry>") for i in items)
            + "</feed>"
        )
    else:
        doc = "".join(items)
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "shift_jis", "utf-16"]))
    declared = draw(st.sampled_from(["utf-8", "iso-8859-1", "shift_jis", "bogus", None]))
    head = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    body = (head + doc).encode(encoding, errors="replace")
    cut = draw(st.one_of(st.none(), st.integers(0, len(body))))
    return body if cut is None else body[:cut]


@given(
    feeds(),
    st.sampled_from(["application/rss+xml", "text/html", ""]),
    st.none() | st.sampled_from(["utf-8", "latin-1", "x-bogus"]),
)
def test_feed_parsing_gives_items_or_a_parse_error(
    body: bytes, ctype: str, charset: str | None
) -> None:
    """Any feed body yields disclosures with a title and link, or a ParseError."""
    spec = SourceSpec("fuzz-feed", "rss", "https://example.org/feed")
    try:
        items = FeedScraper(spec).parse(Page(spec.url, body, ctype, charset))
    except ParseError:
        return
    for item in items:
        assert isinstance(item, Disclosure)
        assert item.title and item.url
        assert item.published is None or item.published.tzinfo is not None


@given(st.binary(max_size=400))
def test_feed_parsing_of_random_bytes(body: bytes) -> None:
    """Random bytes are a ParseError or (rarely) an empty-but-valid result, never a crash."""
    spec = SourceSpec("fuzz-feed", "rss", "https://example.org/feed")
    with contextlib.suppress(ParseError):
        FeedScraper(spec).parse(Page(spec.url, body, "application/xml"))


@st.composite
def pages(draw: st.DrawFn) -> bytes:
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        tag = draw(st.sampled_from(["li", "div", "article", "p"]))
        href = draw(st.one_of(st.just("/release/1/"), markup_text, st.just("javascript:x")))
        rows.append(
            f'<{tag} class="item"><a href="{href}">{draw(markup_text)}</a>'
            f'<span class="date">{draw(markup_text)}</span></{tag}>'
        )
    html = f'<html><body><ul class="news">{"".join(rows)}</ul></body></html>'
    cut = draw(st.one_of(st.none(), st.integers(0, len(html))))
    return (html if cut is None else html[:cut]).encode("utf-8", errors="replace")


selectors = st.one_of(
    st.sampled_from(["ul.news li", ".item", "li", "a", "[href]", "div > a", ":has(a)"]),
    st.text(max_size=12),
)


@given(pages(), selectors, selectors)
def test_page_parsing_gives_items_or_a_clear_error(body: bytes, item: str, title: str) -> None:
    """Any page and any selectors: items with absolute links, a ParseError, or a config error."""
    spec = SourceSpec(
        "fuzz-page", "html", "https://www.casio.co.jp/release/",
        options={"item": item, "title": title, "date": ".date"},
    )  # fmt: skip
    try:
        scraper = PressPageScraper(spec)
    except ValueError:
        return  # refused at configuration time, with a message
    try:
        items = scraper.parse(Page(spec.url, body, "text/html"))
    except ParseError:
        return
    assert items
    for disclosure in items:
        assert disclosure.title and disclosure.url


# -- dates and durations -----------------------------------------------------------------


@given(st.text(max_size=60))
def test_date_parsing_never_raises(text: str) -> None:
    """Any text is a UTC datetime or None."""
    found = parse_date(text)
    assert found is None or (found.tzinfo is not None and found.utcoffset() == timedelta(0))


# hypothesis bounds are naive by design; the drawn values are naive days, not instants.
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)))  # noqa: DTZ001
def test_dates_written_the_usual_ways_read_back(moment: datetime) -> None:
    """ISO, English, Japanese and dotted forms of a day all read back as that day."""
    day = moment.date()
    for text in (
        day.isoformat(),
        f"{moment:%B} {day.day}, {day.year}",
        f"{day.day} {moment:%b} {day.year}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.year}.{day.month:02d}.{day.day:02d}",
    ):
        assert parse_date(text) == datetime(day.year, day.month, day.day, tzinfo=UTC), text


@given(st.text(max_size=20))
def test_durations_parse_or_raise_value_error(text: str) -> None:
    """Any text is a positive duration or a ValueError naming it."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        assert str(exc)
        return
    assert value > timedelta(0)


@given(st.integers(min_value=1, max_value=10**7))
def test_durations_round_trip(seconds: int) -> None:
    """A duration written back reads as the same duration."""
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


# -- matching (through the public interface only) ----------------------------------------


companies = st.lists(
    st.builds(
        Company,
        name=words,
        aliases=st.lists(words, max_size=2).map(tuple),
        domains=st.lists(st.sampled_from(["casio.com", "att.com", "a.b"]), max_size=1).map(tuple),
        exclude=st.lists(words, max_size=1).map(tuple),
    ),
    max_size=5,
    unique_by=lambda c: c.name.casefold(),
)


@given(companies, st.text(max_size=80), st.text(max_size=80), st.none() | words)
def test_matching_never_crashes_and_only_names_watched_companies(
    watched: list[Company], title: str, summary: str, organization: str | None
) -> None:
    """Any watchlist and any text: a list of matches, each for a watched company."""
    disclosure = Disclosure(
        source="fuzz", title=title + " data breach", url="https://example.org/a",
        summary=summary, organization=organization,
    )  # fmt: skip
    found = Matcher(watched).match(disclosure)
    names = {c.name for c in watched}
    assert all(m.company.name in names for m in found)
    assert len({m.company.name for m in found}) == len(found)
    assert Matcher(watched).match(disclosure) == found  # deterministic


# -- configuration -----------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=15),
    st.sampled_from(["10m", "1s", "0s", "-5m", "none", "rss", "html", "https://example.org/feed",
                     "http://127.0.0.1/", "sqlite:///x.db", "casio", "Casio"]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
source_keys = st.sampled_from(
    ["name", "kind", "url", "every", "enabled", "allow_private", "item", "title", "link", "x"]
)
setting_keys = st.sampled_from(
    ["database", "user_agent", "max_alert_age", "allow_private_addresses", "fetch_timeout",
     "max_page_bytes", "jitter", "discord_api_url", "bogus"]
)  # fmt: skip


@st.composite
def config_files(draw: st.DrawFn) -> dict[str, str]:
    def tables(header: str, keys: st.SearchStrategy[str]) -> str:
        out = []
        for _ in range(draw(st.integers(0, 3))):
            entry = draw(st.dictionaries(keys, values, max_size=6))
            out.append(
                f"[[{header}]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in entry.items())
            )
        return "\n".join(out)

    settings = draw(st.dictionaries(setting_keys, values, max_size=4))
    files = {
        "sources.toml": tables("sources", source_keys),
        "watchlist.toml": tables(
            "companies", st.sampled_from(["name", "aliases", "domains", "cik", "exclude", "y"])
        ),
        "settings.toml": "".join(f"{k} = {toml_value(v)}\n" for k, v in settings.items())
        + tables("webhooks", st.sampled_from(["url", "url_env", "companies", "name"])),
    }
    broken = draw(st.sampled_from([None, "sources.toml", "watchlist.toml", "settings.toml"]))
    if broken:
        files[broken] = draw(st.text(max_size=40))
    return files


@given(config_files())
def test_any_configuration_loads_or_gives_a_config_error(files: dict[str, str]) -> None:
    """Arbitrary TOML in the three files: a Config, or one ConfigError, nothing else."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for name, text in files.items():
            Path(folder, name).write_text(text, encoding="utf-8")
        try:
            config = load_config(folder, database="sqlite:///unused.db", environ={})
        except ConfigError as exc:
            assert str(exc).split(":", 1)[0] in files or str(folder) in str(exc)
            return
    assert all(s.every > timedelta(0) for s in config.sources)


# -- URLs a server may add ----------------------------------------------------------------


@given(
    st.one_of(
        st.text(max_size=40),
        st.builds(
            "{}://{}{}/{}".format,
            st.sampled_from(["http", "https", "ftp", "HTTP", ""]),
            st.one_of(
                st.from_regex(r"[0-9a-zA-Z.\[\]:%@-]{0,24}", fullmatch=True), st.text(max_size=10)
            ),
            st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999", ":-1", ":x"]),
            st.text(max_size=10),
        ),
    )
)
def test_any_url_is_accepted_or_refused_with_a_reason(url: str) -> None:
    """validate_public_url returns the URL or raises BlockedAddressError, never another error."""
    from scrapers.netguard import validate_public_url

    async def resolve(name: str, port: int) -> list[str]:
        return ["93.184.215.14"]

    try:
        result = asyncio.run(validate_public_url(url, resolve=resolve))
    except BlockedAddressError as exc:
        assert str(exc)
        return
    assert result == url.strip()
    assert result.lower().startswith(("http://", "https://"))


@pytest.mark.parametrize("text", ["", "   ", "\x00", "10", "10 m", "1h30m", "3d", "1.5h"])
def test_duration_examples(text: str) -> None:
    """A few fixed cases, so the property tests have known anchors."""
    expected = {"10 m": 600, "1h30m": 5400, "3d": 259200, "1.5h": 5400}
    if text in expected:
        assert parse_duration(text) == timedelta(seconds=expected[text])
    else:
        with pytest.raises(ValueError):
            parse_duration(text)
