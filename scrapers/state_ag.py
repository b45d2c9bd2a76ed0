"""US state attorney-general breach notification lists.

Every notice is the breached organization telling the state, so each record is
``confirmed`` evidence of an incident, with the organization's name as a field.

- ``ca-ag``: California's CSV export (``oag.ca.gov/privacy/databreach/list-export``),
  columns ``Organization Name``, ``Date(s) of Breach``, ``Reported Date``.
- ``wa-ag``: Washington's open-data JSON (Socrata dataset ``sb4j-ca4h``), fields
  ``name``, ``datesubmitted``, ``datestart``, ``washingtoniansaffected``, ...
- ``maine-ag``: Maine's HTML list, a table of reported date and organization linking
  to each notice's page, of which the newest few are read for their details.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from urllib.parse import urljoin

from bs4 import Tag

from scrapers.base import Fetch, Page, PageScraper, SourceSpec
from scrapers.dates import parse_date
from scrapers.errors import FetchError, ParseError
from scrapers.html import decode_html
from scrapers.models import Disclosure, Evidence
from scrapers.structured import expect_list, iso_day, load_json, read_csv, text_field
from scrapers.text import clean_text

MAX_ROWS = 300  # the lists run back years; the newest come first


def _notice(
    *,
    source: str,
    org: str,
    url: str,
    published: datetime | None,
    summary: str,
    guid: str,
    state: str,
) -> Disclosure:
    return Disclosure(
        source=source,
        title=f"{org} reports a data breach to the {state} Attorney General",
        url=url,
        published=published,
        summary=summary,
        guid=guid,
        organization=org,
        evidence=Evidence.CONFIRMED,
        incident_by_nature=True,
        language="en",
    )


class CaliforniaScraper(PageScraper):
    """California's breach list as CSV."""

    kind = "ca-ag"

    COLUMNS = ("Organization Name", "Date(s) of Breach", "Reported Date")
    LIST_URL = "https://oag.ca.gov/privacy/databreach/list"

    def parse(self, page: Page) -> list[Disclosure]:
        rows = read_csv(page, self.COLUMNS)
        if not rows:
            raise ParseError("California's CSV has a header but no rows")
        items: list[Disclosure] = []
        for row in rows[:MAX_ROWS]:
            org = clean_text(row["Organization Name"], 300)
            reported = row["Reported Date"]
            if not org or not reported:
                continue
            breach_dates = row["Date(s) of Breach"] or "not given"
            # The CSV carries no link per notice: point at the list (identity is the GUID).
            url = self.LIST_URL
            items.append(
                _notice(
                    source=self.spec.name,
                    org=org,
                    url=url,
                    published=parse_date(reported),
                    summary=f"Reported {reported}; date(s) of breach: {breach_dates}.",
                    guid=f"ca:{org}:{reported}",
                    state="California",
                )
            )
        return items


class WashingtonScraper(PageScraper):
    """Washington's breach notifications from the state's open-data API."""

    kind = "wa-ag"

    def parse(self, page: Page) -> list[Disclosure]:
        rows = expect_list(load_json(page), "Washington open data")
        if rows and not any(isinstance(r, dict) and "name" in r for r in rows):
            raise ParseError("Washington rows have no 'name' field: the dataset may have changed")
        items: list[Disclosure] = []
        for row in rows[:MAX_ROWS]:
            if not isinstance(row, dict):
                continue
            org = clean_text(text_field(row, "name"), 300)
            submitted = text_field(row, "datesubmitted")
            if not org or not submitted:
                continue
            facts = [f"Submitted {submitted[:10]}"]
            if text_field(row, "datestart"):
                facts.append(f"breach began {text_field(row, 'datestart')[:10]}")
            if text_field(row, "washingtoniansaffected"):
                facts.append(f"{text_field(row, 'washingtoniansaffected')} Washingtonians affected")
            cause = " / ".join(
                x
                for x in (text_field(row, "databreachcause"), text_field(row, "cyberattacktype"))
                if x
            )
            if cause:
                facts.append(f"cause: {cause}")
            ident = text_field(row, "id") or f"{org}:{submitted[:10]}"
            items.append(
                _notice(
                    source=self.spec.name,
                    org=org,
                    url="https://www.atg.wa.gov/data-breach-notifications",
                    published=iso_day(submitted),
                    summary="; ".join(facts) + ".",
                    guid=f"wa:{ident}",
                    state="Washington",
                )
            )
        return items


# The labels of a Maine notice page that are worth a line in the summary.
_MAINE_FIELDS = (
    ("Total number of persons affected", "persons affected"),
    ("Total number of Maine residents affected", "Maine residents affected"),
    ("Date(s) Breach Occur", "breach occurred"),
    ("Date Breach Discovered", "discovered"),
    ("Description of the Breach", "breach"),
    ("Information Acquired", "information acquired"),
)


def parse_maine_notice(page: Page) -> dict[str, str]:
    """The ``Label: value`` lines of one Maine notice page."""
    soup = decode_html(page)
    found = soup.find(id="content")
    content = found if isinstance(found, Tag) else soup
    # Each "Label: value" sits in its own list item, paragraph or row (the label often in
    # <strong>); a page of bare lines separated by <br> is read line by line instead.
    lines = [el.get_text(" ") for el in content.find_all(["li", "p", "tr", "dd"])]
    lines = lines or content.get_text("\n").splitlines()
    fields: dict[str, str] = {}
    for line in lines:
        label, sep, value = " ".join(line.split()).partition(":")
        if sep and label and value.strip() and len(label) < 120:
            fields.setdefault(label, clean_text(value, 500))
    return fields


def maine_summary(fields: dict[str, str]) -> str:
    """One sentence of the facts a notice page gives."""
    facts = []
    for prefix, name in _MAINE_FIELDS:
        value = next((v for k, v in fields.items() if k.startswith(prefix)), "")
        if value:
            facts.append(f"{name}: {value}")
    return "; ".join(facts) + "." if facts else ""


class MaineScraper(PageScraper):
    """Maine's list page: rows of reported date and organization, each linking to a notice.

    The newest ``details`` notices (default 5, 0 for none) are also fetched for the number
    of people affected, the dates and the information taken.
    """

    kind = "maine-ag"

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        details = spec.options.get("details", 5)
        if not isinstance(details, int) or not 0 <= details <= 50:
            raise ValueError("'details' must be a whole number from 0 to 50")
        self.details = details

    async def collect(self, fetch: Fetch) -> list[Disclosure] | None:
        page = await fetch(self.spec.url)
        if page is None:
            return None
        items = self.parse(page)
        for index, item in enumerate(items[: self.details]):
            try:
                notice = await fetch(item.url)
            except FetchError:
                continue  # the list entry stands on its own; the next poll may add detail
            if notice is not None:
                extra = maine_summary(parse_maine_notice(notice))
                if extra:
                    items[index] = replace(item, summary=f"{item.summary} {extra}")
        return items

    def parse(self, page: Page) -> list[Disclosure]:
        soup = decode_html(page)
        table = None
        for candidate in soup.find_all("table"):
            header = candidate.get_text(" ").casefold()
            if "organization" in header or "entity" in header:
                table = candidate
                break
        if not isinstance(table, Tag):
            raise ParseError(
                "Maine list has no table of organizations: the layout may have changed"
            )
        items: list[Disclosure] = []
        for row in table.find_all("tr")[: MAX_ROWS + 1]:
            cells = row.find_all("td")
            link = row.find("a", href=True)
            if len(cells) < 2 or not isinstance(link, Tag):
                continue
            org = clean_text(link.get_text(" "), 300)
            reported = clean_text(cells[0].get_text(" "), 40)
            if not org:
                continue
            url = urljoin(page.url, str(link["href"]))
            items.append(
                _notice(
                    source=self.spec.name,
                    org=org,
                    url=url,
                    published=parse_date(reported),
                    summary=f"Reported to the Maine Attorney General on {reported}.",
                    guid=url,
                    state="Maine",
                )
            )
        if not items:
            raise ParseError("Maine list table has no linked organizations")
        return items
