"""Injection: scraped text and user input never ping, link, format or hide in Discord."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.embeds import (
    DESCRIPTION_MAX,
    FIELD_VALUE_MAX,
    TITLE_MAX,
    TOTAL_MAX,
    alert_embed,
    embed_length,
    webhook_message,
)
from bot.core.sanitize import defuse_mentions, safe_text, safe_url, strip_invisible

SPECIAL = set("\\*_~`|>#[]()<:-")
MENTIONS = re.compile(r"@(everyone|here)|<@[!&]?\d+>|<#\d+>|</[\w -]+:\d+>", re.IGNORECASE)
HIDDEN = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u180e\u200c-\u200f\u202a-\u202e\u2060-\u2069"
    "\u3164\ufeff\uffa0\U000e0000-\U000e007f]"
)

# Text that looks like what attackers put in a headline, mixed with anything at all.
hostile_bits = st.sampled_from(
    [
        "@everyone", "@here", "@EVERYONE", "<@123456789012345678>", "<@!123456789012345678>",
        "<@&987654321098765432>", "<#112233445566778899>", "</ban:1234>",
        "[click here](https://phish.example/login)", "[x](<https://a.example>)",
        "**bold**", "__under__", "~~strike~~", "||spoiler||", "`code`", "```py\nx\n```",
        "# Heading", "-# small", "> quote", "- list", "1. list", "\\", "\u200b", "\u200d",
        "\u202e", "\u2066", "\u2069", "\u061c", "\ufeff", "\u3164", "\u00ad", "\x00", "\x1b[31m",
        "https://discord.gg/invite", "Casio", "カシオ", "KADOKAWA", "Marks & Spencer", "\n\n",
    ]
)  # fmt: skip
hostile_text = st.lists(st.one_of(hostile_bits, st.text(max_size=20)), max_size=12).map("".join)


def unescaped_specials(text: str) -> list[str]:
    """Markdown characters in ``text`` that no backslash escapes."""
    bad = []
    i = 0
    while i < len(text):
        if text[i] == "\\":
            if i + 1 >= len(text):
                bad.append("\\")
            i += 2
            continue
        if text[i] in SPECIAL:
            bad.append(text[i])
        i += 1
    return bad


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "").rstrip("…")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("@everyone Casio breached", "@\u200beveryone Casio breached"),
        ("ping @here now", "ping @\u200bhere now"),
        ("<@123456789012345678>", "\\<@123456789012345678\\>"),
        ("<@&987654321098765432>", "\\<@&987654321098765432\\>"),
        ("<#112233445566778899>", "\\<\\#112233445566778899\\>"),
        ("[Reset your password](https://phish.example)", "\\[Reset your password\\]\\(https\\://phish.example\\)"),
        ("**M&S** _hacked_", "\\*\\*M&S\\*\\* \\_hacked\\_"),
        ("@\u200deveryone", "@\u200beveryone"),
        ("Ca\u202esio\u2066 data\u200b leak", "Casio data leak"),
        ("||spoiler|| `code`", "\\|\\|spoiler\\|\\| \\`code\\`"),
        ("# Breach\n-# tiny\n> quote", "\\# Breach \\-\\# tiny \\> quote"),
    ],
)  # fmt: skip
def test_known_attacks_are_neutralized(raw: str, shown: str) -> None:
    """Each classic trick comes out inert and still readable."""
    assert safe_text(raw) == shown


@given(hostile_text, st.one_of(st.none(), st.integers(min_value=2, max_value=300)))
def test_safe_text_never_pings_formats_or_hides(text: str, limit: int | None) -> None:
    """Whatever goes in: no mention, no live markdown, no hidden character, within limit."""
    out = safe_text(text, limit)
    assert MENTIONS.search(out) is None
    assert unescaped_specials(out) == []
    assert HIDDEN.search(out) is None
    # The only zero-width space left is the one that breaks a mention.
    assert all(out[i - 1] in "@" for i, c in enumerate(out) if c == "\u200b")
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out)
    if limit is not None:
        assert len(out) <= limit


@given(hostile_text)
def test_safe_text_keeps_what_people_should_read(text: str) -> None:
    """Without the escapes, the visible text is the input minus hidden characters."""
    expected = re.sub(r"\s+", " ", strip_invisible(unicodedata.normalize("NFC", text))).strip()
    assert unescape(safe_text(text)) == expected


@given(hostile_text)
def test_defusing_mentions_alone_breaks_every_mention(text: str) -> None:
    """The mention defuser on its own (for plain message content) leaves none live."""
    assert MENTIONS.search(defuse_mentions(strip_invisible(text))) is None


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "https://a.example/<script>",
        "https://a.example/ space",
        "",
        "https://" + "a" * 2001,
    ],
)
def test_unsafe_urls_are_dropped(url: str) -> None:
    """Only plain http(s) links are ever shown."""
    assert safe_url(url) is None


def alerts() -> st.SearchStrategy[dict[str, Any]]:
    source = st.fixed_dictionaries(
        {
            "source": hostile_text,
            "url": st.one_of(
                st.sampled_from(
                    [
                        "https://www.casio.com/news/a)[Click me](https://phish.example",
                        "https://a.example/x_(y)*z*~`|",
                        "https://www.bleepingcomputer.com/news/security/casio/",
                        "javascript:alert(1)",
                    ]
                ),
                st.text(max_size=40),
            ),
            "evidence": st.sampled_from(["claimed", "reported", "confirmed"]),
        }
    )
    return st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["alert", "update"]),
            "incident": st.integers(1, 10**6),
            "company": hostile_text,
            "title": st.one_of(hostile_text, st.text(min_size=300, max_size=600)),
            "url": st.one_of(st.text(max_size=50), st.just("https://www.casio.com/news/")),
            "source": hostile_text,
            "evidence": st.one_of(st.sampled_from(["claimed", "reported"]), hostile_text),
            "published": st.one_of(
                st.none(), st.just("2024-10-11T14:17:44+00:00"), st.text(max_size=10)
            ),
            "first_seen": st.one_of(st.none(), st.just("2024-10-11T15:00:00+00:00")),
            "summary": st.one_of(hostile_text, st.text(min_size=3000, max_size=7000)),
            "reason": hostile_text,
            "matched": st.lists(hostile_text, max_size=3),
            "sources": st.lists(source, max_size=14),
        }
    )  # fmt: skip


def embed_texts(embed: dict[str, Any]) -> list[str]:
    texts = [embed.get("title", ""), embed.get("description", "")]
    texts.append(embed.get("footer", {}).get("text", ""))
    for field in embed.get("fields", []):
        texts += [field["name"], field["value"]]
    return texts


@given(alerts())
def test_every_embed_is_inert_and_within_discord_limits(alert: dict[str, Any]) -> None:
    """Any alert payload gives an embed with no live mention, no injected link, in limits."""
    message = webhook_message(alert)
    assert message["allowed_mentions"] == {"parse": []}
    assert "content" not in message
    embed = message["embeds"][0]
    assert len(embed["title"]) <= TITLE_MAX
    assert len(embed.get("description", "")) <= DESCRIPTION_MAX
    assert all(len(f["value"]) <= FIELD_VALUE_MAX for f in embed["fields"])
    assert embed_length(embed) <= TOTAL_MAX
    assert len(json.dumps(message)) < 50_000
    for text in embed_texts(embed):
        assert MENTIONS.search(text) is None
        assert HIDDEN.search(text) is None
    if "url" in embed:
        assert safe_url(embed["url"]) == embed["url"]
    for field in embed["fields"]:
        if field["name"].startswith("Sources ("):
            for line in field["value"].split("\n"):
                if line.startswith("and ") or not line.startswith("["):
                    assert unescaped_specials(line.rstrip("…")) == [], line
                    continue
                # Exactly one link whose text is escaped and whose target cannot break out.
                match = re.fullmatch(r"\[((?:\\.|[^\\\[\]])*)\]\((https?://[^\s()\[\]<>]+)\)", line)
                assert match is not None, line
                assert unescaped_specials(match.group(1)) == []
        elif field["name"] in ("Published", "First seen"):
            # Our own Discord timestamp markup, built from a parsed date, nothing scraped.
            assert re.fullmatch(r"<t:\d+:f>|unknown", field["value"]), field
        else:
            assert unescaped_specials(field["value"].rstrip("…")) == [], field


def test_a_url_cannot_inject_a_second_masked_link() -> None:
    """A source URL crafted to close our link and open its own stays one link."""
    embed = alert_embed(
        {
            "title": "Casio confirms ransomware attack",
            "company": "Casio",
            "sources": [
                {
                    "source": "bleepingcomputer",
                    "url": "https://www.casio.com/a)[Log in](https://phish.example".replace(
                        " ", ""
                    ),
                    "evidence": "reported",
                }
            ],
        }
    )
    value = embed["fields"][-1]["value"]
    assert (
        value == "[bleepingcomputer](https://www.casio.com/a%29%5BLogin%5D%28https://phish.example)"
    )
