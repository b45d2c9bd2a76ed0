"""When an attack began and when the company discovered it, where the text says.

A date counts when the words that govern it say so: "detected unauthorized access on
December 28" (discovered), "an October 5 attack", "breached its systems in August",
"Date breach discovered: 09/27/2024", 「2024年10月5日に不正アクセス」 (began). Dates of an
announcement, a filing or a notice are neither. A year left out is the publication's, or
the one before when that would put the date after publication.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from .text import words


@dataclass(frozen=True, slots=True, order=True)
class PartialDate:
    """A calendar date the text gives to the day or only to the month (``day`` 0)."""

    year: int
    month: int
    day: int = 0

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}" + (f"-{self.day:02d}" if self.day else "")

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Read "2024-10-05" or "2024-10"."""
        parts = [int(p) for p in text.strip().split("-")]
        if len(parts) not in (2, 3) or not 1 <= parts[1] <= 12:
            raise ValueError(f"not a YYYY-MM or YYYY-MM-DD date: {text!r}")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else 0)


_MONTHS: Final = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
}  # fmt: skip
MONTH_WORDS: Final = frozenset(_MONTHS)
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_MONTH_NOT_MAY = (
    r"(?:"
    + "|".join(sorted(set(_MONTHS) - {"may", "mar", "march"}, key=len, reverse=True))
    + r")\.?"
)
_ATTACK_NOUN = (
    r"(?:attacks?|cyberattacks?|cyber-attacks?|cyber attacks?|breach(?:es)?|incidents?|hacks?"
    r"|intrusions?)"
)

# Three scans, each run only when its sentence can hold one: month names, numeric dates,
# Japanese dates.
_EN_DATE = re.compile(
    rf"\b(?:(?P<md>(?P<m1>{_MONTH})\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y1>(?:19|20)\d\d)\b)?)"
    rf"|(?P<dm>(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m2>{_MONTH})\b(?:,?\s+(?P<y2>(?:19|20)\d\d)\b)?)"
    rf"|(?P<my>(?P<m8>{_MONTH})(?:\s+of)?\s+(?P<y8>(?:19|20)\d\d)\b)"
    rf"|(?P<adj>(?:(?:an?|the|its|last|after|this|that)\s+(?P<m9>{_MONTH})|(?P<m11>{_MONTH_NOT_MAY}))"
    rf"\s+(?:[a-z][\w-]*\s+)?{_ATTACK_NOUN})"
    rf"|(?P<inm>(?:in|during|since|early|late|mid-?|last)\s+(?P<m10>{_MONTH})\b(?!\s+\d)))"
)
_NUMERIC_DATE = re.compile(
    r"\b(?:(?P<us>(?P<m3>\d{1,2})/(?P<d3>\d{1,2})/(?P<y3>(?:19|20)\d\d))"
    r"|(?P<iso>(?P<y4>(?:19|20)\d\d)-(?P<m4>\d\d)-(?P<d4>\d\d)))\b"
)
_JA_DATE = re.compile(
    r"(?P<ja>(?:(?P<y5>(?:19|20)\d\d)年)?(?P<m5>\d{1,2})月(?P<d5>\d{1,2})日)"
    r"|(?P<jam>(?P<y6>(?:19|20)\d\d)年(?P<m6>\d{1,2})月(?![\d～~-]))"
    r"|(?P<jad>(?<!\d月)(?<!\d)(?P<d7>\d{1,2})日(?=朝|未明|早朝|深夜|夜|午前|午後|に))"
)

# Words that govern a date, read backwards from it in English.
_DISCOVERED = re.compile(
    r"discover\w*|detect\w*|identif\w*|became aware|become aware|aware|learn(?:ed|t)|notic\w*"
    r"|received an? (?:email|message|ransom|extortion|communication)|dateaware"
)
_BEGAN_VERB = re.compile(
    r"breached|hacked|attacked|\bhit\b|struck|accessed|began|started|occurred|occured|infiltrated"
    r"|compromised|stole|stolen|suffered|targeted|encrypted|acquired|date\(s\) of breach"
    r"|dates? of breach|breach began|breach occur\w*"
)
_BEGAN_NOUN = re.compile(rf"\b(?:{_ATTACK_NOUN}|access|ransomware)\b")
_REPORTING = frozenset({"said", "says", "say", "told", "according", "stated", "states"})
_ANNOUNCED = re.compile(
    r"announc\w*|disclos\w*|\bsaid\b|\bsays\b|\bsay\b|\btold\b|\baccording\b|\bstated\b|\breport\w*|\bfiled\b|\bfiling\b|submitted|notif\w*"
    r"|publish\w*|posted|released|statement|\bsent\b|letters?|\bupdate\w*|\bnotice\w*|\bwarn\w*"
)
_CUE = re.compile(
    "|".join(f"(?P<{n}>{p.pattern})" for n, p in
             (("disc", _DISCOVERED), ("verb", _BEGAN_VERB), ("noun", _BEGAN_NOUN),
              ("ann", _ANNOUNCED)))
)  # fmt: skip
# Japanese: the words after the date govern it.
_JA_CUE = re.compile(
    r"(?P<disc>判明|発覚|検知|確認|認識|把握|気づ)|(?P<began>受け|感染|発生|侵入され|暗号化され|盗まれ)"
    r"|(?P<noun>攻撃|不正アクセス|侵入|被害|暗号化|障害)|(?P<ann>発表|公表|明らかに|報告|開示|通知|お知らせ)"
)
_JA_ANNOUNCING_SENTENCE = re.compile(
    r"(?:発表|公表|明らかに|報告|開示)(?:した|しました|する|している)?[。]?$"
)


def _resolve(year: int | None, month: int, day: int, published: date | None) -> PartialDate | None:
    if not 1 <= month <= 12 or not 0 <= day <= 31:
        return None
    if year is None:
        if published is None:
            return None
        year = published.year
        if (month, day or 1) > (published.month, published.day):
            try:
                ahead = (date(year, month, day) - published).days if day else 999
            except ValueError:
                return None
            if ahead <= 45:
                return None  # a deadline days ahead ("unless paid by June 11"), not a past date
            year -= 1  # "in October", read in January
    return PartialDate(year, month, day)


_GROUP_NAMES = (
    "md", "dm", "us", "iso", "ja", "jam", "jad", "my", "m1", "m2", "m3", "m4", "m5", "m6",
    "m8", "m9", "m10", "m11", "d1", "d2", "d3", "d4", "d5", "d7", "y1", "y2", "y3", "y4", "y5",
    "y6", "y8",
)  # fmt: skip


def _value(m: re.Match[str], published: date | None) -> PartialDate | None:
    g: dict[str, str] = dict.fromkeys(_GROUP_NAMES, "")
    g.update({name: value for name, value in m.groupdict().items() if value})
    if g["md"] or g["dm"]:
        month = _MONTHS[(g["m1"] or g["m2"]).rstrip(".")]
        year = g["y1"] or g["y2"]
        return _resolve(int(year) if year else None, month, int(g["d1"] or g["d2"]), published)
    if g["us"]:
        return _resolve(int(g["y3"]), int(g["m3"]), int(g["d3"]), published)
    if g["iso"]:
        return _resolve(int(g["y4"]), int(g["m4"]), int(g["d4"]), published)
    if g["ja"]:
        return _resolve(int(g["y5"]) if g["y5"] else None, int(g["m5"]), int(g["d5"]), published)
    if g["jam"]:
        return _resolve(int(g["y6"]), int(g["m6"]), 0, published)
    if g["jad"]:
        if published is None:
            return None
        return _resolve(published.year, published.month, int(g["d7"]), published)
    if g["my"]:
        return _resolve(int(g["y8"]), _MONTHS[g["m8"].rstrip(".")], 0, published)
    month = _MONTHS[(g["m9"] or g["m10"] or g["m11"]).rstrip(".")]
    return _resolve(None, month, 0, published)


def _english_role(sentence: str, start: int, end: int, adjectival: bool) -> str | None:
    """Return "began", "discovered" or None for the date at ``sentence[start:end]``."""
    if adjectival or re.match(rf"^\s*(?:[\w-]+\s+)?{_ATTACK_NOUN}\b", sentence[end:]):
        return "began"  # "an October 5 attack", "the September cyberattack"
    head = sentence[:start]
    clause_start = max(head.rfind(";"), head.rfind(". "), -1) + 1
    cues = list(_CUE.finditer(sentence, clause_start, start))
    noun_seen = False
    for cue in reversed(cues):
        kind = cue.lastgroup
        if kind == "disc":
            return "discovered"
        if kind == "verb":
            return "began"
        if kind == "noun":
            noun_seen = True
        elif kind == "ann":
            # "says unauthorized access ... on October 5": the access is dated; "disclosed a
            # data breach in August 2024": the disclosure is.
            return "began" if noun_seen and cue.group() in _REPORTING else None
    if noun_seen:
        return "began"
    if (
        re.search(r"(?:^|[,;]\s*)(?:on|in)\s*$", head[clause_start:])
        or not head[clause_start:].strip()
    ):
        # "On May 20, 2024, Live Nation identified ...": the verb after governs.
        tail_end = sentence.find(";", end)
        for cue in _CUE.finditer(sentence, end, tail_end if tail_end >= 0 else len(sentence)):
            kind = cue.lastgroup
            if kind == "disc":
                return "discovered"
            if kind in ("verb", "noun"):
                return "began"
            return None
    return None


def _japanese_role(sentence: str, end: int, stop: int, event_time: bool) -> str | None:
    """Japanese: the first verb after the date governs it (確認した, 発覚した, 受けた, 感染した)."""
    if (
        not event_time
        and sentence.startswith("、", end)
        and _JA_ANNOUNCING_SENTENCE.search(sentence)
    ):
        return None  # "カシオは10月8日、...と発表した": the day it announced
    pos = end + 1 if sentence.startswith("、", end) else end
    stop = min(stop, pos + 60)
    noun_seen = False
    for cue in _JA_CUE.finditer(sentence, pos, stop):
        kind = cue.lastgroup
        if kind == "ann":
            break
        if kind == "disc":
            return "discovered"  # the first verb after the date governs it
        if kind == "began":
            return "began"
        noun_seen = True  # 攻撃, 不正アクセス: an object; read on for the verb
    role = "began" if noun_seen else None
    return role


def dates_in(
    sentence: str, published: date | None, months: frozenset[str] | None = None
) -> list[tuple[str, PartialDate]]:
    """Return (role, date) pairs in a prepared, lower-cased sentence.

    ``months``: the month words of the whole text, when the caller has them (a cheaper test).
    """
    matches: list[re.Match[str]] = []
    has_month = (any(m in sentence for m in months) if months is not None
                 else not words(sentence).isdisjoint(MONTH_WORDS))  # fmt: skip
    if has_month:
        matches += _EN_DATE.finditer(sentence)
    if "/" in sentence or "-" in sentence:
        matches += _NUMERIC_DATE.finditer(sentence)
    japanese = not sentence.isascii() and ("月" in sentence or "日" in sentence)
    if japanese:
        matches += _JA_DATE.finditer(sentence)
    if not matches:
        return []
    matches.sort(key=lambda m: m.start())
    found: list[tuple[str, PartialDate]] = []
    for index, match in enumerate(matches):
        value = _value(match, published)
        if value is None or (
            published is not None and (value.year, value.month) > (published.year, published.month)
        ):
            continue
        groups = match.groupdict()
        if groups.get("ja") or groups.get("jam") or groups.get("jad"):
            stop = matches[index + 1].start() if index + 1 < len(matches) else len(sentence)
            role = _japanese_role(sentence, match.end(), stop, bool(groups.get("jad")))
        else:
            adjectival = bool(groups.get("adj"))
            start = (
                match.start("m9" if groups.get("m9") else "m11") if adjectival else match.start()
            )
            role = _english_role(sentence, start, match.end(), adjectival)
        if role:
            found.append((role, value))
    return found


def earliest(values: list[PartialDate]) -> PartialDate | None:
    """Return the earliest date, the one given to the day when two fall in the same month."""
    if not values:
        return None
    first = min(values, key=lambda d: (d.year, d.month, d.day or 32))
    return first
