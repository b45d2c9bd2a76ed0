"""The normalized record every source produces."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class Evidence(StrEnum):
    """How strongly a disclosure establishes an incident, weakest first."""

    CLAIMED = "claimed"  # a leak site or tracker says so
    REPORTED = "reported"  # the press says so
    CONFIRMED = "confirmed"  # the company or a regulator says so

    @property
    def rank(self) -> int:
        return _EVIDENCE_RANK[self]


_EVIDENCE_RANK = {Evidence.CLAIMED: 0, Evidence.REPORTED: 1, Evidence.CONFIRMED: 2}

# Query parameters that only track the reader; they never change what a link points at.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "mc_cid",
        "mc_eid",
        "ref",
        "ref_src",
        "cmpid",
        "ncid",
        "_ga",
        "guccounter",
        "utm",
        "s_cid",
        "cid",
        "rss",
        "feed",
        "source",
        "spm",
        "igshid",
        "oc",
    }
)


# A link with nothing to normalize but its scheme, "www." and a trailing slash: most are.
_PLAIN_URL = re.compile(r"https?://([a-z0-9][a-z0-9.-]*)(/[^?#\s]*)?")


@functools.lru_cache(maxsize=4096)  # a poll asks for each item's form twice (identity, key)
def normalize_url(url: str) -> str:
    """Return a canonical form of ``url`` for identity: no tracking, no fragment."""
    url = url.strip()
    plain = _PLAIN_URL.fullmatch(url)
    if plain is not None:
        # What the general path below gives for such a link, without splitting it.
        host, path = plain.group(1), plain.group(2) or "/"
        if host.startswith("www."):
            host = host[4:]
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/")
        return f"https://{host}{path}"
    parts = urlsplit(url)
    scheme = parts.scheme.lower() or "https"
    if scheme == "http":
        scheme = "https"  # the same page is often linked both ways
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    ]
    query.sort()
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


# A poll asks for an item's identity several times (matching, storing, settling), and the
# next poll of the feed for the same items again: hashing once is enough.
@functools.lru_cache(maxsize=16384)
def _identity(source: str, guid: str | None, url: str) -> str:
    if guid and guid.strip():
        basis = f"{source}\x00guid\x00{guid.strip()}"
    else:
        basis = f"url\x00{normalize_url(url)}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


@functools.lru_cache(maxsize=16384)
def _url_key(url: str) -> str:
    return hashlib.sha256(normalize_url(url).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One item a source published: a headline, a filing, a leak-site post."""

    source: str
    title: str
    url: str
    published: datetime | None = None
    summary: str = ""
    guid: str | None = None
    # The organization's name as a structured field (a filing's registrant, an AG notice's
    # entity, a leak-site victim). Matching prefers it over free text.
    organization: str | None = None
    evidence: Evidence = Evidence.REPORTED
    # The source states the item is an incident by nature (an 8-K Item 1.05, an AG notice).
    incident_by_nature: bool = False
    language: str | None = None
    extra: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def identity(self) -> str:
        """Stable key for "have we seen this item": the GUID if the feed has one, else the link."""
        return _identity(self.source, self.guid, self.url)

    @property
    def url_key(self) -> str:
        """Hash of the normalized link, shared by the same story in every feed."""
        return _url_key(self.url)

    @property
    def text(self) -> str:
        """Title and summary, the free text that matching reads."""
        return f"{self.title}\n{self.summary}" if self.summary else self.title
