"""Fold names and text into one comparable form: width, case, ``&``, punctuation, suffixes."""

from __future__ import annotations

import re
import string
import unicodedata

# Han, kana (full and half width after NFKC), and CJK compatibility ideographs.
_CJK_CLASS = r"\u3005\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
CJK = re.compile(f"[{_CJK_CLASS}]")
# Possessives and apostrophes vanish ("AT&T's" -> "at and t", "O'Reilly" -> "oreilly");
# other punctuation separates words.
_POSSESSIVE = re.compile(r"['’]s\b")
_APOSTROPHE = re.compile(r"['’‘`´]")
_AMPERSAND = re.compile(r"\s*&\s*")
_SEPARATOR = re.compile(r"[^\w" + _CJK_CLASS + r"]+|_+")
# Latin next to CJK is a word boundary even without a space ("KADOKAWAは").
_SCRIPT_EDGE = re.compile(f"(?<=[a-z0-9])(?=[{_CJK_CLASS}])|(?<=[{_CJK_CLASS}])(?=[a-z0-9])")
_SPACES = re.compile(r"\s+")

# Legal-form words that say nothing about which company is meant; stripped from names only.
_SUFFIX_WORDS = (
    "inc incorporated corp corporation co company ltd limited llc llp lp plc ag sa se nv bv "
    "gmbh kk oyj ab asa spa srl pty pte bhd holdings"
).split()
_SUFFIX_TAIL = re.compile(r"(?:\s(?:" + "|".join(_SUFFIX_WORDS) + r"))+$")
_JA_FORMS = re.compile(r"株式会社|有限会社|合同会社|\(株\)|\(有\)|㈱|㈲|ホールディングス")
_LEADING_THE = re.compile(r"^the\s")


# Typographic punctuation that news text is full of, as its ASCII twin (what NFKC would not do).
_TYPOGRAPHIC = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-",
                              "…": "...", "\u00a0": " ", "\u3000": " "})  # fmt: skip
# The ASCII fast path: one translate does what the regular expressions do.
_ASCII = str.maketrans(
    {**dict.fromkeys(string.punctuation + string.whitespace, " "), "&": " and ", "'": "", "`": ""}
)


def fold(text: str) -> str:
    """Return ``text`` in matching form: NFKC, case-folded, ``&`` as "and", punctuation as spaces.

    Words are separated by single spaces and the result is padded with one space on each side,
    so a Latin word boundary is a space on both sides of the folded name.
    """
    text = text.translate(_TYPOGRAPHIC)
    if text.isascii():
        # Most English headlines: the same result as fold_slow, several times faster.
        text = text.lower()
        if "'" in text:
            text = _POSSESSIVE.sub("", text)
        return " " + " ".join(text.translate(_ASCII).split()) + " "
    return fold_slow(text)


def fold_slow(text: str) -> str:
    """Fold any text with the regular expressions (what :func:`fold` does for non-ASCII)."""
    text = unicodedata.normalize("NFKC", text.translate(_TYPOGRAPHIC)).casefold()
    text = _POSSESSIVE.sub("", text)
    text = _APOSTROPHE.sub("", text)
    text = _AMPERSAND.sub(" and ", text)
    text = _SEPARATOR.sub(" ", text)
    text = _SCRIPT_EDGE.sub(" ", text)
    return " " + _SPACES.sub(" ", text).strip() + " "


def fold_name(name: str) -> str:
    """Fold a company name and drop its legal form (``Inc.``, ``Co., Ltd.``, ``株式会社``).

    Returns the bare words without padding; empty if nothing distinctive is left.
    """
    text = unicodedata.normalize("NFKC", name)
    bare = _JA_FORMS.sub(" ", text)
    folded = fold(bare).strip()
    stripped = _SUFFIX_TAIL.sub("", folded).strip()
    stripped = _LEADING_THE.sub("", stripped)
    # A name that is only a legal form ("Holdings Inc.", "株式会社") keeps its words.
    return stripped or folded or fold(text).strip()


def has_cjk(text: str) -> bool:
    """Tell whether ``text`` contains Japanese or Chinese characters."""
    return CJK.search(text) is not None


def pattern_key(folded_name: str) -> str:
    """The automaton key for a folded name: spaces guard Latin ends, CJK ends match inside words."""
    head = "" if has_cjk(folded_name[:1]) else " "
    tail = "" if has_cjk(folded_name[-1:]) else " "
    return f"{head}{folded_name}{tail}"
