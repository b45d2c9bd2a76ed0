"""What ``breachradar doctor`` checks: everything a new operator can get wrong, each with
what to do about it.

Each check gives :class:`Finding` records: ``ok``, ``warning`` (works, but worth a look),
``problem`` (something will not work) or ``skipped``. Nothing here posts an alert,
changes the database or prints a secret.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from bot.core.matching import Matcher
from bot.delivery.webhook_check import ask_webhook, is_discord, redact_webhook_url, url_problem
from bot.service.health import describe_error
from bot.service.pipeline import Pipeline
from bot.settings import Config, WebhookTarget
from scrapers.base import Page, SourceSpec
from scrapers.errors import ScraperError
from scrapers.http import Fetcher

OK, WARNING, PROBLEM, SKIPPED = "ok", "warning", "problem", "skipped"
DEFAULT_DEADLINE = 10.0
# Sources fetched at the same time (each host is still paced by the fetcher).
PARALLEL_SOURCES = 8


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing checked: what, about which part, how it stands, and what to do."""

    check: str  # configuration | database | delivery | webhook | discord | intents | source
    subject: str
    status: str
    detail: str
    fix: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "subject": self.subject,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
            **({"facts": self.facts} if self.facts else {}),
        }


async def diagnose(
    config: Config,
    *,
    deadline: float = DEFAULT_DEADLINE,
    on_finding: Callable[[Finding], None] | None = None,
) -> list[Finding]:
    """Run every check of a loaded configuration (the checks that wait on the network run
    side by side)."""
    findings: list[Finding] = []

    def add(found: list[Finding]) -> None:
        for finding in found:
            findings.append(finding)
            if on_finding is not None:
                on_finding(finding)

    add([configuration_ok(config)])
    add(delivery_targets(config))
    async with httpx.AsyncClient(
        timeout=deadline, headers={"User-Agent": config.settings.user_agent}
    ) as client:
        checks: list[Awaitable[list[Finding]]] = [
            database(config.settings.database, deadline),
            *(webhook(target, client) for target in config.settings.webhooks),
            discord_bot(config, deadline),
            sources(config, deadline),
        ]
        for result in await asyncio.gather(*checks):
            add(result)
    return findings


# -- configuration -----------------------------------------------------------------------


def configuration_ok(config: Config) -> Finding:
    enabled = config.enabled_sources
    return Finding(
        "configuration",
        str(config.directory),
        OK,
        f"valid: {len(config.sources)} sources ({len(enabled)} enabled), "
        f"{len(config.watchlist)} companies, {len(config.settings.webhooks)} webhooks",
    )


def configuration_error(directory: str, error: str) -> Finding:
    return Finding(
        "configuration",
        directory,
        PROBLEM,
        error,
        "fix the entry named; `breachradar check-config` checks it again",
    )


def delivery_targets(config: Config) -> list[Finding]:
    if config.settings.webhooks or config.settings.discord_token:
        return []
    return [
        Finding(
            "delivery",
            "targets",
            WARNING,
            "no webhook and no bot token: matches reach the log only",
            "add a [[webhooks]] entry to settings.toml, or set DISCORD_TOKEN to run the bot",
        )
    ]


# -- database ----------------------------------------------------------------------------


async def database(url: str, deadline: float) -> list[Finding]:
    from sqlalchemy.engine import make_url

    from bot.store import Store
    from bot.store.migrate import SchemaState, schema_state

    parsed = make_url(url)
    subject = parsed.render_as_string(hide_password=True)
    sqlite = parsed.get_backend_name() == "sqlite"
    path = parsed.database
    if sqlite and path and path != ":memory:":
        # Opening a missing file would create it: say what run will do instead.
        missing = await asyncio.to_thread(_sqlite_to_create, subject, path)
        if missing is not None:
            return [missing]
    try:
        async with asyncio.timeout(deadline):
            store = await Store.open(url, create=False)
            try:
                await store.ping()
                state: SchemaState = await schema_state(store.engine)
            finally:
                await store.close()
    except TimeoutError:
        return [
            Finding(
                "database", subject, PROBLEM, f"no answer within {deadline:g}s",
                "check that the database server runs and that this host may reach it",
            )
        ]  # fmt: skip
    except Exception as exc:
        return [
            Finding(
                "database", subject, PROBLEM, f"cannot connect: {describe_error(exc)}",
                "check the database URL (--db, BREACHRADAR_DATABASE_URL or database in "
                "settings.toml), that the server runs, and the user's password",
            )
        ]  # fmt: skip
    at, wanted = state.revision, state.latest
    facts = {"revision": at, "latest": wanted, "dialect": parsed.get_backend_name()}
    if at == wanted:
        return [
            Finding("database", subject, OK, f"reachable, schema at {at} (latest)", None, facts)
        ]
    if not state.known:
        return [
            Finding(
                "database", subject, PROBLEM,
                f"schema at {at}, which this version does not know (a newer BreachRadar "
                "upgraded it)", "upgrade BreachRadar, or restore a backup", facts,
            )
        ]  # fmt: skip
    found = "tables but no schema revision" if state.has_tables else "empty"
    where = f"schema at {at}" if at else found
    if sqlite:
        return [
            Finding(
                "database", subject, OK,
                f"reachable, {where}; `breachradar run` upgrades it to {wanted} on start",
                None, facts,
            )
        ]  # fmt: skip
    return [
        Finding(
            "database", subject, PROBLEM, f"reachable, {where}; this version needs {wanted}",
            "stop the other processes and run `breachradar db upgrade` once", facts,
        )
    ]  # fmt: skip


def _sqlite_to_create(subject: str, database: str) -> Finding | None:
    """What run will do about a SQLite file that does not exist yet (None: it exists)."""
    path = Path(database).expanduser()
    if path.exists():
        return None
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        return Finding(
            "database", subject, PROBLEM,
            f"the file does not exist and {existing} is not writable",
            "choose a database path this user may write (--db or database in settings.toml)",
        )  # fmt: skip
    return Finding(
        "database", subject, OK, "not created yet: `breachradar run` creates it on start"
    )


# -- webhooks ----------------------------------------------------------------------------

WEBHOOK_GONE = (
    "the webhook was deleted or the URL is wrong: create one in the channel's settings "
    "(Integrations → Webhooks → New Webhook), copy its URL into settings.toml or the "
    "variable url_env names"
)


async def webhook(target: WebhookTarget, client: httpx.AsyncClient) -> list[Finding]:
    subject = f"{target.label} ({redact_webhook_url(target.url)})"
    shape = url_problem(target.url)
    if shape is not None:
        return [Finding("webhook", subject, PROBLEM, shape, WEBHOOK_GONE)]
    answer = await ask_webhook(target.url, client)
    status = answer.status
    if status is None:
        return [
            Finding(
                "webhook", subject, PROBLEM, f"no answer: {answer.error}",
                "check that this host can reach the receiver (DNS, firewall, proxy)",
            )
        ]  # fmt: skip
    said = f"answered {status}" + (f" {answer.message}" if answer.message else "")
    facts = {"status": status}
    if status == 200:
        where = []
        if answer.name:
            where.append(f"posts as {answer.name!r}")
        if answer.channel_id:
            where.append(f"in channel {answer.channel_id}")
        detail = "answering" + (": " + " ".join(where) if where else "")
        return [Finding("webhook", subject, OK, detail, None, facts)]
    if status in (401, 403, 404):
        return [Finding("webhook", subject, PROBLEM, said, WEBHOOK_GONE, facts)]
    if 300 <= status < 400:
        return [
            Finding(
                "webhook", subject, PROBLEM, f"{said}: a redirect, which alerts do not follow",
                "use the URL it redirects to", facts,
            )
        ]  # fmt: skip
    if status == 405 and not is_discord(target.url):
        return [
            Finding(
                "webhook", subject, WARNING, f"{said}: reachable, but it takes posts only",
                "nothing to do if it is a Discord-compatible receiver; it cannot be checked "
                "further without posting", facts,
            )
        ]  # fmt: skip
    if status == 429:
        wait = f" for {answer.retry_after:g}s" if answer.retry_after is not None else ""
        return [
            Finding(
                "webhook", subject, WARNING, f"{said}: rate limited{wait}",
                "run doctor again later; alerts wait and are retried", facts,
            )
        ]  # fmt: skip
    return [
        Finding(
            "webhook", subject, PROBLEM, said,
            "the receiver is failing; alerts are kept and retried, but check it", facts,
        )
    ]  # fmt: skip


# -- the Discord bot ---------------------------------------------------------------------


async def discord_bot(config: Config, deadline: float) -> list[Finding]:
    from bot.discordbot import point_at
    from bot.discordbot.connection import (
        PRIVILEGED,
        LoginRefused,
        bot_intents,
        check_login,
        requested_intents,
    )

    settings = config.settings
    token = settings.discord_token
    if not token:
        return [
            Finding(
                "discord", "bot token", SKIPPED,
                "DISCORD_TOKEN is not set: the bot does not run (webhooks still work)",
                "set DISCORD_TOKEN in the environment to run the Discord bot",
            )
        ]  # fmt: skip
    point_at(settings.discord_api_url, settings.discord_gateway_url)
    try:
        async with asyncio.timeout(deadline):
            login = await check_login(token)
    except LoginRefused as exc:
        return [
            Finding(
                "discord", "bot token", PROBLEM, str(exc),
                "copy the bot's token from the Developer Portal (your application → Bot → "
                "Reset Token) into DISCORD_TOKEN; not the client secret or the public key",
            )
        ]  # fmt: skip
    except TimeoutError:
        return [
            Finding(
                "discord", "bot token", PROBLEM, f"Discord did not answer within {deadline:g}s",
                "check that this host reaches discord.com; see discordstatus.com",
            )
        ]  # fmt: skip
    except Exception as exc:
        return [
            Finding(
                "discord", "bot token", PROBLEM, f"could not ask Discord: {type(exc).__name__}",
                "check that this host reaches discord.com; see discordstatus.com",
            )
        ]  # fmt: skip
    found: list[Finding] = []
    who = f"{login.user} (id {login.user_id}), application {login.application!r}"
    if not login.is_bot:
        found.append(
            Finding(
                "discord", "bot token", PROBLEM, f"the token is a user account's: {who}",
                "create a bot under your application → Bot, and use its token",
            )
        )  # fmt: skip
    else:
        found.append(Finding("discord", "bot token", OK, f"accepted: {who}"))
    wanted = requested_intents(bot_intents())
    privileged = [i for i in wanted if i in PRIVILEGED]
    missing = [i for i in privileged if i not in login.privileged_enabled]
    unused = [i for i in login.privileged_enabled if i not in wanted]
    needs = f"the bot asks for {', '.join(wanted)} only (Intents.none() + guilds): " + (
        "privileged: " + ", ".join(privileged) if privileged else "no privileged intent needed"
    )
    intents_facts = {"requested": wanted, "privileged_enabled": list(login.privileged_enabled)}
    if missing:
        found.append(
            Finding(
                "intents", "gateway", PROBLEM, f"{needs}; not enabled: {', '.join(missing)}",
                "switch them on under your application → Bot → Privileged Gateway Intents",
                intents_facts,
            )
        )  # fmt: skip
    else:
        note = (
            f"; enabled but unused: {', '.join(unused)} (you may switch them off)" if unused else ""
        )
        found.append(Finding("intents", "gateway", OK, needs + note, None, intents_facts))
    if login.require_code_grant:
        found.append(
            Finding(
                "discord", "invite", WARNING,
                "Requires OAuth2 Code Grant is on: the usual invite link cannot add the bot",
                "switch it off under your application → Bot",
            )
        )  # fmt: skip
    if login.session_starts_remaining == 0:
        reset = login.session_starts_reset_seconds or 0
        found.append(
            Finding(
                "discord", "gateway", PROBLEM,
                f"no gateway session starts left; Discord resets them in {reset / 3600:.1f} h",
                "wait for the reset; a bot restarting in a loop uses them up (1000 a day)",
            )
        )  # fmt: skip
    return found


# -- sources -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Fetched:
    requests: int = 0
    bytes: int = 0
    status: int | None = None  # of the last answer


async def sources(config: Config, deadline: float) -> list[Finding]:
    enabled = config.enabled_sources
    if not enabled:
        return [Finding("source", "sources.toml", WARNING, "no enabled source: nothing is polled",
                        "enable a source in sources.toml")]  # fmt: skip
    # One attempt each, bounded as a whole: a slow source is reported, not waited for.
    policy = replace(
        Pipeline.fetch_policy(config),
        retries=0,
        read_timeout=min(deadline, config.settings.fetch_timeout),
        total_timeout=deadline,
    )
    matcher = Matcher(config.watchlist.companies)
    limit = asyncio.Semaphore(PARALLEL_SOURCES)
    async with Fetcher(policy) as fetcher:

        async def one(spec: SourceSpec) -> Finding:
            async with limit:
                return await _source(config, spec, fetcher, matcher, deadline)

        return list(await asyncio.gather(*(one(s) for s in enabled)))


async def _source(
    config: Config, spec: SourceSpec, fetcher: Fetcher, matcher: Matcher, deadline: float
) -> Finding:
    from scrapers.registry import build

    allow = spec.allow_private or config.settings.allow_private_addresses
    fetched = _Fetched()

    async def fetch(url: str, *, conditional: bool = True) -> Page | None:
        page = await fetcher.fetch(url, conditional=False, allow_private=allow)
        fetched.requests += 1
        if page is not None:
            fetched.bytes += len(page.body)
            fetched.status = page.status
        return page

    began = time.monotonic()
    test = f"`breachradar sources test {spec.name}` shows what it fetches and parses"
    try:
        async with asyncio.timeout(deadline):
            items = await build(spec).collect(fetch) or []
    except TimeoutError:
        return Finding(
            "source", spec.name, PROBLEM, f"no complete answer within {deadline:g}s",
            f"the site is slow or down; if it stays so, set enabled = false; {test}",
        )  # fmt: skip
    except ScraperError as exc:
        status = getattr(exc, "status", None)
        return Finding(
            "source", spec.name, PROBLEM, str(exc) or type(exc).__name__,
            f"check its url and kind in sources.toml, or set enabled = false; {test}",
            {"status": status} if isinstance(status, int) else {},
        )  # fmt: skip
    except Exception as exc:
        return Finding(
            "source", spec.name, PROBLEM, f"internal error: {type(exc).__name__}: {exc}",
            f"please report it with the page; {test}",
        )  # fmt: skip
    seconds = time.monotonic() - began
    matching = sum(1 for item in items if matcher.match(item))
    facts = {
        "status": fetched.status,
        "requests": fetched.requests,
        "bytes": fetched.bytes,
        "items": len(items),
        "would_match": matching,
        "seconds": round(seconds, 3),
    }
    answered = f"HTTP {fetched.status}, " if fetched.status is not None else ""
    detail = (
        f"{answered}{_size(fetched.bytes)} in {fetched.requests} request(s), {len(items)} items, "
        f"{matching} would match, {seconds:.1f}s"
    )
    if not items:
        return Finding(
            "source", spec.name, WARNING, detail + ": nothing parsed",
            f"the page may have changed its layout, or the feed is empty; {test}", facts,
        )  # fmt: skip
    return Finding("source", spec.name, OK, detail, None, facts)


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / 1024 / 1024:.1f} MB"
    if count >= 1024:
        return f"{count / 1024:.1f} kB"
    return f"{count} B"
