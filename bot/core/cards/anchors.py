"""Run only the patterns a text can match: one Aho-Corasick pass finds their anchors.

A vocabulary here is a set of regular expressions, each an alternation of many phrasings.
Tried in full on every text, they cost most of an extraction. Each alternative has literal
text every match of it contains (``unauthori[sz]ed access`` always contains "unauthori" and
"access"); one automaton over those anchors tells, in a single pass over the text, which
few alternatives are worth trying. An alternative with no anchor is always tried.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import ahocorasick

_QUANTIFIER = re.compile(r"\?|\*|\{0?,|\{0\}|\{0,\d*\}")
# What a run of literal text may hold: letters, digits, a few marks, any non-ASCII character.
_LITERAL = re.compile(r"[a-z0-9 '&$@:/#%-]|[^\x00-\x7f]")


def alternatives(pattern: str) -> list[str]:
    """Split a pattern at its top-level "|" (outside groups and character classes)."""
    parts: list[str] = []
    depth, in_class, current, i = 0, False, [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            current.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _close(pattern: str, i: int) -> int:
    """Index just past the group or character class opening at ``pattern[i]``."""
    depth, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
            if not in_class and depth == 0:
                return i + 1
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _optional_at(pattern: str, i: int) -> bool:
    return bool(_QUANTIFIER.match(pattern, i))


def _scan(alternative: str) -> tuple[list[tuple[str, bool]], list[list[str]]]:
    """Mandatory literal runs (with "starts the alternative") and mandatory groups' anchors."""
    runs: list[tuple[str, bool]] = []
    groups: list[list[str]] = []
    current: list[str] = []
    first = [True]  # nothing but the run so far: it starts every match

    def end_run() -> None:
        run = "".join(current)
        stripped = run.strip()
        if len(stripped) >= 3 or (stripped and not stripped.isascii() and len(stripped) >= 2):
            runs.append((stripped, first[0] and run == run.lstrip()))
        if current:
            first[0] = False
        current.clear()

    i, n = 0, len(alternative)
    while i < n:
        ch = alternative[i]
        if ch == "\\":
            escaped = alternative[i + 1 : i + 2]
            i += 2
            if escaped == "b" and not current and i == 2:
                continue  # a leading word boundary: the run after it still starts the match
            if escaped and not escaped.isalnum() and not _optional_at(alternative, i):
                current.append(escaped)  # "\." or "\$": a literal character
            else:
                end_run()
                first[0] = False
            continue
        if ch in "([":
            end = _close(alternative, i)
            inner = alternative[i:end]
            optional = _optional_at(alternative, end)
            end_run()
            if not inner.startswith(("(?<", "(?=", "(?!")):
                first[0] = False
            if ch == "(" and not optional and not inner.startswith(("(?=", "(?!", "(?<")):
                body = inner[1:-1]
                if body.startswith("?:"):
                    body = body[2:]
                branch_anchors = [anchors(branch) for branch in alternatives(body)]
                if all(branch_anchors):
                    groups.append(sorted({a for b in branch_anchors if b for a in b}))
            i = end
            continue
        if ch in "^$.+*?{}|)":
            end_run()
            first[0] = False
            if ch == "{":
                i = alternative.find("}", i) + 1 or n
                continue
            i += 1
            continue
        if _optional_at(alternative, i + 1):
            end_run()  # "sites?": the "s" may be missing
            first[0] = False
            i += 1
            continue
        if _LITERAL.match(ch):
            current.append(ch)
        else:
            end_run()
            first[0] = False
        i += 1
    end_run()
    return runs, groups


def anchors(alternative: str) -> list[str] | None:
    """Literal strings one of which every match of ``alternative`` contains, or None.

    Prefers a long mandatory literal run of the alternative itself, else a mandatory group
    whose every branch has anchors (the union of theirs), else a shorter run.
    """
    runs, groups = _scan(alternative)
    best_run = max((r for r, _ in runs), key=len, default=None)
    best_group = min(groups, key=lambda g: (len(g), -min(map(len, g))), default=None)
    if best_run is not None and (len(best_run) >= 5 or not best_run.isascii()):
        return [best_run]
    if best_group is not None and min(map(len, best_group)) >= 4:
        return best_group
    if best_run is not None:
        return [best_run]
    return best_group


def word_start_anchor(alternative: str) -> str | None:
    """The literal run every match of a Latin ``alternative`` begins with, if any."""
    runs, _ = _scan(alternative)
    return runs[0][0] if runs and runs[0][1] and runs[0][0].isascii() else None


# The alternatives worth trying on one text, by entry ("data:names": (3, 5)).
Hits = Mapping[str, tuple[int, ...]]
_HITS_CACHE = 4096  # distinct sets of anchors seen; breach texts reuse a small vocabulary


@dataclass(frozen=True, slots=True)
class Alternative:
    """One phrasing of a vocabulary entry, compiled for the texts it may meet."""

    key: str  # the category or kind it tells
    ascii: re.Pattern[str] | None  # for all-ASCII text (None: a Japanese phrasing)
    mixed: re.Pattern[str]  # for text with non-ASCII characters


class Gate:
    """The alternatives of several vocabulary entries and the automaton over their anchors."""

    def __init__(self, vocabulary: Mapping[str, str]) -> None:
        self.alternatives: list[Alternative] = []
        self.always: list[int] = []
        self._sources: list[tuple[str, bool]] = []  # (body, latin) of each alternative
        automaton = ahocorasick.Automaton()
        by_anchor: dict[str, list[tuple[int, bool]]] = {}
        for key, pattern in vocabulary.items():
            for alt in alternatives(pattern):
                index = len(self.alternatives)
                latin = alt.isascii()
                body = alt.removeprefix(r"\b") if latin else alt
                self._sources.append((body, latin))
                self.alternatives.append(
                    Alternative(
                        key,
                        re.compile(rf"\b(?:{body})") if latin else None,
                        # Next to kana a Latin word has no \b ("jalにddos攻撃").
                        re.compile(rf"(?<![a-z0-9])(?:{body})") if latin else re.compile(alt),
                    )
                )
                found = anchors(alt)
                if found is None:
                    self.always.append(index)
                    continue
                starts = word_start_anchor(alt) if latin else None
                for anchor in found:
                    by_anchor.setdefault(anchor, []).append((index, anchor == starts))
        # Each anchor's payload: (id of the anchor anywhere, id of it at a word start or -1,
        # its length). An id stands for the alternatives it lets through.
        self._through: list[tuple[int, ...]] = []
        for anchor, entries in by_anchor.items():
            anywhere = len(self._through)
            self._through.append(tuple(i for i, start in entries if not start))
            at_start = -1
            if any(start for _, start in entries):
                at_start = len(self._through)
                self._through.append(tuple(i for i, start in entries if start))
            automaton.add_word(anchor, (anywhere, at_start, len(anchor)))
        automaton.make_automaton()
        self._automaton = automaton
        self._by_key: dict[str, list[int]] = {}
        for index, entry in enumerate(self.alternatives):
            self._by_key.setdefault(entry.key, []).append(index)
        self._unions: dict[tuple[bool, tuple[int, ...]], re.Pattern[str] | None] = {}
        self._hits: dict[frozenset[int], Hits] = {}

    def hits(self, low: str) -> Hits:
        """The alternatives worth trying on lower-cased ``low``, by entry.

        What gets through depends only on which anchors were found, so it is worked out
        once per set of anchors (texts about breaches share a small vocabulary).
        """
        seen: set[int] = set()
        for end, (anywhere, at_start, length) in self._automaton.iter(low):
            seen.add(anywhere)
            if at_start >= 0:
                start = end - length + 1
                before = low[start - 1] if start else " "
                if not (before.isascii() and before.isalnum()):
                    seen.add(at_start)
        found = frozenset(seen)
        cached = self._hits.get(found)
        if cached is None:
            by_key: dict[str, set[int]] = {}
            for index in self.always:
                by_key.setdefault(self.alternatives[index].key, set()).add(index)
            for anchor_id in found:
                for index in self._through[anchor_id]:
                    by_key.setdefault(self.alternatives[index].key, set()).add(index)
            cached = {key: tuple(sorted(indexes)) for key, indexes in by_key.items()}
            if len(self._hits) < _HITS_CACHE:
                self._hits[found] = cached
        return cached

    def _union(self, japanese: bool, indexes: tuple[int, ...]) -> re.Pattern[str] | None:
        """One pattern for the alternatives ``indexes`` of an entry: one scan of the text."""
        cache_key = (japanese, indexes)
        union = self._unions.get(cache_key)
        if union is None and cache_key not in self._unions:
            latin = [self._sources[i][0] for i in indexes if self._sources[i][1]]
            native = [self._sources[i][0] for i in indexes if not self._sources[i][1]]
            parts = []
            if latin:
                # In ASCII text the leading \b is checked on each match instead (see
                # matches()): a pattern that starts with one scans every position the slow way.
                boundary = r"(?<![a-z0-9])" if japanese else ""
                parts.append(rf"{boundary}(?:{'|'.join(latin)})")
            if japanese and native:
                parts.append("|".join(native))
            union = re.compile("|".join(parts)) if parts else None
            if len(self._unions) < 8192:  # a bound on what odd texts can make it hold
                self._unions[cache_key] = union
        return union

    def matches(self, low: str, key: str, hits: Hits | None = None) -> Iterator[re.Match[str]]:
        """Matches in ``low`` of the entry ``key``, trying only ``hits`` (all if None)."""
        indexes = self._by_key.get(key, ()) if hits is None else hits.get(key, ())
        if not indexes:
            return iter(())
        japanese = not low.isascii()
        union = self._union(japanese, tuple(indexes))  # tuple() of a tuple is free
        if union is None:
            return iter(())
        return union.finditer(low) if japanese else _at_word_edges(union, low)


def _wordy(char: str) -> bool:
    return char.isalnum() or char == "_"


def _at_word_edges(union: re.Pattern[str], low: str) -> Iterator[re.Match[str]]:
    """``re.finditer(r"\b(?:" + union + ")", low)`` for ASCII ``low``, found faster.

    A match that does not start at a word edge is skipped and the search resumes one
    character later, so an overlapping match that does start at one is still found, and in
    the same order as the bounded pattern would give.
    """
    pos, size = 0, len(low)
    while pos <= size:
        match = union.search(low, pos)
        if match is None:
            return
        start, end = match.span()
        if (start > 0 and _wordy(low[start - 1])) == (start < size and _wordy(low[start])):
            pos = start + 1  # no \b here
            continue
        yield match
        pos = end if end > start else end + 1


__all__ = ["Alternative", "Gate", "Hits", "alternatives", "anchors", "word_start_anchor"]
