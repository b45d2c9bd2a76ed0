"""BreachRadar: match breach disclosures against watchlists and tell Discord."""

__version__ = "0.1.0"
