"""The domain, free of the database, Discord and HTTP: everything here is pure.

Matching disclosures against watchlists (``matching``, ``normalize``, ``relevance``,
``commonwords``, ``watchlist``), the rules that group them into incidents
(``incidents``), what an alert looks like (``embeds``, ``sanitize``), the records the
other rooms pass around (``records``), the clock, durations, shards and the plan of
polled sources. No module here imports SQLAlchemy, discord.py or httpx.
"""
