"""Alert messages stay within Discord's limits and ping nobody, whatever the scraped text."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.embeds import TOTAL_MAX, channel_message, digest_message, embed_length

hostile = st.text(
    alphabet=st.sampled_from(list("ab @everyone@here<>&#*_~`|:\\[]()\u200b\u202e\n")),
    max_size=3000,
)


@settings(max_examples=60, deadline=None)
@given(title=hostile, summary=hostile, company=hostile, sources=st.integers(0, 40))
def test_alert_fits_and_pings_nobody(title: str, summary: str, company: str, sources: int) -> None:
    """Any title, summary and company yields an embed within limits with no live mention."""
    alert = {
        "title": title,
        "summary": summary * 3,
        "company": company,
        "evidence": "claimed",
        "url": "https://example.com/a",
        "reason": title,
        "sources": [{"source": company[:40], "url": "https://example.com/s"}] * sources,
    }
    body = channel_message(alert, role_id=42)
    embed = body["embeds"][0]
    assert embed_length(embed) <= TOTAL_MAX
    assert len(embed["title"]) <= 256 and len(embed.get("description", "")) <= 4096
    assert all(len(f["value"]) <= 1024 and len(f["name"]) <= 256 for f in embed["fields"])
    text = json.dumps(body, ensure_ascii=False)
    assert "@everyone" not in text and "@here" not in text
    assert body["allowed_mentions"] == {"parse": [], "roles": ["42"]}
    digest = digest_message([alert] * 30)
    assert embed_length(digest["embeds"][0]) <= TOTAL_MAX
    assert "@everyone" not in json.dumps(digest, ensure_ascii=False)
