"""A quick reader for plain, well-formed RSS 2.0 and Atom feeds.

feedparser reads anything that calls itself a feed, and that care costs about 5 ms for a
20-item feed: with a thousand sources it was most of a poll cycle's CPU. Most feeds are
plain, though: well-formed UTF-8 XML, absolute links, RFC 822 or ISO 8601 dates. This
module reads exactly those with lxml and answers ``None`` for anything else (a DTD,
another encoding, relative links, XHTML titles, a date it cannot read, markup feedparser
would sanitize), so feedparser still decides every odd case. tests/scrapers/
test_plainfeed.py checks that both readers agree on every recorded feed and on generated
ones.
"""

from __future__ import annotations

import email.utils
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC = "{http://purl.org/dc/elements/1.1/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

# Markup whose contents feedparser's sanitizer drops: leave such feeds to it.
_SANITIZED = re.compile(r"<\s*/?\s*(script|style|iframe|object|embed|applet|svg|math)\b", re.I)
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8 = {"utf-8", "utf8"}
_C1 = re.compile("[\x80-\x9f]")
_ENTITY_LEFT = re.compile(r"&[A-Za-z0-9_]+;")
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)


@dataclass(frozen=True, slots=True)
class Entry:
    title: str
    link: str
    summary: str
    guid: str | None
    published: datetime | None


@dataclass(frozen=True, slots=True)
class PlainFeed:
    language: str | None
    entries: list[Entry]


class _NotPlain(Exception):
    """This feed needs feedparser."""


def read_plain_feed(body: bytes, charset: str | None = None) -> PlainFeed | None:
    """The feed's entries, or ``None`` if it is not plain enough to read quickly."""
    if charset and charset.lower() not in _UTF8:
        return None
    declared = _DECLARED.match(body[:200])
    if declared and declared.group(1).decode().lower() not in _UTF8:
        return None
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        return None  # entity declarations: feedparser's business
    try:
        if root.tag == "rss":
            return _rss(root)
        if root.tag == f"{ATOM}feed":
            return _atom(root)
    except _NotPlain:
        return None
    return None


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    if len(element):
        raise _NotPlain  # child elements: markup feedparser would render
    return element.text or ""


def _checked_html(value: str) -> str:
    if _SANITIZED.search(value):
        raise _NotPlain
    return _checked(value)


def _checked(value: str) -> str:
    """Text feedparser would return unchanged (apart from surrounding white space)."""
    if not value.isascii():
        if _C1.search(value):
            raise _NotPlain  # feedparser maps these to their windows-1252 characters
        try:
            # feedparser strips first, then tries this repair on what is left.
            value.strip().encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        else:
            raise _NotPlain  # UTF-8 read as Latin-1: feedparser repairs it
    return value


def _absolute(link: str) -> str:
    link = _checked(link.strip())
    if link and not link.lower().startswith(("http://", "https://")):
        raise _NotPlain  # feedparser resolves relative links against the feed
    if "&" in link and _ENTITY_LEFT.search(link):
        raise _NotPlain  # feedparser rewrites what looks like an entity left in a link
    return link


_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
# The shape nearly every feed writes: "Tue, 08 Oct 2024 09:00:00 GMT" or "... -0400".
_RFC822 = re.compile(
    r"(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) "
    r"(?:(GMT|UTC|UT|Z)|([+-])(\d\d)(\d\d))"
)


def _rfc822(value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    return _rfc822_text(value.strip())


@functools.lru_cache(maxsize=8192)  # a feed repeats its items' dates at every poll
def _rfc822_text(text: str) -> datetime:
    quick = _RFC822.fullmatch(text)
    month = _MONTHS.get(quick.group(2).lower(), 0) if quick else 0
    if quick and month and int(quick.group(4)) < 24 and int(quick.group(9) or 0) < 24:
        day, year = int(quick.group(1)), int(quick.group(3))
        hour, minute, second = (int(quick.group(n)) for n in (4, 5, 6))
        offset = 0
        if quick.group(8):
            offset = (int(quick.group(9)) * 60 + int(quick.group(10))) * 60
            offset = -offset if quick.group(8) == "-" else offset
        try:
            stated = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
        except ValueError:
            pass  # the 31st of a short month: the library's reader decides
        else:
            if second < 60:
                return datetime.fromtimestamp(int(stated.timestamp()) - offset, UTC)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise _NotPlain from None
    return _utc(when)


def _iso(value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)", text):
        raise _NotPlain
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _NotPlain from None
    return _utc(when)


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # feedparser keeps whole seconds in UTC; so do we, so both readers give one identity.
    return datetime.fromtimestamp(int(when.timestamp()), UTC)


def _rss(root: etree._Element) -> PlainFeed:
    if root.get("version") not in ("2.0", "0.91", "0.92"):
        raise _NotPlain
    channel = root.find("channel")
    if channel is None:
        raise _NotPlain
    language = _text(channel.find("language")) or _text(channel.find(f"{DC}language"))
    entries: list[Entry] = []
    for item in channel.iterfind("item"):
        # One pass over the item's children, keeping the first of each (as find() would).
        first: dict[str, etree._Element] = {}
        for child in item:
            tag = child.tag
            if isinstance(tag, str) and tag not in first:
                first[tag] = child
        title = _text(first.get("title"))
        guid_el = first.get("guid")
        guid = _text(guid_el)
        link_el = first.get("link")
        link = _text(link_el)
        if link_el is None and guid and guid_el is not None and _guid_is_link(guid_el):
            link = guid  # as feedparser: only when the item has no <link> at all
        description = _text(first.get("description"))
        summary = description or _text(first.get(CONTENT_ENCODED)) or ""
        published = _rfc822(_text(first.get("pubDate")))
        if published is None:
            published = _iso(_text(first.get(f"{DC}date")))
        entries.append(
            Entry(
                title=_checked_html(title or ""),
                link=_absolute(link or ""),
                summary=_checked_html(summary),
                guid=_checked(guid.strip()) if guid else None,
                published=published,
            )
        )
    return PlainFeed(language=language.strip() if language else None, entries=entries)


def _guid_is_link(guid: etree._Element) -> bool:
    # feedparser lower-cases attribute names and wants exactly "true" (the default).
    flags = [v for k, v in guid.attrib.items() if str(k).lower() == "ispermalink"]
    return (flags[-1] if flags else "true") == "true"


def _atom_text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    if element.get("type", "text") not in ("text", "html"):
        raise _NotPlain  # XHTML or media content
    if element.get(XML_LANG) is not None or element.get(XML_BASE):
        raise _NotPlain
    return _text(element)


def _atom(root: etree._Element) -> PlainFeed:
    if root.get(XML_BASE):
        raise _NotPlain
    entries: list[Entry] = []
    for entry in root.iterfind(f"{ATOM}entry"):
        if entry.get(XML_LANG) is not None or entry.get(XML_BASE):
            raise _NotPlain
        title_el = entry.find(f"{ATOM}title")
        link = ""
        for candidate in entry.iterfind(f"{ATOM}link"):
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = candidate.get("href", "")
                break
        summary = _atom_text(entry.find(f"{ATOM}summary")) or _atom_text(
            entry.find(f"{ATOM}content")
        )
        published = _iso(_text(entry.find(f"{ATOM}published"))) or _iso(
            _text(entry.find(f"{ATOM}updated"))
        )
        guid = _text(entry.find(f"{ATOM}id"))
        entries.append(
            Entry(
                title=_checked_html(_atom_text(title_el) or ""),
                link=_absolute(link),
                summary=_checked_html(summary or ""),
                guid=_checked(guid.strip()) if guid else None,
                published=published,
            )
        )
    return PlainFeed(language=root.get(XML_LANG), entries=entries)
