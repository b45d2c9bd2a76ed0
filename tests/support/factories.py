"""Builders of :class:`~scrapers.models.Disclosure` records the tests share."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapers.models import Disclosure, Evidence


def news(title: str, summary: str = "", url: str = "https://news.test/story") -> Disclosure:
    """A news item with this headline (and summary, link), for matching."""
    return Disclosure(source="news", title=title, url=url, summary=summary)


def story(n: int, title: str) -> Disclosure:
    """The ``n``-th story of a news feed, its own link and guid."""
    return Disclosure(source="news", title=title, url=f"https://news.example.org/{n}", guid=str(n))


def casio(
    n: int = 0, *, evidence: Evidence = Evidence.REPORTED, source: str = "the-record"
) -> Disclosure:
    """The ``n``-th report of Casio's 2024 ransomware attack."""
    return Disclosure(
        source=source,
        title=f"Casio says ransomware attack exposed employee data ({n})",
        url=f"https://therecord.media/casio-ransomware-{n}",
        published=datetime(2024, 10, 8, 12, 0, tzinfo=UTC),
        summary="Underground ransomware gang claimed the attack on the Japanese electronics maker.",
        evidence=evidence,
        language="en",
    )


def at(day: str) -> datetime:
    """Midnight UTC of an ISO day."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def item(
    title: str,
    day: str,
    *,
    url: str,
    guid: str | None = None,
    summary: str = "",
    evidence: Evidence = Evidence.REPORTED,
    nature: bool = False,
    source: str = "news",
) -> Disclosure:
    """A dated disclosure, its link as guid unless given one, for incident grouping."""
    return Disclosure(
        source=source,
        title=title,
        url=url,
        published=at(day),
        summary=summary,
        guid=guid or url,
        evidence=evidence,
        incident_by_nature=nature,
    )
