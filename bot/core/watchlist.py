"""Watched companies as the operator lists them in ``watchlist.toml``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Company:
    """One watched company and every name it goes by."""

    name: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    ticker: str | None = None
    cik: str | None = None
    # Phrases that contain the name but mean something else ("Little Caesars").
    exclude: tuple[str, ...] = ()
    # Entities whose disclosures speak for this company (a parent that files for it).
    related: tuple[str, ...] = ()
    # Its names are ordinary words: a mention counts only with more proof (case, context).
    ambiguous: bool = False

    @property
    def key(self) -> str:
        """A stable key for this company: its name, case-folded."""
        return self.name.casefold()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(slots=True)
class Watchlist:
    """The companies one configuration watches."""

    companies: list[Company] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.companies)

    def get(self, name: str) -> Company | None:
        folded = name.casefold()
        for company in self.companies:
            if company.key == folded or any(a.casefold() == folded for a in company.aliases):
                return company
        return None
