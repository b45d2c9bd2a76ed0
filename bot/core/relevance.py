"""Decide whether a text reports a security incident, in English or Japanese.

A product launch that mentions ransomware protection, an earnings report that lists cyber
risk, or a vulnerability advisory is not an incident; a company confirming a breach is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# All patterns are lower case: assess() lowers the text once (faster than IGNORECASE).

# Terms that report something that happened to someone's systems or data.
_STRONG_EN = re.compile(
    r"\b(?:data[\s-]breach(?:es)?|breach(?:es|ed)?|cyber[\s-]?attack(?:s|ed)?|"
    r"cyber[\s-]?(?:security[\s-])?(?:incidents?|issues?|events?)|security incidents?|"
    r"ransomware|"
    r"hack(?:s|ed|ing)?|hackers?|leak(?:s|ed)?|stolen|stole|steal(?:s|ing)?|exfiltrat\w*|"
    r"infiltrat(?:ed|es|ing|ion)|"
    r"data theft|theft of (?:customer|personal|employee|patient)\w* (?:data|information)|"
    r"unauthori[sz]ed (?:access\w*|part(?:y|ies)|third part(?:y|ies)|actors?|activity|logins?|"
    r"transactions?|users?|individuals?|person)|intrusions?|"
    r"extort(?:ion|ed|s)?|ransom demand|compromised|leak site|dark web|cyber[\s-]?criminals?|"
    # "exposed 38TB of private data", "accidentally disclosed terabytes of files"
    r"(?:expos(?:ed|es|ing)|(?:inadvertently|accidentally|mistakenly) (?:disclos|publish|shar)\w*)"
    r" (?:[\w-]+ ){0,4}?(?:data|records|personal|customer|information|files|details))\b",
)
# Terms that describe attacks in general; alone they also fit advisories.
_WEAK_EN = re.compile(
    r"\b(?:attack(?:s|ed|ers?)?|threat actors?|malicious (?:actors?|activity)|exploit(?:s|ed)?|"
    r"compromise|malware|suspicious activity|account takeovers?|credential stuffing)\b",
)
_STRONG_JA = re.compile(
    r"不正アクセス|ランサム(?:ウ[ェエ]ア)?|情報漏え?い|情報漏洩|漏えい|漏洩|流出|サイバー攻撃|"
    r"(?:マルウ[ェエ]ア|ウイルス|エモテット)(?:に|へ)?の?感染|"
    r"サイバーインシデント|セキュリティインシデント|不正侵入|窃取|身代金|ハッキング|"
    r"攻撃を受け|被害を受け"
)
# "不正" is any wrongdoing: it counts in computer compounds (不正ログイン, 不正に流出, 不正送金),
# not alone ("不正が確認") nor in the compounds of a scandal (検査不正, 不正行為).
_WEAK_JA = re.compile(
    r"攻撃|侵害|インシデント|マルウ[ェエ]ア|乗っ取|なりすまし|"
    r"(?<!検査)(?<!認証)(?<!品質)(?<!会計)(?<!試験)(?<!燃費)(?<!組織的)"
    r"不正(?:に|な(?!検査|行為)|"
    r"(?!行為|検査|会計|経理|受給|請求|契約|競争|表示|入試|融資|問題)[\u30a0-\u30ff\u4e00-\u9fff])"
)

# Talk of defence, risk and hypotheticals: removed before looking for incident terms.
_DENIED = (
    r"(?:cyber[\s-]?(?:security[\s-])?(?:attack|incident|issue|event|breach)|breach|hack|ransomware|"
    r"malicious|intrusion|security (?:incident|breach|issue|event))\w*"
)
_NOT_AN_EVENT = re.compile(
    # A denial or a mistaken guess: "not caused by a cyber attack", "ruled out a cyberattack",
    # "no indication" of another hack", "initially thought to be a cyberattack".
    r"\b(?:not|no|never|nor|wasn'?t|isn'?t|weren'?t|aren'?t|without|rul\w+ out|unrelated to|"
    r"den(?:y|ies|ied|ying)|rather than|instead of|mistaken for|mistook for|thought to be|"
    r"speculation (?:of|about|that)|rumou?rs? of)"
    r"[\s\"“”]+(?:[\w'’\"“”-]+[\s\"“”]+){0,5}?"
    + _DENIED
    + r"(?:,?\s+(?:or|nor|and)\s+(?:an?\s+)?"
    + _DENIED
    + r")*"
    # Leaks that are not of data.
    r"|\b(?:memory|water|gas|oil|fuel|coolant|air)\s+leak\w*"
    # A breach of a contract or a duty; a breach's lawsuit, settled or dismissed long after.
    r"|\bbreach(?:es|ed)?\s+(?:of\s+)?(?:(?:its|the|their|his|her)\s+)?(?:fiduciary\s+)?"
    r"(?:contract|duty|duties|warranty|covenant|agreement|terms|obligations?|the peace|"
    r"confidence|promise|fiduciary)\w*"
    r"|\b(?:data\s+)?breach(?:es)?\s+(?:settlement|litigation|lawsuits?|class[\s-]actions?|"
    r"suits?)\b"
    r"|\bsettle(?:s|d|ment|ments)?\b[^;\n]{0,160}"
    r"|\b(?:dismiss\w*|drops?|dropped|throws? out|tossed)\s+(?:\w+\s+){0,3}?(?:lawsuit|suit|"
    r"case|claims?|charges)\b[^;\n]{0,160}"
    # A past incident recalled in other news: "a photo caption recalls the 2021 ransomware".
    r"|\brecall(?:s|ed|ing)\b[^.;\n]{0,80}"
    r"|\bfears? (?:of|over|that)\b[^.;\n]{0,60}"
    r"|\b(?:protect\w*|defen[cds]\w*|guard\w*|prevent\w*|detect\w*|resilien\w*|shield\w*|"
    r"recover\w*|block\w*|fight\w*|combat\w*|mitigat\w*|secur\w+|insur\w+|prepar\w*)"
    r"(?:\s+\w+){0,3}?\s+(?:against|from|for)\b[^.;\n]{0,60}"
    r"|\b(?:anti|counter)[\s-]?(?:ransomware|hack\w*|breach\w*)"
    r"|\b(?:ransomware|breach|cyber[\s-]?attack|hack)\s+(?:protection|recovery|detection|"
    r"prevention|defen[cs]e|resilience|vault|readiness|insurance|simulation|drill|"
    r"exercise|response plan|playbook)s?"
    r"|\brisks?\s+(?:of|from|such as|including|related to|posed by)\b[^.;\n]{0,60}"
    r"|\b(?:cyber(?:security)?|security|breach)\s+risks?\b"
    r"|\brisk factors?\b[^.;\n]{0,80}"
    r"|\b(?:could|may|might|would)\s+(?:face|suffer|experience|be subject to|be targeted by|"
    r"lead to|allow|enable|let)\b[^.;\n]{0,60}"
    r"|\b(?:potential|possible|future|hypothetical|simulated)\s+(?:\w+\s+){0,2}?"
    r"(?:breach\w*|cyber\w*|attack\w*|incident\w*|ransomware|hack\w*)",
)
_NOT_AN_EVENT_JA = re.compile(
    r"(?:ランサム(?:ウ[ェエ]ア)?|マルウ[ェエ]ア|サイバー攻撃|不正アクセス|情報漏え?い|情報漏洩|漏えい)"
    r"(?:対策|防止|検知|保護|防御|への備え|に備え|から守|リスク|訓練|演習|保険)"
    r"|(?:対策|防御|検知|保護)(?:ソリューション|製品|サービス)"
    # A denial: "サイバー攻撃を受けた可能性は低い", "不正アクセスではない".
    r"|(?:サイバー攻撃|不正アクセス|ランサム(?:ウ[ェエ]ア)?|ハッキング|情報漏え?い|情報漏洩)[^。、]{0,8}?"
    r"(?:可能性は低い|ではない|ではなく|でない|ではありません|を否定|は否定)"
    # Money or people flowing out, not data: "40億円が流出", "人材流出".
    r"|(?:円|ドル|ユーロ|資金|現金|預金|人材|人口)(?:の資金|相当)?(?:が|を)?流出"
)
# An advisory speaks of a flaw; without a strong term it reports no incident.
_ADVISORY = re.compile(
    r"\bvulnerabilit(?:y|ies)\b|\bcve-\d{4}-\d+|\bsecurity (?:update|patch|advisory|bulletin)s?\b|"
    r"\bpatch(?:es|ed)?\b|\bflaws?\b|\bzero[\s-]day\b|\bwarns?\b[^.;\n]{0,40}?\b(?:of|about)\b|"
    r"脆弱性|セキュリティ(?:アップデート|更新)|修正プログラム",
)
# In an advisory, "compromised" and "hackers" alone describe the product's exposure
# ("IOS XE devices compromised", "hackers backdooring routers"); an incident needs its
# victims or their data named as well.
_EXPOSURE_ONLY = frozenset(
    "compromised hack hacks hacked hacking hacker hackers cybercriminal cybercriminals".split()
)
_VICTIM_SIDE = re.compile(
    r"\b(?:victims?|customers?|users?|members?|patients?|employees?|data|records|accounts?|"
    r"transactions?|information|files)\b|顧客|個人情報|会員|利用者"
)
# A flaw's effect in an advisory ("could allow attackers to steal data") is not an event.
_ADVISORY_EFFECT = re.compile(
    r"\b(?:can|could|may|might|allow\w*|enabl\w*|lets?)\s+(?:\w+\s+){0,4}?"
    r"(?:steal|exfiltrate|leak|breach|hack|compromise)\w*\b",
)


_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "spring|summer|fall|autumn|winter|year|month|week"
)
# An incident of the past named as such: "last October's ransomware attack".
_INCIDENT_NOUN = (
    r"(?:cyber[\s-]?attack|cyber\s*security\s+(?:breach|incident)|data\s+breach|breach|hack|"
    r"ransomware\s+attack|ransomware|attack|incident)\w*"
)
_PAST_INCIDENT = re.compile(
    r"\b(?:last|previous|prior|earlier)\s+(?:"
    + _MONTHS
    + r")(?:['’]s)?\s+(?:[\w$-]+\s+){0,3}?"
    + _INCIDENT_NOUN
    + r"|昨年の|前年の|先月の"
)
# "a fall 2022 cybersecurity breach", "the 2021 ransomware demand": past when the year is.
_DATED_INCIDENT = re.compile(
    r"\b(?:a|an|the|its|their)\s+(?:(?:" + _MONTHS + r")\s+)?((?:19|20)\d\d)\s+"
    r"(?:[\w$-]+\s+){0,3}?" + _INCIDENT_NOUN
)


@dataclass(frozen=True, slots=True)
class Relevance:
    """Whether a text reports an incident, and the terms that say so."""

    incident: bool
    terms: tuple[str, ...]
    note: str = ""
    strong: bool = False  # a term that reports an event, not only an attack in general


def assess(text: str, *, by_nature: bool = False) -> Relevance:
    """Judge whether ``text`` reports a security incident; structured sources always do."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    japanese = not text.isascii()
    cleaned = _NOT_AN_EVENT.sub(" ", text)
    if japanese:
        cleaned = _NOT_AN_EVENT_JA.sub(" ", cleaned)
    advisory = _ADVISORY.search(cleaned) is not None
    if advisory:
        cleaned = _ADVISORY_EFFECT.sub(" ", cleaned)
    strong = [m.group(0) for m in _STRONG_EN.finditer(cleaned)]
    weak = [m.group(0) for m in _WEAK_EN.finditer(cleaned)]
    if japanese:
        strong += [m.group(0) for m in _STRONG_JA.finditer(cleaned)]
        weak += [m.group(0) for m in _WEAK_JA.finditer(cleaned)]
    exposure = advisory and strong and all(t in _EXPOSURE_ONLY for t in strong)
    if exposure and not _VICTIM_SIDE.search(cleaned):
        weak, strong = weak + strong, []
    terms = tuple(dict.fromkeys(t.lower() for t in strong + weak))
    if by_nature:
        return Relevance(True, terms, "incident by nature of the source", strong=bool(strong))
    if strong:
        return Relevance(True, terms, strong=True)
    if weak and not advisory:
        return Relevance(True, terms)
    if advisory:
        return Relevance(False, terms, "a vulnerability advisory")
    return Relevance(False, terms)


def recalls_a_past_incident(title: str, summary: str, year: int | None = None) -> bool:
    """Tell whether news about something else only recalls an earlier incident.

    "CommonSpirit cuts 2,000 jobs" citing "a $160 million hit from last October's
    ransomware attack" is news about jobs: the headline reports no incident and the summary
    speaks of one only as past (last October's, or dated before ``year``, the year of
    publication).
    """
    if not summary or assess(title).incident:
        return False
    lowered = unicodedata.normalize("NFKC", summary).lower()
    cleaned = _PAST_INCIDENT.sub(" ", lowered)
    if year is not None:
        cleaned = _DATED_INCIDENT.sub(
            lambda m: " " if int(m.group(1)) < year else m.group(0), cleaned
        )
    if cleaned == lowered:
        return False
    return not assess(cleaned).incident
