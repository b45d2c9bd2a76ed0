"""The normalized record every source produces."""

from __future__ import annotations

import functools
import hashlib
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


@functools.lru_cache(maxsize=4096)  # a poll asks for each item's form twice (identity, key)
def normalize_url(url: str) -> str:
    """Return a canonical form of ``url`` for identity: no tracking, no fragment."""
    parts = urlsplit(url.strip())
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
        if self.guid and self.guid.strip():
            basis = f"{self.source}\x00guid\x00{self.guid.strip()}"
        else:
            basis = f"url\x00{normalize_url(self.url)}"
        return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]

    @property
    def url_key(self) -> str:
        """Hash of the normalized link, shared by the same story in every feed."""
        return hashlib.sha256(normalize_url(self.url).encode("utf-8")).hexdigest()[:32]

    @property
    def text(self) -> str:
        """Title and summary, the free text that matching reads."""
        return f"{self.title}\n{self.summary}" if self.summary else self.title
