"""The service: polls on schedule, turns what sources say into alerts, and delivers them.

``app`` wires every part once, for the role a process plays; ``pipeline`` is one poll of
one source (fetch, parse, match, store, queue), configured with a ``routing`` (what it
matches, where matches go) and how it fetches; ``scheduler`` runs polls and deliveries
under leases shared by every process; ``sharing`` lets sources naming one URL share a
fetch; ``guild_feeds`` polls the feeds servers added; ``evaluation`` measures matching
and grouping on the labeled set.
"""

from __future__ import annotations

from bot.service.app import App, Connections, RunOptions, connect, subscribed_pipeline
from bot.service.pipeline import Found, PassReport, Pipeline, SourceResult
from bot.service.scheduler import Service

__all__ = [
    "App",
    "Connections",
    "Found",
    "PassReport",
    "Pipeline",
    "RunOptions",
    "Service",
    "SourceResult",
    "connect",
    "subscribed_pipeline",
]
