"""SEC EDGAR: 8-K filings that report a cybersecurity incident.

Two kinds:

- ``sec-search``: EDGAR full-text search (``efts.sec.gov/LATEST/search-index``) for a
  phrase, kept to 8-K filings whose items include one of ``items`` (default Item 1.05
  "Material Cybersecurity Incidents" and Item 8.01 "Other Events"). A text search also
  hits earnings releases that only mention cyber risk, hence the item filter.
- ``sec-filings``: each watched company's submissions JSON
  (``data.sec.gov/submissions/CIK##########.json``), for companies with a ``cik`` or a
  ``ticker`` (looked up in ``company_tickers.json``); it reports Item 1.05 filings.

EDGAR refuses clients without a User-Agent naming the product and a contact email, and
allows at most ten requests a second: every request of these kinds goes through one
process-wide limiter (see :mod:`scrapers.ratelimit`) set somewhat below that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

from scrapers.base import Fetch, Page, PageScraper, SourceSpec, Subject
from scrapers.errors import ParseError
from scrapers.models import Disclosure, Evidence
from scrapers.ratelimit import limited, shared_limiter
from scrapers.structured import iso_day, load_json, text_field

# EDGAR allows ten requests a second. Start times spaced for exactly ten arrive compressed
# (connection setup and scheduling jitter), so eleven can land within one second on
# EDGAR's side: aim under the limit.
EDGAR_REQUESTS_PER_SECOND = 8.0
ARCHIVES = "https://www.sec.gov/Archives/edgar/data/"
TICKERS_URL = "https://www.sec.gov/files/company_tickers.json"
CYBER_ITEM = "1.05"
ITEM_NAMES = {
    "1.05": "Material Cybersecurity Incidents",
    "7.01": "Regulation FD Disclosure",
    "8.01": "Other Events",
}
_FORMS = frozenset({"8-K", "8-K/A"})


def edgar_fetch(fetch: Fetch) -> Fetch:
    """``fetch`` held to EDGAR's fair-access rate, shared by every SEC source."""
    return limited(fetch, shared_limiter("sec.gov", EDGAR_REQUESTS_PER_SECOND))


def filing_url(cik: str | int, accession: str, document: str) -> str:
    """The address of one document of a filing in the EDGAR archive."""
    return f"{ARCHIVES}{int(cik)}/{accession.replace('-', '')}/{document}"


def _display_name(raw: str) -> str:
    # "UnitedHealth Group Inc  (UNH)  (CIK 0000731766)" -> "UnitedHealth Group Inc"
    name = raw.split("(CIK", 1)[0].strip()
    if name.endswith(")") and "(" in name:
        name = name[: name.rindex("(")].strip()
    return " ".join(name.split())


def _items(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return []


def _title(org: str, form: str, items: list[str], wanted: list[str]) -> str:
    shown = [i for i in items if i in wanted] or items
    parts = [f"Item {i} {ITEM_NAMES[i]}" if i in ITEM_NAMES else f"Item {i}" for i in shown]
    return f"{org}: {form} {'; '.join(parts)}"


class EdgarSearchScraper(PageScraper):
    """8-K filings found by EDGAR full-text search, filtered on their items."""

    kind = "sec-search"

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        # Which day is "today" for the query; tests set a fixed clock.
        self.clock: Callable[[], datetime] = _utcnow
        query = parse_qs(urlsplit(spec.url).query)
        if "q" not in query:
            raise ValueError("a sec-search url needs a q= search phrase")
        self.phrase = query["q"][0].strip('"')
        items = spec.options.get("items", ["1.05", "8.01"])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError("'items' must be a list of 8-K item numbers such as \"1.05\"")
        self.items = items
        days = spec.options.get("days", 14)
        if not isinstance(days, int) or days < 1:
            raise ValueError("'days' must be a positive whole number of days")
        self.days = days

    def search_url(self, today: datetime) -> str:
        """The configured search limited to the last ``days`` days up to ``today``."""
        parts = urlsplit(self.spec.url)
        query = [(k, v) for k, vs in parse_qs(parts.query).items() for v in vs]
        query = [(k, v) for k, v in query if k not in {"dateRange", "startdt", "enddt"}]
        start = (today - timedelta(days=self.days)).date().isoformat()
        query += [("dateRange", "custom"), ("startdt", start), ("enddt", today.date().isoformat())]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))

    async def collect(self, fetch: Fetch) -> list[Disclosure] | None:
        page = await edgar_fetch(fetch)(self.search_url(self.clock()))
        return None if page is None else self.parse(page)

    def parse(self, page: Page) -> list[Disclosure]:
        data = load_json(page)
        hits = data.get("hits", {}).get("hits") if isinstance(data, dict) else None
        if not isinstance(hits, list):
            raise ParseError("EDGAR search answer has no hits.hits array: the API may have changed")
        items: list[Disclosure] = []
        for hit in hits:
            source = hit.get("_source") if isinstance(hit, dict) else None
            if not isinstance(source, dict):
                continue
            form = text_field(source, "form") or text_field(source, "file_type")
            filed = _items(source.get("items"))
            if form not in _FORMS or not set(filed) & set(self.items):
                continue
            accession, _, document = str(hit.get("_id", "")).partition(":")
            accession = text_field(source, "adsh") or accession
            ciks = source.get("ciks") or []
            names = source.get("display_names") or []
            if not accession or not document or not ciks or not names:
                continue
            org = _display_name(str(names[0]))
            by_nature = CYBER_ITEM in filed
            summary = (
                f"{org} filed Form {form} with the SEC on {text_field(source, 'file_date')} "
                f"reporting {', '.join('Item ' + i for i in filed)}."
            )
            if not by_nature:
                summary += f' EDGAR full-text search matched "{self.phrase}".'
            items.append(
                Disclosure(
                    source=self.spec.name,
                    title=_title(org, form, filed, self.items),
                    url=filing_url(str(ciks[0]), accession, document),
                    published=iso_day(text_field(source, "file_date")),
                    summary=summary,
                    guid=accession,
                    organization=org,
                    evidence=Evidence.CONFIRMED,
                    incident_by_nature=by_nature,
                    language="en",
                    extra={"cik": str(int(str(ciks[0]))), "items": ",".join(filed)},
                )
            )
        return items


class EdgarFilingsScraper(PageScraper):
    """Item 1.05 8-K filings of each watched company that has a CIK or a ticker."""

    kind = "sec-filings"

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        self.tickers_url = str(spec.options.get("tickers_url", TICKERS_URL))

    def submissions_url(self, cik: str) -> str:
        return urljoin(self.spec.url, f"CIK{int(cik):010d}.json")

    async def collect(self, fetch: Fetch) -> list[Disclosure] | None:
        fetch = edgar_fetch(fetch)
        ciks = await self._ciks(fetch, self.spec.subjects)
        results: list[Disclosure] = []
        changed = False
        for cik, watched in ciks.items():
            page = await fetch(self.submissions_url(cik))
            if page is not None:
                changed = True
                results += [_for_subject(d, watched) for d in self.parse(page)]
        return results if changed or not ciks else None

    async def _ciks(self, fetch: Fetch, subjects: tuple[Subject, ...]) -> dict[str, str]:
        """Map each CIK to poll to the watched company it stands for."""
        found: dict[str, str] = {}
        for subject in subjects:
            if subject.cik:
                found.setdefault(subject.cik.lstrip("0") or "0", subject.name)
        wanted = {s.ticker.upper(): s.name for s in subjects if s.ticker and not s.cik}
        if wanted:
            page = await fetch(self.tickers_url, conditional=False)
            if page is not None:
                table = ticker_table(page)
                for ticker, name in sorted(wanted.items()):
                    if ticker in table:
                        found.setdefault(table[ticker], name)
        return found

    def parse(self, page: Page) -> list[Disclosure]:
        data = load_json(page)
        recent = data.get("filings", {}).get("recent") if isinstance(data, dict) else None
        if not isinstance(recent, dict):
            raise ParseError("submissions JSON has no filings.recent: the API may have changed")
        columns = ("form", "accessionNumber", "filingDate", "items", "primaryDocument")
        arrays: list[list[Any]] = []
        for column in columns:
            array = recent.get(column)
            if not isinstance(array, list):
                raise ParseError(f"submissions JSON lacks the filings.recent.{column} array")
            arrays.append(array)
        forms, accessions, dates, item_lists, documents = arrays
        if len({len(a) for a in arrays}) != 1:
            raise ParseError("submissions JSON arrays differ in length")
        cik = text_field(data, "cik")
        org = text_field(data, "name")
        accepted = recent.get("acceptanceDateTime") or [None] * len(forms)
        items: list[Disclosure] = []
        for i, form in enumerate(forms):
            filed = _items(item_lists[i])
            if form not in _FORMS or CYBER_ITEM not in filed:
                continue
            published = None
            when = accepted[i] if i < len(accepted) else None
            if isinstance(when, str):
                try:
                    published = datetime.fromisoformat(when.replace("Z", "+00:00")).astimezone(UTC)
                except ValueError:
                    published = None
            published = published or iso_day(str(dates[i]))
            items.append(
                Disclosure(
                    source=self.spec.name,
                    title=_title(org, form, filed, [CYBER_ITEM]),
                    url=filing_url(cik, accessions[i], documents[i]),
                    published=published,
                    summary=f"{org} filed Form {form} with the SEC on {dates[i]} reporting "
                    + ", ".join("Item " + x for x in filed)
                    + ".",
                    guid=str(accessions[i]),
                    organization=org,
                    evidence=Evidence.CONFIRMED,
                    incident_by_nature=True,
                    language="en",
                    extra={"cik": str(int(cik)), "items": ",".join(filed)},
                )
            )
        return items


def _for_subject(item: Disclosure, watched: str) -> Disclosure:
    # A parent often files for the watched company (UnitedHealth for Change Healthcare):
    # say whom the filing was fetched for, so the link is not lost.
    summary = item.summary
    if watched.casefold() not in (item.organization or "").casefold():
        summary += f" {item.organization} is the SEC filer watched for {watched}."
    return replace(item, summary=summary, extra={**item.extra, "subject": watched})


def ticker_table(page: Page) -> dict[str, str]:
    """Map tickers to CIKs from ``company_tickers.json`` (rows of cik_str, ticker, title)."""
    data = load_json(page)
    rows = data.values() if isinstance(data, dict) else data
    if not isinstance(rows, list) and not hasattr(rows, "__iter__"):
        raise ParseError("company_tickers.json is not an object of rows")
    table: dict[str, str] = {}
    for row in rows:
        if isinstance(row, dict) and row.get("ticker") and row.get("cik_str") is not None:
            table[str(row["ticker"]).upper()] = str(row["cik_str"])
    if not table:
        raise ParseError("company_tickers.json has no rows with cik_str and ticker")
    return table


def _utcnow() -> datetime:
    return datetime.now(UTC)
