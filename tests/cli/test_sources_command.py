"""`breachradar sources test NAME` on the new kinds, run as the real command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.settings.test_source_planning import planned
from tests.support.cli import run_cli
from tests.support.localserver import LocalServer

# Wide enough that the table shows whole titles and company names.
WIDE = {"COLUMNS": "250"}


@pytest.mark.slow
def test_sources_test_shows_a_generated_news_search_and_what_it_would_match(
    tmp_path: Path, web: LocalServer
) -> None:
    """An operator can try one batch of the searches and see which company each result is."""
    web.serve_file("/rss/search", "google-news-moneygram/search.xml", "application/xml")
    directory = planned(
        tmp_path / "config",
        f"""
[[sources]]
name = "google-news"
kind = "news-search"
url = "{web.url("/rss/search")}?q={{query}}&hl=en-US&gl=US&ceid=US:en"
""",
    )
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    where = ("--config", str(directory), "--db", db)
    result = run_cli("sources", "test", "google-news-001", *where, env=WIDE)
    assert result.code == 0, result.stderr
    assert "google-news-001: 2 items" in result.stdout
    lines = [line for line in result.stdout.splitlines() if "dayslong outage" in line]
    assert len(lines) == 1 and "MoneyGram" in lines[0].rsplit("│", 2)[-2]
    request = web.received(path="/rss/search")[0]
    assert "%22MoneyGram%22" in request.path and "ransomware" in request.path
    assert "%22AT%26T%22" in request.path  # one request asks about every company
    # The entry's own name stands for its batches: the command says which to try.
    entry = run_cli("sources", "test", "google-news", *where, env=WIDE)
    assert entry.code == 2
    assert "'google-news' stands for 1 search (google-news-001)" in entry.stderr


@pytest.mark.slow
def test_sources_lists_one_line_per_batch_with_servers_companies_counted(
    tmp_path: Path,
) -> None:
    """Companies a server imported join the searches: `sources` counts them per batch."""
    directory = planned(
        tmp_path / "config",
        """
[[sources]]
name = "google-news"
kind = "news-search"
url = "https://news.google.com/rss/search?q={query}&hl=en-US&gl=US&ceid=US:en"
terms_per_query = 15

[[sources]]
name = "bleepingcomputer"
kind = "rss"
url = "https://www.bleepingcomputer.com/feed/"
""",
    )
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    where = ("--config", str(directory), "--db", db)
    vendors = tmp_path / "vendors.txt"
    vendors.write_text("Okta\nSnowflake\n", encoding="utf-8")
    imported = run_cli("watch", "import", str(vendors), "--guild", "41", "--channel", "42", *where)
    assert imported.code == 0, imported.stderr
    result = run_cli("sources", *where, env=WIDE)
    assert result.code == 0, result.stderr
    out = result.stdout
    assert (
        "google-news: 5 companies in 3 searches, each company searched every 1h "
        "(3 requests an hour, at most 600)" in out
    )
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert "2 companies: MoneyGram, AT&T" in rows["google-news-001"]
    assert "2 companies: Change Healthcare, Okta" in rows["google-news-002"]
    assert "1 company: Snowflake" in rows["google-news-003"]
    assert "every company" in rows["bleepingcomputer"]


@pytest.mark.slow
def test_sources_test_shows_a_state_list_with_organization_and_evidence(
    tmp_path: Path, web: LocalServer
) -> None:
    """A regulator's list shows the organization field and confirmed evidence."""
    web.serve_file("/list-export", "ca-ag/list-export.csv", "text/csv; charset=utf-8")
    directory = planned(
        tmp_path / "config",
        f"""
[[sources]]
name = "california-ag"
kind = "ca-ag"
url = "{web.url("/list-export")}"
""",
    )
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = run_cli(
        "sources", "test", "california-ag", "--config", str(directory), "--db", db, env=WIDE
    )
    assert result.code == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "MoneyGram Payment" in line)
    assert "confirmed (incident)" in row
    assert row.rstrip(" │").endswith("MoneyGram")


@pytest.mark.slow
def test_check_config_warns_when_edgar_would_refuse_the_user_agent(tmp_path: Path) -> None:
    """Enabling an SEC source without a contact email is flagged before it fails."""
    directory = planned(
        tmp_path / "config",
        """
[[sources]]
name = "SEC 8-K filings"
kind = "sec-search"
url = 'https://efts.sec.gov/LATEST/search-index?q="Item 1.05"&forms=8-K'
""",
    )
    result = run_cli("check-config", "--config", str(directory), env=WIDE)
    assert result.code == 0, result.stderr
    # Named as written, not by its key (sec-8k-filings).
    assert "warning: SEC 8-K filings: SEC EDGAR refuses requests" in result.stdout
