"""Make untrusted text safe to show in Discord: no pings, no markup, no hidden characters."""

from __future__ import annotations

import re
import unicodedata

# Zero-width, bidirectional controls, blank-looking fillers and other invisible characters.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")
_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()<:-])")
# @everyone/@here, user, nickname, role and channel mentions, and clickable command mentions.
_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#|/[\w -]{1,32}:)(\d+)>", re.IGNORECASE)
_ZWSP = "\u200b"


def strip_invisible(text: str) -> str:
    """Drop control, zero-width and bidirectional-override characters."""
    text = _CONTROL.sub("", text)
    return _INVISIBLE.sub("", text)


def defuse_mentions(text: str) -> str:
    """Break ``@everyone``, ``@here``, ``<@id>`` and ``</command:id>`` so none is live."""

    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return "@" + _ZWSP + m.group(1)
        return "<" + m.group(2)[0] + _ZWSP + m.group(2)[1:] + m.group(3) + ">"

    return _MENTION.sub(repl, text)


def safe_text(text: str | None, limit: int | None = None) -> str:
    """Untrusted text for an embed or message: visible characters only, markdown escaped."""
    if not text:
        return ""
    cleaned = strip_invisible(unicodedata.normalize("NFC", text))
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    cleaned = defuse_mentions(_MARKDOWN.sub(r"\\\1", cleaned))
    if limit is not None:
        cleaned = truncate(cleaned, limit)
    return cleaned


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters with an ellipsis, never inside an escape."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.endswith("\\") and not cut.endswith("\\\\"):
        cut = cut[:-1]
    return cut.rstrip() + "…"


def link_target(url: str) -> str:
    """Percent-encode what would end or nest a markdown link inside ``(...)``."""
    return (
        url.replace("(", "%28")
        .replace(")", "%29")
        .replace("[", "%5B")
        .replace("]", "%5D")
        .replace("*", "%2A")
        .replace("_", "%5F")
        .replace("~", "%7E")
        .replace("`", "%60")
        .replace("|", "%7C")
    )


def safe_url(url: str | None) -> str | None:
    """Return ``url`` if it is a plain http(s) link Discord can show, else ``None``."""
    if not url:
        return None
    url = strip_invisible(url).strip()
    if not re.match(r"^https?://[^\s<>\"]+$", url) or len(url) > 2000:
        return None
    return url
