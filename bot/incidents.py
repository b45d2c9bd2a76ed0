"""Group disclosures about the same event at the same company into one incident."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.matching import Match, normalize
from bot.store import Store
from scrapers.models import Disclosure

WINDOW = timedelta(days=21)
_WORD = re.compile(r"\w+")
_STOP = frozenset(
    "a an the of to in on for and or at by with from as is are was were be has have had its "
    "it that this after over says said new".split()
)


def _tokens(text: str) -> set[str]:
    return {w for w in _WORD.findall(normalize(text)) if w not in _STOP and len(w) > 2}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the content words of two headlines."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


async def assign(
    store: Store, disclosure: Disclosure, match: Match, now: datetime
) -> tuple[int, bool]:
    """Attach ``disclosure`` to the company's open incident, or open a new one.

    Return ``(incident_id, created)``. An incident stays open for :data:`WINDOW` after its
    last disclosure: within it, news about the same company and a breach is the same event.
    """
    company = match.company
    incident_id: int | None = None
    for incident in await store.recent_incidents(company.key, now - WINDOW):
        if disclosure.url_key in await store.incident_url_keys(incident.id):
            incident_id = incident.id
            break
        incident_id = incident.id  # the newest open incident of this company
        break
    return await store.record_match(
        disclosure,
        company_key=company.key,
        company_name=company.name,
        matched=match.matched,
        reason=match.reason,
        incident_id=incident_id,
        now=now,
    )
