"""Fetch a URL once per interval however many sources ask for it.

When several sources (watchlists of different servers, a company watched twice) name the
same URL, the first poll fetches it and the others reuse that answer until their own
poll interval has passed; two polls of one URL at the same moment share one request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from scrapers.base import Page

Fetch = Callable[[str, bool], Awaitable[Page | None]]


@dataclass(slots=True)
class _Entry:
    started: float
    result: asyncio.Future[Page | None]
    # Who has had this answer: a source polling again wants a fresh one, not its own.
    consumers: set[str]


class ResponseShare:
    """Remember each URL's latest answer and hand it out while it is fresh."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self.shared = 0  # answers handed out without a request
        self._pruned_at = float("-inf")

    async def get(
        self,
        url: str,
        max_age: float,
        fetch: Callable[[], Awaitable[Page | None]],
        requester: str = "",
    ) -> Page | None:
        """Return ``url``'s answer from under ``max_age`` seconds ago, else fetch it.

        An answer is shared with other requesters only: the source that asked for it (or
        already had it) gets a fresh fetch when it polls again.
        """
        now = self._clock()
        entry = self._entries.get(url)
        # Failed fetches are removed at once, so a remembered entry is pending or a page.
        if entry is not None and now - entry.started < max_age and requester not in entry.consumers:
            entry.consumers.add(requester)
            self.shared += 1
            return await asyncio.shield(entry.result)
        self._prune(now, max_age)
        future: asyncio.Future[Page | None] = asyncio.get_running_loop().create_future()
        self._entries[url] = _Entry(now, future, {requester})
        try:
            page = await fetch()
        except BaseException as exc:
            # A failure is not shared beyond the requests already waiting for it.
            self._entries.pop(url, None)
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited failure is not logged
            raise
        future.set_result(page)
        return page

    def _prune(self, now: float, max_age: float) -> None:
        # A scan of every entry on each request made a cycle over many sources quadratic:
        # once a minute is enough to bound what is kept.
        if now - self._pruned_at < 60.0:
            return
        self._pruned_at = now
        stale = [u for u, e in self._entries.items() if now - e.started >= max(max_age, 3600.0)]
        for url in stale:
            del self._entries[url]
