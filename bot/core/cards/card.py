"""An incident's card: its disclosures' fields merged, with a timeline and a diff.

Evidence decides first: a confirmed count (the company or a regulator) wins over a
reported one, a reported one over a claim; among equals the largest count wins. Data
categories accumulate. Attack and actor go to the kind or group with the strongest
evidence, then the most disclosures, then the earliest; plain "unauthorized access" yields
to any specific kind, since every attack is one (Change Healthcare's 8-K said "gained
access", the press then said ransomware). The timeline keeps the first
claim, the first report and the first confirmation, each with its time and source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from .dates import PartialDate
from .extract import Extraction
from .numbers import Affected
from .vocab import DATA_CATEGORIES

T = TypeVar("T")

STAGES = ("claimed", "reported", "confirmed")
_RANK = {stage: rank for rank, stage in enumerate(STAGES)}

DATA_WORDS = {
    "names": "names", "contact": "contact details", "government_id": "government IDs",
    "financial": "financial data", "health": "health data", "credentials": "credentials",
    "biometric": "biometrics", "dob": "dates of birth", "employee_records": "employee records",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Sighting:
    """One disclosure of the incident as the card reads it."""

    extraction: Extraction
    evidence: str  # "claimed" | "reported" | "confirmed" (scrapers' Evidence values)
    at: datetime  # when it was published, or first seen
    source: str  # who said it, as a reader names them: "Casio", "BleepingComputer"
    url: str = ""

    def __post_init__(self) -> None:
        if self.evidence not in _RANK:
            raise ValueError(f"evidence must be one of {STAGES}, not {self.evidence!r}")


@dataclass(frozen=True, slots=True)
class Fact(Generic[T]):
    """A field's value and the disclosure that gave it."""

    value: T
    evidence: str
    source: str
    at: datetime
    url: str = ""


@dataclass(frozen=True, slots=True)
class Stage:
    """A timeline entry: the first claim, the first report or the first confirmation."""

    stage: str
    at: datetime
    source: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Card:
    """What an incident's disclosures say, merged."""

    affected: Fact[Affected] | None = None
    data: tuple[Fact[str], ...] = ()  # one per category, in vocabulary order
    attack: Fact[str] | None = None  # None: unknown
    actor: Fact[str] | None = None
    began: Fact[PartialDate] | None = None
    discovered: Fact[PartialDate] | None = None
    timeline: tuple[Stage, ...] = ()

    @property
    def categories(self) -> frozenset[str]:
        """The data categories involved."""
        return frozenset(fact.value for fact in self.data)

    @property
    def attack_kind(self) -> str:
        """The attack kind, "unknown" when no disclosure says."""
        return self.attack.value if self.attack else "unknown"

    def stage(self, name: str) -> Stage | None:
        """Return the timeline entry ``name`` ("claimed", "reported", "confirmed"), if any."""
        return next((s for s in self.timeline if s.stage == name), None)


@dataclass(frozen=True, slots=True)
class Change:
    """One thing that differs between two versions of a card, said for a reader."""

    field: str  # "affected" | "data" | "attack" | "actor" | "began" | "discovered" | a stage
    text: str  # "confirmed by Casio: 8,500 people"
    who: str = ""  # "confirmed by Casio": the part naming a source (scraped text)
    what: str = ""  # "8,500 people"


def _effective(sighting: Sighting, claimed: bool = False) -> str:
    # A count the text attributes to the attackers is a claim, whoever prints it.
    return "claimed" if claimed else sighting.evidence


def _fact(value: T, sighting: Sighting, evidence: str | None = None) -> Fact[T]:
    return Fact(value, evidence or sighting.evidence, sighting.source, sighting.at, sighting.url)


def _vote(candidates: list[tuple[str, Sighting]]) -> Fact[str] | None:
    """Strongest evidence, then the most disclosures, then the earliest."""
    if not candidates:
        return None
    ranks: dict[str, int] = {}
    counts: dict[str, int] = {}
    for value, sighting in candidates:
        ranks[value] = max(ranks.get(value, -1), _RANK[sighting.evidence])
        counts[value] = counts.get(value, 0) + 1
    # candidates arrive in time order: the first sighting at a value's best rank speaks for it
    speaker: dict[str, Sighting] = {}
    for value, sighting in candidates:
        if _RANK[sighting.evidence] == ranks[value]:
            speaker.setdefault(value, sighting)
    value = max(ranks, key=lambda v: (ranks[v], counts[v], -speaker[v].at.timestamp()))
    return _fact(value, speaker[value])


def _date(candidates: list[tuple[PartialDate, Sighting]]) -> Fact[PartialDate] | None:
    """Strongest evidence, then the earliest; a weaker source's day refines the same month."""
    if not candidates:
        return None
    top = max(_RANK[s.evidence] for _, s in candidates)
    strongest = [(d, s) for d, s in candidates if _RANK[s.evidence] == top]
    value, sighting = min(
        strongest, key=lambda c: ((c[0].year, c[0].month, c[0].day or 32), c[1].at)
    )
    if not value.day:
        same_month = [
            (d, s)
            for d, s in candidates
            if (d.year, d.month) == (value.year, value.month) and d.day
        ]
        if same_month:
            value, sighting = min(same_month, key=lambda c: (c[0].day, c[1].at))
    return _fact(value, sighting)


def merge(sightings: Iterable[Sighting]) -> Card:
    """Return the card of an incident from all its disclosures (in any order)."""
    ordered = sorted(sightings, key=lambda s: (s.at, s.source, s.url))
    affected: tuple[tuple[int, int], Fact[Affected]] | None = None
    data: dict[str, Fact[str]] = {}
    attacks: list[tuple[str, Sighting]] = []
    actors: list[tuple[str, Sighting]] = []
    began: list[tuple[PartialDate, Sighting]] = []
    discovered: list[tuple[PartialDate, Sighting]] = []
    stages: dict[str, Stage] = {}
    for sighting in ordered:
        found = sighting.extraction
        stages.setdefault(
            sighting.evidence, Stage(sighting.evidence, sighting.at, sighting.source, sighting.url)
        )
        if found.affected is not None:
            evidence = _effective(sighting, found.affected.basis == "claimed")
            key = (_RANK[evidence], found.affected.count)
            if affected is None or key > affected[0]:
                affected = (key, _fact(found.affected, sighting, evidence))
        for category in found.data:
            known = data.get(category)
            if known is None or _RANK[sighting.evidence] > _RANK[known.evidence]:
                data[category] = _fact(category, sighting)
        if found.attack != "unknown":
            attacks.append((found.attack, sighting))
        if found.actor is not None:
            actors.append((found.actor, sighting))
        if found.began is not None:
            began.append((found.began, sighting))
        if found.discovered is not None:
            discovered.append((found.discovered, sighting))
    return Card(
        affected=affected[1] if affected else None,
        data=tuple(data[c] for c in DATA_CATEGORIES if c in data),
        attack=_vote([a for a in attacks if a[0] != "unauthorized_access"] or attacks),
        actor=_vote(actors),
        began=_date(began),
        discovered=_date(discovered),
        timeline=tuple(sorted(stages.values(), key=lambda s: (s.at, _RANK[s.stage]))),
    )


def describe_affected(affected: Affected) -> str:
    """Say a count for a reader: "8,500 people", "49,000,000 records", "about 4,160,000 people"."""
    qualifier = {"approx": "about ", "at_least": "at least ", "at_most": "up to "}.get(
        affected.qualifier, ""
    )
    return f"{qualifier}{affected.count:,} {affected.kind or 'affected'}"


def _by(fact: Fact[T]) -> str:
    return f"{fact.evidence} by {fact.source}"


def diff(old: Card | None, new: Card) -> tuple[Change, ...]:
    """Return what changed from ``old`` to ``new``, most important first, for an in-place edit."""
    old = old or Card()
    changes: list[Change] = []
    new_confirmed, old_confirmed = new.stage("confirmed"), old.stage("confirmed")
    folded = False
    if new.affected and (
        old.affected is None
        or new.affected.value.count != old.affected.value.count
        or new.affected.evidence != old.affected.evidence
    ):
        who, what = _by(new.affected), describe_affected(new.affected.value)
        changes.append(Change("affected", f"{who}: {what}", who, what))
        folded = bool(
            new_confirmed
            and new.affected.evidence == "confirmed"
            and new.affected.source == new_confirmed.source
        )
    if new_confirmed and old_confirmed is None and not folded:
        who = f"confirmed by {new_confirmed.source}"
        changes.insert(0, Change("confirmed", who, who))
    added = [f for f in new.data if f.value not in old.categories]
    if added:
        by_source: dict[str, list[str]] = {}
        for fact in added:
            by_source.setdefault(_by(fact), []).append(DATA_WORDS[fact.value])
        for who, words in by_source.items():
            changes.append(Change("data", f"{who}: {', '.join(words)}", who, ", ".join(words)))
    if new.attack and new.attack_kind != old.attack_kind:
        who, what = _by(new.attack), new.attack.value.replace("_", " ")
        changes.append(Change("attack", f"{who}: {what}", who, what))
    if new.actor and (old.actor is None or new.actor.value != old.actor.value):
        actor = new.actor
        if actor.evidence == "claimed":
            who, what = f"claimed by {actor.value} ({actor.source})", ""
        else:
            who, what = _by(actor), f"attributed to {actor.value}"
        changes.append(Change("actor", f"{who}: {what}" if what else who, who, what))
    for name in ("began", "discovered"):
        fact, before = getattr(new, name), getattr(old, name)
        if fact and (before is None or fact.value != before.value):
            who, what = _by(fact), f"{name} {fact.value}"
            changes.append(Change(name, f"{who}: {what}", who, what))
    return tuple(changes)
