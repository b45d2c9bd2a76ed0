"""Threat actors: one canonical name per group, and when a mention names the attacker.

A group is the actor when the text says it claims, is behind, or carried out this attack.
A group named for comparison ("amid Scattered Spider aviation breaches", "like the LockBit
attack on ..."), in a police action ("LockBit disrupted by police") or in an explainer
("How Scattered Spider targets help desks") is not.
"""

from __future__ import annotations

import re
from typing import Final

import ahocorasick

from .vocab import ASIDE

# canonical name -> aliases (matched case-insensitively, whole words).
ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "ALPHV": ("ALPHV/BlackCat", "ALPHV", "BlackCat", "Black Cat", "Noberus"),
    "Clop": ("Clop", "Cl0p", "CL0P"),
    "Scattered Lapsus$ Hunters": ("Scattered Lapsus$ Hunters", "Scattered LAPSUS Hunters", "SLSH"),
    "Scattered Spider": (
        "Scattered Spider",
        "UNC3944",
        "Octo Tempest",
        "0ktapus",
        "Muddled Libra",
        "Starfraud",
    ),
    "LockBit": (
        "LockBit 3.0",
        "LockBit 2.0",
        "LockBit 4.0",
        "LockBit 5.0",
        "LockBit Black",
        "LockBit",
        "ロックビット",
    ),
    "ShinyHunters": ("ShinyHunters", "Shiny Hunters"),
    "Lapsus$": ("Lapsus$", "LAPSUS", "DEV-0537", "Strawberry Tempest"),
    "BlackSuit": ("BlackSuit", "Black Suit"),
    "Royal": ("Royal",),
    "Underground": ("Underground",),
    "Rhysida": ("Rhysida",),
    "Qilin": ("Qilin", "Agenda"),
    "Akira": ("Akira",),
    "Medusa": ("Medusa", "MedusaLocker"),
    "RansomHub": ("RansomHub", "Ransom Hub"),
    "RansomHouse": ("RansomHouse", "Ransom House"),
    "Play": ("Play", "PlayCrypt"),
    "8Base": ("8Base",),
    "BianLian": ("BianLian",),
    "Black Basta": ("Black Basta", "BlackBasta"),
    "Hunters International": ("Hunters International",),
    "DragonForce": ("DragonForce", "Dragon Force"),
    "INC Ransom": ("INC Ransom", "INC ransomware"),
    "Interlock": ("Interlock",),
    "Killsec": ("KillSec", "Kill Security"),
    "Everest": ("Everest",),
    "Hellcat": ("Hellcat", "HellCat"),
    "Lazarus": ("Lazarus Group", "Lazarus", "APT38", "TraderTraitor", "Hidden Cobra"),
    "Midnight Blizzard": ("Midnight Blizzard", "APT29", "Cozy Bear", "Nobelium"),
    "UNC5537": ("UNC5537",),
    "Cicada3301": ("Cicada3301",),
    "Embargo": ("Embargo",),
    "Lynx": ("Lynx",),
    "SafePay": ("SafePay",),
    "Fog": ("Fog",),
    "Cactus": ("Cactus",),
    "Hive": ("Hive",),
    "Conti": ("Conti",),
    "Vice Society": ("Vice Society",),
    "Karakurt": ("Karakurt",),
    "NoEscape": ("NoEscape",),
    "Money Message": ("Money Message",),
    "Cuba": ("Cuba",),
    "Trigona": ("Trigona",),
    "Daixin": ("Daixin",),
    "Ragnar Locker": ("Ragnar Locker", "RagnarLocker", "Ragnar_Locker"),
    "REvil": ("REvil", "Sodinokibi"),
    "DarkSide": ("DarkSide",),
    "Dark Angels": ("Dark Angels",),
    "BlackByte": ("BlackByte",),
    "BlackMatter": ("BlackMatter",),
    "GnosticPlayers": ("GnosticPlayers", "Gnostic Players"),
    "PwnSec": ("PwnSec",),
    "Desorden": ("Desorden Group", "Desorden"),
    "Radiant": ("Radiant",),
    "Snake": ("EKANS", "Snake"),
    "Volt Typhoon": ("Volt Typhoon",),
    "Salt Typhoon": ("Salt Typhoon",),
    "APT41": ("APT41",),
    "Kimsuky": ("Kimsuky",),
    "Sandworm": ("Sandworm",),
    "Fancy Bear": ("Fancy Bear", "APT28"),
    "USDoD": ("USDoD",),
    "IntelBroker": ("IntelBroker",),
    "Nitrogen": ("Nitrogen",),
    "Termite": ("Termite",),
    "Brain Cipher": ("Brain Cipher",),
    "Kairos": ("Kairos",),
    "Sarcoma": ("Sarcoma",),
    "Stormous": ("Stormous",),
    "Crypto24": ("Crypto24",),
    "Gunra": ("Gunra",),
    "NightSpire": ("NightSpire",),
    "Warlock": ("Warlock",),
    "Chaos": ("Chaos",),
    "RansomedVC": ("RansomedVC", "Ransomed.vc"),
}

# Names that are also ordinary words or places: they count only beside a group noun.
_AMBIGUOUS: Final = frozenset(
    {"Underground", "Play", "Akira", "Medusa", "Interlock", "Everest", "Hive", "Royal", "Cuba",
     "Agenda", "Lazarus", "Embargo", "Lynx", "Fog", "Cactus", "Conti", "Nitrogen", "Termite",
     "Chaos", "Warlock", "Black Cat", "Black Suit", "Kairos", "Sarcoma", "LAPSUS", "SLSH",
     "Radiant", "Snake"}
)  # fmt: skip

_ALIAS_TO_NAME: Final = {
    alias.lower(): name for name, aliases in ALIASES.items() for alias in aliases
}
_AMBIGUOUS_LOWER: Final = frozenset(a.lower() for a in _AMBIGUOUS)
# Every alias in one automaton: a sentence is read once, whatever the table's size.
_ALIASES: Final = ahocorasick.Automaton()
for _alias in _ALIAS_TO_NAME:
    _ALIASES.add_word(_alias, _alias)
_ALIASES.make_automaton()
# The trackers' numbered names: Microsoft's Storm-0558, Mandiant's UNC and FIN clusters.
_NUMBERED_NAME = re.compile(
    r"(?<![a-z0-9$])(?:storm-\d{4}|unc\d{4}|fin\d{1,2}|apt ?\d{1,2})(?![a-z0-9$])"
)
_NUMBERED = re.compile(r"(storm|unc|fin|apt) ?-?(\d+)")
_GLUED = frozenset("abcdefghijklmnopqrstuvwxyz0123456789$")


def alias_spans(sentence: str) -> list[tuple[int, int, str]]:
    """(start, end, alias) of each group alias in lower-cased ``sentence``, longest first."""
    found: list[tuple[int, int, str]] = []
    for last, alias in _ALIASES.iter(sentence):
        start, end = last - len(alias) + 1, last + 1
        if (start and sentence[start - 1] in _GLUED) or (
            end < len(sentence) and sentence[end] in _GLUED
        ):
            continue
        found.append((start, end, alias))
    if any(p in sentence for p in ("storm-", "unc", "fin", "apt")):
        found += [(m.start(), m.end(), m.group()) for m in _NUMBERED_NAME.finditer(sentence)]
    found.sort(key=lambda f: (f[0], -f[1]))
    kept: list[tuple[int, int, str]] = []
    for span in found:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


# The first word of every alias: a text without any of them names no group.
TRIGGER_WORDS: Final = frozenset(
    re.findall(r"[a-z0-9]+", alias)[0] for alias in _ALIAS_TO_NAME if re.search(r"[a-z0-9]", alias)
) | frozenset(
    # A group named the first time: "the Dark Angels ransomware group", a hacker's handle.
    "storm gang group groups crew hacker hackers actor attacker calling named dubbed".split()
)
_JAPANESE_ALIASES: Final = tuple(a for a in _ALIAS_TO_NAME if not re.search(r"[a-z0-9]", a))


def japanese_alias_in(low: str) -> bool:
    """Say whether ``low`` holds an alias written in Japanese script (ロックビット)."""
    return any(alias in low for alias in _JAPANESE_ALIASES)


_GROUP_AFTER = re.compile(
    r"^[\"'」』]?\s*(?:が|は|の)?\s*(?:ransomware|ransom|gang|group|operation|crew|extortion|hackers?"
    r"|hacking|claim"
    r"|threat actors?|cybercrim\w*|leak site|data leak site|affiliates?|cyber ?gang|apt"
    r"|ランサムウェア|グループ|集団)"
)
_GROUP_BEFORE = re.compile(
    r"(?:ransomware|gang|group|operation|threat actor|hacker|hackers|hacking group|ハッカー集団"
    r"|グループ|集団|tracks as|tracked as|known as|calling itself|calling themselves|dubbed"
    r"|ランサムウェア"
    r"|(?:attack|attacked|claimed|perhaps|possibly|likely|probably) by)\s*[\"'「『]?\s*$"
)
# "amid X breaches", "like the X attack": another attack named as a reference point.
_COMPARISON_BEFORE = re.compile(
    r"(?:\blike|\bunlike|\bsimilar to|\bsuch as|\bamid|\bas with|\bthan|\bcompared (?:to|with)"
    r"|\bincluding|\bas in|\bsame as|\breminiscent of)"
    r"\s+(?:the\s+|a\s+|an\s+)?(?:recent\s+|earlier\s+|previous\s+|past\s+|similar\s+)?$"
)
# "after the LAPSUS$ leak in March", "following the LockBit attack on Royal Mail": another
# attack only when the time words lead to one with its own date or target; "since the Rhysida
# ransomware attack in October" at the same library is this one.
# Resemblance is not attribution: "characteristics align with Salt Typhoon".
_RESEMBLES_BEFORE = re.compile(r"\b(?:align\w* with|resembl\w*|echo\w*)\s+(?:the\s+)?$")
_TEMPORAL_BEFORE = re.compile(
    r"(?:\bfollowing|\bafter|\bsince|\bbefore)\s+(?:the\s+|a\s+|an\s+)?"
    r"(?:recent\s+|earlier\s+|previous\s+|past\s+|similar\s+)?$"
)
_OWN_TARGET_AFTER = re.compile(r"\s+(?:on|against|at)\s+(?:[a-z]+\s+)?(?:[A-Z0-9]|20\d\d)")
_ATTACK_NOUN_AFTER = re.compile(
    r"^(?:'s)?(?:\s+[\w-]+)?\s+(?:attacks?|breach(?:es)?|hacks?|campaigns?|intrusions?|incidents?"
    r"|leaks?"
    r"|cyberattacks?|cyber-attacks?|victims?|spree|wave)\b"
)
# The group as the object of a police action.
_POLICE_AFTER = re.compile(
    r"^(?:'s)?(?:\s+(?!that\b|which\b|who\b)[\w-]+){0,3}?\s+(?:(?:was|were|is|has been"
    r"|have been)\s+)?"
    r"(?:disrupted|seized"
    r"|dismantled|taken down|sanctioned|arrested|indicted|charged|infiltrated by|shut down by)\b"
)
_POLICE_BEFORE = re.compile(
    r"(?:seized|disrupted|dismantled|took down|sanctioned|infiltrated|indicted|arrested|charged"
    r"|takedown of|crackdown on)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}$"
)
_EXPLAINER = re.compile(
    r"\bhow\b|\blessons\b|\btactics\b|\bttps\b|\bdefenders\b|\bplaybook\b|\bprofile of\b"
    r"|\bwhat we know about\b|\bexplained\b|\badvisory\b"
)
# Another time's attack: "comes months after ... Cl0p gained access", "previously hit by".
_OTHER_TIME = re.compile(
    r"\b(?:months|weeks|years|days) (?:after|before|earlier)\b|\bcomes? after\b|\bpreviously\b"
    r"|\bprior (?:attack|breach)\b|\bearlier this (?:year|month|week)\b"
    r"|\bsecond (?:such )?(?:breach|attack|incident|hack)\b"
    r"|(?:数|\d+)(?:日|週間|か月|カ月|ヶ月|年)(?:後|前)"
)
# A group named for the first time, not in the table: "the Dark Angels ransomware group",
# "a threat actor named Menelik", "the hacker \"Rey\"", "hackers calling themselves Radiant",
# ランサムウェア「Akira」. Read on the text with its capitals.
_NAME = r"[A-Z][\w$.]*(?:[ _][A-Z0-9][\w$.]*)?"
# A name is not followed by what a tracker does with it ("a hacking group Microsoft tracks as").
_NOT_AFTER_NAME = (
    r"(?! (?:tracks|tracked|calls|called|names|named|dubs|dubbed|says|said|reports|has|is))"
)
_NAMED_GROUP = re.compile(
    rf"\b(?:ransomware|extortion|hacking|hacker|cybercrime|threat|criminal) (?:gang|group|crew"
    rf"|collective|cartel) (?:known as |called |named |calling itself |dubbed )?[\"'“‘]?"
    rf"(?P<a>{_NAME}){_NOT_AFTER_NAME}"
    rf"|\b(?P<b>{_NAME}) (?:ransomware|extortion|hacking|hacker) (?:gang|group|crew|operators?)\b"
    # One person's handle, in quotes: "the hacker "Rey"", "a threat actor 'Snow'" (a quote
    # after plural "hackers" is more often their words than a name).
    rf"|\b(?:the|a|an) (?:hacker|threat actor|attacker|cybercriminal|forum user|user) (?:known as "
    rf"|named |calling (?:himself|herself|itself) |dubbed )?[\"“‘'](?P<c>[\w$.-]{{2,30}})[\"”’']"
    rf"|\b(?:threat actor|hacker|attacker) named (?P<d>{_NAME})"
    rf"|\b(?:group|hackers|gang|attackers) calling (?:itself|themselves) (?P<e>{_NAME})"
)
_JA_NAMED_GROUP = re.compile(
    r"ランサムウェア(?:グループ|集団)?「(?P<a>[^」]{2,30})」|(?:グループ|集団)「(?P<b>[^」]{2,30})」"
    r"|「(?P<c>[^」]{2,30})」(?:を|と)(?:名乗る|自称する)"
)
_NAME_CUES = ("gang", "group", "crew", "collective", "cartel", "hacker", "actor", "attacker",
              "user", "cybercriminal", "calling")  # fmt: skip
_NOT_A_NAME = frozenset(
    "The A An It Its This That These Russian Chinese Iranian North Korean Ukrainian Russia China "
    "Iran New Notorious Alleged Unknown Ransomware Cybercrime Hacking Hacker Group Gang Threat "
    "Several Some Another One Two Three Its US U.S. UK APT".split()
)
_STRONG_CUE = re.compile(
    r"claim|behind|responsib|attribut|linked to|tied to|blamed|犯行声明|leak site|関与|listed"
)


def canonical(name: str) -> str | None:
    """Return the canonical name of a group alias ("Cl0p" -> "Clop"), or None if unknown."""
    return _ALIAS_TO_NAME.get(name.strip().lower())


def _named(sentence: str, original: str) -> list[tuple[int, str]]:
    """(position, name) of each group the sentence names that the table does not know."""
    found: list[tuple[int, str]] = []
    if len(original) == len(sentence) and any(cue in sentence for cue in _NAME_CUES):
        for match in _NAMED_GROUP.finditer(original):
            group = next(g for g in "abcde" if match.group(g))
            name = match.group(group).strip(".")
            if name.split()[0] not in _NOT_A_NAME and len(name) > 1:
                found.append((match.start(group), name))
    if not sentence.isascii() and "「" in sentence:
        text = original if len(original) == len(sentence) else sentence
        for match in _JA_NAMED_GROUP.finditer(text):
            group = next(g for g in "abc" if match.group(g))
            found.append((match.start(group), match.group(group).strip()))
    return found


def _numbered(alias: str) -> str:
    """Storm-0558, UNC4736, FIN11, APT41 in their trackers' spelling."""
    match = _NUMBERED.fullmatch(alias)
    if match is None:
        return alias
    prefix, number = match.groups()
    return f"Storm-{number}" if prefix == "storm" else f"{prefix.upper()}{number}"


def actors_in(sentence: str, original: str) -> list[tuple[str, bool]]:
    """Return (group, strongly attributed) for each group the sentence names as the attacker.

    ``sentence`` is the lower-cased form of ``original`` (same length); ``original`` keeps the
    capitals that tell "Play ransomware" from "play".
    """
    found: list[tuple[str, bool]] = []
    explainer = None
    known = alias_spans(sentence)
    for position, name in _named(sentence, original):
        if not any(lo <= position < hi for lo, hi, _ in known):
            known.append((position, position + len(name), name.lower()))
    if not known:
        return found
    aside = ASIDE.search(sentence)
    # Groups the table knows come first: "the hacker Rey of the HellCat ransomware group".
    known.sort(key=lambda k: (k[2] not in _ALIAS_TO_NAME and not _NUMBERED.fullmatch(k[2]), k[0]))
    for start, end, alias in known:
        before, after = sentence[max(0, start - 40) : start], sentence[end : end + 60]
        if alias in _AMBIGUOUS_LOWER:
            if not (_GROUP_AFTER.match(after) or _GROUP_BEFORE.search(before)):
                continue
            head = original[:start]
            if (
                len(original) == len(sentence)
                and original[start].islower()
                and head != head.lower()
                and not re.match(r"[\"'」』]?\s*(?:ransomware|gang|group)\b", after)
            ):
                continue  # "play" in running text; trackers' all-lower titles still count
        if aside is not None and aside.start() < start:
            continue  # "the article also recalls ShinyHunters' claimed hack of Ticketmaster"
        noun = _ATTACK_NOUN_AFTER.match(after)
        if (noun and _COMPARISON_BEFORE.search(before)) or _RESEMBLES_BEFORE.search(before):
            continue
        if (
            noun
            and _TEMPORAL_BEFORE.search(before)
            and _OWN_TARGET_AFTER.match(original, end + noun.end())
        ):
            continue
        if _POLICE_AFTER.match(after) or _POLICE_BEFORE.search(before):
            continue
        if explainer is None:
            explainer = bool(_EXPLAINER.search(sentence))
        if explainer and not _STRONG_CUE.search(sentence):
            continue
        if _OTHER_TIME.search(sentence) and not _STRONG_CUE.search(sentence):
            continue
        name = _ALIAS_TO_NAME.get(alias) or _numbered(alias)
        if name == alias:  # a name the table does not know: as the text writes it
            name = original[start:end] if len(original) == len(sentence) else alias
        found.append((name, bool(_STRONG_CUE.search(sentence))))
    return found
