"""The labeled extraction set: its line format, and per-field scores against it.

One line per disclosure, keyed so it joins the matching set::

    key | affected | affected_kind | data | attack | actor | began | discovered

``key`` is the eval line's URL (or ``fixture:<folder>/<file>#<guid or url>``), ``-`` is
"the text does not say", ``data`` joins categories with ``;``, an ``attack`` of ``-`` (no
attack described) leaves the line out of attack accuracy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .dates import PartialDate
from .extract import Extraction
from .vocab import ATTACKS, DATA_CATEGORIES


class LabelError(ValueError):
    """A label line that does not follow the format."""


@dataclass(frozen=True, slots=True)
class Label:
    """What a person read in one disclosure."""

    key: str
    affected: int | None
    affected_kind: str | None
    data: frozenset[str]
    attack: str | None  # None: no attack described
    actor: str | None
    began: str | None
    discovered: str | None


def _opt(value: str) -> str | None:
    return None if value == "-" else value


def parse_label(line: str) -> Label:
    """Parse one label line; raise :class:`LabelError` with the reason when it is malformed."""
    parts = [p.strip() for p in line.split(" | ")]
    if len(parts) != 8:
        raise LabelError(f"expected 8 fields separated by ' | ', got {len(parts)}")
    key, affected, kind, data, attack, actor, began, discovered = parts
    if affected != "-" and not affected.isdigit():
        raise LabelError(f"affected must be an integer or '-': {affected!r}")
    if kind not in ("-", "people", "records", "accounts"):
        raise LabelError(f"unknown affected_kind {kind!r}")
    categories = frozenset() if data == "-" else frozenset(d.strip() for d in data.split(";"))
    if unknown := categories - set(DATA_CATEGORIES):
        raise LabelError(f"unknown data categories {sorted(unknown)}")
    if attack != "-" and attack not in ATTACKS:
        raise LabelError(f"unknown attack {attack!r}")
    for value in (began, discovered):
        if value != "-":
            try:
                PartialDate.parse(value)
            except (TypeError, ValueError) as exc:
                raise LabelError(f"bad date {value!r}") from exc
    return Label(key, int(affected) if affected != "-" else None, _opt(kind), categories,
                 _opt(attack), _opt(actor), _opt(began), _opt(discovered))  # fmt: skip


def read_labels(lines: Iterable[str]) -> list[Label]:
    """Parse a label file's lines, skipping comments and blanks; errors name the line."""
    labels = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            labels.append(parse_label(line.rstrip("\n")))
        except LabelError as exc:
            raise LabelError(f"line {number}: {exc}") from None
    return labels


def _ratio(hit: int, total: int) -> float | None:
    return hit / total if total else None


@dataclass
class Scores:
    """Counts behind each field's score, and the disagreements for ``--errors``."""

    lines: int = 0
    affected_hit: int = 0
    affected_said: int = 0  # the extractor gave a number
    affected_labeled: int = 0
    kind_hit: int = 0
    data_tp: int = 0
    data_fp: int = 0
    data_fn: int = 0
    attack_hit: int = 0
    attack_labeled: int = 0
    actor_hit: int = 0
    actor_said: int = 0
    actor_labeled: int = 0
    began_hit: int = 0
    began_said: int = 0
    began_labeled: int = 0
    discovered_hit: int = 0
    discovered_said: int = 0
    discovered_labeled: int = 0
    errors: list[tuple[str, str, str, str]] = field(default_factory=list)  # key, field, label, got

    def add(self, label: Label, got: Extraction) -> None:
        """Count one disclosure."""
        self.lines += 1
        count = got.affected.count if got.affected else None
        self.affected_said += count is not None
        self.affected_labeled += label.affected is not None
        if count is not None and count == label.affected:
            self.affected_hit += 1
            self.kind_hit += got.affected is not None and got.affected.kind == label.affected_kind
        elif count != label.affected:
            self.errors.append((label.key, "affected", str(label.affected), str(count)))
        self.data_tp += len(got.data & label.data)
        self.data_fp += len(got.data - label.data)
        self.data_fn += len(label.data - got.data)
        if got.data != label.data:
            self.errors.append(
                (label.key, "data", ";".join(sorted(label.data)), ";".join(sorted(got.data)))
            )
        if label.attack is not None:
            self.attack_labeled += 1
            if got.attack == label.attack:
                self.attack_hit += 1
            else:
                self.errors.append((label.key, "attack", label.attack, got.attack))
        self.actor_said += got.actor is not None
        self.actor_labeled += label.actor is not None
        if got.actor is not None and got.actor == label.actor:
            self.actor_hit += 1
        elif got.actor != label.actor:
            self.errors.append((label.key, "actor", str(label.actor), str(got.actor)))
        for name, want, have in (
            ("began", label.began, got.began),
            ("discovered", label.discovered, got.discovered),
        ):
            said = str(have) if have else None
            setattr(self, f"{name}_said", getattr(self, f"{name}_said") + (said is not None))
            setattr(self, f"{name}_labeled", getattr(self, f"{name}_labeled") + (want is not None))
            if said is not None and said == want:
                setattr(self, f"{name}_hit", getattr(self, f"{name}_hit") + 1)
            elif said != want:
                self.errors.append((label.key, name, str(want), str(said)))

    def figures(self) -> dict[str, float | None]:
        """Return the scores by name (None where nothing was there to score)."""
        return {
            "affected_precision": _ratio(self.affected_hit, self.affected_said),
            "affected_recall": _ratio(self.affected_hit, self.affected_labeled),
            "data_precision": _ratio(self.data_tp, self.data_tp + self.data_fp),
            "data_recall": _ratio(self.data_tp, self.data_tp + self.data_fn),
            "attack_accuracy": _ratio(self.attack_hit, self.attack_labeled),
            "actor_precision": _ratio(self.actor_hit, self.actor_said),
            "actor_recall": _ratio(self.actor_hit, self.actor_labeled),
            "began_precision": _ratio(self.began_hit, self.began_said),
            "began_recall": _ratio(self.began_hit, self.began_labeled),
            "discovered_precision": _ratio(self.discovered_hit, self.discovered_said),
            "discovered_recall": _ratio(self.discovered_hit, self.discovered_labeled),
        }

    def line(self, split: str) -> str:
        """Return the one-line summary, ``cards <split>: name=value ...`` with counts."""
        parts = [f"n={self.lines}"]
        for name, value in self.figures().items():
            parts.append(f"{name}={'-' if value is None else f'{value:.3f}'}")
        parts.append(
            f"(affected {self.affected_hit}/{self.affected_said} said"
            f"/{self.affected_labeled} labeled,"
            f" data tp={self.data_tp} fp={self.data_fp} fn={self.data_fn},"
            f" attack {self.attack_hit}/{self.attack_labeled},"
            f" actor {self.actor_hit}/{self.actor_said} said/{self.actor_labeled} labeled)"
        )
        return f"cards {split}: " + " ".join(parts)
