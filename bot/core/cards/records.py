"""Cards and extractions as plain JSON: what the store keeps and what alerts carry.

An extraction is stored once per disclosure (``disclosures.card``); an alert's payload
carries its incident's card as :func:`card_to_dict` writes it, which the embeds, the
filters and ``scan --json`` read. Reading is lenient: a field that is missing or of the
wrong type is read as not known, so an old or odd row never breaks an alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .card import STAGES, Card, Fact, Sighting, Stage, merge
from .dates import PartialDate
from .extract import EMPTY, Extraction, extract
from .numbers import Affected
from .vocab import ATTACKS, DATA_CATEGORIES

_KINDS = ("people", "records", "accounts")
_QUALIFIERS = ("exact", "approx", "at_least", "at_most")
_BASES = ("record", "stated", "claimed")


def _date(value: PartialDate | None) -> str | None:
    return str(value) if value else None


def _read_date(raw: Any) -> PartialDate | None:
    if not isinstance(raw, str):
        return None
    try:
        return PartialDate.parse(raw)
    except (TypeError, ValueError):
        return None


def extraction_to_dict(found: Extraction) -> dict[str, Any]:
    """One disclosure's extraction as JSON-ready values."""
    affected = found.affected
    return {
        "affected": None
        if affected is None
        else {
            "count": affected.count,
            "kind": affected.kind,
            "qualifier": affected.qualifier,
            "basis": affected.basis,
            "phrase": affected.phrase[:200],
        },
        "data": [c for c in DATA_CATEGORIES if c in found.data],
        "attack": found.attack,
        "actor": found.actor,
        "began": _date(found.began),
        "discovered": _date(found.discovered),
    }


def extraction_from_dict(raw: Any) -> Extraction:
    """Read :func:`extraction_to_dict`'s output back; anything unreadable is not known."""
    if not isinstance(raw, dict):
        return EMPTY
    affected = None
    count = raw.get("affected")
    if isinstance(count, dict) and isinstance(count.get("count"), int) and count["count"] > 0:
        affected = Affected(
            count["count"],
            count.get("kind") if count.get("kind") in _KINDS else None,
            str(count["qualifier"]) if count.get("qualifier") in _QUALIFIERS else "exact",
            str(count["basis"]) if count.get("basis") in _BASES else "stated",
            str(count.get("phrase") or ""),
        )
    data = raw.get("data")
    attack = raw.get("attack")
    actor = raw.get("actor")
    return Extraction(
        affected=affected,
        data=frozenset(c for c in data if c in DATA_CATEGORIES)
        if isinstance(data, list)
        else frozenset(),
        attack=attack if attack in ATTACKS else "unknown",
        actor=actor if isinstance(actor, str) and actor.strip() else None,
        began=_read_date(raw.get("began")),
        discovered=_read_date(raw.get("discovered")),
    )


def _iso(at: datetime) -> str:
    return at.isoformat()


def _fact(fact: Fact[Any], value: Any) -> dict[str, Any]:
    return {
        "value": value,
        "evidence": fact.evidence,
        "source": fact.source,
        "at": _iso(fact.at),
        "url": fact.url,
    }


def _stage(stage: Stage) -> dict[str, Any]:
    return {"stage": stage.stage, "at": _iso(stage.at), "source": stage.source, "url": stage.url}


def card_to_dict(card: Card) -> dict[str, Any]:
    """An incident's card as JSON-ready values, each field with who said it and when."""
    affected = card.affected
    return {
        "affected": None
        if affected is None
        else {
            **_fact(affected, affected.value.count),
            "kind": affected.value.kind,
            "qualifier": affected.value.qualifier,
        },
        "data": [_fact(f, f.value) for f in card.data],
        "attack": _fact(card.attack, card.attack.value) if card.attack else None,
        "actor": _fact(card.actor, card.actor.value) if card.actor else None,
        "began": _fact(card.began, str(card.began.value)) if card.began else None,
        "discovered": _fact(card.discovered, str(card.discovered.value))
        if card.discovered
        else None,
        "timeline": [_stage(s) for s in card.timeline],
    }


def affected_count(card: Any) -> int | None:
    """The card's count of affected, from :func:`card_to_dict`'s output (None if unknown)."""
    affected = card.get("affected") if isinstance(card, dict) else None
    value = affected.get("value") if isinstance(affected, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def data_categories(card: Any) -> frozenset[str]:
    """The card's data categories, from :func:`card_to_dict`'s output."""
    data = card.get("data") if isinstance(card, dict) else None
    if not isinstance(data, list):
        return frozenset()
    return frozenset(
        str(f["value"]) for f in data if isinstance(f, dict) and f.get("value") in DATA_CATEGORIES
    )


def fact_value(card: Any, name: str) -> str | None:
    """A card's ``attack``, ``actor``, ``began`` or ``discovered`` value, if known."""
    fact = card.get(name) if isinstance(card, dict) else None
    value = fact.get("value") if isinstance(fact, dict) else None
    return value if isinstance(value, str) and value else None


def speaker(evidence: str, source: str, company: str) -> str:
    """Who said it, as a reader names them: a confirmation is the company's word (its press
    page, its filing, its notice to a regulator); a report or a claim is its outlet's."""
    return company if evidence == "confirmed" and company else source


def sighting_of(row: Mapping[str, Any]) -> Sighting | None:
    """One stored disclosure of an incident (``store.sightings_of``' rows) as the card reads it.

    A disclosure stored before cards existed has no extraction: it is read now.
    """
    at = row.get("published") or row.get("first_seen")
    evidence = str(row.get("evidence") or "reported")
    if not isinstance(at, datetime) or evidence not in STAGES:
        return None
    stored = row.get("card")
    found = (
        extraction_from_dict(stored)
        if isinstance(stored, dict)
        else extract(str(row.get("title") or ""), str(row.get("summary") or ""), published=at)
    )
    source = str(row.get("source") or "")
    return Sighting(
        found, evidence, at, speaker(evidence, source, str(row.get("company") or "")),
        str(row.get("url") or ""),
    )  # fmt: skip


def card_of(rows: Iterable[Mapping[str, Any]], *, without: str | None = None) -> Card:
    """The card of an incident from its stored disclosures, leaving out the one ``without``."""
    sightings = [
        s for row in rows if row.get("id") != without or without is None
        if (s := sighting_of(row)) is not None
    ]  # fmt: skip
    return merge(sightings)


__all__ = [
    "affected_count",
    "card_of",
    "card_to_dict",
    "data_categories",
    "extraction_from_dict",
    "extraction_to_dict",
    "fact_value",
    "sighting_of",
    "speaker",
]
