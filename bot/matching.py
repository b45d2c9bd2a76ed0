"""Decide which watched companies a disclosure is about, and whether it is about a breach."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from bot.watchlist import Company
from scrapers.models import Disclosure

_BREACH_EN = re.compile(
    r"\b(breach(?:es|ed)?|cyber[\s-]?attack(?:s|ed)?|cyber[\s-]?incident|cybersecurity incident|"
    r"security incident|ransomware|data leak(?:s|ed)?|leak(?:ed|s)? data|hack(?:ed|ers?)?|"
    r"unauthori[sz]ed access|intrusion|compromised?|stolen data|data theft|exfiltrat\w*|"
    r"extortion|threat actors?|malicious actors?|systems? outage caused)\b",
    re.IGNORECASE,
)
_BREACH_JA = re.compile(
    r"不正アクセス|ランサムウェア|情報漏えい|情報漏洩|個人情報.{0,6}(?:流出|漏)|サイバー攻撃|"
    r"サイバーインシデント|システム障害|セキュリティインシデント|不正侵入"
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")


def normalize(text: str) -> str:
    """NFKC, case-folded, with white space collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


def is_breach_related(text: str) -> list[str]:
    """Return the breach terms found in ``text`` (empty if it is not about a breach)."""
    found = [m.group(0) for m in _BREACH_EN.finditer(text)]
    found += [m.group(0) for m in _BREACH_JA.finditer(text)]
    return found


@dataclass(frozen=True, slots=True)
class Match:
    """A disclosure found to be about a watched company."""

    company: Company
    matched: tuple[str, ...]  # the names and terms that matched
    reason: str  # one line for people: why this is an alert


class Matcher:
    """Match disclosures against a fixed set of companies."""

    def __init__(self, companies: Iterable[Company]) -> None:
        self.companies = list(companies)
        self._patterns: list[tuple[Company, list[tuple[str, re.Pattern[str]]]]] = []
        for company in self.companies:
            pats = []
            for name in company.names:
                norm = normalize(name)
                if not norm:
                    continue
                if _CJK.search(norm):
                    pats.append((name, re.compile(re.escape(norm))))
                else:
                    pats.append((name, re.compile(r"(?<!\w)" + re.escape(norm) + r"(?!\w)")))
            self._patterns.append((company, pats))

    def match(self, disclosure: Disclosure) -> list[Match]:
        """Return a :class:`Match` for each watched company this breach disclosure concerns."""
        text = normalize(disclosure.text)
        if disclosure.organization:
            text = normalize(disclosure.organization) + "\n" + text
        terms = is_breach_related(text)
        if not terms and not disclosure.incident_by_nature:
            return []
        found: list[Match] = []
        for company, pats in self._patterns:
            names = [name for name, pat in pats if pat.search(text)]
            if not names:
                continue
            if any(normalize(x) in text for x in company.exclude):
                continue
            why = f"names {', '.join(repr(n) for n in names)}"
            if terms:
                why += f"; about {', '.join(dict.fromkeys(t.lower() for t in terms))}"
            found.append(Match(company, tuple(dict.fromkeys([*names, *terms])), why))
        return found
