"""Measure matching and grouping against a labeled set of real headlines.

The set lives in ``tests/fixtures/eval/`` (shipped as ``bot.bundled.eval``):
``watchlist.toml`` and one or more ``*.txt`` files of items, one per line::

    company | group | published | source | url | flags | title | summary

``company`` is the watched company the item is about (``-`` for none, ``;`` between
several), ``group`` the incident it belongs to (aligned with ``company``), ``flags``
``-`` or comma-separated ``org=...`` (``;`` for a comma inside), ``evidence=...``,
``nature``. Items replay in time order through the real matcher, incident grouping and a
real SQLite store.
"""

from __future__ import annotations

import tempfile
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from bot.core import incidents
from bot.core.matching import Matcher
from bot.core.watchlist import Watchlist
from bot.settings import parse_watchlist
from bot.store import Store
from scrapers.models import Disclosure, Evidence


def bundled_set() -> Path:
    """The labeled set that ships with BreachRadar (the repository's tests/fixtures/eval/)."""
    return Path(str(resources.files("bot.bundled.eval")))


@dataclass(frozen=True, slots=True)
class Item:
    """One labeled line of the evaluation set."""

    split: str  # "dev" or "heldout": the file name up to its first "-"
    line: int
    disclosure: Disclosure
    companies: tuple[str, ...]
    groups: tuple[str, ...]
    file: str = ""  # the file's stem, for messages: "heldout-ja"


@dataclass(slots=True)
class Scores:
    """Counts and rates for one split."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    grouped_right: int = 0  # true positives whose whole incident is exactly their group
    pairs: int = 0  # pairs of true positives of one company
    pairs_right: int = 0  # ... that share an incident exactly when they share a group
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def grouping(self) -> float:
        """Pairwise agreement (Rand index) of incidents with labeled groups, per company."""
        return self.pairs_right / self.pairs if self.pairs else 1.0

    @property
    def clusters(self) -> float:
        """Share of true positives whose incident holds exactly their labeled group."""
        return self.grouped_right / self.tp if self.tp else 1.0

    def line(self) -> str:
        return (
            f"precision={self.precision:.2f} recall={self.recall:.2f} grouping={self.grouping:.2f}"
        )


def parse_items(text: str, name: str) -> list[Item]:
    """Parse an evaluation file; ``name`` is its stem ("dev", "heldout-ja", ...)."""
    split = name.partition("-")[0]
    items: list[Item] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = [p.strip() for p in raw.split(" | ", 7)]
        if len(parts) != 8:
            raise ValueError(f"{name}:{number}: expected 8 fields, got {len(parts)}")
        company, group, published, source, url, flags, title, summary = parts
        options: dict[str, object] = {}
        if flags != "-":
            for flag in flags.split(","):
                key, _, value = flag.partition("=")
                if key == "org":
                    options["organization"] = value.replace(";", ",")
                elif key == "evidence":
                    options["evidence"] = Evidence(value)
                elif key == "nature":
                    options["incident_by_nature"] = True
                else:
                    raise ValueError(f"{name}:{number}: unknown flag {flag!r}")
        day = datetime.fromisoformat(published).replace(tzinfo=UTC)
        disclosure = Disclosure(
            source=source,
            title=title,
            url=url,
            # Items of one day keep their file order.
            published=day + timedelta(minutes=number),
            # A line break inside a summary (a name split across lines) is written as \n.
            summary=summary.replace("\\n", "\n"),
            guid=f"{name}-{number}",
            **options,  # type: ignore[arg-type]
        )
        companies = () if company == "-" else tuple(c.strip() for c in company.split(";"))
        groups = () if group == "-" else tuple(g.strip() for g in group.split(";"))
        if len(companies) != len(groups):
            raise ValueError(f"{name}:{number}: companies and groups differ in number")
        items.append(Item(split, number, disclosure, companies, groups, name))
    return items


def load(directory: Path | None = None) -> tuple[Watchlist, list[Item]]:
    """Load the watchlist and every item file of an evaluation folder (the bundled one)."""
    directory = directory or bundled_set()
    with (directory / "watchlist.toml").open("rb") as fh:
        watchlist = parse_watchlist(tomllib.load(fh))
    items: list[Item] = []
    for path in sorted(directory.glob("*.txt")):
        items += parse_items(path.read_text(encoding="utf-8"), path.stem)
    return watchlist, items


async def evaluate(watchlist: Watchlist, items: list[Item]) -> dict[str, Scores]:
    """Replay ``items`` in time order; return scores per split and for ``"all"``."""
    matcher = Matcher(watchlist.companies)
    scores: dict[str, Scores] = defaultdict(Scores)
    # (item index, company) -> incident id, for the true positives.
    assigned: dict[tuple[int, str], int] = {}
    ordered = sorted(range(len(items)), key=lambda i: items[i].disclosure.published or 0)
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(f"sqlite+aiosqlite:///{folder}/eval.db")
        try:
            for index in ordered:
                item = items[index]
                when = item.disclosure.published or datetime.now(UTC)
                await store.add_disclosures([item.disclosure], now=when)
                found = matcher.match(item.disclosure)
                predicted = {m.company.name for m in found}
                for split in (item.split, "all"):
                    s = scores[split]
                    s.tp += len(predicted & set(item.companies))
                    s.fp += len(predicted - set(item.companies))
                    s.fn += len(set(item.companies) - predicted)
                label = f"{item.file or item.split}:{item.line} {item.disclosure.title[:70]!r}"
                for name in sorted(predicted - set(item.companies)):
                    scores[item.split].errors.append(f"false match {name}: {label}")
                for name in sorted(set(item.companies) - predicted):
                    scores[item.split].errors.append(f"missed {name}: {label}")
                for match in found:
                    incident_id, _ = await incidents.assign(
                        store.incidents, item.disclosure, match, when
                    )
                    if match.company.name in item.companies:
                        assigned[(index, match.company.name)] = incident_id
        finally:
            await store.close()
    _score_grouping(items, assigned, scores)
    return dict(scores)


def _score_grouping(
    items: list[Item], assigned: dict[tuple[int, str], int], scores: dict[str, Scores]
) -> None:
    # A true positive is grouped right when the items sharing its incident are exactly the
    # items sharing its labeled group (among the true positives of the same company).
    def gold(key: tuple[int, str]) -> str:
        item = items[key[0]]
        return item.groups[item.companies.index(key[1])]

    by_incident: dict[int, set[tuple[int, str]]] = defaultdict(set)
    by_group: dict[tuple[str, str], set[tuple[int, str]]] = defaultdict(set)
    for key, incident_id in assigned.items():
        by_incident[incident_id].add(key)
        by_group[(key[1], gold(key))].add(key)
    keys = sorted(assigned)
    for n, first in enumerate(keys):
        for second in keys[n + 1 :]:
            if first[1] != second[1]:
                continue
            agree = (assigned[first] == assigned[second]) == (gold(first) == gold(second))
            for split in {items[first[0]].split, items[second[0]].split, "all"}:
                scores[split].pairs += 1
                scores[split].pairs_right += int(agree)
    for key, incident_id in assigned.items():
        item = items[key[0]]
        right = by_incident[incident_id] == by_group[(key[1], gold(key))]
        for split in (item.split, "all"):
            scores[split].grouped_right += int(right)
        if not right:
            scores[item.split].errors.append(
                f"grouped wrong ({key[1]}, {gold(key)}): {item.file or item.split}:{item.line} "
                f"{item.disclosure.title[:70]!r}"
            )
