"""Tell the companies a story is about from the companies it names in passing.

A story about one victim often names others: the outlet the attackers contacted ("told BBC
News"), earlier victims of the same gang ("following attacks on M&S and the Co-op"), the
owner of the victim ("Microsoft's GitHub"), a product ("Microsoft 365"), a company that was
not affected ("British Airways operated normally"). A platform's breach names its customers
as victims, and a customer's breach names the platform it came through ("victims include
Ticketmaster", "via the Accellion FTA system", "its vendor Accellion"): those stay.

The rules read the words around each mention inside its clause, on the NFKC text with its
case and punctuation intact.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.relevance import assess

__all__ = ["Mention", "passing"]

Span = tuple[int, int]

# Where a clause ends: sentence marks, a dash between words, ", and"/", but", a line break.
_CLAUSE_BREAK = re.compile(
    r"[;!?。；\n]|[.:](?=\s+[A-Z\"“‘(「]|\s*$)|\s[—–-]\s|—|,\s+(?:and|but|while|whereas)\s"
)
# A run of capitalised names in a list: "Ticketmaster, Neiman Marcus Group, " before the next.
_LIST = (
    r"(?:(?:the\s+)?[A-Z0-9][\w&'’.-]*(?:\s+[A-Z0-9&][\w&'’.-]*)*(?:\s*\([^)]*\))?"
    r"\s*(?:,\s*(?:and\s+)?|\s+and\s+))*"
)
_NAMES = r"(?:[A-Z0-9][\w&'’.,-]*\s+)*"

# The mention is the platform or vendor of the victim, or one of the victims of a platform.
_LINK_BEFORE = re.compile(
    r"(?:(?i:\b(?:vendors?|suppliers?|providers?|partners?|contractors?|processors?|"
    r"platforms?|third[\s-]part(?:y|ies)|via|through))\s+(?:(?i:the|its|their|a|an)\s+)?"
    r"|(?i:\bvictims?\s+(?:include|including|such as|are|were|named))\s+"
    + _LIST
    + r"|(?i:\b(?:stolen|stole|steal\w*|taken|took|exfiltrated)\s+(?:[\w-]+\s+){0,2}from)\s+"
    + _LIST
    + r"|(?:委託先|委託元|取引先|提携先|業務委託先|配送委託先)(?:の|である|で|、)?)$"
)
_LINK_AFTER = re.compile(
    r"^(?:[-‐](?i:hosted|related|linked|managed)\b"
    # "Telstra said its systems": a statement about itself, not a platform of someone else's.
    r"|(?:['’]s?)?\s+(?!(?i:says|said|say|confirm\w*|report\w*|stated|added|noted)\b)"
    r"(?:[\w-]+\s+){0,2}?(?i:systems?|platforms?|software|tools?|appliances?|"
    r"servers?|cloud|databases?|environments?|portals?|accounts?|workspaces?|instances?|"
    r"tenants?|products?)\b"
    r"|,\s+(?i:its|their|a|an|the)\s+(?:[\w-]+\s+){0,3}(?i:vendor|supplier|provider|partner|"
    r"contractor|processor|platform)\b)"
)
# Comparisons: words that introduce another incident as a reference point. The strong ones
# hold anywhere; the weak ones ("after", "also") only beside a subject named elsewhere.
_STRONG_BEFORE = re.compile(
    r"(?i:\b(?:following|follows|like|similar(?:ly)?|unlike|amid|recall\w*|echo\w*|joins|joining|"
    r"comes after|resembl\w*|alongside|as did|as with|earlier|previously|separate|latest|"
    r"the (?:group|gang|hackers|crew|actors?) (?:that|which|who|behind)))\b"
    r"|同様|巡って|事例|以来|に続|比べ|最多|上回|並ぶ|同じく|前回"
)
_WEAK_BEFORE = re.compile(r"(?i:\b(?:after|also|same|prior|than|besides|followed)\b)")
# Another incident named as a reference point: "the MGM breach", "Optus’ hack", "the Optus
# data was posted".
_THE_INCIDENT = re.compile(
    r"^(?:['’]s)?\s+(?:[\w-]+\s+)?(?i:attacks?|breach(?:es)?|hacks?|incidents?|intrusions?|"
    r"break-ins?|ransomware|leaks?|data)\b"
)
_RETRO_AFTER = re.compile(
    r"(?i:\b(?:earlier this|last (?:week|month|year|spring|summer|fall|autumn|winter|"
    r"january|february|march|april|may|june|july|august|september|october|november|"
    r"december|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|previously|"
    r"(?:weeks?|months?|years?) ago|own (?:attack|breach|hack|incident|cyber\w*|ransomware)))\b"
    r"|先月|昨年|前年|以前|過去に"
)
# "三菱電機でも" (at Mitsubishi Electric too); a bare "も" also lists fellow victims.
_JA_ALSO_AFTER = re.compile(r"^(?:でも|と同様|に続)")
# "Flagstar Bank customers were also informed", "日本航空も": another victim, told in passing.
_ALSO_AFTER = re.compile(r"(?i:\balso\b|\bas well\b)|^も")
# One of a list of companies ("firms linked to Salesforce, including Disney, Google, IKEA,
# Toyota, Qantas"): named among others, not told as a victim of its own.
_LIST_BEFORE = re.compile(r"(?i:\b(?:including|such as|like|among them|among))\s+" + _LIST + "$")
# Said of a victim in words that are not incident terms: "Shell confirmed it was affected".
_HIT = re.compile(
    r"(?i:\b(?:confirm\w*|says|said|acknowledg\w*|admit\w*)\s+(?:that\s+)?(?:it|they)\s+"
    r"(?:was|were|had been|has been)\s+(?:affected|impacted|hit|breached|compromised)\b"
    r"|\bamong\s+the\s+(?:first\s+)?(?:\d+\s+)?(?:victims|names)\b)"
)
# The outlet that was told, contacted or leaked to.
_MEDIA_BEFORE = re.compile(
    r"(?i:\b(?:told|tells|telling|contacted|contacting|interview with|speaking to|spoke to|"
    r"(?:leak\w*|sent|send\w*|gave|give\w*|provided|shared|handed)\s+(?:[\w-]+\s+){0,2}to))"
    r"\s+(?:the\s+)?$"
)
_MEDIA_AFTER = re.compile(
    r"^(?:\s+(?:News|reporters?|journalists?)\b|['’]s\s+(?i:reporting|investigation|reporters?)\b"
    r"|(?:が|は)?(?:報じ|報道|の取材|の調べ|電子版))"
)
# A brand used as a lure or a tool: "Cybercriminals pose as LastPass staff", "Hackers abuse
# Microsoft Teams".
_LURE_BEFORE = re.compile(
    r"(?i:\b(?:pos(?:e|es|ed|ing)\s+as|impersonat\w*|masquerad\w*\s+as|spoof\w*|fake|"
    r"abus(?:e|es|ed|ing)))\s+(?:the\s+)?$"
)
_LURE_AFTER = re.compile(
    r"^[-‐](?i:themed|branded)\b|^\s+(?i:phishing|lures?)\b"
    r"|^\s+(?i:(?:is|was|are)\s+)?(?i:among\s+)?(?i:the\s+)?(?i:most[\s-]impersonated)\b"
)
# A company reporting attacks on others: "Microsoft says an Iranian-backed threat group has
# targeted thousands of organizations", "LastPass is warning of a malicious campaign".
_REPORTER_AFTER = re.compile(
    r"^(?:\s+(?:Threat Intelligence|Talos|Security Response Center|Threat Analysis Group)\b"
    r"|\s+(?i:(?:security\s+|threat\s+)?researchers?\s+(?:have\s+)?(?:uncover\w*|discover\w*|"
    r"found|find|spot\w*|warn\w*|say|said|detail\w*|identif\w*|observ\w*|track\w*))\b"
    r"|\s+(?i:says|said|warns|warned|reports|reported|observed|tracks|tracked|detected|"
    r"spotted|uncovered|discovered|found)\b[^;]{0,120}?(?i:\b(?:organi[sz]ations|companies|"
    r"entities|governments|agencies|firms|targets|sectors|industries)\b)"
    r"|\s+(?:is\s+)?(?i:warn\w*)\b[^;]{0,80}?(?i:\b(?:campaigns?|phishing|scams?|smishing)\b))"
)
# The owner of the victim: "a subsidiary of Hon Hai ..., better known as Foxconn".
_OWNER_BEFORE = re.compile(
    r"(?:(?i:\b(?:subsidiary|unit|division|arm|affiliate)\s+(?:of|within))\s+(?:the\s+)?"
    + _NAMES
    + r"(?:,?\s*(?i:better|also|formerly)\s+known\s+as\s+)?|(?i:\bowned\s+by)\s+(?:the\s+)?)$"
)
_OWNER_AFTER = re.compile(
    r"^(?:[-‐](?i:owned|backed)\b|['’]s?\s+(?i:subsidiary|unit|division|arm|affiliate)\b)"
)
_LAST_WORDS = re.compile(r"(?:\S+\s+){0,12}\S*$")
# The summary's lead names its subject first: "Royal Dutch Shell reported ...".
_LEAD = re.compile(r"\s*(?:\S+\s+){0,3}$|\s*.{0,3}$")
# A product or a place on a platform after the maker's name: "Microsoft 365", "GitHub repo".
_PRODUCT_AFTER = re.compile(r"^\s+(?:\d[\w.]*|(?i:repo(?:sitor(?:y|ies)|s)?)\b)")
# Said of a company that was not hit: alone it is not a victim.
_UNAFFECTED = re.compile(
    r"(?i:\bunaffected\b|\bnot (?:been )?(?:affected|impacted)\b|\boperated normally\b)"
    r"|影響はな|被害はな"
)
_NO_SIGN = re.compile(r"(?i:\bno (?:sign|evidence|indication)s?\b)")


@dataclass(frozen=True, slots=True)
class Mention:
    """Where one company is named: its span in the text, and whether in the headline."""

    company: int
    start: int
    end: int
    in_title: bool


@dataclass(slots=True)
class _Roles:
    link: bool = False
    owner: bool = False
    media: bool = False  # the outlet told, a brand used as a lure, a reporter of others' attacks
    product: bool = False
    strong: bool = False  # a strong comparison
    strong_at: int = -1  # where it starts in the text
    weak: bool = False  # a weak comparison, or "no sign of"
    retro: bool = False  # an incident of its own in the past: "earlier this month"
    unaffected: bool = False
    clause: str = ""  # its clause, when nothing in it says it is named in passing

    @property
    def victim(self) -> bool:
        """Named in a clause that reports an incident, with no cue of a passing mention."""
        return bool(self.clause) and (
            _HIT.search(self.clause) is not None or assess(self.clause).strong
        )

    @property
    def aside(self) -> bool:
        """Named as the outlet or the owner: never the victim of this story."""
        return self.owner or self.media


class _Text:
    """The text with its clause boundaries, to read the words around a mention."""

    def __init__(self, surface: str) -> None:
        self.surface = surface
        self._starts: list[int] = []
        self._ends: list[int] = []
        for m in _CLAUSE_BREAK.finditer(surface):
            self._starts.append(m.start())
            self._ends.append(m.end())

    def around(self, start: int, end: int) -> tuple[str, str]:
        """The clause's words before and after ``surface[start:end]``."""
        i = bisect.bisect_right(self._ends, start) - 1
        begin = self._ends[i] if i >= 0 else 0
        j = bisect.bisect_left(self._starts, end)
        stop = self._starts[j] if j < len(self._starts) else len(self.surface)
        return self.surface[begin:start], self.surface[end:stop]


def _roles(
    text: _Text, mention: Mention, others: Sequence[Mention], *, aside_only: bool = False
) -> _Roles:
    pre, post = text.around(mention.start, mention.end)
    near = pre[-120:]
    roles = _Roles()
    roles.media = bool(
        _MEDIA_BEFORE.search(near)
        or _MEDIA_AFTER.search(post)
        or _LURE_BEFORE.search(near)
        or _LURE_AFTER.search(post)
        or _REPORTER_AFTER.search(post)
    )
    if (
        not roles.media
        and near.rstrip().endswith(("（", "("))
        and post.lstrip().startswith(("）", ")"))
    ):
        # A credit at the end of a text: "（日経コンピュータ）".
        roles.media = not text.surface[mention.end :].strip(" ）)\n")
    owner = bool(_OWNER_BEFORE.search(near) or _OWNER_AFTER.search(post))
    possessive = text.surface[mention.start : mention.end].endswith(("'s", "’s"))
    if not possessive and post[:1] in {"'", "’"} and post[1:2].isspace():
        # "Optus’ hack": the possessive of a name ending in s.
        possessive, post = True, post[1:]
    if not owner and possessive:
        # "Microsoft's GitHub": the possessor of another named company.
        gap = mention.end + len(post) - len(post.lstrip())
        owner = any(o.company != mention.company and o.start == gap for o in others)
    roles.owner = owner
    if aside_only:
        return roles
    roles.link = bool(_LINK_BEFORE.search(near) or _LINK_AFTER.search(post))
    roles.product = not possessive and _PRODUCT_AFTER.match(post) is not None
    tail = _LAST_WORDS.search(near)
    words = tail.group(0) if tail else ""
    offset = mention.start - len(words)
    strong = _STRONG_BEFORE.search(words)
    if strong:
        roles.strong, roles.strong_at = True, offset + strong.start()
    elif _JA_ALSO_AFTER.match(post):
        roles.strong, roles.strong_at = True, mention.start
    listed = _LIST_BEFORE.search(near)
    if listed:
        items = near[listed.start() :] + post[:80]
        listed = listed if items.count(",") + items.count(" and ") >= 2 else None
    roles.weak = bool(
        listed
        or _WEAK_BEFORE.search(words)
        or (re.search(r"(?i:\bthe)\s+(?:[\w-]+\s+)?$", near) and _THE_INCIDENT.match(post))
        or (possessive and _THE_INCIDENT.match(post))
        or _NO_SIGN.search(pre + post)
    )
    roles.retro = _RETRO_AFTER.search(post) is not None
    roles.unaffected = _UNAFFECTED.search(pre + post) is not None
    if (
        not mention.in_title
        and not (roles.strong or roles.weak or roles.retro or roles.unaffected or roles.product)
        and _ALSO_AFTER.search(post) is None
    ):
        roles.clause = pre + text.surface[mention.start : mention.end] + post
    return roles


def passing(mentions: Mapping[int, Sequence[Span]], surface: str, title_end: int) -> set[int]:
    """Return the companies of ``mentions`` that the story names only in passing.

    ``mentions`` maps each company the text names to the spans of its names in ``surface``
    (the NFKC text: the title, a line break, the summary); ``title_end`` is where the title
    ends.
    """
    found = sorted(
        (Mention(company, start, end, start < title_end)
         for company, spans in mentions.items() for start, end in spans),
        key=lambda m: m.start,
    )  # fmt: skip
    if not found:
        return set()
    text = _Text(surface)
    companies = list(dict.fromkeys(m.company for m in found))
    if len(companies) == 1:
        # The common case, read lazily: a headline mention not named aside settles it.
        title_role = next(
            (_roles(text, m, found, aside_only=True) for m in found if m.in_title), None
        )
        if title_role is not None and not title_role.aside:
            return set()
    roles = {m: _roles(text, m, found) for m in found}
    by_company = {c: [m for m in found if m.company == c] for c in companies}
    if len(companies) == 1:
        [company] = companies
        ms = by_company[company]
        if all(roles[m].aside for m in ms):
            return {company}
        if all(
            not m.in_title
            and not roles[m].link
            and (roles[m].aside or roles[m].strong or roles[m].unaffected)
            for m in ms
        ):
            return {company}
        return set()

    title = [m for m in found if m.in_title and not roles[m].aside]

    def in_passing(m: Mention, *, weak: bool) -> bool:
        r = roles[m]
        if r.aside:
            return True
        if r.link:
            return False
        if m.in_title:
            # "Clorox ... Following Attack by Caesars": a comparison after the subject; in
            # "Police arrest four following attacks on M&S, Co-op, Harrods" all are subjects.
            return (r.strong and r.strong_at > title[0].start) or r.product
        return r.strong or r.unaffected or r.product or (weak and (r.weak or r.retro))

    # The subjects: the first company of the headline, the others there unless named aside,
    # compared or as a product, and the first company the summary names (its lead).
    subjects: set[int] = set()
    if title:
        subjects.add(title[0].company)
        subjects |= {m.company for m in title[1:] if not in_passing(m, weak=False)}
    lead = next((m for m in found if not m.in_title), None)
    if (
        lead is not None
        and _LEAD.match(surface, title_end, lead.start)
        and not in_passing(lead, weak=bool(subjects))
    ):
        subjects.add(lead.company)
    if not subjects:
        # Neither the headline nor the lead names a watched company: the story is about
        # someone else, and a company counts only with proof of its own.
        return {
            company
            for company in companies
            if not any(
                (roles[m].link or roles[m].victim) and not roles[m].aside
                for m in by_company[company]
            )
        }
    result = set()
    for company in companies:
        if company in subjects:
            continue
        ms = by_company[company]
        # Beside the story's subject, a company counts as its platform or vendor, or as a
        # victim told in a clause of its own.
        if not any((roles[m].link or roles[m].victim) and not roles[m].aside for m in ms):
            result.add(company)
    return result
