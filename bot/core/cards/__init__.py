"""Incident cards: what happened, to whom, how badly, and how sure we are.

Extraction reads one disclosure (:func:`extract`); the card merges an incident's
disclosures (:func:`merge`) and says what changed between two versions (:func:`diff`).
Everything here is pure: no I/O, no clock, no database, no Discord.
"""

from .card import Card, Change, Fact, Sighting, Stage, describe_affected, diff, merge
from .dates import PartialDate
from .extract import EMPTY, Extraction, extract
from .filters import NO_FILTER, CardFilter, parse_count, parse_data
from .numbers import Affected
from .records import (
    affected_count,
    card_of,
    card_to_dict,
    data_categories,
    extraction_from_dict,
    extraction_to_dict,
    fact_value,
)
from .scoring import Label, LabelError, Scores, parse_label, read_labels
from .vocab import ATTACKS, DATA_CATEGORIES

__all__ = [
    "ATTACKS",
    "DATA_CATEGORIES",
    "EMPTY",
    "NO_FILTER",
    "Affected",
    "Card",
    "CardFilter",
    "Change",
    "Extraction",
    "Fact",
    "Label",
    "LabelError",
    "PartialDate",
    "Scores",
    "Sighting",
    "Stage",
    "affected_count",
    "card_of",
    "card_to_dict",
    "data_categories",
    "describe_affected",
    "diff",
    "extract",
    "extraction_from_dict",
    "extraction_to_dict",
    "fact_value",
    "merge",
    "parse_count",
    "parse_data",
    "parse_label",
    "read_labels",
]  # fmt: skip
