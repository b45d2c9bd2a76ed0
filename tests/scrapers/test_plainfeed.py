"""The quick feed reader agrees with feedparser wherever it reads a feed at all."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapers.base import Page, SourceSpec
from scrapers.plainfeed import read_plain_feed
from scrapers.rss import FeedScraper

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FEEDS = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".xml", ".atom"))
PLAIN = [p for p in FEEDS if read_plain_feed(p.read_bytes()) is not None]


class FeedparserOnly(FeedScraper):
    """The same scraper with the quick reader switched off."""

    quick_reader = False


SPEC = SourceSpec(name="feed", kind="rss", url="https://example.com/feed")


def both(body: bytes, encoding: str | None = None) -> tuple[list[object], list[object]]:
    page = Page(url=SPEC.url, body=body, content_type="application/rss+xml", encoding=encoding)
    quick = FeedScraper(SPEC).parse(page)
    slow = FeedparserOnly(SPEC).parse(page)
    return [_record(d) for d in quick], [_record(d) for d in slow]


def _record(d: object) -> tuple[object, ...]:
    return tuple(
        getattr(d, f)
        for f in ("title", "url", "published", "summary", "guid", "language", "identity")
    )


@pytest.mark.parametrize("path", PLAIN, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_recorded_feeds_read_the_same_by_both_readers(path: Path) -> None:
    quick, slow = both(path.read_bytes())
    assert quick == slow
    assert quick  # a plain feed with items gives them


def test_most_recorded_feeds_take_the_quick_path() -> None:
    """The quick path is worth having only if ordinary feeds take it."""
    plain = {str(p.relative_to(FIXTURES)) for p in PLAIN}
    assert {
        "bleepingcomputer/feed.xml",
        "google-news-moneygram/search.xml",
        "the-register-security/headlines.atom",
    } <= plain
    # Bad dates (TechCrunch's recording), RSS 1.0 (ITmedia), other encodings, broken XML.
    assert "techcrunch-security/feed.xml" not in plain
    assert "itmedia-security/news_security.xml" not in plain
    assert len(plain) >= len(FEEDS) // 2


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"/>', "encoding"),
        (b'<!DOCTYPE rss [<!ENTITY x "y">]><rss version="2.0"><channel/></rss>', "DTD"),
        (b'<rss version="2.0"><channel><item><title>a</title>'
         b"<link>/relative</link></item></channel></rss>", "relative link"),
        (b'<rss version="2.0"><channel><item><title>a</title><link>https://a.example/</link>'
         b"<pubDate>sometime in May</pubDate></item></channel></rss>", "odd date"),
        (b'<rss version="2.0"><channel><item><title>a</title><link>https://a.example/</link>'
         b"<description>&lt;script&gt;x()&lt;/script&gt;</description></item></channel></rss>",
         "markup the sanitizer drops"),
        (b'<rss version="2.0"><channel><item><title>a', "not well-formed"),
    ],
)  # fmt: skip
def test_anything_unusual_is_left_to_feedparser(body: bytes, why: str) -> None:
    assert read_plain_feed(body) is None, why


# Generated feeds: titles and summaries with markup, entities and any script; dates in
# the formats feeds really use; links with tracking parameters; guids with and without
# isPermaLink.
words = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30
) | st.sampled_from(["M&S", "AT&amp;T", "<b>bold</b>", "&#39;quoted&#39;", "カシオ計算機",
                     "  spaced   out ", "a &lt;tag&gt;", "<![CDATA[ raw ]]>", "Ŝ€ñ"])  # fmt: skip
moments = st.datetimes(
    min_value=datetime(1995, 1, 1),  # noqa: DTZ001 - hypothesis adds the zone itself
    max_value=datetime(2035, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@st.composite
def rss_items(draw: st.DrawFn) -> str:
    title = escape(draw(words))
    slug = draw(st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True))
    link = f"https://news.example/{slug}?utm_source=rss&amp;id={draw(st.integers(0, 9))}"
    when = draw(moments)
    date = draw(
        st.sampled_from(
            [
                f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>",
                f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>",
                f"<dc:date>{when.strftime('%Y-%m-%dT%H:%M:%SZ')}</dc:date>",
                "",
            ]
        )
    )
    summary = draw(words)
    body = draw(
        st.sampled_from(
            [
                f"<description>{escape(summary)}</description>",
                f"<description><![CDATA[{summary.replace(']]>', '')}]]></description>",
                f"<content:encoded>{escape(summary)}</content:encoded>",
                "",
            ]
        )
    )
    guid = draw(
        st.sampled_from(
            [
                f"<guid>{link}</guid>",
                f'<guid isPermaLink="false">id-{slug}</guid>',
                f'<guid isPermaLink="True">{link}</guid>',
                f'<guid ispermalink="true">{link}</guid>',
                "",
            ]
        )
    )
    link_element = draw(st.sampled_from([f"<link>{link}</link>", "<link></link>", ""]))
    parts = [f"<title>{title}</title>", link_element, guid, date, body]
    return "<item>" + "".join(draw(st.permutations(parts))) + "</item>"


@given(st.lists(rss_items(), min_size=1, max_size=6), st.sampled_from(["", "en", "ja"]))
def test_generated_rss_reads_the_same_by_both_readers(items: list[str], lang: str) -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>t</title><link>https://news.example/</link><language>{lang}</language>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()
    if read_plain_feed(body) is None:
        return  # feedparser alone reads it; nothing to compare
    quick, slow = both(body)
    assert quick == slow


@st.composite
def atom_entries(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["text", "html"]))
    title = escape(draw(words))
    when = draw(moments)
    slug = draw(st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True))
    summary = escape(draw(words))
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S") + draw(st.sampled_from(["Z", "+09:00", "-05:00"]))
    return (
        f'<entry><title type="{kind}">{title}</title><id>tag:news.example,2024:{slug}</id>'
        f'<link rel="alternate" type="text/html" href="https://news.example/{slug}"/>'
        f"<updated>{stamp}</updated>"
        f'<summary type="{kind}">{summary}</summary></entry>'
    )


@given(st.lists(atom_entries(), min_size=1, max_size=6))
def test_generated_atom_reads_the_same_by_both_readers(entries: list[str]) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:lang="en"><id>tag:news.example,2024:feed</id><title>t</title>'
        + "".join(entries)
        + "</feed>"
    ).encode()
    if read_plain_feed(body) is None:
        return
    quick, slow = both(body)
    assert quick == slow
