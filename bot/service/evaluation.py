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

import random
import re
import tempfile
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from bot.core import incidents
from bot.core.matching import Match, Matcher
from bot.core.watchlist import Watchlist
from bot.settings import parse_watchlist
from bot.store import Store
from scrapers.models import Disclosure, Evidence

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def japanese(item: Item) -> bool:
    """An item written in Japanese (kana or kanji in its headline)."""
    return bool(_JAPANESE.search(item.disclosure.title))


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
    # What the split holds.
    items: int = 0
    incidents: int = 0  # labeled incidents (company, group)
    companies: int = 0  # watched companies with a labeled item
    ja: float = 0.0  # share of Japanese items

    def describe(self, items: list[Item]) -> None:
        self.items = len(items)
        self.incidents = len(
            {(c, g) for i in items for c, g in zip(i.companies, i.groups, strict=True)}
        )
        self.companies = len({c for i in items for c in i.companies})
        self.ja = sum(japanese(i) for i in items) / len(items) if items else 0.0

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

    def split_line(self, split: str) -> str:
        """``dev: items=.. incidents=.. companies=.. ja=.. precision=.. recall=.. grouping=..``"""
        return (
            f"{split}: items={self.items} incidents={self.incidents} "
            f"companies={self.companies} ja={self.ja:.2f} {self.line()} "
            f"clusters={self.clusters:.2f}"
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


ORDERS = ("time", "reverse", "shuffled", "backfill")
# A matched company's item: (index of the item, company name).
Key = tuple[int, str]


async def evaluate(
    watchlist: Watchlist,
    items: list[Item],
    *,
    order: str = "time",
    seed: int = 0,
    placed: dict[Key, int] | None = None,
) -> dict[str, Scores]:
    """Match every item, group the matches delivered in ``order``; scores per split and
    for ``"all"``.

    Orders: ``time`` one by one as published; ``reverse`` and ``shuffled`` one by one in
    that order (each at its own time); ``backfill`` all in one shuffled scan, at one moment.
    ``placed``: the incidents of a :func:`replay` already run, instead of running one.
    """
    matcher = Matcher(watchlist.companies)
    found = [matcher.match(item.disclosure) for item in items]
    scores: dict[str, Scores] = defaultdict(Scores)
    for split in {item.split for item in items} | {"all"}:
        scores[split].describe([i for i in items if split in (i.split, "all")])
    for index, item in enumerate(items):
        predicted = {m.company.name for m in found[index]}
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
    if placed is None:
        placed = await replay(items, found, order=order, seed=seed)
    assigned = {key: i for key, i in placed.items() if key[1] in items[key[0]].companies}
    _score_grouping(items, assigned, scores)
    return dict(scores)


async def replay(
    items: list[Item],
    found: list[list[Match]],
    *,
    order: str = "time",
    seed: int = 0,
    store: Store | None = None,
) -> dict[Key, int]:
    """Deliver the matched items to incident grouping and a real store in ``order``; return
    the incident each (item, company) ended in. Without ``store``, a fresh SQLite file."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; one of {', '.join(ORDERS)}")
    if store is None:
        with tempfile.TemporaryDirectory() as folder:
            fresh = await Store.open(f"sqlite+aiosqlite:///{folder}/eval.db")
            try:
                return await replay(items, found, order=order, seed=seed, store=fresh)
            finally:
                await fresh.close()
    matched = [i for i in range(len(items)) if found[i]]
    matched.sort(key=lambda i: (items[i].disclosure.published or _EPOCH, i))
    if order == "reverse":
        matched.reverse()
    elif order in ("shuffled", "backfill"):
        random.Random(seed).shuffle(matched)
    scan = max((items[i].disclosure.published or _EPOCH for i in matched), default=_EPOCH)
    scan += timedelta(days=1)
    # Stored up front: grouping reads a disclosure's time from its match (recorded at
    # ``when``), never from when the row was written.
    await store.add_disclosures([items[i].disclosure for i in matched], now=scan)
    for index in matched:
        disclosure = items[index].disclosure
        when = scan if order == "backfill" else disclosure.published or scan
        for match in found[index]:
            await incidents.place(store.incidents, disclosure, match, when)
    # Where each match is once all are in (incidents merge as later items bridge them).
    current = await store.incidents.incident_of_matches(
        [(items[i].disclosure.identity, m.company.key) for i in matched for m in found[i]]
    )
    return {
        (index, match.company.name): current[(items[index].disclosure.identity, match.company.key)]
        for index in matched
        for match in found[index]
    }


def partition(placed: dict[Key, int]) -> set[frozenset[Key]]:
    """The incidents of a replay as a partition of the matched (item, company) pairs."""
    groups: dict[int, set[Key]] = defaultdict(set)
    for key, incident_id in placed.items():
        groups[incident_id].add(key)
    return {frozenset(g) for g in groups.values()}


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
