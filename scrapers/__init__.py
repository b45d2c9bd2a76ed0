"""Turn the web into :class:`~scrapers.models.Disclosure` records.

This package knows HTTP, HTML, feeds and filings. It knows nothing of watchlists,
databases or Discord, and never imports ``bot``.
"""
