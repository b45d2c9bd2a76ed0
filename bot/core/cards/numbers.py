"""How many people, records or accounts a disclosure says were affected.

A count is taken only where the text ties a number to victims: a victim noun after it
("8,500 people", "49 million customer records", "約12万件の個人情報", "416万人分"), a verb
of harm before it ("affecting 560 million"), or a regulator's field ("persons affected:
1,263"). Money, sizes, years, percentages, organizations and headcounts are refused, and a
sentence with no word of a breach gives nothing: a wrong number is worse than none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .text import Sentences, words
from .vocab import ASIDE

PEOPLE: Final = "people"
RECORDS: Final = "records"
ACCOUNTS: Final = "accounts"


@dataclass(frozen=True, slots=True)
class Affected:
    """A count of victims and how the text states it."""

    count: int
    kind: str | None  # "people" | "records" | "accounts", None when the text names no noun
    qualifier: str  # "exact" | "approx" | "at_least" | "at_most"
    basis: str  # "record" (a regulator's or tracker's field) | "stated" | "claimed"
    phrase: str  # the words it was read from


_BASIS_RANK = {"record": 2, "stated": 2, "claimed": 1}

_SCALE = {"thousand": 1_000, "k": 1_000, "million": 1_000_000, "m": 1_000_000,
          "mn": 1_000_000, "billion": 1_000_000_000, "bn": 1_000_000_000}  # fmt: skip
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
          "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "a": 1, "half a": 0.5}  # fmt: skip

_QUALIFIERS = {
    "nearly": "approx", "almost": "approx", "about": "approx", "approximately": "approx",
    "approx.": "approx", "around": "approx", "roughly": "approx", "some": "approx",
    "an estimated": "approx", "estimated": "approx", "close to": "approx",
    "over": "at_least", "more than": "at_least", "at least": "at_least",
    "upwards of": "at_least", "in excess of": "at_least",
    "up to": "at_most", "as many as": "at_most",
}  # fmt: skip
_QUAL = (
    r"(?P<qual>"
    + "|".join(re.escape(q) for q in sorted(_QUALIFIERS, key=len, reverse=True))
    + r")\s+"
)

# A number not glued to a word, a currency sign, a version or a date.
_DIGITS = r"(?<![\w.,$£€¥/#-])(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\d,]*%)"
_SCALED = _DIGITS + r"(?:\s*(?P<scale>million|billion|thousand)\b|(?P<short>mn|bn|m|k)\b)?"
_WORDED = (r"\b(?P<word>" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")\s+"
           r"(?P<wscale>million|billion)\b")  # fmt: skip
_NUMBER = rf"(?:{_QUAL})?(?:{_SCALED}|{_WORDED})"

_NOUNS = {
    PEOPLE: r"people|persons|individuals|customers|users|residents|patients|members|students"
    r"|employees|clients|consumers|subscribers|victims|citizens|taxpayers|policyholders"
    r"|cardholders|account ?holders|borrowers|applicants|donors|voters|children|teachers"
    r"|passengers|guests|shoppers|travell?ers|fans|players|gamers|investors|veterans"
    r"|beneficiaries|enrollees|job seekers|workers|staff|families|households|americans"
    r"|canadians|australians|britons|washingtonians|texans|mainers|californians|vermonters"
    r"|new yorkers|oregonians|marylanders",
    RECORDS: r"records|rows|entries|(?:phone|mobile|telephone) numbers",
    ACCOUNTS: r"accounts|e-?mail addresses|user accounts|profiles|account details",
}
_NOUN = "|".join(f"(?P<{kind}>{words})" for kind, words in _NOUNS.items())
# Up to four describing words between the number and the noun ("560 million Ticketmaster
# customers", "73 million current and former customers"), never a preposition or a verb.
_FILLER = (r"(?:\s+(?!(?:of|in|on|at|to|for|from|by|with|was|were|is|are|has|have|had|who|that"
           r"|which|data|breach\w*|attack\w*|affect\w*|impact\w*|expos\w*)(?![\w&]))"
           r"[a-z][\w'&.-]*){0,4}")  # fmt: skip
# Numbers that count organizations: the same figure as "customers" is then not people.
_ORGS = re.compile(
    _NUMBER + r"(?:\s+[a-z][\w-]*){0,2}\s+(?:organi[sz]ations|companies|firms|businesses"
    r"|institutions|entities|enterprises|dealerships|districts|hospitals|schools|universities"
    r"|agencies|municipalities|banks|brands|retailers|vendors|tenants)\b"
)
# Headcount, a customer base or its change, a collection: not victims ("has 90 employees",
# "serves about 26.9 million mobile customers", "after losing 127,000 subscribers", "the
# catalogue of 36m records").
_HEADCOUNT = re.compile(
    r"(?:\b(?:has|have|had|employs|employing|workforce of|staff of|headcount of|serves"
    r"|serving|serve|served|losing|lost|lose|loses|added|adding|adds|gained|gaining|gains|net"
    r"|catalogue of|catalog of|collection of|library of|archive of)\s+)$"
)
# The whole a part is taken from: "possibly 900 of around 1.5 million registered accounts".
_DENOMINATOR = re.compile(
    r"(?<![\d,.])\d(?:[\d,.]*\d)?\s+(?:[a-z][\w'’&-]*\s+)?of\s+(?:its\s+|their\s+|the\s+)?$"
)
# "900 of around 1.5 million registered accounts": the part, with the whole's noun.
_PART_OF = re.compile(
    r"\s+of\s+(?:around |about |some |roughly |approximately |nearly )?\d[\d,.]*"
    r"(?:\s*(?:million|billion|thousand)|m|k)?"
)
_MONTH_BEFORE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s*$"
)
# "data on 237,703 of its customers": a count whose noun follows "of its".
_OF_ITS = re.compile(r"\s+of\s+(?:its|their|the company's|the firm's|the bank's)(?=\s)")
_LINES_OF = re.compile(r"\s+lines of (?:[a-z]+ ){0,2}?(?:data|records|information)\b")
# Negated attacks do not make a sentence speak of a breach: "not caused by a cyber attack",
# "ruled out a cyberattack", "no indications of malicious activity".
_NOT_AN_ATTACK = re.compile(
    r"\b(?:not|no|never)\s+(?:[\w'-]+\s+){0,6}?(?:(?:a|an|any|another)\s+)?(?:cyber ?-?attacks?"
    r"|hack\w*|malicious(?:\s+activity)?|nefarious|security (?:incident|breach))"
    r"|\b(?:ruled|rules|rule) out (?:a |any )?(?:cyber ?-?attacks?|hack\w*)"
)
# An outage spoken of with none of the words of an attack: its counts are not victims.
_OUTAGE = frozenset("outage outages glitch disruption disruptions".split())
_CURRENCY_AFTER = re.compile(
    r"^\s*(?:dollars|pounds|euros|yen|usd|eur|gbp|ransom|in ransom|worth)\b"
)
_CLAIM = re.compile(
    r"\bclaim(?:s|ed|ing)?\b|\balleged(?:ly)?\b|\bpurported(?:ly)?\b|\bselling\b|\bfor sale\b"
    r"|\boffered\b|\bhackers? (?:say|says|said|told)\b|\bthreat actors? (?:say|says|said|told)\b"
    r"|犯行声明|と主張|販売"
)
# A sentence must speak of a breach for any of its numbers to count.
_BREACH_WORDS = frozenset(
    "breach breached breaches breaching hack hacked hacker hackers hacking hacks stole stolen "
    "steal stealing theft leak leaked leaks leaking exposed exposes exposing exposure "
    "compromised compromise affected affects affecting affect impacted impacts impacting impact "
    "accessed access ransomware ransom attack attacks attacked attackers cyberattack "
    "cyberattacks incident incidents notified notifying notifies notify notification notifications "
    "scraped scraping dump dumped sale selling victims victim cyber intrusion unauthorized "
    "unauthorised personal data information".split()
)
_STRONG_BREACH_WORDS = _BREACH_WORDS - frozenset(
    "affected affects affecting affect impacted impacts impacting impact incident incidents "
    "access accessed notified notifying notifies notify notification notifications personal "
    "data information victims victim cyber".split()
)
_JA_BREACH = ("流出", "漏え", "漏洩", "漏れ", "不正", "攻撃", "被害", "窃取", "情報")
_CLAIM_WORDS = frozenset(
    "claim claims claimed claiming alleged allegedly purported purportedly selling offered".split()
)
_CLAIM_PHRASES = re.compile(
    r"\bfor sale\b|\b(?:hackers?|threat actors?) (?:say|says|said|told)\b|犯行声明|と主張|販売"
)

# Japanese: 12万, 1万2千, 416万, 1億2000万, 63,587 with a unit: 人/名 (people), 件 (records).
_JA_NUM = r"(?P<jnum>(?:\d[\d,]*(?:\.\d+)?\s*[億万千]\s*)+(?:\d[\d,]*)?|\d[\d,]*(?:\.\d+)?)"
_JA_RECORD_CONTEXT = re.compile(
    r"情報|データ|アカウント|メールアドレス|顧客|会員|レコード|id|漏洩件数|漏えい件数|流出件数"
)
_JA_REFUSE_AFTER = re.compile(r"^(?:の?(?:人員)?削減|を(?:雇用|削減)|体制|の従業員を|が働)")
_JA_HEADCOUNT_BEFORE = re.compile(r"(?:従業員|社員|職員)(?:数)?(?:は|が)?(?:約|およそ)?$")
# A count of events, not of records ("被害件数"), unless it counts what leaked ("漏洩件数は").
_JA_COUNT_OF_EVENTS = re.compile(r"(?<!漏洩)(?<!漏えい)(?<!流出)件数|被害(?:は|が)?(?:年間)?$")
# Files, documents and posts are counted with 件 too: "2万7445件のファイル", "書き込み473件".
_JA_NOT_RECORDS_AFTER = re.compile(
    r"^(?:超|以上|余り)?の?(?:ファイル|文書|書類|資料|メール(?!アカウント|アドレス|情報)|投稿|書き込み|画像)"
)
_JA_NOT_RECORDS_BEFORE = re.compile(r"(?:ファイル|文書|書類|資料|投稿|書き込み|画像)\s*(?:約|計)?$")
_JA_POSTS = re.compile(r"拡散|書き込み|投稿")
# A round-up of many incidents: "今月取り上げた記事は全48本", "原因最多は".
_JA_ROUNDUP = re.compile(r"取り上げた|記事は全|原因最多")
# Statistics over many incidents: "前年比61.2%減の1,586万人分", "累計", "上半期".
_JA_STATISTICS = re.compile(
    r"前年比|前年同期比|累計|年間|上半期|下半期|調べ|統計|調査開始以来|過去最多|過去最悪"
)
_JA_MULT = {"億": 100_000_000, "万": 10_000, "千": 1_000}
_JA_PRESENT = re.compile(r"\d")


def _to_int(number: str) -> float:
    return float(number.replace(",", ""))


def _english_value(match: re.Match[str]) -> int | None:
    if match.group("word"):
        return round(_WORDS[match.group("word")] * _SCALE[match.group("wscale")])
    raw = match.group("num")
    value = _to_int(raw)
    scale = match.group("scale") or match.group("short")
    if scale:
        value *= _SCALE[scale]
    elif "," not in raw and ("." in raw or 1900 <= value <= 2099):
        return None  # "1.05", "2024": a version, an item number or a year
    return round(value)


def _japanese_value(raw: str) -> int | None:
    total = 0.0
    for part in re.finditer(r"(\d[\d,]*(?:\.\d+)?)\s*([億万千])?", raw):
        number = _to_int(part.group(1))
        total += number * _JA_MULT[part.group(2)] if part.group(2) else number
    return round(total) if total >= 1 else None


def _qualifier(match: re.Match[str]) -> str:
    qual = match.groupdict().get("qual")
    return _QUALIFIERS[qual] if qual else "exact"


_ORG_WORDS = frozenset(
    "organizations organisations companies firms businesses institutions entities enterprises "
    "dealerships districts hospitals schools universities agencies municipalities banks brands "
    "retailers vendors tenants".split()
)


def org_values(text: str) -> set[int]:
    """Return the figures that ``text`` (lower-cased) uses to count organizations."""
    values: set[int] = set()
    if words(text).isdisjoint(_ORG_WORDS):
        return values
    for match in _ORGS.finditer(text):
        value = _english_value(match)
        if value:
            values.add(value)
    return values


# "six million": a number in words. Digits right after kanji ("個人情報12万件") start
# numbers too: only ASCII letters, digits and marks glue a digit to what precedes it.
_WORDED_START = re.compile(
    r"\b(?:" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")\s+(?:million|billion)\b"
)
_QUAL_BEFORE = re.compile(_QUAL + r"$")
_NUMBER_AT = re.compile(rf"(?:{_SCALED}|{_WORDED})")
_NOUN_AT = re.compile(rf"{_FILLER}\s+(?:{_NOUN})(?:'s|')?(?![\w-])")
_VERB_BEFORE = re.compile(
    r"\b(?:affect(?:s|ed|ing)?|impact(?:s|ed|ing)?|expos(?:es|ed|ing)|hits?|notif(?:y|ies|ied|ying)"
    r"|warns?|alerts?)\s+(?:the\s+(?:data|records|information)\s+of\s+)?$"
)
_AFFECTED_AFTER = re.compile(r"\s+(?:affected|impacted)\b(?!\s+(?:by|in|at|across)\s+\d)")
_BARE_END = re.compile(
    r"(?=\s*(?:$|[.,;:)!?]|\s(?:of|in|after|across|worldwide|globally|following)\b))"
)
_FIELD_BEFORE = re.compile(
    r"\b(?:total number of )?(?:persons|individuals|people|residents|patients|consumers|members"
    r"|customers|users|[a-z]+ residents)(?: [a-z]+){0,2} affected(?:\s*\([^)]*\))?\s*[:=]\s*$"
)
_JA_AT = re.compile(
    _JA_NUM + r"\s*(?P<junit>人|名|件|アカウント|口座)(?P<jpart>分)?"
    r"(?P<jtail>超|以上|余り|強|弱|程度|規模)?"
)
_JA_QUAL_BEFORE = re.compile(r"(?P<jqual>約|およそ|最大|少なくとも|計|合計|延べ)\s*$")


class _Context:
    """Per-sentence facts, computed at most once: does it speak of a breach, of a claim?"""

    __slots__ = ("_cache", "_low", "_sents")

    def __init__(self, low: str, sents: Sentences) -> None:
        self._low, self._sents = low, sents
        self._cache: dict[int, tuple[bool, bool, int, int]] = {}

    def document_is_breachy(self) -> bool:
        return any(self.at(lo)[0] for lo, _ in self._sents.spans())

    def aside(self, pos: int) -> bool:
        """Whether the sentence at ``pos`` tells of another incident beside this one."""
        lo, hi = self._sents.span(pos)
        return bool(ASIDE.search(self._low, lo, hi))

    def at(self, pos: int) -> tuple[bool, bool, int, int]:
        lo, hi = self._sents.span(pos)
        found = self._cache.get(lo)
        if found is None:
            sentence = self._low[lo:hi]
            if "not" in sentence or "no " in sentence or "rule" in sentence or "den" in sentence:
                sentence = _NOT_AN_ATTACK.sub(" ", sentence)
            tokens = words(sentence)
            japanese = not sentence.isascii()
            breachy = not tokens.isdisjoint(_BREACH_WORDS) or (
                japanese and any(w in sentence for w in _JA_BREACH)
            )
            if breachy and not tokens.isdisjoint(_OUTAGE):
                breachy = not tokens.isdisjoint(_STRONG_BREACH_WORDS)
            claimed = not tokens.isdisjoint(_CLAIM_WORDS) or bool(_CLAIM_PHRASES.search(sentence))
            found = (breachy, claimed, lo, hi)
            self._cache[lo] = found
        return found


def _english_at(low: str, start: int, context: _Context) -> Affected | None:
    number = _NUMBER_AT.match(low, start)
    if number is None:
        return None
    field_like = number.group("num") and "affected" in low[max(0, start - 90) : start]
    value = _english_value(number)
    if not value and not field_like:
        return None  # a year, a version, an item number
    breachy, claimed, lo, _ = context.at(start)
    if not breachy and not (claimed and context.document_is_breachy()):
        return None
    before = low[max(lo, start - 90) : start]
    qual_match = _QUAL_BEFORE.search(before, max(0, len(before) - 24))
    qualifier = _QUALIFIERS[qual_match.group("qual")] if qual_match else "exact"
    head = before[: qual_match.start()] if qual_match else before
    basis = "claimed" if claimed else "stated"
    if field_like and _FIELD_BEFORE.search(head):
        phrase = f"{head[-40:]}{number.group()}".strip()
        return Affected(round(_to_int(number.group("num"))), PEOPLE, "exact", "record", phrase)
    if not value:
        return None
    if _DENOMINATOR.search(head) or _MONTH_BEFORE.search(head):
        return None  # the whole a part is taken from, or a day of the month
    noun = _NOUN_AT.match(low, number.end())
    if noun is None and (part := _PART_OF.match(low, number.end())):
        noun = _NOUN_AT.match(low, part.end())
    if noun is None and (of_its := _OF_ITS.match(low, number.end())):
        noun = _NOUN_AT.match(low, of_its.end())
    if noun is None and (lines := _LINES_OF.match(low, number.end())):
        return Affected(value, RECORDS, qualifier, basis, (number.group() + lines.group()).strip())
    if noun is not None:
        kind = next(k for k in (PEOPLE, RECORDS, ACCOUNTS) if noun.group(k))
        if _HEADCOUNT.search(head) or _CURRENCY_AFTER.match(low, noun.end()):
            return None
        if kind == PEOPLE and head.endswith("with "):
            return None  # "a company with 9,000 employees"; "data with 5 million records" counts
        return Affected(value, kind, qualifier, basis, (number.group() + noun.group()).strip())
    if value >= 100 and _BARE_END.match(low, number.end()) and _VERB_BEFORE.search(head):
        return Affected(value, None, qualifier, basis, number.group())
    if value >= 100 and (after := _AFFECTED_AFTER.match(low, number.end())):
        return Affected(
            value, None, qualifier, basis, number.group() + after.group()
        )  # "9m affected"
    return None


def _japanese_at(low: str, start: int, context: _Context) -> Affected | None:
    match = _JA_AT.match(low, start)
    if match is None:
        return None
    value = _japanese_value(match.group("jnum"))
    raw = match.group("jnum")
    if not value or ("," not in raw and not re.search(r"[億万千]", raw) and 1900 <= value <= 2099):
        return None
    breachy, claimed, lo, hi = context.at(start)
    unit = match.group("junit")
    if not breachy and not (unit in ("件", "アカウント", "口座") and context.document_is_breachy()):
        return (
            None  # a record count may sit in a follow-up sentence: "メールアカウントは約407万件分"
        )
    sentence = low[lo:hi]
    rel, rel_end = start - lo, match.end() - lo
    before, after = sentence[:rel], sentence[rel_end:]
    if _JA_STATISTICS.search(before) or _JA_ROUNDUP.search(low):
        return None
    if unit == "件":
        window = sentence[max(0, rel - 15) : rel_end + 15]
        if (
            not _JA_RECORD_CONTEXT.search(window)
            or _JA_COUNT_OF_EVENTS.search(before)
            or _JA_NOT_RECORDS_AFTER.match(after)
            or _JA_NOT_RECORDS_BEFORE.search(before)
            or _JA_POSTS.search(sentence)
        ):
            return None
        kind = RECORDS
    elif unit in ("アカウント", "口座"):
        kind = ACCOUNTS
    else:
        if _JA_REFUSE_AFTER.match(after) or (
            _JA_HEADCOUNT_BEFORE.search(before) and not re.match(r"^分?の(?:個人)?情報", after)
        ):
            return None
        kind = PEOPLE
    qual_match = _JA_QUAL_BEFORE.search(before)
    qual = qual_match.group("jqual") if qual_match else ""
    tail = match.group("jtail") or ""
    qualifier = (
        "at_most" if qual == "最大"
        else "at_least" if tail in ("超", "以上") or qual == "少なくとも"
        else "approx" if qual in ("約", "およそ") or tail in ("余り", "強", "弱", "程度")
        else "exact"
    )  # fmt: skip
    return Affected(
        value, kind, qualifier, "claimed" if claimed else "stated", (qual + match.group()).strip()
    )


_GLUE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.,$£€¥/#-")
_DIGIT_CHARS = "0123456789"


def _number_starts(low: str) -> list[int]:
    """Positions where a run of digits starts, found with str.find (cheaper than a scan)."""
    seen: set[int] = set()
    for digit in _DIGIT_CHARS:
        i = low.find(digit)
        while i != -1:
            seen.add(i)
            i = low.find(digit, i + 1)
    return sorted(i for i in seen if i == 0 or low[i - 1] not in _GLUE)


def _found(low: str, sents: Sentences | None) -> list[tuple[Affected, bool]]:
    starts = _number_starts(low)
    if "illion" in low:
        starts = sorted({*starts, *(m.start() for m in _WORDED_START.finditer(low))})
    if not starts:
        return []  # the cheap test: no digit, no "six million"
    context = _Context(low, sents or Sentences(low, low))
    japanese = not low.isascii()
    found: list[tuple[Affected, bool]] = []
    for pos in starts:
        affected = _english_at(low, pos, context)
        if affected is None and japanese:
            affected = _japanese_at(low, pos, context)
        if affected is not None:
            found.append((affected, context.aside(pos)))
    return found


def counts_in(low: str, sents: Sentences | None = None) -> list[Affected]:
    """Return every victim count in lower-cased, prepared ``low``."""
    return [affected for affected, _ in _found(low, sents)]


def _digits(count: int) -> int:
    """Significant digits: 12,900,000 has three, 13,000,000 two."""
    return len(str(count).rstrip("0"))


def best(
    found: list[Affected],
    orgs: frozenset[int] | set[int] = frozenset(),
    asides: frozenset[int] | set[int] = frozenset(),
) -> Affected | None:
    """Pick the disclosure's count: a regulator's field first, then the largest stated figure,
    then the largest claim (the company's word over the attackers').

    A count of "customers" equal to a figure the text gives for organizations is dropped
    ("165 Snowflake customers ... about 165 organizations"); figures of another incident
    told beside this one (indexes in ``asides``) count only when nothing else does; and of
    a rounded and a precise form of one figure ("13m" and "12.9 million", "70,000" and
    "69,589"), the precise one wins.
    """
    kept = [
        (i, a)
        for i, a in enumerate(found)
        if not (a.kind == PEOPLE and a.basis != "record" and a.count in orgs)
    ]
    if not kept:
        return None
    recorded = [(i, a) for i, a in kept if a.basis == "record"]
    if recorded:
        return max(recorded, key=lambda c: c[1].count)[1]
    main = [(i, a) for i, a in kept if i not in asides] or kept
    main = [(i, a) for i, a in main if a.basis != "claimed"] or main
    top = max(a.count for _, a in main)
    near = [a for _, a in main if top * 0.8 <= a.count <= top]
    return max(near, key=lambda a: (_digits(a.count), a.count))


def choose(
    low: str, sents: Sentences | None = None, orgs: frozenset[int] | set[int] = frozenset()
) -> Affected | None:
    """The count of lower-cased, prepared ``low``: :func:`best` of its counts."""
    found = _found(low, sents)
    return best(
        [a for a, _ in found], orgs, frozenset(i for i, (_, aside) in enumerate(found) if aside)
    )


def parse_count(raw: str) -> int | None:
    """Read a structured field's count ("1,263", "193000000"); None if it is not one."""
    digits = raw.strip().replace(",", "")
    return int(digits) if digits.isdigit() and int(digits) > 0 else None
