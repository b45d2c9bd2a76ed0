"""Threat actors: one canonical name per group, and when a mention names the attacker.

A group is the actor when the text says it claims, is behind, or carried out this attack.
A group named for comparison ("amid Scattered Spider aviation breaches", "like the LockBit
attack on ..."), in a police action ("LockBit disrupted by police") or in an explainer
("How Scattered Spider targets help desks") is not.
"""

from __future__ import annotations

import re
from typing import Final

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
    "Ragnar Locker": ("Ragnar Locker", "RagnarLocker"),
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
     "Chaos", "Warlock", "Black Cat", "Black Suit", "Kairos", "Sarcoma", "LAPSUS", "SLSH"}
)  # fmt: skip

_ALIAS_TO_NAME: Final = {
    alias.lower(): name for name, aliases in ALIASES.items() for alias in aliases
}
_AMBIGUOUS_LOWER: Final = frozenset(a.lower() for a in _AMBIGUOUS)
ACTOR_PATTERN: Final = re.compile(
    r"(?<![a-z0-9$])(?:"
    + "|".join(re.escape(a) for a in sorted(_ALIAS_TO_NAME, key=len, reverse=True))
    + r")(?![a-z0-9$])"
)

# The first word of every alias: a text without any of them names no group.
TRIGGER_WORDS: Final = frozenset(
    re.findall(r"[a-z0-9]+", alias)[0] for alias in _ALIAS_TO_NAME if re.search(r"[a-z0-9]", alias)
)
_JAPANESE_ALIASES: Final = tuple(a for a in _ALIAS_TO_NAME if not re.search(r"[a-z0-9]", a))


def japanese_alias_in(low: str) -> bool:
    """Say whether ``low`` holds an alias written in Japanese script (ロックビット)."""
    return any(alias in low for alias in _JAPANESE_ALIASES)


_GROUP_AFTER = re.compile(
    r"^[\"'」』]?\s*(?:ransomware|ransom|gang|group|operation|crew|extortion|hackers?|hacking"
    r"|threat actors?|cybercrim\w*|leak site|data leak site|affiliates?|cyber ?gang|apt"
    r"|ランサムウェア|グループ|集団)"
)
_GROUP_BEFORE = re.compile(
    r"(?:ransomware|gang|group|operation|threat actor|hacker|hackers|hacking group|ハッカー集団"
    r"|グループ|集団|tracks as|tracked as|known as|calling itself|dubbed)\s*[\"'「『]?\s*$"
)
# "amid X breaches", "like the X attack": another attack named as a reference point.
_COMPARISON_BEFORE = re.compile(
    r"(?:\blike|\bunlike|\bsimilar to|\bsuch as|\bamid|\bas with|\bthan|\bcompared (?:to|with)"
    r"|\bfollowing|\bafter|\bsince|\bbefore|\bincluding|\bas in|\bsame as|\breminiscent of)"
    r"\s+(?:the\s+|a\s+|an\s+)?(?:recent\s+|earlier\s+|previous\s+|past\s+|similar\s+)?$"
)
_ATTACK_NOUN_AFTER = re.compile(
    r"^(?:'s)?(?:\s+[\w-]+)?\s+(?:attacks?|breach(?:es)?|hacks?|campaigns?|intrusions?|incidents?"
    r"|cyberattacks?|cyber-attacks?|victims?|spree|wave)\b"
)
# The group as the object of a police action.
_POLICE_AFTER = re.compile(
    r"^(?:'s)?(?:\s+[\w-]+){0,3}?\s+(?:(?:was|were|is|has been|have been)\s+)?(?:disrupted|seized"
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
    r"\b(?:months|weeks|years|days) (?:after|before|earlier|ago)\b|\bcomes? after\b|\bpreviously\b"
    r"|\bprior (?:attack|breach)\b"
)
_STRONG_CUE = re.compile(
    r"claim|behind|responsib|attribut|linked to|tied to|blamed|犯行声明|leak site|関与|listed"
)


def canonical(name: str) -> str | None:
    """Return the canonical name of a group alias ("Cl0p" -> "Clop"), or None if unknown."""
    return _ALIAS_TO_NAME.get(name.strip().lower())


def actors_in(sentence: str, original: str) -> list[tuple[str, bool]]:
    """Return (group, strongly attributed) for each group the sentence names as the attacker.

    ``sentence`` is the lower-cased form of ``original`` (same length); ``original`` keeps the
    capitals that tell "Play ransomware" from "play".
    """
    found: list[tuple[str, bool]] = []
    explainer = None
    for match in ACTOR_PATTERN.finditer(sentence):
        alias = match.group()
        start, end = match.span()
        before, after = sentence[max(0, start - 40) : start], sentence[end : end + 60]
        if alias in _AMBIGUOUS_LOWER:
            if not (_GROUP_AFTER.match(after) or _GROUP_BEFORE.search(before)):
                continue
            head = original[:start]
            if (
                len(original) == len(sentence)
                and original[start].islower()
                and head != head.lower()
            ):
                continue  # "play" in running text; trackers' all-lower titles still count
        if _COMPARISON_BEFORE.search(before) and _ATTACK_NOUN_AFTER.match(after):
            continue
        if _POLICE_AFTER.match(after) or _POLICE_BEFORE.search(before):
            continue
        if explainer is None:
            explainer = bool(_EXPLAINER.search(sentence))
        if explainer and not _STRONG_CUE.search(sentence):
            continue
        if _OTHER_TIME.search(sentence) and not _STRONG_CUE.search(sentence):
            continue
        found.append((_ALIAS_TO_NAME[alias], bool(_STRONG_CUE.search(sentence))))
    return found
