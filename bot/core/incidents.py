"""Group disclosures about the same event at the same company into one incident.

A disclosure joins an incident when it is the same story (the same link without tracking
parameters, or the same headline from another feed), when it names the month the incident
began ("the October ransomware attack"), when it arrives while the incident is still
active, or when it names the same intrusion group. A regulator notice or tracker entry
that arrives months later without a date joins the latest incident of the year. Otherwise
a new incident begins: Casio's 2023 ClassPad breach and its 2024 ransomware attack are two.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.core.matching import Match
from bot.core.normalize import fold
from bot.core.records import IncidentRow
from scrapers.models import Disclosure

# An incident stays open this long after its latest disclosure.
WINDOW = timedelta(days=90)
# Same story, dated reference or late regulator notice: looked for this far back.
HORIZON = timedelta(days=365)
# Headlines this alike (content words) are the same story through another feed.
SAME_STORY = 0.6

_STOP = frozenset(
    "a an the of to in on for and or at by with from as is are was were be has have had its "
    "it that this after over says said new its".split()
)
# Outlet names appended by aggregators ("... - BleepingComputer").
_OUTLET_TAIL = re.compile(r"\s[-|–—]\s[^-|–—]{2,40}$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# Capitalised only: "may" the verb is not May the month.
_MONTH_EN = re.compile(
    r"\b("
    + "|".join(m.capitalize() for m in sorted(_MONTHS, key=len, reverse=True))
    + r")\.?(?:\s+\d{1,2})?(?:,?\s+(20\d\d))?\b"
)
# Dates as breach portals write them: 09/27/2024 (US) and 2024-09-27.
_DATE_US = re.compile(r"\b(1[0-2]|0?[1-9])/(?:3[01]|[12]\d|0?[1-9])/(20\d\d)\b")
_DATE_ISO = re.compile(r"\b(20\d\d)-(1[0-2]|0[1-9])-(?:3[01]|[12]\d|0[1-9])\b")
# Named intrusion groups: the same group at the same company months apart is one story.
_ACTORS = re.compile(
    r"\b(?:lockbit|alphv|blackcat|cl0p|clop|rhysida|black ?basta|blacksuit|akira|qilin|"
    r"medusa|scattered spider|scattered lapsus\$? hunters|shinyhunters|lapsus\$?|"
    r"hunters international|dragonforce|ransomhub|8base|bianlian|cactus|everest|hellcat|"
    r"midnight blizzard|volt typhoon|salt typhoon|unc\d{4}|lazarus|karakurt|royal ransomware)\b",
    re.IGNORECASE,
)
_MONTH_JA = re.compile(r"(?:(20\d\d)年)?(1[0-2]|[1-9])月")


def tokens(text: str) -> set[str]:
    """Content words of a headline, folded, without an aggregator's outlet suffix."""
    text = _OUTLET_TAIL.sub("", text.strip())
    return {w for w in fold(text).split() if w not in _STOP and len(w) > 1}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the content words of two headlines."""
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def referenced_months(text: str, when: datetime) -> set[tuple[int, int]]:
    """The (year, month) pairs ``text`` refers to, a bare month taken as the latest one."""
    found: set[tuple[int, int]] = set()
    pairs: list[tuple[str | None, int]] = [
        (m.group(2), _MONTHS[m.group(1).lower()]) for m in _MONTH_EN.finditer(text)
    ]
    pairs += [(m.group(1), int(m.group(2))) for m in _MONTH_JA.finditer(text)]
    pairs += [(m.group(2), int(m.group(1))) for m in _DATE_US.finditer(text)]
    pairs += [(m.group(1), int(m.group(2))) for m in _DATE_ISO.finditer(text)]
    for year, month in pairs:
        if year:
            found.add((int(year), month))
        else:
            found.add((when.year if month <= when.month else when.year - 1, month))
    return found


def _start(incident: IncidentRow) -> tuple[int, int]:
    began = incident.published or incident.first_seen
    return (began.year, began.month)


class Ledger(Protocol):
    """What the rules read and write: a company's recent incidents, what each holds, a match.

    The store's incident repository is one; the rules never see more of the database.
    """

    async def recent_incidents(self, company_key: str, since: datetime) -> list[IncidentRow]:
        """Incidents of one company seen since ``since``, newest first."""
        ...

    async def incident_stories(self, incident_id: int) -> list[tuple[str, str, str]]:
        """The ``(url_key, title, summary)`` of every disclosure behind an incident."""
        ...

    async def record_match(
        self,
        disclosure: Disclosure,
        *,
        company_key: str,
        company_name: str,
        matched: Sequence[str],
        reason: str,
        incident_id: int | None,
        fingerprint: str = "",
        now: datetime | None = None,
    ) -> tuple[int, bool]:
        """Attach ``disclosure`` to ``incident_id`` (None: a new one); ``(id, created)``."""
        ...


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a disclosure went: its incident, whether new, and whether a repeat of a story."""

    incident_id: int
    created: bool
    # The same story the incident already holds (another feed's copy): nothing new to tell.
    repeat: bool = False


async def choose(
    ledger: Ledger, disclosure: Disclosure, company_key: str, now: datetime
) -> int | None:
    """Return the incident ``disclosure`` belongs to, or None for a new one."""
    incident_id, _ = await _choose(ledger, disclosure, company_key, now)
    return incident_id


async def _choose(
    ledger: Ledger, disclosure: Disclosure, company_key: str, now: datetime
) -> tuple[int | None, bool]:
    candidates = await ledger.recent_incidents(company_key, now - HORIZON)
    if not candidates:
        return None, False
    actors = {a.lower().replace(" ", "") for a in _ACTORS.findall(disclosure.text)}
    by_actor: int | None = None
    for incident in candidates:
        # A headline repeats within a news cycle; portals reuse one title for every notice.
        recent = now - incident.last_seen <= WINDOW
        for url_key, title, summary in await ledger.incident_stories(incident.id):
            if url_key == disclosure.url_key:
                return incident.id, True
            if recent and similarity(title, disclosure.title) >= SAME_STORY:
                return incident.id, True
            if by_actor is None and actors:
                theirs = {a.lower().replace(" ", "") for a in _ACTORS.findall(f"{title} {summary}")}
                if actors & theirs:
                    by_actor = incident.id
    when = disclosure.published or now
    months = referenced_months(disclosure.text, when)
    # Only months before the text's own: "in October" in an October story says little.
    older = {m for m in months if m < (when.year, when.month)}
    for incident in candidates:
        if _start(incident) in older:
            return incident.id, False
    newest = candidates[0]
    if now - newest.last_seen <= WINDOW:
        return newest.id, False
    if by_actor is not None:
        return by_actor, False
    if disclosure.incident_by_nature and not months:
        return newest.id, False
    return None, False


async def assign(
    ledger: Ledger, disclosure: Disclosure, match: Match, now: datetime
) -> tuple[int, bool]:
    """Attach ``disclosure`` to the incident it reports, or open a new one.

    Return ``(incident_id, created)``.
    """
    placed = await place(ledger, disclosure, match, now)
    return placed.incident_id, placed.created


async def place(ledger: Ledger, disclosure: Disclosure, match: Match, now: datetime) -> Placement:
    """Attach ``disclosure`` to the incident it reports, or open a new one, and say how."""
    company = match.company
    incident_id, repeat = await _choose(ledger, disclosure, company.key, now)
    stored_id, created = await ledger.record_match(
        disclosure,
        company_key=company.key,
        company_name=company.name,
        matched=match.matched,
        reason=match.reason,
        incident_id=incident_id,
        now=now,
    )
    return Placement(stored_id, created, repeat and not created)
