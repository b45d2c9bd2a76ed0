"""Build Discord embeds from alerts: pure functions, within Discord's limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.core.cards.card import DATA_WORDS, Sighting, merge
from bot.core.cards.extract import extract
from bot.core.cards.records import card_to_dict
from bot.core.cards.vocab import DATA_CATEGORIES
from bot.core.sanitize import link_target, safe_text, safe_url, truncate
from scrapers.models import Evidence

# Discord's limits on one embed.
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
TOTAL_MAX = 6000

EVIDENCE_COLOUR = {
    Evidence.CLAIMED.value: 0xF1C40F,  # yellow: a leak site says so
    Evidence.REPORTED.value: 0xE67E22,  # orange: the press says so
    Evidence.CONFIRMED.value: 0xE74C3C,  # red: the company or a regulator says so
}

NO_MENTIONS: dict[str, Any] = {"parse": []}


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value:
        return value
    return None


def _when(value: Any) -> str:
    iso = _iso(value)
    if not iso:
        return "unknown"
    try:
        stamp = int(datetime.fromisoformat(iso).timestamp())
    except ValueError:
        return "unknown"
    return f"<t:{stamp}:f>"


_QUALIFIER_WORDS = {"approx": "about ", "at_least": "at least ", "at_most": "up to "}
_STAGE_WORDS = {"claimed": "Claimed", "reported": "Reported", "confirmed": "Confirmed"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _day(value: Any) -> str:
    iso = _iso(value)
    try:
        return f"<t:{int(datetime.fromisoformat(iso).timestamp())}:d>" if iso else ""
    except ValueError:
        return ""


def _by(fact: dict[str, Any]) -> str:
    """ "confirmed by Casio": who said a card field, escaped (sources are scraped names)."""
    evidence = str(fact.get("evidence") or "")
    source = safe_text(str(fact.get("source") or ""), 60)
    if evidence not in _STAGE_WORDS:
        return source
    return f"{evidence} by {source}" if source else evidence


def affected_text(card: dict[str, Any]) -> str | None:
    """ "8,500 people" (with "about", "at least", "up to" as the text said), or None."""
    affected = _dict(card.get("affected"))
    count = affected.get("value")
    if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
        return None
    kind = (
        affected.get("kind") if affected.get("kind") in ("people", "records", "accounts") else None
    )
    qualifier = _QUALIFIER_WORDS.get(str(affected.get("qualifier")), "")
    return f"{qualifier}{count:,} {kind or 'affected'}"


def data_text(card: dict[str, Any]) -> str | None:
    """ "names, contact details, government IDs" in the vocabulary's order, or None."""
    found = {str(f.get("value")) for f in card.get("data") or [] if isinstance(f, dict)} & set(
        DATA_CATEGORIES
    )
    return ", ".join(DATA_WORDS[c] for c in DATA_CATEGORIES if c in found) or None


def _value(card: dict[str, Any], name: str) -> str | None:
    value = _dict(card.get(name)).get("value")
    return value if isinstance(value, str) and value.strip() else None


def card_summary(card: Any) -> str:
    """One line for a list: "8,500 people · names, contact details · ransomware · Underground"."""
    if not isinstance(card, dict):
        return ""
    parts = [affected_text(card), data_text(card)]
    attack = _value(card, "attack")
    parts.append(attack.replace("_", " ") if attack else None)
    actor = _value(card, "actor")
    parts.append(safe_text(actor, 60) if actor else None)
    return " · ".join(p for p in parts if p)


def _timeline(card: dict[str, Any], *, links: bool, limit: int = 3) -> str:
    lines = []
    for stage in (card.get("timeline") or [])[:limit]:
        if not isinstance(stage, dict) or stage.get("stage") not in _STAGE_WORDS:
            continue
        source = safe_text(str(stage.get("source") or ""), 60)
        link = safe_url(stage.get("url")) if links else None
        who = f"[{source}]({link_target(link)})" if link and source else source
        lines.append(f"{_STAGE_WORDS[stage['stage']]} {_day(stage.get('at'))} {who}".strip())
    return "\n".join(lines)


def card_fields(card: Any, *, full: bool = False) -> list[dict[str, Any]]:
    """The card as embed fields: affected, data, attack, actor (and dates), then the timeline.

    Compact for an alert; with ``full`` (``/lookup``) each field says who said it.
    """
    if not isinstance(card, dict):
        return []
    fields: list[dict[str, Any]] = []

    def add(name: str, value: str | None, fact: Any = None) -> None:
        if not value:
            return
        if full and isinstance(fact, dict) and _by(fact):
            value = f"{value}\n-# {_by(fact)}"
        fields.append({"name": name, "value": truncate(value, FIELD_VALUE_MAX), "inline": True})

    add("Affected", affected_text(card), card.get("affected"))
    if full:
        lines = []
        for fact in card.get("data") or []:
            if isinstance(fact, dict) and fact.get("value") in DATA_WORDS:
                lines.append(f"{DATA_WORDS[fact['value']]} ({_by(fact)})")
        if lines:
            fields.append(
                {
                    "name": "Data",
                    "value": truncate("\n".join(lines), FIELD_VALUE_MAX),
                    "inline": False,
                }
            )
    else:
        add("Data", data_text(card))
    attack = _value(card, "attack")
    add("Attack", attack.replace("_", " ") if attack else None, card.get("attack"))
    actor = _value(card, "actor")
    add("Actor", safe_text(actor, 100) if actor else None, card.get("actor"))
    if full:
        add("Began", _value(card, "began"), card.get("began"))
        add("Discovered", _value(card, "discovered"), card.get("discovered"))
    timeline = _timeline(card, links=full)
    if timeline:
        fields.append({"name": "Timeline", "value": truncate(timeline, FIELD_VALUE_MAX)})
    return fields


def changes_text(changes: Any, limit: int = 600) -> str:
    """What an update changed, for the top of the edited alert (escaped: names are scraped)."""
    if not isinstance(changes, list):
        return ""
    lines = []
    for change in changes[:6]:
        if isinstance(change, dict) and (change.get("who") or change.get("what")):
            # Our separator stays as it is; the names on either side are escaped.
            who = safe_text(str(change.get("who") or ""), 120)
            what = safe_text(str(change.get("what") or ""), 120)
            lines.append(f"{who}: {what}" if who and what else who or what)
        elif isinstance(change, dict | str):
            text = change.get("text") if isinstance(change, dict) else change
            if isinstance(text, str) and text.strip():
                lines.append(safe_text(text, 200))
    return truncate("\n".join(f"• {line}" for line in lines), limit) if lines else ""


def alert_embed(alert: dict[str, Any]) -> dict[str, Any]:
    """Return the embed (Discord's JSON form) for one alert payload."""
    evidence = str(alert.get("evidence") or Evidence.REPORTED.value)
    if evidence not in EVIDENCE_COLOUR:
        evidence = Evidence.REPORTED.value
    prefix = "Update: " if alert.get("kind") == "update" else ""
    # The prefix is ours: escaping it would show a stray backslash.
    title = prefix + safe_text(
        str(alert.get("title") or "Untitled disclosure"), TITLE_MAX - len(prefix)
    )
    embed: dict[str, Any] = {
        "title": title,
        "color": EVIDENCE_COLOUR.get(evidence, EVIDENCE_COLOUR[Evidence.REPORTED.value]),
        "fields": [
            {
                "name": "Company",
                "value": safe_text(alert.get("company"), 256) or "?",
                "inline": True,
            },
            {"name": "Evidence", "value": evidence, "inline": True},
            {"name": "Published", "value": _when(alert.get("published")), "inline": True},
        ],
    }
    url = safe_url(alert.get("url"))
    if url:
        embed["url"] = url
    summary = safe_text(alert.get("summary"), 600)
    changed = changes_text(alert.get("changes")) if alert.get("kind") == "update" else ""
    if changed:
        # What changed goes on top: the reason the alert was edited.
        embed["description"] = f"**What changed**\n{changed}" + (
            f"\n\n{summary}" if summary else ""
        )
    elif summary:
        embed["description"] = summary
    sources = alert.get("sources") or []
    if sources:
        lines = []
        for item in sources[:10]:
            name = safe_text(item.get("source"), 100)
            link = safe_url(item.get("url"))
            # A scraped URL must not close the link and open one of its own.
            lines.append(f"[{name}]({link_target(link)})" if link else name)
        more = len(sources) - 10
        if more > 0:
            lines.append(f"and {more} more")
        embed["fields"].append(
            {
                "name": f"Sources ({len(sources)})",
                "value": truncate("\n".join(lines), FIELD_VALUE_MAX),
            }
        )
    else:
        embed["fields"].append(
            {"name": "Source", "value": safe_text(alert.get("source"), 256) or "?", "inline": True}
        )
    # The card after the line of company, evidence and dates, before the sources.
    at = 3
    embed["fields"][at:at] = card_fields(alert.get("card"))
    reason = safe_text(alert.get("reason"), FIELD_VALUE_MAX)
    if reason:
        embed["fields"].append({"name": "Why it matched", "value": reason})
    first_seen = _iso(alert.get("first_seen"))
    if first_seen:
        embed["timestamp"] = first_seen
        embed["fields"].insert(
            3, {"name": "First seen", "value": _when(alert.get("first_seen")), "inline": True}
        )
    embed["footer"] = {"text": "BreachRadar · first seen"}
    return fit_embed(embed)


def embed_length(embed: dict[str, Any]) -> int:
    """Characters Discord counts toward the 6,000 total."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", ""))
    total += len(embed.get("author", {}).get("name", ""))
    for field in embed.get("fields", []):
        total += len(field.get("name", "")) + len(field.get("value", ""))
    return total


def fit_embed(embed: dict[str, Any]) -> dict[str, Any]:
    """Trim the description, then fields, until the embed fits Discord's limits."""
    embed["fields"] = embed.get("fields", [])[:25]
    over = embed_length(embed) - TOTAL_MAX
    if over > 0 and embed.get("description"):
        keep = max(0, len(embed["description"]) - over)
        embed["description"] = truncate(embed["description"], max(keep, 1))
    while embed_length(embed) > TOTAL_MAX and embed["fields"]:
        embed["fields"].pop()
    return embed


def webhook_message(alert: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a webhook execute that carries one alert and pings nobody."""
    return {
        "embeds": [alert_embed(alert)],
        "allowed_mentions": NO_MENTIONS,
        "username": "BreachRadar",
    }


def channel_message(
    alert: dict[str, Any], *, role_id: int | None = None, new: bool = True
) -> dict[str, Any]:
    """The JSON body of a channel message for one alert; only ``role_id`` may be pinged."""
    body: dict[str, Any] = {
        "embeds": [alert_embed(alert)],
        "allowed_mentions": {"parse": [], "roles": [str(role_id)] if role_id else []},
    }
    if role_id and new:  # an edit in place never pings again
        body["content"] = f"<@&{role_id}>"
    return body


def _sample_card() -> dict[str, Any]:
    """The card of the sample alert: a claim, a report, then the company's count."""
    day = datetime(2024, 10, 7, 9, 0, tzinfo=UTC)
    said = [
        ("claimed", "Example ransomware gang claims attack on Example Corp", "leak site"),
        ("reported", "Example Corp hit by ransomware, names and email addresses stolen", "news"),
        ("confirmed", "Example Corp confirms 8,500 people affected by ransomware", "Example Corp"),
    ]
    return card_to_dict(
        merge(
            Sighting(extract(title), evidence, day.replace(hour=9 + i), source)
            for i, (evidence, title, source) in enumerate(said)
        )
    )


def sample_alert() -> dict[str, Any]:
    """An alert payload for ``/alerts test``, shaped like a real one."""
    return {
        "kind": "alert",
        "incident": 0,
        "company": "Example Corp",
        "title": "Sample alert: Example Corp discloses a cybersecurity incident",
        "url": "https://example.com/press/security-incident",
        "source": "breachradar-test",
        "evidence": Evidence.CONFIRMED.value,
        "published": None,
        "first_seen": None,
        "summary": "This is what an alert looks like. No incident happened.",
        "reason": "a test requested with /alerts test",
        "sources": [],
        "card": _sample_card(),
    }


def lookup_embed(
    company: str, entries: list[dict[str, Any]], page: int, per_page: int
) -> dict[str, Any]:
    """One page of ``/lookup``: newest first, each with its evidence and sources."""
    pages = max(1, -(-len(entries) // per_page))
    page = min(max(page, 0), pages - 1)
    shown = entries[page * per_page : (page + 1) * per_page]
    embed: dict[str, Any] = {
        "title": f"{safe_text(company, 150)}: {len(entries)} incidents and disclosures",
        "color": 0x3498DB,
        "fields": [],
        "footer": {"text": f"Page {page + 1} of {pages} · newest first"},
    }
    if not entries:
        embed["description"] = "Nothing in the database about this company yet."
    for entry in shown:
        links = [
            f"[{safe_text(name, 64)}]({url})" if (url := safe_url(link)) else safe_text(name, 64)
            for name, link in entry.get("sources", [])[:5]
        ]
        summary = card_summary(entry.get("card"))
        number = entry.get("incident")
        value = (
            f"**{entry['evidence']}** · first seen {_when(entry.get('first_seen'))}"
            + (f" · published {_when(entry.get('published'))}" if entry.get("published") else "")
            + (f" · incident {number}" if isinstance(number, int) else "")
            + (f"\n{summary}" if summary else "")
            + ("\n" + ", ".join(links) if links else "")
        )
        embed["fields"].append(
            {
                "name": safe_text(entry.get("title"), 256) or "Untitled",
                "value": truncate(value, FIELD_VALUE_MAX),
            }
        )
    return fit_embed(embed)


def card_embed(company: str, entry: dict[str, Any]) -> dict[str, Any]:
    """``/lookup company incident:N``: one incident's full card, each field with its source."""
    evidence = str(entry.get("evidence") or Evidence.REPORTED.value)
    embed: dict[str, Any] = {
        "title": safe_text(str(entry.get("title") or "Untitled incident"), TITLE_MAX),
        "color": EVIDENCE_COLOUR.get(evidence, EVIDENCE_COLOUR[Evidence.REPORTED.value]),
        "fields": [
            {"name": "Company", "value": safe_text(company, 256) or "?", "inline": True},
            {"name": "Evidence", "value": evidence, "inline": True},
            {"name": "First seen", "value": _when(entry.get("first_seen")), "inline": True},
        ],
        "footer": {"text": f"BreachRadar · incident {entry.get('incident')}"},
    }
    url = safe_url(entry.get("url"))
    if url:
        embed["url"] = url
    card = entry.get("card")
    fields = card_fields(card, full=True)
    if not fields:
        embed["description"] = "No disclosure of this incident says how many, which data or who."
    embed["fields"] += fields
    sources = entry.get("sources") or []
    if sources:
        lines = []
        for name, link in sources[:15]:
            target = safe_url(link)
            lines.append(
                f"[{safe_text(name, 64)}]({link_target(target)})" if target else safe_text(name, 64)
            )
        if len(sources) > 15:
            lines.append(f"and {len(sources) - 15} more")
        embed["fields"].append(
            {
                "name": f"Sources ({len(sources)})",
                "value": truncate("\n".join(lines), FIELD_VALUE_MAX),
            }
        )
    return fit_embed(embed)


def digest_message(alerts: list[dict[str, Any]], *, role_id: int | None = None) -> dict[str, Any]:
    """One message with the day's held alerts, newest incidents last, within the limits."""
    embed: dict[str, Any] = {
        "title": f"Daily digest: {len(alerts)} incident{'s' if len(alerts) != 1 else ''}",
        "color": max((EVIDENCE_COLOUR.get(str(a.get("evidence")), 0) for a in alerts), default=0),
        "fields": [],
        "footer": {"text": "BreachRadar digest"},
    }
    for alert in alerts[:25]:
        link = safe_url(alert.get("url"))
        value = (
            f"{safe_text(alert.get('evidence'), 16)} · {len(alert.get('sources') or [])} sources"
        )
        summary = card_summary(alert.get("card"))
        if summary:
            value += f" · {summary}"
        if link:
            value += f" · [read]({link})"
        embed["fields"].append(
            {
                "name": truncate(
                    f"{safe_text(alert.get('company'), 60)}: {safe_text(alert.get('title'), 190)}",
                    256,
                ),
                "value": truncate(value, FIELD_VALUE_MAX),
            }
        )
    if len(alerts) > 25:
        embed["description"] = f"The 25 first of {len(alerts)}; use /latest for the rest."
    body: dict[str, Any] = {
        "embeds": [fit_embed(embed)],
        "allowed_mentions": {"parse": [], "roles": [str(role_id)] if role_id else []},
    }
    if role_id:
        body["content"] = f"<@&{role_id}>"
    return body
