"""Import every built-in source module so that each registers its kind."""

from scrapers import html, rss  # noqa: F401
