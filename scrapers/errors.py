"""Errors raised while fetching or parsing a source.

ScraperError
├── FetchError             the page could not be had
│   ├── BlockedAddressError    the URL resolves to an address we may not reach
│   ├── TooLargeError          the body exceeded the size cap
│   └── HTTPStatusError        the server answered with an error status
└── ParseError             the page came, but is not what the parser expects
"""

from __future__ import annotations


class ScraperError(Exception):
    """Base of every error a source can raise; its message is shown to operators."""


class FetchError(ScraperError):
    """The page could not be fetched."""


class BlockedAddressError(FetchError):
    """The URL points at a private, loopback or otherwise forbidden address."""


class TooLargeError(FetchError):
    """The response body is larger than the configured cap."""


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    def __init__(self, status: int, url: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        self.url = url
        self.retry_after = retry_after


class ParseError(ScraperError):
    """The body could not be parsed into disclosures."""
