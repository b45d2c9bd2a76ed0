"""Filters a channel or a webhook sets on cards: at least N affected, or some kinds of data.

``min_affected``: only incidents whose card counts at least that many affected. An
incident whose count is not known yet is held back by default (``unknown_affected =
"hold"``): most first reports and leak-site claims give no count, and a filter set to hear
only of large breaches would otherwise hear of all of them. When a later disclosure gives a
count that passes, the incident is announced then, as a new alert. ``unknown_affected =
"alert"`` lets the unknown through instead.

``data``: only incidents whose card lists at least one of these categories; an incident
with no known data categories does not pass until a disclosure names one.

Both filters apply to a target that has not been told of the incident yet; once told, it
hears every update, so the alert it has stays accurate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from .records import affected_count, data_categories
from .vocab import DATA_CATEGORIES

UNKNOWN_CHOICES: Final = ("hold", "alert")

# What people write for each category, beside its own name.
_DATA_ALIASES: Final = {
    "name": "names", "full_names": "names",
    "contacts": "contact", "email": "contact", "emails": "contact", "phone": "contact",
    "address": "contact", "addresses": "contact", "contact_details": "contact",
    "government": "government_id", "gov_id": "government_id", "govid": "government_id",
    "government_ids": "government_id", "id": "government_id", "ids": "government_id",
    "ssn": "government_id", "ssns": "government_id", "passport": "government_id",
    "passports": "government_id", "my_number": "government_id", "mynumber": "government_id",
    "finance": "financial", "finances": "financial", "payment": "financial",
    "payments": "financial", "bank": "financial", "banking": "financial", "card": "financial",
    "cards": "financial", "credit_card": "financial", "credit_cards": "financial",
    "payment_card": "financial", "payment_cards": "financial", "bank_accounts": "financial",
    "medical": "health", "phi": "health", "health_data": "health",
    "credential": "credentials", "password": "credentials", "passwords": "credentials",
    "logins": "credentials", "login": "credentials",
    "biometrics": "biometric", "fingerprints": "biometric",
    "birth": "dob", "birthdate": "dob", "birthdates": "dob", "date_of_birth": "dob",
    "dates_of_birth": "dob", "birthday": "dob",
    "employee": "employee_records", "employees": "employee_records",
    "employee_data": "employee_records", "staff": "employee_records", "hr": "employee_records",
}  # fmt: skip
_SEPARATORS = re.compile(r"\s*(?:[,;|/+]|\band\b|\bor\b)\s*")
_SCALES: Final = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000,
                  "mn": 1_000_000, "b": 1_000_000_000, "bn": 1_000_000_000,
                  "billion": 1_000_000_000}  # fmt: skip
_COUNT = re.compile(r"^(\d[\d,_ ]*(?:\.\d+)?)\s*([a-z]+)?$")
MAX_COUNT: Final = 10_000_000_000  # more people than there are


def parse_data(text: str | Iterable[str]) -> frozenset[str]:
    """Read categories as people write them ("health, government ID"); ValueError if unknown."""
    words = [text] if isinstance(text, str) else list(text)
    found: set[str] = set()
    unknown: list[str] = []
    for chunk in words:
        if not isinstance(chunk, str):
            raise ValueError(f"data categories must be words, not {chunk!r}")
        for raw in _SEPARATORS.split(chunk.strip().lower()):
            word = re.sub(r"[\s-]+", "_", raw.strip(" .'\""))
            if not word:
                continue
            category = word if word in DATA_CATEGORIES else _DATA_ALIASES.get(word)
            if category is None:
                unknown.append(raw.strip())
            else:
                found.add(category)
    if unknown:
        raise ValueError(
            f"unknown data categor{'ies' if len(unknown) > 1 else 'y'} "
            f"{', '.join(repr(u) for u in unknown)}; use {', '.join(DATA_CATEGORIES)}"
        )
    return frozenset(found)


def parse_count(value: Any) -> int | None:
    """Read a threshold: 10000, "10,000", "10k", "1.5 million"; 0, "", "none" or "off" is none."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError("a number of people, not true or false")
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "none", "off", "0", "no"):
            return None
        match = _COUNT.match(text)
        if match is None or (match.group(2) and match.group(2) not in _SCALES):
            raise ValueError(f"not a number of people: {value!r} (write 10000, 10k or 1.5m)")
        digits = float(re.sub(r"[,_ ]", "", match.group(1)))
        number = round(digits * _SCALES.get(match.group(2) or "", 1))
    else:
        raise ValueError(f"not a number of people: {value!r}")
    if number < 0 or number > MAX_COUNT:
        raise ValueError(f"a number of people from 0 to {MAX_COUNT:,}: {value!r}")
    return number or None


@dataclass(frozen=True, slots=True)
class CardFilter:
    """A target's conditions on the incidents it hears of (no condition: everything)."""

    min_affected: int | None = None
    data: frozenset[str] = frozenset()
    unknown_affected: str = "hold"  # "hold" | "alert": an unknown count, with min_affected

    def __post_init__(self) -> None:
        if self.unknown_affected not in UNKNOWN_CHOICES:
            raise ValueError(
                f"unknown_affected must be hold or alert, not {self.unknown_affected!r}"
            )
        if unknown := self.data - set(DATA_CATEGORIES):
            raise ValueError(f"unknown data categories {sorted(unknown)}")

    @property
    def active(self) -> bool:
        return self.min_affected is not None or bool(self.data)

    def passes(self, card: Any) -> bool:
        """Whether an incident whose card is ``card`` (``card_to_dict``'s form) is wanted."""
        if self.min_affected is not None:
            count = affected_count(card)
            if count is None:
                if self.unknown_affected == "hold":
                    return False
            elif count < self.min_affected:
                return False
        return not self.data or bool(data_categories(card) & self.data)

    def describe(self) -> str:
        """The filter for a reader: "incidents with at least 10,000 affected (unknown counts
        held back)", "incidents whose data involves health", "every incident"."""
        parts = []
        if self.min_affected is not None:
            unknown = "held back" if self.unknown_affected == "hold" else "let through"
            parts.append(f"with at least {self.min_affected:,} affected (unknown counts {unknown})")
        if self.data:
            ordered = [c for c in DATA_CATEGORIES if c in self.data]
            parts.append(f"whose data involves {' or '.join(ordered)}")
        return "incidents " + " and ".join(parts) if parts else "every incident"


NO_FILTER: Final = CardFilter()

__all__ = ["MAX_COUNT", "NO_FILTER", "UNKNOWN_CHOICES", "CardFilter", "parse_count", "parse_data"]
