"""Decide which watched companies a disclosure is about, and whether it is about a breach.

One Aho-Corasick automaton holds every name, alias, related entity and exclusion of the
watchlist, so the cost of reading a document does not grow with the number of names. Hits on
names that are also ordinary words are then checked in context: case, the words around them,
the company's domains and other names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import ahocorasick

from bot.core.commonwords import COMMON_WORDS, PLACE_PAIRS, PLACES
from bot.core.mentions import passing
from bot.core.normalize import fold, fold_name, has_cjk, pattern_key
from bot.core.relevance import Relevance, assess, recalls_a_past_incident
from bot.core.watchlist import Company
from scrapers.models import Disclosure

__all__ = ["Match", "Matcher", "is_breach_related", "normalize"]

_NAME, _RELATED, _EXCLUDE = "name", "related", "exclude"
_DOMAIN = re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}\b")
# Words right after a name that show it is used as an organization, not an ordinary word.
_CUES_AFTER = frozenset(
    """
    inc corp corporation co ltd plc llc group holdings company customers customer
    users subscribers members patients employees staff workers data systems network networks
    servers says said confirms confirmed confirm discloses disclosed disclose
    reported notifies notified notifying warns warned admits admitted investigates
    investigating hit hits suffers suffered suffer breach breached breaches hacked hack
    attacked attack cyberattack cyber ransomware incident outage outages disruption
    spokesperson spokesman spokeswoman statement shares stock filing filed website app
    stores hospitals hospital clinics facilities services employee unit subsidiary parent
    owner division healthcare health bank airline airlines telecom insurance pharmacy
    software technologies tech labs motors restores resumes halts shuts takes pauses probes
    blames reveals recovers responds alerts tells urges partner partners portal account
    accounts database databases platform environment infrastructure tenant instance
    instances hosted related
    """.split()
)
# Nouns that still show an organization a few lowercase words later ("Capital One credit
# card customers", "Dell partner portal").
_CUE_NOUNS = frozenset(
    "customers customer users subscribers members patients employees staff data systems "
    "network networks servers accounts records portal database".split()
)
# Sector words that, capitalised right after an ordinary-word name, make another
# organization's longer name: "Frontier Software", "Delta Dental", "Target Hospitality".
_OTHER_ORGANIZATION = frozenset(
    """
    software systems bank banking health healthcare hospital hospitals clinic clinics medical
    dental hospitality labs laboratories motors technologies tech airlines airways insurance
    pharmacy pharmaceuticals energy financial communications telecom media foods brands
    logistics entertainment resorts pictures studios games electronics solutions services
    university college school schools county city reit trust properties realty credit
    industries
    """.split()
)
# A hospital, school or foundation named after a company is not the company: "Toyota
# Memorial Hospital", "Mitsui Memorial Hospital", "トヨタ記念病院".
_INSTITUTION = re.compile(
    r"\s+(?:(?:General|Children['’]s|Regional|Community)\s+)?"
    r"(?:Hospitals?|Memorial|Medical Cent(?:er|re)|Clinic|University|"
    r"College|School|Foundation|Museum|Stadium|Arena|Institute)\b"
    r"|(?:記念)?(?:病院|医療センター|大学|財団|美術館|記念館|スタジアム|学園)"
)
# Words shortly before a name that describe an organization ("retail giant Orange").
_CUES_BEFORE = frozenset(
    """
    giant retailer retailers provider operator firm company maker chain subsidiary unit
    carrier telecom telco brand vendor insurer lender bank biotech startup platform owner
    hospital hospitals healthcare
    """.split()
)
# A preposition counts when an incident noun precedes it: "attack on", "breach at".
_INCIDENT_NOUNS = frozenset(
    "attack attacks cyberattack cyberattacks breach breaches hack hacks intrusion intrusions "
    "incident incidents ransomware compromise".split()
)
# Something an organization holds: "a bucket controlled by Capita", "servers run by Dell".
_HELD_BY = frozenset("controlled operated owned run managed held maintained hosted used".split())
_PREPOSITIONS = frozenset({"on", "at", "of", "against"})
_WORD = re.compile(r"[\w'’&+.-]+")
# A notice in a company's own voice: "we", "our", 当社, 弊社, or the form of a notice.
_NOTICE_VOICE = re.compile(
    r"(?i:\b(?:we|our|us|notice|notification|statement|announcement|update on|"
    r"investigation results?)\b)"
    r"|当社|弊社|当グループ|弊グループ|当行|弊行|当機構|本学|当院|お知らせ|お詫び|ご報告|ご案内|第\d+報"
)
# A Latin name ends where Latin letters and digits end, whatever script comes next.
_LATIN_BEFORE = r"(?<![0-9a-z\u00df-\u00ff])"
_LATIN_AFTER = r"(?![0-9a-z\u00df-\u00ff])"
_ARTICLES = frozenset({"a", "an"})


def normalize(text: str) -> str:
    """NFKC, case-folded, with white space collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


def is_breach_related(text: str) -> list[str]:
    """Return the breach terms found in ``text`` (empty if it is not about a breach)."""
    relevance = assess(text)
    return list(relevance.terms) if relevance.incident else []


@dataclass(frozen=True, slots=True)
class Match:
    """A disclosure found to be about a watched company."""

    company: Company
    matched: tuple[str, ...]  # the names and terms that matched
    reason: str  # one line for people: why this is an alert


@dataclass(frozen=True, slots=True)
class _Key:
    """What one automaton key stands for in one company."""

    company: int
    label: str  # the name as the watchlist writes it
    kind: str  # name | related | exclude
    ambiguous: bool


@dataclass(slots=True)
class _Hit:
    key: _Key
    start: int
    end: int  # exclusive, in the folded text


def is_ambiguous_name(name: str, folded: str | None = None) -> bool:
    """Tell whether ``name`` reads as ordinary words ("Change", "Hot Topic", "Orange")."""
    if folded is None:
        folded = fold_name(name)
    if not folded or has_cjk(folded):
        return False
    return all(w in COMMON_WORDS or w == "and" for w in folded.split())


def _is_short_acronym(name: str) -> bool:
    # Three capitals or fewer (CDK, MGM, M&S, AT&T) read as a word when written in lower case.
    letters = [c for c in name if c.isalpha()]
    return 0 < len(letters) <= 3 and all(c.isupper() for c in letters)


@lru_cache(maxsize=65536)
def _surface(name: str) -> re.Pattern[str]:
    """A pattern that finds ``name`` in lower-cased NFKC text (see :class:`_Surface`)."""
    folded = fold_name(name)
    parts = [r"(?:and|&)" if word == "and" else re.escape(word) for word in folded.split()]
    # Word boundaries only at Latin ends, against Latin letters and digits alone: Japanese
    # and Chinese names sit inside words, and "NECへの攻撃" names NEC. Lower-cased text and
    # ASCII classes keep the pattern quick to compile: a watchlist has many names.
    head = "" if has_cjk(folded[:1]) else _LATIN_BEFORE
    tail = "" if has_cjk(folded[-1:]) else r"(?:['’]s)?" + _LATIN_AFTER
    return re.compile(head + r"[\W_]*".join(parts) + tail)


class _Surface:
    """A disclosure's NFKC text with its case intact, and where each name stands in it."""

    def __init__(self, text: str) -> None:
        self.text = unicodedata.normalize("NFKC", text)
        lowered = self.text.lower()
        if len(lowered) != len(self.text):
            # A few letters lower to two characters ("İ"): keep offsets aligned.
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in self.text)
        self.lower = lowered
        self._spans: dict[str, list[tuple[int, int]]] = {}

    def find(self, label: str) -> list[tuple[int, int]]:
        """The spans where ``label`` (a watchlist name) stands in the text."""
        spans = self._spans.get(label)
        if spans is None:
            words = _latin_words(label)
            if words:
                spans = _latin_spans(self.lower, words)
            else:
                spans = [(m.start(), m.end()) for m in _surface(label).finditer(self.lower)]
            self._spans[label] = spans
        return spans


@lru_cache(maxsize=65536)
def _latin_words(name: str) -> tuple[str, ...]:
    """The folded words of an ASCII name, or () when a pattern must find it."""
    folded = fold_name(name)
    words = tuple(folded.split())
    return words if folded.isascii() and words and words[0] != "and" else ()


def _is_latin(c: str) -> bool:
    return (c.isascii() and c.isalnum()) or "\u00df" <= c <= "\u00ff"


def _latin_spans(text: str, words: tuple[str, ...]) -> list[tuple[int, int]]:
    """What :func:`_surface` finds, without compiling a pattern per name.

    Words may be separated by anything but letters and digits, "and" may be "&", and the
    name may end in a possessive; Latin letters and digits may not touch either end.
    """
    spans: list[tuple[int, int]] = []
    first, n, pos = words[0], len(text), 0
    while (start := text.find(first, pos)) >= 0:
        pos = start + 1
        if start and _is_latin(text[start - 1]):
            continue
        i = start + len(first)
        for word in words[1:]:
            j = i
            while j < n and not text[j].isalnum():
                j += 1
            if text.startswith(word, j):
                i = j + len(word)
            elif word == "and" and "&" in text[i:j]:
                i = text.index("&", i) + 1
            else:
                break
        else:
            if text[i : i + 2] in {"'s", "’s"} and not (i + 2 < n and _is_latin(text[i + 2])):
                end = i + 2
            elif i < n and _is_latin(text[i]):
                continue
            else:
                end = i
            spans.append((start, end))
            pos = end
    return spans


class Matcher:
    """Match disclosures against a set of companies, all names in one automaton."""

    def __init__(self, companies: Iterable[Company]) -> None:
        self.companies: list[Company] = list(companies)
        self._automaton = ahocorasick.Automaton()
        keys: dict[str, list[_Key]] = {}
        self._domains: dict[str, list[int]] = {}
        for index, company in enumerate(self.companies):
            own = set()
            for name in company.names:
                folded = fold_name(name)
                own.add(folded)
                ambiguous = company.ambiguous or is_ambiguous_name(name, folded)
                self._add(keys, folded, _Key(index, name, _NAME, ambiguous))
            for name in company.related:
                folded = fold_name(name)
                self._add(
                    keys, folded, _Key(index, name, _RELATED, is_ambiguous_name(name, folded))
                )
            for phrase in company.exclude:
                folded = fold(phrase).strip()
                # An exclusion that folds to one of the names ("MGM+") would hide them all.
                if folded not in own:
                    self._add(keys, folded, _Key(index, phrase, _EXCLUDE, False))
            for domain in company.domains:
                self._domains.setdefault(domain.lower().removeprefix("www."), []).append(index)
        for key, values in keys.items():
            self._automaton.add_word(key, (len(key), tuple(values)))
        if keys:
            self._automaton.make_automaton()
        self._empty = not keys

    @staticmethod
    def _add(keys: dict[str, list[_Key]], folded: str, key: _Key) -> None:
        if not folded:
            return
        entries = keys.setdefault(pattern_key(folded), [])
        # Names that fold alike ("HOYA", "HOYA Corporation") keep the first, for the reason.
        if not any(e.company == key.company and e.kind == key.kind for e in entries):
            entries.append(key)

    def with_companies(self, companies: Iterable[Company]) -> Matcher:
        """Return a matcher for a changed company set (the automaton is rebuilt once)."""
        return Matcher(companies)

    # -- finding names ---------------------------------------------------------------------

    def _hits(self, folded: str) -> list[_Hit]:
        if self._empty:
            return []
        hits: list[_Hit] = []
        for end, (length, keys) in self._automaton.iter(folded):
            for key in keys:
                hits.append(_Hit(key, end + 1 - length, end + 1))
        return hits

    def _domain_hits(self, disclosure: Disclosure) -> dict[int, str]:
        if not self._domains:
            return {}
        found: dict[int, str] = {}
        hosts = {urlsplit(disclosure.url).hostname or ""}
        hosts.update(_DOMAIN.findall(disclosure.text.lower()))
        for host in hosts:
            labels = host.removeprefix("www.").split(".")
            for i in range(len(labels) - 1):
                for index in self._domains.get(".".join(labels[i:]), ()):
                    found.setdefault(index, host)
        return found

    # -- deciding --------------------------------------------------------------------------

    def match(self, disclosure: Disclosure) -> list[Match]:
        """Return a :class:`Match` for each watched company this breach disclosure concerns."""
        if disclosure.organization:
            return self._match_organization(disclosure)
        folded = fold(disclosure.text)
        names = _live_hits(self._hits(folded))
        if not names:
            return self._match_publisher(disclosure)
        relevance = assess(disclosure.text, by_nature=disclosure.incident_by_nature)
        if not relevance.incident:
            return []
        year = disclosure.published.year if disclosure.published else None
        if not disclosure.incident_by_nature and recalls_a_past_incident(
            disclosure.title, disclosure.summary, year
        ):
            return []
        domains = self._domain_hits(disclosure)
        surface = _Surface(disclosure.text)
        by_company: dict[int, list[_Hit]] = {}
        for hit in names:
            by_company.setdefault(hit.key.company, []).append(hit)
        decided: dict[int, tuple[str, list[_Hit]]] = {}
        for index, company_hits in by_company.items():
            why = self._decide(company_hits, surface, domains.get(index))
            if why is not None:
                decided[index] = (why, company_hits)
        if decided:
            spans = {i: _spans(h, surface) for i, (_, h) in decided.items()}
            title_end = len(unicodedata.normalize("NFKC", disclosure.title))
            aside = passing(spans, surface.text, title_end)
            decided = {i: v for i, v in decided.items() if i not in aside}
        found: list[Match] = []
        for index, (why, company_hits) in decided.items():
            labels = tuple(dict.fromkeys(h.key.label for h in company_hits))
            found.append(
                Match(self.companies[index], (*labels, *relevance.terms), _reason(why, relevance))
            )
        return found

    def _match_publisher(self, disclosure: Disclosure) -> list[Match]:
        # A company's own newsroom often does not name the company in its notices.
        if not self._domains:
            return []
        host = (urlsplit(disclosure.url).hostname or "").removeprefix("www.")
        labels = host.split(".")
        owners: list[int] = []
        for i in range(len(labels) - 1):
            owners = self._domains.get(".".join(labels[i:]), [])
            if owners:
                break
        if len(owners) != 1:
            return []
        # A news site that is also watched (an outlet's own breach) reports on others too: only
        # a notice in the company's own voice speaks for it unnamed.
        if not disclosure.incident_by_nature and not _NOTICE_VOICE.search(disclosure.text):
            return []
        relevance = assess(disclosure.text, by_nature=disclosure.incident_by_nature)
        if not relevance.incident:
            return []
        company = self.companies[owners[0]]
        why = f"published on {host}, a domain of {company.name}"
        return [Match(company, (host, *relevance.terms), _reason(why, relevance))]

    def _match_organization(self, disclosure: Disclosure) -> list[Match]:
        # A structured field names the affected organization: it alone decides who.
        organization = disclosure.organization or ""
        names = _live_hits(self._hits(fold(organization)))
        relevance = assess(disclosure.text, by_nature=disclosure.incident_by_nature)
        if not names or not relevance.incident:
            return []
        found: list[Match] = []
        for index in dict.fromkeys(h.key.company for h in names):
            hit = next(h for h in names if h.key.company == index)
            company = self.companies[index]
            if hit.key.kind == _RELATED:
                why = f"organization {organization!r} is related to {company.name}"
            else:
                why = f"organization {organization!r} is {company.name}"
            found.append(Match(company, (hit.key.label, *relevance.terms), _reason(why, relevance)))
        return found

    def _decide(self, hits: Sequence[_Hit], surface: _Surface, domain: str | None) -> str | None:
        """Return why ``hits`` name the company, or None if they are ordinary words."""
        plain = [h for h in hits if not h.key.ambiguous]
        for hit in plain:
            if _is_short_acronym(hit.key.label) and not _surface_case_ok(hit.key.label, surface):
                continue
            spans = surface.find(hit.key.label)
            if spans and all(_institution(surface.text, end) for _, end in spans):
                continue
            if hit.key.kind == _RELATED:
                return f"names related entity {hit.key.label!r}"
            return f"names {hit.key.label!r}"
        ambiguous = [h for h in hits if h.key.ambiguous]
        for label in dict.fromkeys(h.key.label for h in ambiguous):
            spans = [
                (a, b) for a, b in _name_uses(label, surface) if not _institution(surface.text, b)
            ]
            if not spans:
                continue
            if domain:
                return f"names {label!r}, and links to {domain}"
            for start, end in spans:
                cue = _cue(surface.text, start, end)
                if cue:
                    return f"names {label!r} as an organization ({cue})"
        return None


def _institution(text: str, end: int) -> bool:
    """Tell whether the name ending at ``end`` begins an institution's name."""
    return _INSTITUTION.match(text, end) is not None


def _live_hits(hits: list[_Hit]) -> list[_Hit]:
    """Drop exclusions, names inside an excluded phrase, and names inside longer names."""
    excluded = [h for h in hits if h.key.kind == _EXCLUDE]
    names = [h for h in hits if h.key.kind != _EXCLUDE]
    live = []
    for hit in names:
        if any(
            e.key.company == hit.key.company and e.start <= hit.start and hit.end <= e.end
            for e in excluded
        ):
            continue
        if any(
            other.key.company != hit.key.company
            and other.start <= hit.start
            and hit.end <= other.end
            and other.end - other.start > hit.end - hit.start
            for other in names
        ):
            continue
        live.append(hit)
    return live


def _surface_case_ok(label: str, surface: _Surface) -> bool:
    """Tell whether a short capital name (CDK, MGM, M&S, AT&T) appears in capitals."""
    for start, end in surface.find(label):
        found = surface.text[start:end]
        words = re.findall(r"[^\W\d_]+", found)
        if words and words[-1] in {"s", "S"} and len(words) > 1 and found[-2] in "'’":
            words = words[:-1]  # a possessive
        if all(w.isupper() for w in words if w.lower() != "and"):
            return True
    return False


def _name_uses(label: str, surface: _Surface) -> list[tuple[int, int]]:
    """Spans where ``label`` is capitalised and not after "a"/"an" (a name, not a noun)."""
    if has_cjk(label):
        # Japanese and Chinese have no capitals to tell a name from a word.
        return surface.find(label)
    text = surface.text
    spans = []
    for start, end in surface.find(label):
        words = re.findall(r"[^\W\d_]+", text[start:end])
        if not words or not all(w[0].isupper() for w in words if w.lower() not in {"and", "s"}):
            continue
        before = text[max(0, start - 4) : start].split()
        # "a Hot Topic" is a noun; in "a Snowflake-hosted workspace" the article is the compound's.
        compound = text[end : end + 1] in {"-", "‐"}
        if before and before[-1].lower() in _ARTICLES and not compound:
            continue
        spans.append((start, end))
    return spans


def _cue(surface: str, start: int, end: int) -> str | None:
    """Say what around ``surface[start:end]`` shows it names an organization, if anything."""
    if surface[start:end].endswith(("'s", "’s")):
        return "possessive"
    after = [w.strip(".-") for w in _WORD.findall(surface[end : end + 60])[:3]]
    if (
        after
        and not surface[start:end].isupper()
        and surface[end : end + 1] == " "
        and after[0][:1].isupper()
        and after[0].lower() in _OTHER_ORGANIZATION
    ):
        return None  # a longer name: someone else's
    if after:
        nxt = after[0]
        if len(nxt) > 1 and (
            nxt.isupper()
            or (nxt[0].islower() and not nxt.islower())
            or any(c.isupper() for c in nxt[1:])
        ):
            return f"followed by the product name {nxt!r}"
        word = nxt.lower().strip("'’")
        if word in _CUES_AFTER:
            return f"{word!r} after it"
        if nxt[:1].isupper() and (
            fold(word).strip() in PLACES or fold(" ".join(after[:2])).strip() in PLACE_PAIRS
        ):
            return f"a national unit ({nxt})"
        for later in after[1:]:
            if not later.islower():
                break
            if later in _CUE_NOUNS:
                return f"{later!r} after it"
    before = [w.lower().strip(".'’") for w in _WORD.findall(surface[max(0, start - 60) : start])]
    for word in before[-3:]:
        if word in _CUES_BEFORE:
            return f"{word!r} before it"
    if len(before) >= 2 and before[-1] in _PREPOSITIONS and before[-2] in _INCIDENT_NOUNS:
        return f"{before[-2]} {before[-1]!r} before it"
    if len(before) >= 2 and before[-1] == "by" and before[-2] in _HELD_BY:
        return f"'{before[-2]} by' before it"
    return None


def _spans(hits: Sequence[_Hit], surface: _Surface) -> list[tuple[int, int]]:
    """Where the names of ``hits`` stand in the text, overlaps merged."""
    found = sorted(
        span for label in dict.fromkeys(h.key.label for h in hits) for span in surface.find(label)
    )
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _reason(why: str, relevance: Relevance) -> str:
    if relevance.note:
        return f"{why}; {relevance.note}"
    if relevance.terms:
        return f"{why}; about {', '.join(relevance.terms[:4])}"
    return why
