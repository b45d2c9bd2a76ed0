"""The fast way of reading cards reads exactly what the plain way does, on every labeled text.

The plain way is written out here, apart from the code it checks: the phrasings to try come
straight from each phrasing's anchors (no automaton ids, nothing remembered between texts),
an ASCII text is searched with the leading ``\\b`` inside the pattern, and words are split
with ``str.translate``. Every text of the labeled card set (both splits and the fixture
records) is read both ways and the readings must be equal. Only texts are read here, never
labels or scores.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator

import pytest

from bot.core.cards import Extraction, extract, vocab
from bot.core.cards.anchors import Gate, Hits, alternatives, anchors, word_start_anchor
from bot.service.card_evaluation import texts

# The package exports a function named ``extract``: reach the modules themselves.
_USERS_OF_WORDS = [
    importlib.import_module(f"bot.core.cards.{name}") for name in ("extract", "dates", "numbers")
]
_PLAIN_WORDS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
_WORD = re.compile(r"[a-z0-9]+")


def _plain_words(low: str) -> frozenset[str]:
    if low.isascii():
        return frozenset(low.translate(_PLAIN_WORDS).split())
    return frozenset(_WORD.findall(low))


def _vocabulary() -> dict[str, str]:
    return {
        **{f"data:{k}": v for k, v in vocab._DATA_WORDS.items()},
        **{f"attack:{k}": v for k, v in vocab._ATTACK_WORDS.items()},
    }


# (key, anchors or None, the anchor that must start a word or None), per alternative, in the
# order the gate numbers them.
_PLAN = [
    (key, anchors(alt), word_start_anchor(alt) if alt.isascii() else None)
    for key, pattern in _vocabulary().items()
    for alt in alternatives(pattern)
]


def _starts_a_word(low: str, anchor: str) -> bool:
    at = low.find(anchor)
    while at >= 0:
        before = low[at - 1] if at else " "
        if not (before.isascii() and before.isalnum()):
            return True
        at = low.find(anchor, at + 1)
    return False


def _plain_hits(self: Gate, low: str) -> Hits:
    by_key: dict[str, list[int]] = {}
    for index, (key, found, start) in enumerate(_PLAN):
        if found is None or any(_starts_a_word(low, a) if a == start else a in low for a in found):
            by_key.setdefault(key, []).append(index)
    return {key: tuple(indexes) for key, indexes in by_key.items()}


_ORIGINAL_MATCHES = Gate.matches


def _plain_matches(
    self: Gate, low: str, key: str, hits: Hits | None = None
) -> Iterator[re.Match[str]]:
    if not low.isascii():
        return _ORIGINAL_MATCHES(self, low, key, hits)  # unchanged for Japanese text
    indexes = self._by_key.get(key, ()) if hits is None else hits.get(key, ())
    latin = [self._sources[i][0] for i in indexes if self._sources[i][1]]
    if not latin:
        return iter(())
    return re.finditer(rf"\b(?:{'|'.join(latin)})", low)


def _read_all() -> dict[str, Extraction]:
    return {
        key: extract(t.title, t.summary, published=t.published, fields=t.fields)
        for key, t in texts().items()
    }


def test_the_plan_numbers_the_phrasings_as_the_gate_does() -> None:
    assert [key for key, _, _ in _PLAN] == [a.key for a in vocab.GATE.alternatives]


def test_the_fast_path_reads_every_labeled_text_as_the_plain_way_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = _read_all()
    assert len(fast) >= 1700
    assert sum(not key.isascii() or not t.title.isascii() for key, t in texts().items()) >= 100
    assert sum(not r.empty for r in fast.values()) >= 800  # the comparison covers real readings
    monkeypatch.setattr(Gate, "hits", _plain_hits)
    monkeypatch.setattr(Gate, "matches", _plain_matches)
    for module in _USERS_OF_WORDS:
        monkeypatch.setattr(module, "words", _plain_words)
    plain = _read_all()
    differ = [key for key in fast if fast[key] != plain[key]]
    assert differ == [], differ[:5]
