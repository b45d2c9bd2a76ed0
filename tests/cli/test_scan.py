"""``breachradar scan`` end to end: local feeds and pages in, alerts out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.localserver import DiscordWebhook, LocalServer, Response
from tests.support.outbox import make_due
from tests.support.scenario import write_config

BLEEPING = "bleepingcomputer/feed-2024-10-08.xml"
CASIO = "casio-jp-releases/release-list-2024-10.html"


def sources_toml(web: LocalServer, *extra: str) -> str:
    entries = [
        f"""
[[sources]]
name = "bleepingcomputer"
kind = "rss"
url = "{web.url("/feed/")}"
""",
        f"""
[[sources]]
name = "casio-jp-releases"
kind = "html"
url = "{web.url("/release/")}"
item = "li.p-release__item"
title = ".p-release__title a"
date = ".p-release__date"
organization = "Casio"
""",
        *extra,
    ]
    return "\n".join(entries)


@pytest.fixture
def site(web: LocalServer) -> LocalServer:
    web.serve_file("/feed/", BLEEPING, "application/rss+xml; charset=UTF-8")
    web.serve_file("/release/", CASIO, "text/html; charset=UTF-8")
    return web


@pytest.fixture
def config(tmp_path: Path, site: LocalServer) -> Path:
    return write_config(
        tmp_path / "config",
        sources=sources_toml(site),
        settings='max_alert_age = "none"\n',
        loopback=True,
    )


def scan(config: Path, db: str, *more: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_cli("scan", "--config", str(config), "--db", db, "--json", *more, env=env)


def test_scan_finds_breach_items_across_rss_and_html(config: Path, db_url: str) -> None:
    """One pass reports the breach stories from the feed and the press page, nothing else."""
    result = scan(config, db_url)
    assert result.code == 0, result.stderr
    found = {(r["company"], r["url"]) for r in result.json_lines()}
    assert found == {
        (
            "Casio",
            "https://www.bleepingcomputer.com/news/security/"
            "casio-reports-it-systems-failure-after-weekend-network-breach/",
        ),
        (
            "MoneyGram",
            "https://www.bleepingcomputer.com/news/security/"
            "moneygram-confirms-a-cyberattack-is-behind-dayslong-outage/",
        ),
        ("Casio", f"http://127.0.0.1:{config_port(config)}/release/2024/1011-incident/"),
        ("Casio", f"http://127.0.0.1:{config_port(config)}/release/2024/1008-incident/"),
    }
    rows = {r["url"].rsplit("/", 2)[-2]: r for r in result.json_lines()}
    moneygram = rows["moneygram-confirms-a-cyberattack-is-behind-dayslong-outage"]
    assert moneygram["source"] == "bleepingcomputer"
    assert moneygram["published"] == "2024-09-23T16:46:26+00:00"  # EDT read as UTC-4
    assert "MoneyGram" in moneygram["matched"]
    assert rows["1008-incident"]["published"] == "2024-10-08T00:00:00+00:00"
    assert rows["1008-incident"]["evidence"] == "confirmed"
    assert not any("G-SHOCK" in r["title"] for r in result.json_lines())
    # The card's fields are additions to each line: null or empty when not known.
    for row in result.json_lines():
        assert row["affected"] is None or isinstance(row["affected"], int)
        assert isinstance(row["data"], list)
        assert row["attack"] is None or isinstance(row["attack"], str)
        assert row["actor"] is None or isinstance(row["actor"], str)
    casio = rows["casio-reports-it-systems-failure-after-weekend-network-breach"]
    assert (casio["attack"], casio["affected"], casio["actor"]) == (
        "unauthorized_access",
        None,
        None,
    )


def config_port(config: Path) -> int:
    text = (config / "sources.toml").read_text(encoding="utf-8")
    return int(text.split("127.0.0.1:", 1)[1].split("/", 1)[0])


def test_second_scan_prints_nothing(config: Path, db_url: str) -> None:
    """What the database has seen is never reported again."""
    assert scan(config, db_url).json_lines()
    second = scan(config, db_url)
    assert second.code == 0
    assert second.stdout == ""


def test_item_added_later_is_found(config: Path, db_url: str, site: LocalServer) -> None:
    """A story added to the feed after the first pass is reported by the next one."""
    scan(config, db_url)
    body = (Path(__file__).parents[1] / "fixtures" / BLEEPING).read_bytes()
    new_item = b"""<item>
		<title><![CDATA[Ticketmaster confirms data breach after hacker posts stolen data]]></title>
		<link>https://www.bleepingcomputer.com/news/security/ticketmaster-confirms-data-breach/</link>
		<pubDate>Fri, 31 May 2024 18:42:00 EDT</pubDate>
		<guid isPermaLink="false">https://www.bleepingcomputer.com/news/security/ticketmaster-confirms-data-breach/</guid>
	</item>
	<item>"""
    site.route(
        "/feed/",
        Response(
            200, body.replace(b"<item>", new_item, 1), {"Content-Type": "application/rss+xml"}
        ),
    )
    result = scan(config, db_url)
    assert [(r["company"], r["title"]) for r in result.json_lines()] == [
        ("Ticketmaster", "Ticketmaster confirms data breach after hacker posts stolen data")
    ]


def test_changed_date_and_tracking_parameters_make_no_second_alert(
    tmp_path: Path, web: LocalServer, db_url: str
) -> None:
    """A re-published item with a new date and utm parameters is the same item."""
    item = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>MoneyGram says hackers stole customer data in September cyberattack</title>
<link>https://techcrunch.com/2024/10/07/moneygram-says-hackers-stole-customer-data/{q}</link>
<pubDate>{d}</pubDate></item></channel></rss>"""
    first = item.format(q="", d="Mon, 07 Oct 2024 14:10:00 +0000")
    again = item.format(
        q="?utm_source=feedburner&amp;utm_medium=feed", d="Tue, 08 Oct 2024 09:00:00 +0000"
    )
    web.route("/feed", Response(200, first.encode(), {"Content-Type": "application/rss+xml"}))
    cfg = write_config(
        tmp_path / "c",
        loopback=True,
        sources=f'[[sources]]\nname = "tc"\nkind = "rss"\nurl = "{web.url("/feed")}"\n',
        settings='max_alert_age = "none"\n',
    )
    assert len(scan(cfg, db_url).json_lines()) == 1
    web.route("/feed", Response(200, again.encode(), {"Content-Type": "application/rss+xml"}))
    assert scan(cfg, db_url).json_lines() == []


def test_broken_feed_and_server_error_do_not_stop_the_pass(
    tmp_path: Path, site: LocalServer, db_url: str
) -> None:
    """A 500 and a broken feed each get one line on stderr; the others are still read."""
    site.route(
        "/broken", Response(200, b"<rss><channel><item><title>oops", {"Content-Type": "text/xml"})
    )
    site.route("/down", Response(500, b"Internal Server Error"))
    extra = [
        f'[[sources]]\nname = "broken-feed"\nkind = "rss"\nurl = "{site.url("/broken")}"\n',
        f'[[sources]]\nname = "down-feed"\nkind = "rss"\nurl = "{site.url("/down")}"\n',
    ]
    cfg = write_config(
        tmp_path / "c",
        loopback=True,
        sources=sources_toml(site, *extra),
        settings='max_alert_age = "none"\n',
    )
    result = run_cli("scan", "--config", str(cfg), "--db", db_url, "--json")
    assert result.code == 0
    assert len(result.json_lines()) == 4
    lines = [line for line in result.stderr.splitlines() if line.startswith("source ")]
    assert sorted(line.split(" ", 2)[1] for line in lines) == ["broken-feed", "down-feed"]
    assert any("HTTP 500" in line for line in lines)
    health = run_cli("sources", "--config", str(cfg), "--db", db_url)
    assert "failing" in health.stdout


def add_webhook(config: Path, line: str) -> None:
    settings = (config / "settings.toml").read_text(encoding="utf-8")
    (config / "settings.toml").write_text(settings + f"[[webhooks]]\n{line}\n", encoding="utf-8")


def test_webhook_answering_429_then_success_gets_each_alert_exactly_once(
    config: Path, db_url: str, receiver: LocalServer
) -> None:
    """A rate-limited webhook is retried after retry_after; each incident is posted once."""
    hook = DiscordWebhook(receiver)
    hook.refuse.append(
        Response(
            429,
            b'{"message": "You are being rate limited.", "retry_after": 0.05, "global": false}',
            {"Content-Type": "application/json"},
        )
    )
    add_webhook(config, f'url = "{hook.url}"')
    result = scan(config, db_url)
    assert result.code == 0, result.stderr
    assert len(hook.posts()) == 1 + 2  # one refused, then one alert per incident
    companies = sorted(m["embeds"][0]["fields"][0]["value"] for m in hook.messages.values())
    assert companies == ["Casio", "MoneyGram"]
    # Casio's press notices are the same incident as the news story: they edit the alert.
    (casio,) = [
        m for m in hook.messages.values() if m["embeds"][0]["fields"][0]["value"] == "Casio"
    ]
    sources = next(f for f in casio["embeds"][0]["fields"] if f["name"].startswith("Sources"))
    assert sources["name"] == "Sources (3)"
    assert len(hook.edits()) == 2
    assert scan(config, db_url).stdout == ""
    assert len(hook.posts()) == 3


def test_alerts_survive_a_webhook_outage(config: Path, db_url: str, receiver: LocalServer) -> None:
    """Alerts that could not be delivered in one pass go out on the next, once."""
    hook = DiscordWebhook(receiver)
    hook.refuse = [Response(503, b"upstream connect error")] * 50
    add_webhook(config, 'url_env = "HOOK"')
    first = scan(config, db_url, env={"HOOK": hook.url})
    assert first.code == 0
    assert hook.messages == {}
    refused = len(hook.posts())
    assert refused >= 1
    hook.refuse = []
    # The retry is due later; make it due now instead of waiting out the backoff.
    assert make_due(db_url) > 0
    assert scan(config, db_url, env={"HOOK": hook.url}).stdout == ""
    companies = sorted(m["embeds"][0]["fields"][0]["value"] for m in hook.messages.values())
    assert companies == ["Casio", "MoneyGram"]
    assert len(hook.posts()) == refused + 2


def test_everyone_in_a_title_pings_nobody(
    tmp_path: Path, web: LocalServer, receiver: LocalServer, db_url: str
) -> None:
    """Scraped mentions and markdown reach the webhook defused."""
    feed = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>@everyone MoneyGram **data breach** hits <@&amp;123456789> users</title>
<link>https://example.net/mg</link><description>See [here](https://evil.example) @here</description></item>
</channel></rss>"""
    web.route("/f", Response(200, feed.encode(), {"Content-Type": "application/rss+xml"}))
    receiver.route("/hook", Response(204), method="POST")
    cfg = write_config(
        tmp_path / "c",
        loopback=True,
        sources=f'[[sources]]\nname = "x"\nkind = "rss"\nurl = "{web.url("/f")}"\n',
        settings=f'max_alert_age = "none"\n[[webhooks]]\nurl = "{receiver.url("/hook")}"\n',
    )
    assert scan(cfg, db_url).code == 0
    (post,) = receiver.received("POST", "/hook")
    body = post.json()
    assert body["allowed_mentions"] == {"parse": []}
    embed = body["embeds"][0]
    text = json.dumps(embed, ensure_ascii=False)
    assert "@everyone" not in text and "@here" not in text and "<@&123456789>" not in text
    assert "\\*\\*data breach\\*\\*" in embed["title"]
    assert "](https://evil.example)" not in embed.get("description", "")


def test_old_items_are_recorded_but_not_pushed(
    tmp_path: Path, site: LocalServer, receiver: LocalServer, db_url: str
) -> None:
    """With the default max_alert_age, 2024 stories are printed by scan but not pushed."""
    receiver.route("/hook", Response(204), method="POST")
    cfg = write_config(
        tmp_path / "c",
        loopback=True,
        sources=sources_toml(site),
        settings=f'[[webhooks]]\nurl = "{receiver.url("/hook")}"\n',
    )
    result = scan(cfg, db_url)
    assert len(result.json_lines()) == 4
    assert receiver.received("POST") == []


def test_sources_test_shows_what_a_page_would_give(config: Path, db_url: str) -> None:
    """`sources test NAME` fetches one source and shows its items and what would match."""
    result = run_cli(
        "sources", "test", "casio-jp-releases", "--config", str(config), "--db", db_url
    )
    assert result.code == 0, result.stderr
    assert "casio-jp-releases: 4 items" in result.stdout
    incident_row = next(line for line in result.stdout.splitlines() if "2024-10-08" in line)
    assert "Casio" in incident_row.split("│")[-2]
    product_row = next(line for line in result.stdout.splitlines() if "2024-10-01" in line)
    assert product_row.split("│")[-2].strip() == ""
    unknown = run_cli("sources", "test", "nope", "--config", str(config), "--db", db_url)
    assert unknown.code == 2 and "no source named 'nope'" in unknown.stderr
