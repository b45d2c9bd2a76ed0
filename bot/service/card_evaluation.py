"""Score incident-card extraction against the labeled set, per split.

The labels live in the evaluation folder's ``cards/`` (shipped with ``bot.bundled.eval``):
``<split>[-<part>].txt`` files of ``key | affected | affected_kind | data | attack | actor |
began | discovered`` lines (:mod:`bot.core.cards.scoring`). A key is a matching-set URL, or
``fixture:<folder>/<file>#<id>`` for a recorded fixture's record, whose text is copied in
``cards/records.jsonl``. A label's split must be its text's split, so the held-out labels
are exactly the held-out incidents of the matching set.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bot.core.cards import Label, Scores, extract, read_labels
from bot.service.evaluation import bundled_set, parse_items

CARDS = "cards"
RECORDS = "records.jsonl"


class CardSetError(ValueError):
    """A label that names no text, or a text of another split."""


@dataclass(frozen=True, slots=True)
class Text:
    """One labeled disclosure's text, as the extractor reads it."""

    split: str  # the split of the file it comes from: "dev", "heldout"; "" for a fixture
    title: str
    summary: str
    published: date | None
    fields: dict[str, str] | None = None


def texts(directory: Path | None = None) -> dict[str, Text]:
    """Every text a label may name: the matching set's lines and the fixture records."""
    directory = directory or bundled_set()
    found: dict[str, Text] = {}
    for path in sorted(directory.glob("*.txt")):
        for item in parse_items(path.read_text(encoding="utf-8"), path.stem):
            d = item.disclosure
            when = d.published.date() if d.published else None
            found.setdefault(d.url, Text(item.split, d.title, d.summary, when))
    records = directory / CARDS / RECORDS
    if records.is_file():
        for number, raw in enumerate(records.read_text(encoding="utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
                published = record.get("published")
                when = datetime.fromisoformat(published).date() if published else None
                extra = {str(k): str(v) for k, v in (record.get("extra") or {}).items()}
                found[str(record["key"])] = Text(
                    "", str(record["title"]), str(record.get("summary") or ""), when, extra or None
                )
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise CardSetError(f"{RECORDS}:{number}: not a record ({exc})") from None
    return found


def labels(directory: Path | None = None) -> dict[str, list[Label]]:
    """The labels of each split, from ``cards/<split>[-<part>].txt``."""
    directory = directory or bundled_set()
    found: dict[str, list[Label]] = defaultdict(list)
    for path in sorted((directory / CARDS).glob("*.txt")):
        try:
            found[path.stem.partition("-")[0]] += read_labels(
                path.read_text(encoding="utf-8").splitlines()
            )
        except ValueError as exc:
            raise CardSetError(f"{CARDS}/{path.name}: {exc}") from None
    return dict(found)


def evaluate(directory: Path | None = None) -> dict[str, Scores]:
    """Extract every labeled text and score it; raise :class:`CardSetError` on a bad key."""
    known = texts(directory)
    scores: dict[str, Scores] = {}
    seen: set[str] = set()
    for split, split_labels in sorted(labels(directory).items()):
        scores[split] = part = Scores()
        for label in split_labels:
            text = known.get(label.key)
            if text is None:
                raise CardSetError(f"{split}: no text has the key {label.key!r}")
            if text.split and text.split != split:
                raise CardSetError(
                    f"{split}: {label.key!r} is a line of the {text.split} split, not {split}"
                )
            if label.key in seen:
                raise CardSetError(f"{split}: {label.key!r} is labeled twice")
            seen.add(label.key)
            part.add(
                label,
                extract(text.title, text.summary, published=text.published, fields=text.fields),
            )
    return scores


__all__ = ["CardSetError", "Text", "evaluate", "labels", "texts"]
