"""Import every built-in source module so that each registers its kind."""

from scrapers import (  # noqa: F401
    hhs,
    html,
    newssearch,
    rss,
    sec,
    state_ag,
    tdnet,
    trackers,
)
