"""TDnet timely disclosures: the Tokyo Stock Exchange's daily list of company filings.

``https://www.release.tdnet.info/inbs/I_list_001_YYYYMMDD.html`` lists a day's
disclosures newest first, a hundred a page (``_002_``, ``_003_``, ... as the pager at the
top says); a day without disclosures answers 404. Rows carry ``.kjTime``, ``.kjCode``,
``.kjName`` and ``.kjTitle a`` (the PDF). Only incident notices are kept: titles naming
unauthorized access, ransomware, a leak, a cyberattack or a system failure, unless the
source sets ``all = true``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urljoin

from bs4 import Tag

from scrapers.base import Fetch, Page, PageScraper, SourceSpec
from scrapers.errors import HTTPStatusError, ParseError
from scrapers.html import decode_html
from scrapers.models import Disclosure, Evidence
from scrapers.text import clean_text

JST = timezone(timedelta(hours=9), "JST")
MAX_PAGES = 20
INCIDENT_TERMS = re.compile(
    r"不正アクセス|ランサムウェア|情報漏えい|情報漏洩|漏えい|漏洩|流出|サイバー攻撃|"
    r"サイバーセキュリティ|セキュリティインシデント|システム障害|マルウェア|不正侵入"
)
_PAGE_NAME = re.compile(r"I_list_(\d{3})_(\d{8})\.html")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def list_page_url(base: str, day: datetime, page: int) -> str:
    """The address of page ``page`` of ``day``'s list."""
    return urljoin(base, f"I_list_{page:03d}_{day.strftime('%Y%m%d')}.html")


def page_count(page: Page) -> int:
    """How many pages the pager of this list page says the day has (1 without a pager)."""
    soup = decode_html(page)
    pager = soup.find(id="pager-box-top")
    numbers = [int(n) for n, _ in _PAGE_NAME.findall(str(pager))] if pager else []
    return max(numbers, default=1)


class TdnetScraper(PageScraper):
    """Japanese listed companies' incident notices, the day they are filed."""

    kind = "tdnet"

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        # Which day is "today" for the query; tests set a fixed clock.
        self.clock: Callable[[], datetime] = _utcnow
        self.keep_all = bool(spec.options.get("all", False))
        days = spec.options.get("days", 1)
        if not isinstance(days, int) or not 1 <= days <= 7:
            raise ValueError("'days' must be a whole number from 1 to 7")
        self.days = days

    async def collect(self, fetch: Fetch) -> list[Disclosure] | None:
        today = self.clock().astimezone(JST)
        found: list[Disclosure] = []
        changed = False
        for back in range(self.days):
            day = today - timedelta(days=back)
            try:
                first = await fetch(list_page_url(self.spec.url, day, 1))
            except HTTPStatusError as exc:
                if exc.status == 404:  # no disclosures that day (yet)
                    changed = True
                    continue
                raise
            if first is None:  # the newest come first: an unchanged first page means no news
                continue
            changed = True
            found += self.parse(first)
            for number in range(2, min(page_count(first), MAX_PAGES) + 1):
                try:
                    more = await fetch(list_page_url(self.spec.url, day, number), conditional=False)
                except HTTPStatusError as exc:
                    if exc.status == 404:
                        break
                    raise
                if more is not None:
                    found += self.parse(more)
        return found if changed else None

    def parse(self, page: Page) -> list[Disclosure]:
        soup = decode_html(page)
        table = soup.find("table", id="main-list-table")
        if not isinstance(table, Tag):
            raise ParseError("TDnet page has no #main-list-table: the layout may have changed")
        day = self._day(page, soup.get_text(" "))
        items: list[Disclosure] = []
        rows = 0
        for row in table.find_all("tr"):
            title_cell = row.select_one(".kjTitle")
            if title_cell is None:
                continue
            rows += 1
            link = title_cell.find("a", href=True)
            title = clean_text(title_cell.get_text(" "), 500)
            if not isinstance(link, Tag) or not title:
                continue
            if not self.keep_all and not INCIDENT_TERMS.search(title):
                continue
            name = clean_text(_cell_text(row, ".kjName"), 200)
            code = _cell_text(row, ".kjCode").strip()
            published = None
            when = _TIME.search(_cell_text(row, ".kjTime"))
            if day is not None and when:
                local = day.replace(hour=int(when[1]), minute=int(when[2]), tzinfo=JST)
                published = local.astimezone(UTC)
            url = urljoin(page.url, str(link["href"]))
            items.append(
                Disclosure(
                    source=self.spec.name,
                    title=f"{name}: {title}" if name else title,
                    url=url,
                    published=published,
                    summary=f"TDnet適時開示 {code[:4]} {name}".strip(),
                    guid=url,
                    organization=name or None,
                    evidence=Evidence.CONFIRMED,
                    language="ja",
                    extra={"code": code[:4]} if code else {},
                )
            )
        if rows == 0 and "kjTitle" not in str(table):
            raise ParseError("TDnet list table has no .kjTitle cells: the layout may have changed")
        return items

    @staticmethod
    def _day(page: Page, text: str) -> datetime | None:
        named = _PAGE_NAME.search(page.url)
        if named:
            return datetime.strptime(named[2], "%Y%m%d").replace(tzinfo=JST)
        written = re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text)
        if written:
            return datetime(int(written[1]), int(written[2]), int(written[3]), tzinfo=JST)
        return None


def _cell_text(row: Tag, selector: str) -> str:
    cell = row.select_one(selector)
    return cell.get_text(" ") if cell is not None else ""


def _utcnow() -> datetime:
    return datetime.now(UTC)
