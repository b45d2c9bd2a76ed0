"""Queue alerts and updates straight into the outbox, as the pipeline would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.store import Store
from scrapers.models import Disclosure, Evidence
from tests.support.crashrig import HEADLINES, slug


async def queue_alert(
    store: Store,
    targets: Sequence[str],
    company: str,
    *,
    n: int = 0,
    evidence: Evidence = Evidence.REPORTED,
    incident: int | None = None,
    now: datetime | None = None,
) -> tuple[int, str]:
    """Queue one disclosure about ``company`` for ``targets``: the alert that opens an
    incident, or with ``incident`` an update of it. Returns (incident id, link)."""
    url = f"https://news.example.org/2024/10/{slug(company)}-{n}"
    item = Disclosure(
        source="security-news",
        title=HEADLINES[n % len(HEADLINES)].format(company),
        url=url,
        published=datetime(2024, 10, 8, 12, 0, tzinfo=UTC),
        evidence=evidence,
    )
    await store.add_disclosures([item], now=now)
    incident_id, created = await store.record_match(
        item,
        company_key=slug(company),
        company_name=company,
        matched=[company],
        reason=f"names '{company}'",
        incident_id=incident,
        now=now,
    )
    kind = "alert" if created else "update"
    payload = {
        "kind": kind,
        "incident": incident_id,
        "company": company,
        "title": item.title,
        "url": url,
        "source": item.source,
        "disclosure_evidence": evidence.value,
        "evidence": evidence.value,
        "sources": [{"source": item.source, "url": url, "evidence": evidence.value}],
    }
    for target in targets:
        await store.enqueue(
            target,
            incident_id=incident_id,
            disclosure_id=item.identity,
            payload=payload,
            kind=kind,
            now=now,
        )
    return incident_id, url
