"""The HHS Office for Civil Rights breach portal ("the wall of shame").

The page is a JSF data table; the breaches are in the page's second ``<table>``, with
columns name of covered entity, state, entity type, individuals affected, breach
submission date, type of breach and location of breached information.
"""

from __future__ import annotations

from bs4 import Tag

from scrapers.base import Page, PageScraper
from scrapers.dates import parse_date
from scrapers.errors import ParseError
from scrapers.html import decode_html
from scrapers.models import Disclosure, Evidence
from scrapers.text import clean_text

PORTAL = "https://ocrportal.hhs.gov/ocr/breach/breach_report.jsf"


class HhsBreachPortalScraper(PageScraper):
    """Breaches of health information affecting 500 or more people."""

    kind = "hhs-ocr"

    def parse(self, page: Page) -> list[Disclosure]:
        soup = decode_html(page)
        tables = soup.find_all("table")
        if len(tables) < 2:
            raise ParseError(
                f"HHS portal page has {len(tables)} table(s), expected the breach table second"
            )
        table = tables[1]
        assert isinstance(table, Tag)
        header = [clean_text(th.get_text(" ")).casefold() for th in table.find_all("th")]
        try:
            col_name = next(i for i, h in enumerate(header) if "covered entity" in h)
            col_date = next(i for i, h in enumerate(header) if "submission date" in h)
        except StopIteration:
            raise ParseError(
                "HHS breach table lacks the covered-entity or submission-date column"
            ) from None

        def col(word: str) -> int | None:
            return next((i for i, h in enumerate(header) if word in h), None)

        col_state, col_count, col_type = col("state"), col("affected"), col("type of breach")
        items: list[Disclosure] = []
        for row in table.find_all("tr"):
            cells = [clean_text(td.get_text(" ")) for td in row.find_all("td")]
            if len(cells) <= max(col_name, col_date):
                continue
            org, submitted = cells[col_name], cells[col_date]
            if not org:
                continue

            def cell(i: int | None, cells: list[str] = cells) -> str:
                return cells[i] if i is not None and i < len(cells) else ""

            kind = cell(col_type)
            summary = (
                f"Reported to HHS OCR on {submitted}: {kind or 'breach'} affecting "
                f"{cell(col_count) or 'an unstated number of'} individuals"
                + (f" ({cell(col_state)})" if cell(col_state) else "")
                + "."
            )
            items.append(
                Disclosure(
                    source=self.spec.name,
                    title=f"{org} reports a health data breach to HHS ({kind or 'breach'})",
                    url=PORTAL,
                    published=parse_date(submitted),
                    summary=summary,
                    guid=f"hhs:{org}:{submitted}",
                    organization=org,
                    evidence=Evidence.CONFIRMED,
                    incident_by_nature=True,
                    language="en",
                )
            )
        if not items:
            raise ParseError("HHS breach table has no rows")
        return items
