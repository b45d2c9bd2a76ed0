"""The companies servers add beyond the operator's watchlist, and how names resolve."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable

from bot.core.clock import utcnow
from bot.core.watchlist import Company, Watchlist
from bot.store import Store
from bot.subscriptions.names import SubscriptionError, clean_name

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

# What a part calls once its change is committed (True: a company was added too).
Changed = Callable[[bool], Awaitable[None]]


async def all_companies(store: Store, watchlist: Watchlist) -> list[Company]:
    """The operator's watchlist plus every company any server added, once each."""
    merged: dict[str, Company] = {c.key: c for c in watchlist.companies}
    for company in await store.guilds.all_companies():
        known = merged.get(company.key)
        if known is None:
            merged[company.key] = company
        else:
            # Another server's aliases help everyone find the same company.
            merged[company.key] = Company(
                name=known.name,
                aliases=tuple(dict.fromkeys([*known.aliases, *company.aliases])),
                domains=tuple(dict.fromkeys([*known.domains, *company.domains])),
                ticker=known.ticker,
                cik=known.cik,
                exclude=known.exclude,
                related=known.related,
            )
    return list(merged.values())


class Companies:
    """A server's own companies; all servers' companies are matched, but only the server
    that added one sees its aliases and domains."""

    def __init__(self, store: Store, watchlist: Watchlist, changed: Changed) -> None:
        self.store = store
        self.watchlist = watchlist
        self._changed = changed

    async def all_companies(self) -> list[Company]:
        """The operator's watchlist plus every company any server added, once each."""
        return await all_companies(self.store, self.watchlist)

    async def guild_companies(self, guild_id: int) -> list[Company]:
        return await self.store.guilds.companies_of(guild_id)

    async def resolve(self, guild_id: int, name: str) -> Company | None:
        """The company ``name`` means to this server: the watchlist, then its own companies."""
        known = self.watchlist.get(name)
        if known is not None:
            return known
        folded = name.casefold()
        for company in await self.guild_companies(guild_id):
            if company.key == folded or any(a.casefold() == folded for a in company.aliases):
                return company
        return None

    async def add_company(
        self,
        guild_id: int,
        name: str,
        *,
        aliases: Iterable[str] = (),
        domains: Iterable[str] = (),
        by: int | None = None,
    ) -> Company:
        """Add (or extend) this server's own company; return it."""
        name = clean_name(name)
        alias_list = [clean_name(a) for a in aliases]
        domain_list = [d.strip().lower().removeprefix("www.") for d in domains]
        for domain in domain_list:
            if not _DOMAIN.match(domain):
                raise SubscriptionError(f"{domain[:60]!r} is not a domain name like example.com.")
        company = await self.store.guilds.save_company(
            guild_id, name, aliases=alias_list, domains=domain_list, by=by, now=utcnow()
        )
        await self._changed(True)
        return company

    async def suggestions(self, guild_id: int, typed: str, limit: int = 25) -> list[str]:
        """Company names for autocomplete: known companies, then earlier disclosures."""
        folded = typed.casefold().strip()
        names: dict[str, str] = {}
        for company in [*self.watchlist.companies, *await self.guild_companies(guild_id)]:
            if any(folded in n.casefold() for n in company.names):
                names.setdefault(company.key, company.name)
        for name in await self.store.incidents.company_names(folded, limit * 2):
            names.setdefault(name.casefold(), name)
        ordered = sorted(
            names.values(), key=lambda n: (not n.casefold().startswith(folded), n.casefold())
        )
        return ordered[: min(limit, 25)]
