"""Group a company's disclosures into incidents, on the disclosures' own publication times.

The incidents of a company are a function of the set of its disclosures, never of the order
or the moment they arrive: a first scan that backfills two years of a feed and the same
items one by one over months give the same incidents. Two disclosures are *linked* when
symmetric rules on their own times and texts say they report one event; an incident is a
connected group of linked disclosures. The rules (:func:`link`):

- the same story: the same link without tracking parameters (at any distance), or the same
  headline, the company's name aside, through another feed within ``WINDOW``;
- a dated reference: one names, as past, the month the other was published in ("the
  October ransomware attack", "Date breach discovered: 09/27/2024"), and the two share a
  word beyond the company's names and the vocabulary of any breach; within ``HORIZON``,
  or ``REACH`` for a date written with its year;
- the same intrusion group named by both, within ``HORIZON``;
- the same news cycle: published within ``CYCLE`` of each other (within ``OPENING`` when
  the earlier one is a floating story, below: it continues a news cycle, never opens one).

Dates and groups named in a clause about another event ("the second breach this year,
after the LAPSUS$ leak in March") are not the story's own and are not read.

One rule looks at a third disclosure, the *late notice*: a floating story (a regulator
notice or tracker entry that names no date, or a follow-up such as a cost report, a
lawsuit, an arrest, services restored) that no rule above links to a report joins the
latest report published before it (within ``HORIZON`` for a notice, ``FOLLOW_UP_REACH``
for a follow-up).

Casio's 2023 ClassPad breach and its 2024 ransomware attack share none of these, so they
are two incidents whatever order a feed lists them in.

:func:`place` applies the rules to one arriving disclosure against what its
:class:`Ledger` holds: it links it to the stored disclosures near it in time, merges the
incidents it bridges into the oldest of them (which keeps its id and its alerts), and
regroups the incidents whose late notices it changes. :func:`partition` applies the same
rules to a whole set at once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.core.matching import Match
from bot.core.normalize import CJK, fold
from scrapers.models import Disclosure

# Headlines this alike (content words) within WINDOW are the same story through another feed.
SAME_STORY = 0.6
WINDOW = timedelta(days=90)
# Reports published this close together are one news cycle of one event.
CYCLE = timedelta(days=60)
# ... and a floating story (see late_anchor) with the reports of the next few days.
OPENING = timedelta(days=7)
# Dated references, intrusion groups and late notices reach this far back.
HORIZON = timedelta(days=365)
# A date written with its year ("on October 5, 2024") reaches further: a look back years later.
REACH = timedelta(days=3 * 365)
# A cost report, lawsuit or restored service is a follow-up of an incident this recent.
FOLLOW_UP_REACH = timedelta(days=180)
# A publication date this far after the item was first seen is a broken feed date.
FUTURE_SKEW = timedelta(days=1)

SAME_LINK = "same link"
SAME_HEADLINE = "same headline"
DATED_REFERENCE = "dated reference"
SAME_ACTOR = "same intrusion group"
SAME_CYCLE = "same news cycle"
LATE_NOTICE = "late notice"
# Another feed's copy of a story an incident holds: nothing new to tell subscribers.
REPEATS = frozenset({SAME_LINK, SAME_HEADLINE})

_STOP = frozenset(
    "a an the of to in on for and or at by with from as is are was were be has have had its "
    "it that this after over says said new".split()
)
# Outlet names appended by aggregators ("... - BleepingComputer").
_OUTLET_TAIL = re.compile(r"\s[-|–—]\s[^-|–—]{2,40}$")
_CJK_RUN = re.compile(f"(?:{CJK.pattern})+")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# Capitalised only: "may" the verb is not May the month.
_MONTH_EN = re.compile(
    r"\b("
    + "|".join(m.capitalize() for m in sorted(_MONTHS, key=len, reverse=True))
    + r")\.?(?:\s+\d{1,2})?(?:,?\s+(20\d\d))?\b"
)
# Dates as breach portals write them: 09/27/2024 (US) and 2024-09-27.
_DATE_US = re.compile(r"\b(1[0-2]|0?[1-9])/(?:3[01]|[12]\d|0?[1-9])/(20\d\d)\b")
_DATE_ISO = re.compile(r"\b(20\d\d)-(1[0-2]|0[1-9])-(?:3[01]|[12]\d|0[1-9])\b")
# Named intrusion groups: the same group at the same company months apart is one story.
# Named intrusion groups: the same group at the same company months apart is one story.
_ACTORS = re.compile(
    r"\b(?:lockbit|alphv|blackcat|cl0p|clop|rhysida|black ?basta|blacksuit|akira|qilin|"
    r"medusa|scattered spider|octo tempest|0ktapus|scattered lapsus\$? hunters|shinyhunters|"
    r"lapsus\$?|hunters international|dragonforce|ransomhub|8base|bianlian|cactus|everest|"
    r"hellcat|midnight blizzard|nobelium|cozy bear|volt typhoon|salt typhoon|unc\d{4}|"
    r"storm-\d{4}|apt ?\d{1,2}|lazarus|kimsuky|andariel|hafnium|sandworm|karakurt|"
    r"royal ransomware|revil|sodinokibi|conti|hive ransomware|darkside|blackmatter|"
    r"ragnar ?locker|maze ransomware|egregor|netwalker|avaddon|babuk|vice society|"
    r"play ransomware|underground ransomware|ransomhouse|daixin|money message|"
    r"cuba ransomware|trigona|noescape|interlock|safepay|embargo ransomware|lynx ransomware|"
    r"ransomexx|snatch ransomware|lorenz ransomware|doppelpaymer|intelbroker|usdod|"
    r"ランサムウェア「?[a-z0-9 ]+」?)\b",
    re.IGNORECASE,
)
# One group under its several names.
_ACTOR_ALIASES = {
    "clop": "cl0p",
    "blackcat": "alphv",
    "sodinokibi": "revil",
    "octotempest": "scatteredspider",
    "0ktapus": "scatteredspider",
    "nobelium": "midnightblizzard",
    "cozybear": "midnightblizzard",
    "lapsus$": "lapsus",
    "royalransomware": "royal",
}
_RANSOMWARE_WORD = re.compile(r"ransomware|ランサムウェア|[「」]")


def _actor(name: str) -> str:
    key = _RANSOMWARE_WORD.sub("", name.lower()).replace(" ", "")
    return _ACTOR_ALIASES.get(key, key)


_MONTH_JA = re.compile(r"(?:(20\d\d)年)?(1[0-2]|[1-9])月")
# The vocabulary of any breach story: sharing it says nothing about which breach.
_BREACH_WORDS = frozenset(
    """data breach breached breaches hack hacked hacker hackers hacking attack attacks attacked
    cyberattack cyber cybersecurity security incident stolen steal stole customer customers
    million millions personal information company said says confirms confirmed confirm hit
    exposed exposes expose leak leaked leaks users user people systems system network access
    accessed unauthorized unauthorised ransomware investigation disclosed discloses disclose
    notice notification affected affect impact impacted impacts report reported reports after
    about more than some including include its their were been has had which who what when
    where this that these those into over under up out new also may could would will per cent
    records record email emails names name addresses address phone numbers number dates date
    birth social ssn account accounts""".split()
) | frozenset(
    # The same in Japanese, as the pairs of characters tokens() makes of it.
    "不正 正ア アク クセ セス 個人 人情 情報 報漏 漏え えい 漏洩 流出 攻撃 "
    "サイ イバ バー ー攻 被害 発生 可能 能性 万件 件の ラン ンサ サム ムウ "
    "ウェ ェア 感染 お知 知ら らせ 関す する 障害 シス ステ テム お詫 詫び "
    "報告 調査 確認 公表 発表 同社 ウイ イル ルス 顧客 会社 株式 式会".split()
)
# What happens after an incident, not a new one: its cost, lawsuits, arrests, services
# back, the investigation's results. Such a report, like a late regulator notice, belongs
# to the incident before it.
_FOLLOW_UP = re.compile(
    r"\b(?:costs?|cost (?:it|us|the company)|expenses|charges? of|financial (?:hit|impact)|"
    r"lawsuits?|class[- ]action|sued|sues|settles?|settlement|fined?|penalty|"
    r"arrest(?:s|ed)?|charged|sentenced|pleads? guilty|"
    r"restor(?:es|ed)|recover(?:s|ed|y)|back online|reopens?|resumes?|"
    r"lessons|timeline|aftermath|in the wake of|"
    r"investigation (?:found|finds|identified|concluded|results?))\b"
    r"|特別損失|損失|影響額|復旧|再開|訴訟|逮捕|行政指導|調査結果|第\d+報|続報",
    re.IGNORECASE,
)
# A report of a new event: never a follow-up of the one before.
_NEW_EVENT = re.compile(
    r"\b(?:second|third|fourth|another|new|separate|fresh|latest)\s+(?:[\w-]+\s+)?"
    r"(?:breach|hack|attack|cyberattack|incident|leak)|\bonce again\b|2度目|再び|またも|新たな",
    re.IGNORECASE,
)
# Clauses of a summary; a comma before a digit is inside a date ("October 7, 2024").
_CLAUSE = re.compile(r"[.;!?。；！？\n]|,(?!\s*\d)|、")
# A clause that compares with another event ("the second breach this year, after the
# LAPSUS$ leak in March", "It follows the February breach at its Romanian unit"): its
# dates and intrusion groups are that other event's.
_ELSEWHERE = re.compile(
    r"\b(?:second|third|fourth|another|previous(?:ly)?|prior|earlier this year|"
    r"last (?:year|month|spring|summer|autumn|fall|winter)|years? ago|follows|separate|"
    r"unrelated|unconnected|also (?:hit|attacked|breached|suffered)|"
    r"(?:has|had|have) (?:also )?suffered|once again|twice|latest in|history of)\b"
    r"|過去にも|以前にも|前回|昨年にも|に続き|再び|再度|またも|相次",
    re.IGNORECASE,
)


def tokens(text: str) -> set[str]:
    """Content words of a headline, folded, without an aggregator's outlet suffix.

    Japanese has no spaces: a run of kana and kanji counts as its pairs of characters.
    """
    text = _OUTLET_TAIL.sub("", text.strip())
    words: set[str] = set()
    for word in fold(text).split():
        if CJK.search(word):
            for run in _CJK_RUN.findall(word):
                words.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
            words.update(w for w in _CJK_RUN.split(word) if len(w) > 1)
        elif word not in _STOP and len(word) > 1:
            words.add(word)
    return words


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the content words of two headlines."""
    return _jaccard(frozenset(tokens(a)), frozenset(tokens(b)))


def _jaccard(ta: frozenset[str], tb: frozenset[str]) -> float:
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def referenced_months(
    text: str, when: datetime, *, with_year: bool = False
) -> set[tuple[int, int]]:
    """The (year, month) pairs ``text`` refers to, a bare month taken as the latest one.

    ``with_year``: only those written with their year.
    """
    found: set[tuple[int, int]] = set()
    pairs: list[tuple[str | None, int]] = [
        (m.group(2), _MONTHS[m.group(1).lower()]) for m in _MONTH_EN.finditer(text)
    ]
    pairs += [(m.group(1), int(m.group(2))) for m in _MONTH_JA.finditer(text)]
    pairs += [(m.group(2), int(m.group(1))) for m in _DATE_US.finditer(text)]
    pairs += [(m.group(1), int(m.group(2))) for m in _DATE_ISO.finditer(text)]
    for year, month in pairs:
        if year:
            found.add((int(year), month))
        elif not with_year:
            found.add((when.year if month <= when.month else when.year - 1, month))
    return found


def event_time(published: datetime | None, first_seen: datetime) -> datetime:
    """When a disclosure happened: its publication time, else when it was first seen.

    A date well after the item was first seen is a broken feed date, not news from the
    future; the moment it was seen stands in.
    """
    if published is None or published > first_seen + FUTURE_SKEW:
        return first_seen
    return published


@dataclass(frozen=True, slots=True)
class Story:
    """A company's disclosure as grouping sees it: its own time and text, and where it is."""

    key: str  # the disclosure's identity
    url_key: str
    title: str
    summary: str
    at: datetime  # see event_time
    by_nature: bool = False  # a regulator notice or tracker entry (an incident by its source)
    incident: int | None = None  # the stored incident holding it

    @classmethod
    def of(cls, disclosure: Disclosure, first_seen: datetime) -> Story:
        return cls(
            key=disclosure.identity,
            url_key=disclosure.url_key,
            title=disclosure.title,
            summary=disclosure.summary,
            at=event_time(disclosure.published, first_seen),
            by_nature=disclosure.incident_by_nature,
        )

    @property
    def order(self) -> tuple[datetime, str]:
        """Publication order, ties broken by identity, so "before" is never ambiguous."""
        return (self.at, self.key)

    @property
    def floating(self) -> bool:
        """A notice or tracker entry that names no date, or a follow-up (cost, lawsuit,
        arrest, services back): it belongs to a report before it (see late_anchor)."""
        return self.late_reach > timedelta(0)

    @property
    def dated_months(self) -> tuple[str, ...]:
        """The earlier months it names with their year (``2024-10``): what a story published
        then, years before, is linked to it by."""
        return tuple(month_key(m) for m in sorted(traits(self).dated))

    @property
    def late_reach(self) -> timedelta:
        """How far back a floating story looks for the report it belongs to (0: not one)."""
        return _traits(self.title, self.summary, self.at, self.by_nature).late_reach


@dataclass(frozen=True, slots=True)
class _Traits:
    words: frozenset[str]
    month: tuple[int, int]  # its own publication month
    older: frozenset[tuple[int, int]]  # months it names that are before its own
    dated: frozenset[tuple[int, int]]  # the older months it names with their year
    actors: frozenset[str]
    # Its words beyond the vocabulary of any breach story (the product, the unit, the data).
    content: frozenset[str]
    late_reach: timedelta  # see Story.late_reach


def own_clauses(text: str) -> str:
    """``text`` without the clauses that speak of another event (see _ELSEWHERE)."""
    return "\n".join(c for c in _CLAUSE.split(text) if not _ELSEWHERE.search(c))


@functools.lru_cache(maxsize=65536)
def _traits(title: str, summary: str, at: datetime, by_nature: bool) -> _Traits:
    text = f"{title}\n{summary}" if summary else title
    own = own_clauses(text)
    month = (at.year, at.month)
    months = referenced_months(own, at)
    return _Traits(
        words=frozenset(tokens(title)),
        month=month,
        # Only months before its own: "in October" in an October story says little.
        older=frozenset(m for m in months if m < month),
        dated=frozenset(m for m in referenced_months(own, at, with_year=True) if m < month),
        actors=frozenset(_actor(a) for a in _ACTORS.findall(own)),
        content=frozenset(w for w in tokens(own) if w not in _BREACH_WORDS and not w.isdigit()),
        late_reach=HORIZON
        if by_nature and not referenced_months(text, at)
        else FOLLOW_UP_REACH
        if _FOLLOW_UP.search(own) and not _NEW_EVENT.search(text)
        else timedelta(0),
    )


def traits(story: Story) -> _Traits:
    return _traits(story.title, story.summary, story.at, story.by_nature)


def link(a: Story, b: Story, names: frozenset[str] = frozenset()) -> str | None:
    """Why ``a`` and ``b`` report one event (a rule's name), or None. Symmetric.

    ``names`` are the words of the company's own names, which every story of it shares.
    """
    if a.url_key == b.url_key:
        return SAME_LINK
    gap = abs(a.at - b.at)
    if gap > REACH:
        return None
    ta, tb = traits(a), traits(b)
    if gap > HORIZON:
        if (tb.month in ta.dated or ta.month in tb.dated) and (ta.content & tb.content) - names:
            return DATED_REFERENCE
        return None
    # Every headline of the company names it: the rest must be alike.
    if gap <= WINDOW and _jaccard(ta.words - names, tb.words - names) >= SAME_STORY:
        return SAME_HEADLINE
    # The month an event began may also be when another one was in the news: the two must
    # also share a word of their own (the product, the data, the unit, the month's name).
    if (tb.month in ta.older or ta.month in tb.older) and (ta.content & tb.content) - names:
        return DATED_REFERENCE
    if ta.actors & tb.actors:
        return SAME_ACTOR
    # A floating story continues a news cycle, it never opens one: what comes weeks after a
    # cost report or a regulator notice is news of its own.
    earlier = a if a.order < b.order else b
    if gap <= (OPENING if earlier.floating else CYCLE):
        return SAME_CYCLE
    return None


def names_of(name: str, aliases: Iterable[str] = ()) -> frozenset[str]:
    """The words of a company's names, as :func:`tokens` makes them."""
    found: set[str] = set()
    for each in (name, *aliases):
        found |= tokens(each)
    return frozenset(found)


def late_anchor(story: Story, others: Iterable[Story]) -> Story | None:
    """The latest report (no floating story) published before ``story``, within its reach."""
    best: Story | None = None
    reach = story.late_reach
    for other in others:
        if (
            other.order < story.order
            and story.at - other.at <= reach
            and not other.floating
            and (best is None or other.order > best.order)
        ):
            best = other
    return best


def links(
    story: Story, others: Iterable[Story], names: frozenset[str] = frozenset()
) -> list[tuple[Story, str]]:
    """The stories ``story`` is linked to among ``others``, late notice included."""
    pool = [o for o in others if o.key != story.key]
    found = [(o, why) for o in pool if (why := link(story, o, names)) is not None]
    if story.floating and all(o.floating for o, _ in found):
        anchor = late_anchor(story, pool)
        if anchor is not None:
            found.append((anchor, LATE_NOTICE))
    return found


def partition(stories: Iterable[Story], names: frozenset[str] = frozenset()) -> list[list[Story]]:
    """A set of one company's stories as incidents, each in publication order, oldest first.

    ``names``: the words of the company's names (see :func:`link`).
    """
    pool = sorted({s.key: s for s in stories}.values(), key=lambda s: s.order)
    index = {s.key: n for n, s in enumerate(pool)}
    parent = list(range(len(pool)))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    def union(a: int, b: int) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    # Whether each story is linked to a report (a story that is not a floating notice).
    linked_to_report = [False] * len(pool)
    by_link: dict[str, list[int]] = {}
    for n, story in enumerate(pool):
        by_link.setdefault(story.url_key, []).append(n)
    for same in by_link.values():  # the same link at any distance
        for n in same:
            union(same[0], n)
            linked_to_report[n] = any(not pool[m].floating for m in same if m != n)
    for n, story in enumerate(pool):  # the other rules reach REACH at most
        for m in range(n + 1, len(pool)):
            other = pool[m]
            if other.at - story.at > REACH:
                break
            if link(story, other, names) is not None:
                union(n, m)
                linked_to_report[n] = linked_to_report[n] or not other.floating
                linked_to_report[m] = linked_to_report[m] or not story.floating
    for n, story in enumerate(pool):
        if story.floating and not linked_to_report[n]:
            anchor = late_anchor(story, pool[:n])
            if anchor is not None:
                union(n, index[anchor.key])
    groups: dict[int, list[Story]] = {}
    for n, story in enumerate(pool):
        groups.setdefault(root(n), []).append(story)
    return list(groups.values())


def month_key(month: tuple[int, int]) -> str:
    """How a month is written in :attr:`Story.dated_months`: ``2024-10``."""
    return f"{month[0]:04d}-{month[1]:02d}"


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """Where a new story's links can be: the stored stories published within ``spans``,
    those with its link, and those published within ``naming_span`` that name
    ``naming`` (its own month, see :attr:`Story.dated_months`)."""

    spans: tuple[tuple[datetime, datetime], ...]
    url_key: str
    naming: str
    naming_span: tuple[datetime, datetime]

    @classmethod
    def of(cls, story: Story) -> Neighbourhood:
        spans = [(story.at - HORIZON, story.at + HORIZON)]
        # Beyond HORIZON only a date written with its year links, to that month's stories.
        for year, month in sorted(traits(story).dated):
            start = datetime(year, month, 1, tzinfo=story.at.tzinfo)
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=story.at.tzinfo)
            if story.at - start > HORIZON and story.at - start <= REACH + timedelta(days=31):
                spans.append((start, end))
        return cls(
            spans=tuple(spans),
            url_key=story.url_key,
            naming=month_key(traits(story).month),
            naming_span=(story.at + HORIZON, story.at + REACH),
        )


class Book(Protocol):
    """One company's stored incidents, read and changed in one transaction."""

    async def near(self, around: Neighbourhood) -> list[Story]:
        """The stored stories a new one may be linked to (see :class:`Neighbourhood`)."""
        ...

    async def members(self, incident_ids: Collection[int]) -> list[Story]:
        """Every stored story of these incidents."""
        ...

    async def add(
        self,
        disclosure: Disclosure,
        story: Story,
        *,
        incident_id: int | None,
        company_name: str,
        matched: Sequence[str],
        reason: str,
        now: datetime,
    ) -> int:
        """Record the match in ``incident_id`` (None: a new incident); return the incident."""
        ...

    async def open(self, company_name: str, lead: Story, now: datetime) -> int:
        """A new incident for stories that a regrouping took out of theirs."""
        ...

    async def move(self, keys: Collection[str], incident_id: int) -> None:
        """Put these stored stories into ``incident_id``."""
        ...

    async def merge(self, survivor: int, absorbed: Collection[int]) -> None:
        """Fold ``absorbed`` into ``survivor``: their stories, alerts and queued deliveries."""
        ...

    async def refresh(self, incident_ids: Collection[int]) -> None:
        """Recompute what these incidents show (window, lead, evidence) from their stories."""
        ...


class Ledger(Protocol):
    """What the rules read and write: a company's stored stories and incidents.

    The store's incident repository is one; the rules never see more of the database.
    """

    def book(self, company_key: str) -> AbstractAsyncContextManager[Book]:
        """The company's incidents, held for one placement (other writers of it wait)."""
        ...


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a disclosure went: its incident, whether new, and whether a repeat of a story."""

    incident_id: int
    created: bool
    # The same story the incident already holds (another feed's copy): nothing new to tell.
    repeat: bool = False
    # Incidents this disclosure showed to be one with ``incident_id``, folded into it.
    merged: tuple[int, ...] = ()


async def assign(
    ledger: Ledger, disclosure: Disclosure, match: Match, now: datetime
) -> tuple[int, bool]:
    """Attach ``disclosure`` to the incident it reports, or open a new one.

    Return ``(incident_id, created)``.
    """
    placed = await place(ledger, disclosure, match, now)
    return placed.incident_id, placed.created


async def place(ledger: Ledger, disclosure: Disclosure, match: Match, now: datetime) -> Placement:
    """Attach ``disclosure`` to the incident it reports, or open a new one, and say how.

    ``now`` is when it was first seen: it stands in for a missing publication date only.
    """
    company = match.company
    story = Story.of(disclosure, now)
    async with ledger.book(company.key) as book:
        near = [s for s in await book.near(Neighbourhood.of(story)) if s.key != story.key]
        names = names_of(company.name, company.aliases)
        found = links(story, near, names)
        repeat = any(why in REPEATS for _, why in found)
        touched = {s.incident for s, _ in found if s.incident is not None}
        unsettled = _unsettled(story, near, {s.key for s, _ in found})

        async def record(incident_id: int | None) -> int:
            return await book.add(
                disclosure,
                story,
                incident_id=incident_id,
                company_name=company.name,
                matched=match.matched,
                reason=match.reason,
                now=now,
            )

        if not unsettled:
            # Only new links: the incidents they reach become one, the oldest-opened keeps
            # its id (and the alert its subscribers already have).
            if not touched:
                return Placement(await record(None), created=True)
            survivor, *absorbed = sorted(touched)
            if absorbed:
                await book.merge(survivor, absorbed)
            await record(survivor)
            await book.refresh([survivor])
            return Placement(survivor, created=False, repeat=repeat, merged=tuple(absorbed))
        # The new story changes where some late notices belong: regroup every incident
        # involved from its stories, with the same rules.
        involved = touched | {s.incident for s in unsettled if s.incident is not None}
        return await _regroup(
            book,
            story=story,
            involved=involved,
            record=record,
            repeat=repeat,
            company_name=company.name,
            names=names,
            now=now,
        )


def _unsettled(story: Story, near: Sequence[Story], linked: set[str]) -> list[Story]:
    """Stored floating notices whose late-notice link ``story`` may change.

    A report linked to a notice takes its late-notice link away; a report published between
    a notice and the report it joined becomes the one it joins.
    """
    if story.floating:
        return []
    found: list[Story] = []
    for other in near:
        if not other.floating:
            continue
        if other.key in linked:
            found.append(other)
        elif story.order < other.order and other.at - story.at <= other.late_reach:
            anchor = late_anchor(other, near)
            if anchor is None or anchor.order < story.order:
                found.append(other)
    return found


async def _regroup(
    book: Book,
    *,
    story: Story,
    involved: set[int],
    record: Callable[[int | None], Awaitable[int]],
    repeat: bool,
    company_name: str,
    names: frozenset[str],
    now: datetime,
) -> Placement:
    """Regroup ``involved`` incidents and ``story`` by the rules, keeping ids where they stay.

    Each new group (oldest first) keeps the lowest id among its stories' incidents that no
    earlier group kept; an incident left without a group is folded into the group of its
    oldest story; a group with no id left gets a new incident.
    """
    parts = partition([*await book.members(involved), story], names)
    targets: list[int | None] = []
    taken: set[int] = set()
    for part in parts:
        free = sorted({s.incident for s in part if s.incident is not None} - taken)
        targets.append(free[0] if free else None)
        taken.update(free[:1])
    home = next(n for n, part in enumerate(parts) if any(s.key == story.key for s in part))
    for n, part in enumerate(parts):
        if targets[n] is None and n != home:
            targets[n] = await book.open(company_name, part[0], now)
    if targets[home] is None:
        targets[home] = await record(None)
        created = True
    else:
        created = False
    final = [t for t in targets if t is not None]
    # Incidents no group kept: folded into the group of their oldest story.
    heirs: dict[int, int] = {}
    for n, part in enumerate(parts):
        for s in part:
            if s.incident is not None and s.incident not in taken and s.incident not in heirs:
                heirs[s.incident] = final[n]
    by_heir: dict[int, list[int]] = {}
    for gone, heir in heirs.items():
        by_heir.setdefault(heir, []).append(gone)
    for heir, folded in sorted(by_heir.items()):
        await book.merge(heir, sorted(folded))
    for n, part in enumerate(parts):
        moving = [
            s.key
            for s in part
            if s.key != story.key and heirs.get(s.incident or 0, s.incident) != final[n]
        ]
        if moving:
            await book.move(moving, final[n])
    if not created:
        await record(final[home])
    await book.refresh(sorted(set(final)))
    return Placement(
        final[home],
        created=created,
        repeat=repeat and not created,
        merged=tuple(sorted(by_heir.get(final[home], []))),
    )
