"""Incident cards: what happened, to whom, how badly, and how sure we are.

Extraction reads one disclosure (:func:`extract`); the card merges an incident's
disclosures (:func:`merge`) and says what changed between two versions (:func:`diff`).
Everything here is pure: no I/O, no clock, no database, no Discord.
"""

from .card import Card, Change, Fact, Sighting, Stage, describe_affected, diff, merge
from .dates import PartialDate
from .extract import EMPTY, Extraction, extract
from .numbers import Affected
from .scoring import Label, LabelError, Scores, parse_label, read_labels
from .vocab import ATTACKS, DATA_CATEGORIES

__all__ = [
    "ATTACKS",
    "DATA_CATEGORIES",
    "EMPTY",
    "Affected",
    "Card",
    "Change",
    "Extraction",
    "Fact",
    "Label",
    "LabelError",
    "PartialDate",
    "Scores",
    "Sighting",
    "Stage",
    "describe_affected",
    "diff",
    "extract",
    "merge",
    "parse_label",
    "read_labels",
]  # fmt: skip
