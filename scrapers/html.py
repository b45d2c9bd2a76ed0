"""Press-release list pages, read with CSS selectors from the source's entry."""

from __future__ import annotations

import warnings
from urllib.parse import urljoin

import soupsieve
from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning
from lxml import etree

from scrapers.base import Page, PageScraper, SourceSpec
from scrapers.dates import parse_date
from scrapers.errors import ParseError
from scrapers.models import Disclosure, Evidence
from scrapers.text import clean_text

MAX_ITEMS = 500  # a list page with more is cut: the newest come first on press pages
# A BeautifulSoup tree costs about a kilobyte per element; a hostile page of 100,000 items
# would take hundreds of megabytes and half a minute. Beyond this many elements the page
# is cut (in document order, so the newest items on a press page are kept).
MAX_ELEMENTS = 20_000


def decode_html(page: Page) -> BeautifulSoup:
    """Parse ``page`` as HTML, trusting the header charset, else the page's own meta tag."""
    # BeautifulSoup sniffs <meta charset> and BOMs when given bytes; a header charset wins.
    body, encoding = page.body, page.encoding
    if body.count(b"<") > 2 * MAX_ELEMENTS:
        body, encoding = _first_elements(body, encoding, MAX_ELEMENTS)
    with warnings.catch_warnings():
        # XHTML pages (JSF portals) open with an XML declaration yet are HTML to read.
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return BeautifulSoup(body, "lxml", from_encoding=encoding)


def _first_elements(body: bytes, encoding: str | None, limit: int) -> tuple[bytes, str]:
    """Keep about the first ``limit`` elements of a huge page, parsed by lxml alone."""
    parser = etree.HTMLPullParser(events=("start",), encoding=encoding)
    seen = 0
    for start in range(0, len(body), 32768):
        parser.feed(body[start : start + 32768])
        seen += sum(1 for _ in parser.read_events())
        if seen > limit:
            break
    root = parser.close()
    return etree.tostring(root, method="html", encoding="utf-8"), "utf-8"


class PressPageScraper(PageScraper):
    """A list of news items: ``item``, ``title``, ``link`` and optional ``date``, ``summary``."""

    kind = "html"

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        for key in ("item", "title"):
            if not isinstance(spec.options.get(key), str) or not spec.options[key].strip():
                raise ValueError(f"an html source needs a CSS selector in {key!r}")
        for key in ("item", "title", "link", "date", "summary"):
            selector = spec.options.get(key)
            if selector is None:
                continue
            if not isinstance(selector, str):
                raise ValueError(f"{key!r} must be a CSS selector string")
            try:
                # Refused when the configuration loads, not at the first poll.
                soupsieve.compile(selector)
            except soupsieve.SelectorSyntaxError as exc:
                raise ValueError(
                    f"bad CSS selector in {key!r}: {str(exc).splitlines()[0]}"
                ) from None
        self.item = spec.options["item"]
        self.title = spec.options["title"]
        self.link = spec.options.get("link")
        self.date = spec.options.get("date")
        self.summary = spec.options.get("summary")
        self.evidence = Evidence(spec.options.get("evidence", Evidence.CONFIRMED))
        self.organization = spec.options.get("organization")

    def parse(self, page: Page) -> list[Disclosure]:
        soup = decode_html(page)
        try:
            # A hostile page may hold 100,000 items; never collect more than we keep.
            nodes = soup.select(self.item, limit=MAX_ITEMS)
        except Exception as exc:  # soupsieve raises its own SelectorSyntaxError
            raise ParseError(f"bad item selector {self.item!r}: {exc}") from None
        if not nodes:
            raise ParseError(
                f"no element matches the item selector {self.item!r}: the page layout may "
                "have changed"
            )
        base = page.url
        base_tag = soup.find("base", href=True)
        if isinstance(base_tag, Tag):
            base = urljoin(page.url, str(base_tag["href"]))
        items: list[Disclosure] = []
        for node in nodes:
            title_node = node.select_one(self.title)
            if title_node is None:
                continue
            title = clean_text(title_node.get_text(" "), 500)
            href = self._href(node, title_node)
            if not title or not href:
                continue
            published = None
            if self.date:
                date_node = node.select_one(self.date)
                if date_node is not None:
                    published = parse_date(
                        str(date_node.get("datetime") or "") or date_node.get_text(" ")
                    )
            summary = ""
            if self.summary:
                summary_node = node.select_one(self.summary)
                if summary_node is not None:
                    summary = clean_text(summary_node.get_text(" "))
            items.append(
                Disclosure(
                    source=self.spec.name,
                    title=title,
                    url=urljoin(base, href),
                    published=published,
                    summary=summary,
                    evidence=self.evidence,
                    organization=self.organization,
                    language=self.spec.options.get("language"),
                )
            )
        if not items:
            raise ParseError(
                f"{len(nodes)} items matched {self.item!r} but none had a title "
                f"({self.title!r}) and a link"
            )
        return items

    def _href(self, node: Tag, title_node: Tag) -> str | None:
        candidates: list[Tag] = []
        if self.link:
            link_node = node.select_one(self.link)
            if link_node is not None:
                candidates.append(link_node)
        else:
            candidates += [title_node, node]
        for candidate in candidates:
            if candidate.name == "a" and candidate.get("href"):
                return str(candidate["href"]).strip()
            inner = candidate.find("a", href=True)
            if isinstance(inner, Tag):
                return str(inner["href"]).strip()
            parent = candidate.find_parent("a", href=True)
            if isinstance(parent, Tag) and candidate is title_node:
                return str(parent["href"]).strip()
        return None
