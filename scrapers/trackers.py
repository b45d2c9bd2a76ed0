"""Breach and ransomware trackers: what leak sites claim, and what breach lists hold.

- ``ransomware-live``: ``api.ransomware.live/v2/recentvictims`` (fields ``victim``,
  ``group``, ``attackdate``, ``discovered``, ``domain``, ``country``, ``description``,
  ``claim_url``, ``url``, ...).
- ``ransomlook``: ``www.ransomlook.io/api/recent`` (``post_title``, ``discovered``,
  ``description``, ``link``, ``group_name``).
- ``hibp``: Have I Been Pwned's public breach list (``/api/v3/breaches``).

Leak-site posts are ``claimed`` evidence. Leak sites often mask a victim's name
(``Micros***``) to pressure it; a masked name is not a name, so such posts are dropped
rather than offered to matching, where a prefix could match the wrong company.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from scrapers.base import Page, PageScraper
from scrapers.dates import parse_date
from scrapers.errors import ParseError
from scrapers.models import Disclosure, Evidence
from scrapers.structured import expect_list, load_json, text_field
from scrapers.text import clean_text

_MASK = re.compile(r"\*{2,}|\*$|^\*|[\u2022\u25cf]{2,}|#{3,}|x{4,}$", re.IGNORECASE)


def is_masked(name: str) -> bool:
    """Whether a leak-site victim name is partly hidden (``Micros***``, ``****soft``)."""
    return bool(_MASK.search(name.strip()))


def _is_web_link(url: str) -> bool:
    # Leak sites' own .onion addresses open only in Tor: link the tracker's page instead.
    host = urlsplit(url).hostname or ""
    return url.startswith(("http://", "https://")) and not host.endswith(".onion")


def _when(value: str) -> datetime | None:
    # Trackers write "2024-10-15 08:12:45.123456" (UTC, no zone) or ISO 8601.
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parse_date(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _victim_disclosure(
    *,
    source: str,
    victim: str,
    group: str,
    when: str,
    url: str,
    description: str,
    extra: dict[str, str],
) -> Disclosure:
    return Disclosure(
        source=source,
        title=f"{group} ransomware group claims {victim} as a victim",
        url=url,
        published=_when(when),
        summary=clean_text(description),
        guid=f"{group}:{victim}".casefold(),
        organization=victim,
        evidence=Evidence.CLAIMED,
        incident_by_nature=True,
        language="en",
        extra=extra,
    )


class RansomwareLiveScraper(PageScraper):
    """Recent victims posted on ransomware leak sites, as ransomware.live records them."""

    kind = "ransomware-live"

    def parse(self, page: Page) -> list[Disclosure]:
        rows = expect_list(load_json(page), "ransomware.live recent victims")
        if rows and not any(isinstance(r, dict) and "victim" in r for r in rows):
            raise ParseError(
                "ransomware.live rows have no 'victim' field: the API may have changed"
            )
        items: list[Disclosure] = []
        for row in rows:
            if not isinstance(row, dict):
                continue
            victim = clean_text(text_field(row, "victim"), 200)
            group = clean_text(text_field(row, "group"), 80)
            if not victim or not group or is_masked(victim):
                continue
            url = text_field(row, "url")
            if not _is_web_link(url):
                url = f"https://www.ransomware.live/group/{quote(group)}#{quote(victim)}"
            extra = {
                k: text_field(row, k)
                for k in ("domain", "country", "activity")
                if text_field(row, k)
            }
            items.append(
                _victim_disclosure(
                    source=self.spec.name,
                    victim=victim,
                    group=group,
                    when=text_field(row, "discovered") or text_field(row, "attackdate"),
                    url=url,
                    description=text_field(row, "description"),
                    extra=extra,
                )
            )
        return items


class RansomLookScraper(PageScraper):
    """Recent leak-site posts as RansomLook records them."""

    kind = "ransomlook"

    def parse(self, page: Page) -> list[Disclosure]:
        rows = expect_list(load_json(page), "RansomLook recent posts")
        if rows and not any(isinstance(r, dict) and "post_title" in r for r in rows):
            raise ParseError("RansomLook rows have no 'post_title' field: the API may have changed")
        items: list[Disclosure] = []
        for row in rows:
            if not isinstance(row, dict):
                continue
            victim = clean_text(text_field(row, "post_title"), 200)
            group = clean_text(text_field(row, "group_name"), 80)
            if not victim or not group or is_masked(victim):
                continue
            link = text_field(row, "link")
            url = (
                link
                if _is_web_link(link)
                else (f"https://www.ransomlook.io/group/{quote(group)}#{quote(victim)}")
            )
            items.append(
                _victim_disclosure(
                    source=self.spec.name,
                    victim=victim,
                    group=group,
                    when=text_field(row, "discovered"),
                    url=url,
                    description=text_field(row, "description"),
                    extra={},
                )
            )
        return items


class HaveIBeenPwnedScraper(PageScraper):
    """Have I Been Pwned's breach list; fabricated and spam-list entries are skipped."""

    kind = "hibp"

    def parse(self, page: Page) -> list[Disclosure]:
        rows = expect_list(load_json(page), "Have I Been Pwned breaches")
        if rows and not any(isinstance(r, dict) and "Name" in r for r in rows):
            raise ParseError("HIBP rows have no 'Name' field: the API may have changed")
        items: list[Disclosure] = []
        for row in rows:
            if not isinstance(row, dict) or row.get("IsFabricated") or row.get("IsSpamList"):
                continue
            name = text_field(row, "Name")
            title = clean_text(text_field(row, "Title") or name, 200)
            if not name or not title:
                continue
            classes = row.get("DataClasses") or []
            count = row.get("PwnCount")
            summary = clean_text(text_field(row, "Description"))
            facts = []
            if isinstance(count, int):
                facts.append(f"{count:,} accounts")
            if text_field(row, "BreachDate"):
                facts.append(f"breached {text_field(row, 'BreachDate')}")
            if isinstance(classes, list) and classes:
                facts.append("exposed: " + ", ".join(str(c) for c in classes[:8]))
            extra: dict[str, Any] = {}
            if text_field(row, "Domain"):
                extra["domain"] = text_field(row, "Domain")
            items.append(
                Disclosure(
                    source=self.spec.name,
                    title=f"{title} data breach added to Have I Been Pwned",
                    url=f"https://haveibeenpwned.com/breach/{quote(name)}",
                    published=_when(text_field(row, "AddedDate")),
                    summary=("; ".join(facts) + ". " + summary).strip(),
                    guid=f"hibp:{name}",
                    organization=title,
                    # HIBP has checked the data; it still is not the company speaking.
                    evidence=Evidence.REPORTED if row.get("IsVerified") else Evidence.CLAIMED,
                    incident_by_nature=True,
                    language="en",
                    extra=extra,
                )
            )
        return items
