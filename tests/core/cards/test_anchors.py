"""The anchors that decide which phrasings to try: safe, and losing nothing on real text."""

from __future__ import annotations

import json
import re

import pytest

from bot.core.cards import vocab
from bot.core.cards.anchors import Gate, anchors, word_start_anchor
from bot.core.cards.text import Sentences, prepare
from tests.core.cards.texts import FIXTURES, dev_files


@pytest.mark.parametrize(
    ("alternative", "expected"),
    [
        (r"unauthori[sz]ed (?:access|part(?:y|ies))", ["unauthori"]),
        (r"\bhack(?:ed|ing|s)?\b", ["hack"]),
        (r"(?:credit|debit) cards?", ["credit", "debit"]),
        (r"(?:サーバー?|ファイル)(?:が|を)暗号化", ["暗号化"]),
        (r"\bsites?\b", ["site"]),
        (r"[a-z]+ \d+", None),
    ],
)
def test_anchors_are_text_every_match_contains(
    alternative: str, expected: list[str] | None
) -> None:
    """An anchor is mandatory literal text; an alternative without one is always tried."""
    assert anchors(alternative) == expected


def test_a_word_start_anchor_must_start_a_word() -> None:
    """ "phish" starts every match of \\bphish: "cyberphishing" does not wake it."""
    assert word_start_anchor(r"\bphish") == "phish"
    assert word_start_anchor(r"\b(?:a|b)phish") is None
    gate = Gate({"k": r"\bphish|\bvishing"})
    assert gate.hits("a phishing kit") == {"k": (0,)}
    assert gate.hits("cyberphishing and vishing") == {"k": (1,)}


def _texts() -> list[str]:
    out = []
    for path in dev_files():
        for raw in path.read_text(encoding="utf-8").splitlines():
            if raw.strip() and not raw.startswith("#"):
                parts = raw.split(" | ", 7)
                out.append(f"{parts[6]}\n{parts[7]}")
    for record in (
        (FIXTURES / "eval" / "cards" / "records.jsonl").read_text(encoding="utf-8").splitlines()
    ):
        data = json.loads(record)
        out.append(f"{data['title']}\n{data['summary']}")
    return out


def test_the_anchors_lose_nothing_on_real_text() -> None:
    """On every development text, trying only the anchored phrasings finds what trying all does."""
    texts = _texts()
    assert len(texts) > 1000
    for text in texts:
        prepared = prepare(text)
        low = prepared.lower()
        sents = Sentences(prepared, low)
        assert vocab.data_in(low, None, sents) == vocab.data_in(low, None, sents, gated=False), text
        assert vocab.attack_in(low, None, sents) == vocab.attack_in(
            low, None, sents, gated=False
        ), text


def test_every_phrasing_compiles_and_has_an_anchor() -> None:
    """No phrasing is tried on every text: each has literal text to look for."""
    assert vocab.GATE.always == []
    assert all(isinstance(a.mixed, re.Pattern) for a in vocab.GATE.alternatives)


def _bounded(gate: Gate, key: str, low: str) -> list[tuple[int, int]]:
    """What the pattern with its leading \\b finds, the slow way."""
    body = "|".join(gate._sources[i][0] for i in gate._by_key[key] if gate._sources[i][1])
    return [m.span() for m in re.finditer(rf"\b(?:{body})", low)]


def test_word_edges_are_checked_as_a_leading_boundary_would() -> None:
    """Skipping a match inside a word still finds an overlapping one at a word's start."""
    gate = Gate({"k": r"\bdata theft|\btheft|\b\$\d+|\bcard"})
    for low in ("xdata theft", "data theft", "$5 paid", "a$5 paid", "cards, postcard, card",
                "xxtheft theft", ""):  # fmt: skip
        assert [m.span() for m in gate.matches(low, "k")] == _bounded(gate, "k", low), low


def test_word_edges_find_what_the_bounded_patterns_find_on_real_text() -> None:
    """Every entry's phrasings, on every development text in ASCII."""
    keys = sorted(vocab.GATE._by_key)
    for text in _texts():
        low = prepare(text).lower()
        if not low.isascii():
            continue
        for key in keys:
            found = [m.span() for m in vocab.GATE.matches(low, key)]
            assert found == _bounded(vocab.GATE, key, low), (key, text)
