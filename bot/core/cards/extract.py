"""Read one disclosure's card fields: affected, data, attack, actor, dates.

Pure: text (and the item's publication date, for years the text leaves out) in, a frozen
:class:`Extraction` out; no I/O, no clock. Structured fields of a regulator's or tracker's
record (HIBP ``PwnCount``/``DataClasses``, a Washington AG row, a leak-site group) are read
first and win over free text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from . import actors as _actors
from . import dates as _dates
from . import numbers as _numbers
from . import vocab as _vocab
from .dates import PartialDate
from .numbers import Affected
from .text import Sentences, prepare, words

_JA_SIGNAL = ("攻撃", "流出", "漏", "被害", "犯行", "不正", "件", "人")


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one disclosure says about its incident; empty fields when it does not say."""

    affected: Affected | None = None
    data: frozenset[str] = field(default_factory=frozenset)
    attack: str = "unknown"
    actor: str | None = None
    began: PartialDate | None = None
    discovered: PartialDate | None = None

    @property
    def empty(self) -> bool:
        """True when the disclosure says nothing a card can use."""
        return (self.affected is None and not self.data and self.attack == "unknown"
                and self.actor is None and self.began is None
                and self.discovered is None)  # fmt: skip


EMPTY = Extraction()

# Structured field names (lower-cased, punctuation dropped) -> what they hold. Names are
# matched by prefix: Maine's "Total number of persons affected (including residents)".
_COUNT_FIELDS = (("pwncount", _numbers.ACCOUNTS), ("totalnumberofpersonsaffected", _numbers.PEOPLE),
                 ("totalpersonsaffected", _numbers.PEOPLE), ("personsaffected", _numbers.PEOPLE),
                 ("individualsaffected", _numbers.PEOPLE), ("totalaffected", _numbers.PEOPLE),
                 ("numberaffected", _numbers.PEOPLE), ("washingtoniansaffected", _numbers.PEOPLE),
                 ("residentsaffected", _numbers.PEOPLE), ("affected", _numbers.PEOPLE))  # fmt: skip
_DATA_FIELDS = ("dataclasses", "informationacquired", "datatypes", "informationbreached",
                "typeofinformation", "datacompromised")  # fmt: skip
_ACTOR_FIELDS = ("group", "groupname", "actor", "threatactor")
_ATTACK_FIELDS = ("cause", "databreachcause", "cyberattacktype", "typeofbreach",
                  "descriptionofthebreach", "breachtype")  # fmt: skip
_BEGAN_FIELDS = ("breachdate", "datestart", "datesbreachoccurred", "datesbreachoccured",
                 "datebreachoccurred", "datesofbreach")  # fmt: skip
_DISCOVERED_FIELDS = ("dateaware", "datebreachdiscovered", "discovered")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _field_date(raw: str) -> PartialDate | None:
    match = re.search(r"((?:19|20)\d\d)-(\d\d)-(\d\d)|(\d{1,2})/(\d{1,2})/((?:19|20)\d\d)", raw)
    if not match:
        return None
    if match.group(1):
        return PartialDate(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return PartialDate(int(match.group(6)), int(match.group(4)), int(match.group(5)))


@dataclass
class _Fields:
    count: Affected | None = None
    data: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    actor: str | None = None
    began: PartialDate | None = None
    discovered: PartialDate | None = None


def _from_fields(fields: Mapping[str, object]) -> _Fields:
    out = _Fields()
    for name, raw in fields.items():
        key, value = _key(name), str(raw)
        if key.startswith(_DATA_FIELDS):
            out.data |= _vocab.data_in(prepare(value).lower())
        elif key.startswith(_ATTACK_FIELDS):
            out.kinds |= _vocab.attacks_in(prepare(value).lower())
        elif key in _ACTOR_FIELDS:
            out.actor = _actors.canonical(value) or out.actor
        elif key.startswith(_BEGAN_FIELDS):
            out.began = _field_date(value) or out.began
        elif key.startswith(_DISCOVERED_FIELDS):
            out.discovered = _field_date(value) or out.discovered
        else:
            kind = next(
                (k for prefix, k in _COUNT_FIELDS if key.startswith(prefix) or key == prefix), None
            )
            count = _numbers.parse_count(value) if kind else None
            if kind and count and (out.count is None or count > out.count.count):
                out.count = Affected(count, kind, "exact", "record", f"{name}: {value}")
    return out


def extract(
    title: str,
    summary: str = "",
    *,
    published: date | datetime | None = None,
    fields: Mapping[str, object] | None = None,
) -> Extraction:
    """Return what the disclosure ``title`` + ``summary`` (and its record ``fields``) say."""
    text = prepare(f"{title}\n{summary}" if summary else title)
    structured = _from_fields(fields) if fields else None
    low = text.lower()
    tokens = words(low)
    japanese = not low.isascii()
    digits = any(d in low for d in "0123456789")
    found = _vocab.hits(low)
    if (
        structured is None
        and not digits
        and "illion" not in low
        and not found
        and tokens.isdisjoint(_actors.TRIGGER_WORDS)
        and not (japanese and any(stem in low for stem in _JA_SIGNAL))
    ):
        return EMPTY  # fmt: skip
    day = published.date() if isinstance(published, datetime) else published
    sents = Sentences(text, low)

    counts = _numbers.counts_in(low, sents) if digits or "illion" in low else []
    data = _vocab.data_in(low, found, sents)
    attack = _vocab.attack_in(low, found, sents)
    actor: str | None = None
    began: list[PartialDate] = []
    discovered: list[PartialDate] = []
    find_actor = not tokens.isdisjoint(_actors.TRIGGER_WORDS) or (
        japanese and _actors.japanese_alias_in(low)
    )
    find_dates = not tokens.isdisjoint(_dates.MONTH_WORDS) or (
        digits and ("/" in low or "-" in low or (japanese and ("月" in low or "日" in low)))
    )
    if find_actor or find_dates:
        months = tokens & _dates.MONTH_WORDS
        actor_strong = False
        for lo, hi in sents.spans():
            sentence, original = low[lo:hi], text[lo:hi]
            if find_actor:
                for name, strong in _actors.actors_in(sentence, original):
                    if actor is None or (strong and not actor_strong):
                        actor, actor_strong = name, strong
            if find_dates:
                for role, value in _dates.dates_in(sentence, day, months):
                    (began if role == "began" else discovered).append(value)

    affected = None
    if counts:
        people = any(a.kind == _numbers.PEOPLE for a in counts)
        affected = _numbers.choose(low, sents, _numbers.org_values(low) if people else frozenset())
    if structured is not None:
        affected = structured.count or affected
        data |= structured.data
        if structured.kinds:
            attack = _vocab.pick_attack(structured.kinds | ({attack} - {"unknown"}))
        actor = structured.actor or actor
        began = [structured.began] if structured.began else began
        discovered = [structured.discovered] if structured.discovered else discovered
    return Extraction(
        affected=affected,
        data=frozenset(data),
        attack=attack,
        actor=actor,
        began=_dates.earliest(began),
        discovered=_dates.earliest(discovered),
    )
