"""A first scan that backfills years of a company's coverage keeps its incidents apart.

Real lines of the labeled set (tests/fixtures/eval/) are served as the feeds that carried
them, in those feeds' own formats and newest first, from a real HTTP server on 127.0.0.1;
the real ``breachradar scan`` reads them all in one pass into a real SQLite store and
posts to a local Discord-style webhook. Each labeled incident must become one incident and
one alert, every later item an edit of its own incident's message, never of another's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from bot.service.evaluation import Item, bundled_set, load
from tests.support.cli import run_cli
from tests.support.localserver import DiscordWebhook, LocalServer, Response
from tests.support.scenario import write_config

pytestmark = pytest.mark.slow

JST = timezone(timedelta(hours=9), "JST")
EASTERN = timezone(timedelta(hours=-4), "EDT")
ITEMS = load()[1]


def lines(company: str, sources: Iterable[str] = (), groups: Iterable[str] = ()) -> list[Item]:
    """The set's lines about ``company`` from these outlets (or in these groups), newest
    first as a feed lists them."""
    wanted_sources, wanted_groups = set(sources), set(groups)
    found = [
        i
        for i in ITEMS
        if company in i.companies
        and (not wanted_sources or i.disclosure.source in wanted_sources)
        and (not wanted_groups or i.groups[i.companies.index(company)] in wanted_groups)
    ]
    assert found, f"no lines for {company}"
    return sorted(
        found,
        key=lambda i: i.disclosure.published or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )


def group_of(item: Item, company: str) -> str:
    return item.groups[item.companies.index(company)]


def day(item: Item, hour: int, zone: timezone) -> datetime:
    """The item's day at ``hour`` local time (the set keeps days, feeds carry times)."""
    published = item.disclosure.published
    assert published is not None
    return datetime(published.year, published.month, published.day, hour, 0, tzinfo=zone)


def rfc822(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S ") + (when.tzname() or "+0000")


def bleepingcomputer_feed(items: list[Item]) -> bytes:
    """BleepingComputer's RSS 2.0 as it serves it: CDATA, dc:creator, EDT dates."""
    entries = "".join(
        f"""
	<item>
		<title><![CDATA[{i.disclosure.title}]]></title>
		<link>{escape(i.disclosure.url)}</link>
		<pubDate>{rfc822(day(i, 12, EASTERN))}</pubDate>
		<dc:creator><![CDATA[Bill Toulas]]></dc:creator>
		<category><![CDATA[Security]]></category>
		<guid isPermaLink="false">{escape(i.disclosure.url)}</guid>
		<description><![CDATA[{i.disclosure.summary}]]></description>
	</item>"""
        for i in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	>
<channel>
	<title>BleepingComputer</title>
	<atom:link href="https://www.bleepingcomputer.com/feed/" rel="self" type="application/rss+xml" />
	<link>https://www.bleepingcomputer.com/</link>
	<description>BleepingComputer - All Stories</description>
	<language>en-US</language>{entries}
</channel>
</rss>
""".encode()


def itmedia_feed(items: list[Item]) -> bytes:
    """ITmedia's RSS 1.0 (RDF): an rdf:Seq of the items, dc:date in JST."""
    seq = "".join(f'\n<rdf:li rdf:resource="{escape(i.disclosure.url)}"/>' for i in items)
    entries = "".join(
        f"""
<item rdf:about="{escape(i.disclosure.url)}">
<title>{escape(i.disclosure.title)}</title>
<link>{escape(i.disclosure.url)}</link>
<description><![CDATA[{i.disclosure.summary}]]></description>
<dc:subject>セキュリティ</dc:subject>
<dc:creator>ITmedia</dc:creator>
<dc:date>{day(i, 17, JST).isoformat()}</dc:date>
</item>"""
        for i in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF
 xmlns="http://purl.org/rss/1.0/"
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xml:lang="ja">
<channel rdf:about="https://www.itmedia.co.jp/news/subtop/security/">
<title>ITmedia NEWS セキュリティ</title>
<link>https://www.itmedia.co.jp/news/subtop/security/</link>
<description>ITmedia NEWS セキュリティの最新記事一覧</description>
<dc:language>ja</dc:language>
<items>
<rdf:Seq>{seq}
</rdf:Seq>
</items>
</channel>{entries}
</rdf:RDF>
""".encode()


def security_next_feed(items: list[Item]) -> bytes:
    """Security NEXT's WordPress RSS 2.0: ?p= guids, +0000 dates, Japanese text."""
    entries = "".join(
        f"""
		<item>
		<title>{escape(i.disclosure.title)}</title>
		<link>{escape(i.disclosure.url)}</link>
		<dc:creator><![CDATA[Security NEXT]]></dc:creator>
		<pubDate>{day(i, 6, UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")}</pubDate>
		<category><![CDATA[インシデント]]></category>
		<guid isPermaLink="false">https://www.security-next.com/?p={i.disclosure.url.rsplit("/", 1)[-1]}</guid>
		<description><![CDATA[{i.disclosure.summary}]]></description>
		</item>"""
        for i in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	>
<channel>
	<title>Security NEXT</title>
	<atom:link href="https://www.security-next.com/feed" rel="self" type="application/rss+xml" />
	<link>https://www.security-next.com</link>
	<description>国内外のセキュリティ関連ニュースを毎日配信</description>
	<language>ja</language>
	<sy:updatePeriod>hourly</sy:updatePeriod>{entries}
	</channel>
</rss>
""".encode()


OUTLETS = {
    "threatshub": ("ThreatsHub", "https://www.threatshub.org"),
    "techtarget": ("TechTarget", "https://www.techtarget.com"),
    "ictna": ("ICTNA", "https://ictna.ir"),
    "yahoo": ("Yahoo News", "https://news.yahoo.com"),
    "goodmorningamerica": ("Good Morning America", "https://www.goodmorningamerica.com"),
    "vumetric": ("Vumetric Cybersecurity", "https://cyber.vumetric.com"),
    "perseus": ("Perseus", "https://www.perseus.de"),
    "zdnet": ("ZDNET", "https://www.zdnet.com"),
    "androidcentral": ("Android Central", "https://www.androidcentral.com"),
    "theregister": ("The Register", "https://www.theregister.com"),
    "thedesk": ("The Desk", "https://thedesk.net"),
}


def google_news_feed(query: str, items: list[Item]) -> bytes:
    """A Google News search as RSS: "headline - Outlet", links through news.google.com
    (the article's address inside the opaque id), the outlet as <source>."""

    def entry(i: Item) -> str:
        outlet, home = OUTLETS[i.disclosure.source]
        token = "CBMi" + base64.urlsafe_b64encode(i.disclosure.url.encode()).decode().rstrip("=")
        link = f"https://news.google.com/rss/articles/{token}?oc=5"
        title = f"{i.disclosure.title} - {outlet}"
        description = (
            f'<a href="{link}" target="_blank">{i.disclosure.title}</a>'
            f'&nbsp;&nbsp;<font color="#6f6f6f">{outlet}</font>'
        )
        return (
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{token}</guid>'
            f"<pubDate>{day(i, 14, UTC).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>"
            f"<description>{escape(description)}</description>"
            f'<source url="{home}">{escape(outlet)}</source></item>'
        )

    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<rss xmlns:media="http://search.yahoo.com/mrss/" version="2.0"><channel>'
        f"<generator>NFE/5.0</generator><title>{escape(query)} - Google News</title>"
        "<link>https://news.google.com/search?hl=en-US&amp;gl=US&amp;ceid=US:en</link>"
        "<language>en-US</language><webMaster>news-webmaster@google.com</webMaster>"
        "<description>Google News</description>"
        + "".join(entry(i) for i in items)
        + "</channel></rss>"
    ).encode()


def rss(name: str, url: str) -> str:
    return f'[[sources]]\nname = "{name}"\nkind = "rss"\nurl = "{url}"\nallow_private = true\n\n'


def backfill(
    tmp_path: Path,
    web: LocalServer,
    receiver: LocalServer,
    db_url: str,
    feeds: dict[str, tuple[bytes, str]],
) -> tuple[list[dict[str, object]], DiscordWebhook]:
    """Serve ``feeds`` (name: body, content type), scan once as a new user would."""
    sources = ""
    for name, (body, content_type) in feeds.items():
        web.route(f"/{name}", Response(200, body, {"Content-Type": content_type}))
        sources += rss(name, web.url(f"/{name}"))
    hook = DiscordWebhook(receiver)
    config = write_config(
        tmp_path / "config",
        sources=sources,
        # A user backfilling years of coverage wants the old incidents announced too.
        settings=f'max_alert_age = "none"\njitter = 0\n[[webhooks]]\nurl = "{hook.url}"\n',
        watchlist=(bundled_set() / "watchlist.toml").read_text(encoding="utf-8"),
        loopback=True,
    )
    result = run_cli("scan", "--config", str(config), "--db", db_url, "--json")
    assert result.code == 0, result.stderr
    return result.json_lines(), hook


def check_incidents(
    found: list[dict[str, object]],
    hook: DiscordWebhook,
    company: str,
    group_by_url: Callable[[str], str],
    groups: set[str],
) -> None:
    """One incident and one alert per labeled group; every edit stays in its group."""
    mine = [f for f in found if f["company"] == company]
    incident_groups: dict[object, set[str]] = {}
    for f in mine:
        incident_groups.setdefault(f["incident"], set()).add(group_by_url(str(f["url"])))
    assert sorted(map(sorted, incident_groups.values())) == sorted([g] for g in groups)
    assert sum(1 for f in mine if f["new_incident"]) == len(groups)
    assert len(hook.posts()) == len(groups)
    assert len(hook.messages) == len(groups)
    # The webhook numbers the messages it accepts from 1000 on, as they come.
    announced = {
        str(1000 + n): group_by_url(post.json()["embeds"][0]["url"])
        for n, post in enumerate(hook.posts())
    }
    assert sorted(announced.values()) == sorted(groups)
    assert hook.edits(), "later reports update their incident's alert"
    for edit in hook.edits():
        message_id = edit.path.rsplit("/", 1)[-1]
        embed = edit.json()["embeds"][0]
        assert embed["title"].startswith("Update: ")
        assert group_by_url(embed["url"]) == announced[message_id]


def test_one_scan_of_casios_two_incidents_gives_two_alerts(
    tmp_path: Path, web: LocalServer, receiver: LocalServer, db_url: str
) -> None:
    """Casio's October 2023 ClassPad breach and its October 2024 ransomware attack, read in
    one scan of an English and two Japanese feeds, newest first: two incidents, two
    alerts, and no report of one edits the other's message."""
    bleeping = lines("Casio", ["bleepingcomputer"])
    itmedia = lines("Casio", ["itmedia"])
    security_next = lines("Casio", ["security-next"])
    every = bleeping + itmedia + security_next
    groups = {group_of(i, "Casio") for i in every}
    assert groups == {"casio-2023", "casio-2024"}
    assert any(i.disclosure.published and i.disclosure.published.year == 2025 for i in every)
    by_url = {i.disclosure.url: group_of(i, "Casio") for i in every}
    found, hook = backfill(
        tmp_path,
        web,
        receiver,
        db_url,
        {
            "bleepingcomputer": (bleepingcomputer_feed(bleeping), "application/rss+xml"),
            "itmedia": (itmedia_feed(itmedia), "application/xml"),
            "security-next": (security_next_feed(security_next), "application/rss+xml"),
        },
    )
    assert {f["url"] for f in found if f["company"] == "Casio"} == set(by_url)
    check_incidents(found, hook, "Casio", by_url.__getitem__, groups)


def test_one_scan_of_three_incidents_in_three_years_gives_three_alerts(
    tmp_path: Path, web: LocalServer, receiver: LocalServer, db_url: str
) -> None:
    """T-Mobile's 2020 employee-email breach, its 2022 Lapsus$ intrusion and its 2023 API
    breach in one Google News search feed: three incidents, three alerts."""
    every = lines("T-Mobile", groups={"tmobile-2020-03", "tmobile-2022-04", "tmobile-2023-01"})
    groups = {group_of(i, "T-Mobile") for i in every}
    by_token: dict[str, str] = {}
    for i in every:
        token = base64.urlsafe_b64encode(i.disclosure.url.encode()).decode().rstrip("=")
        by_token[token] = group_of(i, "T-Mobile")

    def group_by_url(url: str) -> str:
        return by_token[url.rsplit("/", 1)[-1].split("?", 1)[0].removeprefix("CBMi")]

    feed = google_news_feed('"T-Mobile" (breach OR cyberattack OR hacked)', every)
    found, hook = backfill(
        tmp_path, web, receiver, db_url, {"google-news-t-mobile": (feed, "application/xml")}
    )
    assert len([f for f in found if f["company"] == "T-Mobile"]) == len(every)
    check_incidents(found, hook, "T-Mobile", group_by_url, groups)
    # The feed's JSON lines say when each item was published: three years apart.
    years = {json.dumps(f["published"])[1:5] for f in found}
    assert years == {"2020", "2022", "2023"}
