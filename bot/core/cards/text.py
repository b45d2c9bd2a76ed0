"""Text preparation shared by the extractors: one normal form, words, sentence spans."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

# Typographic punctuation as its ASCII twin; NFKC does the rest (full-width digits, ｶﾅ).
_TYPOGRAPHIC = str.maketrans(
    {"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...",
     "\u00a0": " ", "\u3000": " ", "，": ","}
)  # fmt: skip

# A sentence ends at . ! ? ; and a space before a capital or digit, at 。, or at a line
# break (also the two characters "\n" that PDF-sourced summaries carry); "U.S." and "Oct."
# do not end one.
_NOT_AN_END = re.compile(
    r"(?:\b[A-Za-z]|\b(?:Mr|Mrs|Ms|Dr|St|Inc|Co|Corp|Ltd|No|vs|approx|U\.S|Jan|Feb|Mar|Apr|Jun"
    r"|Jul|Aug|Sept?|Oct|Nov|Dec))\.$",
    re.IGNORECASE,
)
# Everything that is not a-z or 0-9 becomes a space: ASCII text splits into words in C.
_ASCII_WORDS = bytes(c if chr(c).isalnum() else 32 for c in range(256))
_WORD = re.compile(r"[a-z0-9]+")


def prepare(text: str) -> str:
    """Return ``text`` in one normal form: NFKC for non-ASCII, ASCII quotes and dashes."""
    if text.isascii():
        return text  # every typographic character is non-ASCII
    text = text.translate(_TYPOGRAPHIC)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def words(low: str) -> frozenset[str]:
    """Return the lower-case Latin words and numbers of lower-cased ``low``."""
    if low.isascii():
        return frozenset(low.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split())
    return frozenset(_WORD.findall(low))


_ENDS = ".!?;"


def _boundaries(source: str, capital_after: bool) -> list[tuple[int, int]]:
    """(end, next start) of each sentence break, found with str.find (far cheaper than a scan)."""
    found: list[tuple[int, int]] = []
    n = len(source)
    for mark in _ENDS:
        i = source.find(mark)
        while i != -1:
            j = i + 1
            while j < n and source[j] in " \t":
                j += 1
            if j > i + 1 and j < n:
                nxt = source[j]
                starts = (
                    nxt.isupper()
                    or nxt.isdigit()
                    or nxt in "\"'("
                    or (not capital_after and nxt.islower())
                )
                if starts and not (
                    mark == "." and _NOT_AN_END.search(source, max(0, i - 6), i + 1)
                ):
                    found.append((i + 1, j))
            i = source.find(mark, i + 1)
    for mark, width in (("\n", 1), ("\\n", 2), ("。", 1)):
        i = source.find(mark)
        while i != -1:
            found.append((i + (1 if mark == "。" else 0), i + width))
            i = source.find(mark, i + width)
    found.sort()
    return found


class Sentences:
    """Sentence spans of a prepared text, found once and looked up by position."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, text: str, low: str) -> None:
        # Case tells a sentence end from "U.S. business"; if lower() changed the length, the
        # offsets of ``text`` do not fit ``low``, so read the boundaries from ``low`` itself.
        same = len(text) == len(low)
        starts, ends = [0], []
        for end, start in _boundaries(text if same else low, capital_after=same):
            if start <= starts[-1]:
                continue
            ends.append(end)
            starts.append(start)
        ends.append(len(low))
        self._starts, self._ends = starts, ends

    def span(self, pos: int) -> tuple[int, int]:
        """Return (start, end) of the sentence holding position ``pos``."""
        index = max(0, bisect_right(self._starts, pos) - 1)
        return self._starts[index], self._ends[index]

    def spans(self) -> list[tuple[int, int]]:
        """Return every sentence's (start, end)."""
        return list(zip(self._starts, self._ends, strict=True))


def sentences(text: str) -> list[str]:
    """Split prepared ``text`` into stripped, non-empty sentences."""
    found = Sentences(text, text.lower())
    return [text[a:b].strip() for a, b in found.spans() if text[a:b].strip()]
