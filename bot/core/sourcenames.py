"""Source names as people write them, and the stable key the database knows each one by.

A name is shown as written ("Dark Reading", "KADOKAWA ニュースリリース") in logs, tables,
``--json`` and embeds. The database needs something that does not change when only the
way a name is written changes, so each source also has a key: its kebab-case form
(``dark-reading``, ``kadokawa-ニュースリリース``). A name that already is kebab-case, as
every name had to be before display names, is its own key, so existing databases keep
their history. An explicit ``id`` in the configuration pins the key across a rename.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_NAME_LENGTH = 100
MAX_KEY_LENGTH = 63
# What a name had to look like before display names; such a name is its own key.
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# Letters, marks and digits of any script make up a key; everything else separates words.
_WORD_CATEGORIES = frozenset("LMN")
# Characters that would break a log line or a table row.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def name_problem(name: str) -> str | None:
    """Why ``name`` (already stripped) cannot name a source, or ``None`` if it can."""
    if not name:
        return "'name' must be a non-empty string"
    if len(name) > MAX_NAME_LENGTH:
        return f"'name' must be at most {MAX_NAME_LENGTH} characters (it has {len(name)})"
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in name):
        return "'name' must not contain line breaks or control characters"
    return None


def fold_name(name: str) -> str:
    """``name`` with case and width set aside: "ＤＡＲＫ Reading" and "dark reading" fold alike."""
    once = unicodedata.normalize("NFKC", name.strip()).casefold()
    return unicodedata.normalize("NFKC", once)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def source_key(name: str) -> str:
    """The stable database key of a source named ``name``: its kebab-case form.

    Folded (case and width), each run of characters that are not letters, marks or digits
    becomes one dash. A name with nothing of the sort (only emoji) gets a short hash; a
    very long one is cut and given a hash so two long names sharing a start stay apart.
    """
    if KEY_PATTERN.match(name):
        return name
    folded = fold_name(name)
    words: list[str] = []
    current: list[str] = []
    for ch in folded:
        if unicodedata.category(ch)[0] in _WORD_CATEGORIES:
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    key = "-".join(words)
    if not key:
        return f"source-{_digest(folded)}"
    if len(key) > MAX_KEY_LENGTH:
        key = key[: MAX_KEY_LENGTH - 9].rstrip("-") + "-" + _digest(folded)
    return key


def names_match(query: str, name: str, key: str) -> bool:
    """Whether someone typing ``query`` means the source ``name`` (key ``key``): the name as
    written, folded alike, the key, or the kebab-case form of the name."""
    query = query.strip()
    if not query:
        return False
    return (
        query in (name, key)
        or fold_name(query) == fold_name(name)
        or source_key(query) in (key, source_key(name))
    )
