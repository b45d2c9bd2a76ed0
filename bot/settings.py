"""Load and validate the configuration directory: sources, watchlist and settings.

Every problem is reported as one :class:`ConfigError` naming the file, the entry and what
is wrong, so the command line can print one clear line and exit 2.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from bot.core.addresses import ListenAddress, parse_listen_address
from bot.core.cards.filters import NO_FILTER, UNKNOWN_CHOICES, CardFilter, parse_count, parse_data
from bot.core.durations import parse_duration
from bot.core.sharding import Sharding, parse_shard_count, parse_shard_ids
from bot.core.sourcenames import (
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    fold_name,
    name_problem,
    source_key,
)
from bot.core.sourceplan import SearchSchedule
from bot.core.watchlist import Company, Watchlist
from bot.store.database import default_database_url, normalize_database_url
from scrapers.base import SourceSpec
from scrapers.http import DEFAULT_USER_AGENT
from scrapers.registry import kinds, scraper_class

ENV_PREFIX = "BREACHRADAR_"
DISCORD_API_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"
DEFAULT_MAX_ALERT_AGE = parse_duration("3d")
DEFAULT_FETCH_TIMEOUT = 20.0


class ConfigError(Exception):
    """A configuration problem, worded for the operator."""

    def __init__(self, file: str, entry: str | None, problem: str) -> None:
        where = f"{file}: {entry}: " if entry else f"{file}: "
        super().__init__(where + problem)
        self.file = file
        self.entry = entry
        self.problem = problem


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """A webhook the operator configured; the URL is a secret and never printed."""

    url: str = field(repr=False)
    label: str
    companies: tuple[str, ...] | None = None  # None: the whole watchlist
    # Only incidents with at least N affected, or with some kinds of data (none: every one).
    card_filter: CardFilter = NO_FILTER

    def wants(self, company_name: str) -> bool:
        if self.companies is None:
            return True
        folded = company_name.casefold()
        return any(c.casefold() == folded for c in self.companies)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``settings.toml`` and the environment say."""

    database: str
    user_agent: str = DEFAULT_USER_AGENT
    max_alert_age: timedelta | None = DEFAULT_MAX_ALERT_AGE
    webhooks: tuple[WebhookTarget, ...] = ()
    allow_private_addresses: bool = False
    fetch_timeout: float = 20.0  # seconds one fetch may take as a whole
    max_page_bytes: int = 10 * 1024 * 1024
    jitter: float = 0.1  # fraction of each interval added at random
    discord_token: str | None = field(default=None, repr=False)
    discord_api_url: str = DISCORD_API_URL
    discord_gateway_url: str = DISCORD_GATEWAY_URL
    # None: one gateway connection for every guild (no sharding).
    sharding: Sharding | None = None
    log_format: str = "text"  # or "json": one object a line, for log shippers
    # Where /metrics and /healthz are served; None: not served.
    metrics_address: ListenAddress | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded configuration directory."""

    directory: Path
    sources: tuple[SourceSpec, ...]
    watchlist: Watchlist
    settings: Settings
    # The entries as sources.toml writes them, before per-company entries are expanded:
    # a process that also watches servers' companies plans its sources from these.
    entries: tuple[SourceSpec, ...] = ()
    # How each per-company search covers the watchlist (batches, pace, budget).
    schedules: tuple[SearchSchedule, ...] = ()

    @property
    def enabled_sources(self) -> list[SourceSpec]:
        return [s for s in self.sources if s.enabled]


def bundled_config() -> Path:
    """The configuration that ships with BreachRadar (the repository's ``config/``)."""
    return Path(str(resources.files("bot.bundled.config")))


CONFIG_FILES = ("sources.toml", "watchlist.toml", "settings.toml")


def user_config() -> Path:
    """Where ``breachradar init`` writes a configuration to edit, read when present."""
    return Path(platformdirs.user_config_dir("breachradar", appauthor=False))


def config_directory(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config``, else ``BREACHRADAR_CONFIG``, else the user's configuration directory if
    ``breachradar init`` made one, else the bundled ``config/``."""
    chosen = explicit or os.environ.get(f"{ENV_PREFIX}CONFIG")
    if chosen:
        return Path(chosen).expanduser()
    mine = user_config()
    if (mine / "sources.toml").is_file():
        return mine
    return bundled_config()


def _read_toml(path: Path, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(path.name, None, f"file not found in {path.parent}")
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path.name, None, f"not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path.name, None, f"cannot read: {exc}") from None


def _str(value: Any, file: str, entry: str, key: str, *, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise ConfigError(file, entry, f"missing required key {key!r}")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(file, entry, f"{key!r} must be a non-empty string")
    return value.strip()


def _str_list(value: Any, file: str, entry: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(file, entry, f"{key!r} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _bool(value: Any, file: str, entry: str | None, key: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(file, entry, f"{key!r} must be true or false")


def parse_sources(data: Mapping[str, Any], file: str = "sources.toml") -> tuple[SourceSpec, ...]:
    """Validate the ``[[sources]]`` entries."""
    raw = data.get("sources", [])
    if not isinstance(raw, list):
        raise ConfigError(file, None, "'sources' must be an array of tables ([[sources]])")
    known = set(kinds())
    names = _SourceNames(file)
    specs: list[SourceSpec] = []
    for index, entry in enumerate(raw, start=1):
        label = f"source #{index}"
        if not isinstance(entry, dict):
            raise ConfigError(file, label, "must be a table")
        name = _str(entry.get("name"), file, label, "name")
        assert name is not None
        label = f"source {name!r}"
        key = names.add(index, name, entry.get("id"))
        kind = _str(entry.get("kind"), file, label, "kind")
        if kind not in known:
            raise ConfigError(
                file, label, f"unknown kind {kind!r} (known kinds: {', '.join(sorted(known))})"
            )
        url = _str(entry.get("url"), file, label, "url")
        assert url is not None and kind is not None
        if not re.match(r"^https?://[^\s/]+", url):
            raise ConfigError(file, label, f"'url' must be an http(s) URL, not {url!r}")
        # Most kinds poll every ten minutes unless told; a news search, every hour.
        every = getattr(scraper_class(kind), "default_every", timedelta(minutes=10))
        if "every" in entry:
            every_raw = _str(entry["every"], file, label, "every")
            try:
                every = parse_duration(every_raw or "")
            except ValueError as exc:
                raise ConfigError(file, label, f"'every': {exc}") from None
        options = {
            k: v
            for k, v in entry.items()
            if k not in {"name", "id", "kind", "url", "every", "enabled", "allow_private"}
        }
        spec = SourceSpec(
            name=key,
            display_name=name,
            kind=kind,
            url=url,
            every=every,
            enabled=_bool(entry.get("enabled"), file, label, "enabled", True),
            options=options,
            allow_private=_bool(entry.get("allow_private"), file, label, "allow_private", False),
        )
        try:
            from scrapers.registry import build

            build(spec)  # each kind checks its own options
            if "search_every" in options or "requests_per_hour" in options:
                from bot.core.sourceplan import search_options

                search_options(spec)
        except (ValueError, TypeError) as exc:
            raise ConfigError(file, label, str(exc)) from None
        specs.append(spec)
    return tuple(specs)


class _SourceNames:
    """Checks each source's name as it is read: valid, and no two alike once case, width,
    spaces and punctuation are set aside (they would share one key in the database)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._folded: dict[str, tuple[int, str]] = {}
        self._keys: dict[str, tuple[int, str]] = {}

    def add(self, index: int, name: str, pinned: Any) -> str:
        """Check the name of source ``index``; return its database key."""
        label = f"source {name!r}"
        problem = name_problem(name)
        if problem:
            raise ConfigError(self.file, label, problem)
        folded = fold_name(name)
        if folded in self._folded:
            raise ConfigError(
                self.file,
                f"source #{index} {name!r}",
                "duplicate source name: the same as source "
                f"#{self._folded[folded][0]} {self._folded[folded][1]!r} "
                "(names are compared ignoring case and width)",
            )
        if pinned is None:
            key = source_key(name)
        elif isinstance(pinned, str) and KEY_PATTERN.match(pinned.strip()):
            key = pinned.strip()
        else:
            raise ConfigError(
                self.file,
                label,
                "'id' must be lower-case letters, digits and dashes, at most "
                f"{MAX_KEY_LENGTH} (the key the database keeps this source's history under)",
            )
        if key in self._keys:
            other_index, other = self._keys[key]
            raise ConfigError(
                self.file,
                f"source #{index} {name!r}",
                f"duplicate source name: source #{other_index} {other!r} has the same key "
                f"{key!r}; rename one, or give one an 'id'",
            )
        self._folded[folded] = (index, name)
        self._keys[key] = (index, name)
        return key


def parse_watchlist(data: Mapping[str, Any], file: str = "watchlist.toml") -> Watchlist:
    """Validate the ``[[companies]]`` entries."""
    raw = data.get("companies", [])
    if not isinstance(raw, list):
        raise ConfigError(file, None, "'companies' must be an array of tables ([[companies]])")
    companies: list[Company] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw, start=1):
        label = f"company #{index}"
        if not isinstance(entry, dict):
            raise ConfigError(file, label, "must be a table")
        name = _str(entry.get("name"), file, label, "name")
        assert name is not None
        label = f"company {name!r}"
        if name.casefold() in seen:
            raise ConfigError(file, label, "listed twice")
        seen.add(name.casefold())
        unknown = set(entry) - {
            "name", "aliases", "domains", "ticker", "cik", "exclude", "related", "ambiguous",
        }  # fmt: skip
        if unknown:
            raise ConfigError(file, label, f"unknown key(s): {', '.join(sorted(unknown))}")
        cik = entry.get("cik")
        if cik is not None:
            cik = str(cik).strip()
            if not cik.isdigit() or len(cik) > 10:
                raise ConfigError(file, label, "'cik' must be up to 10 digits")
        domains = _str_list(entry.get("domains"), file, label, "domains")
        for domain in domains:
            if "/" in domain or " " in domain or "." not in domain:
                raise ConfigError(file, label, f"{domain!r} is not a domain name")
        companies.append(
            Company(
                name=name,
                aliases=_str_list(entry.get("aliases"), file, label, "aliases"),
                domains=tuple(d.lower() for d in domains),
                ticker=_str(entry.get("ticker"), file, label, "ticker", required=False),
                cik=cik,
                exclude=_str_list(entry.get("exclude"), file, label, "exclude"),
                related=_str_list(entry.get("related"), file, label, "related"),
                ambiguous=_bool(entry.get("ambiguous"), file, label, "ambiguous", False),
            )
        )
    return Watchlist(companies)


_SETTING_KEYS = {
    "database",
    "user_agent",
    "max_alert_age",
    "webhooks",
    "allow_private_addresses",
    "fetch_timeout",
    "max_page_bytes",
    "jitter",
    "discord_api_url",
    "discord_gateway_url",
    "shard_count",
    "shard_ids",
    "log_format",
}
_SETTING_KEYS |= {"metrics_address"}  # the operations settings (_parse_operations)


def parse_settings(
    data: Mapping[str, Any],
    environ: Mapping[str, str],
    file: str = "settings.toml",
) -> Settings:
    """Merge ``settings.toml`` with ``BREACHRADAR_<NAME>`` variables (the environment wins)."""
    unknown = set(data) - _SETTING_KEYS
    if unknown:
        raise ConfigError(file, None, f"unknown setting(s): {', '.join(sorted(unknown))}")
    merged: dict[str, Any] = dict(data)
    for key in _SETTING_KEYS - {"webhooks"}:
        env_value = environ.get(ENV_PREFIX + key.upper())
        if env_value is not None and env_value.strip():
            merged[key] = env_value
    # The documented name for the database variable.
    if environ.get(f"{ENV_PREFIX}DATABASE_URL"):
        merged["database"] = environ[f"{ENV_PREFIX}DATABASE_URL"]

    database = _str(merged.get("database"), file, "database", "database", required=False)
    database = database or default_database_url()
    if "://" not in database:
        raise ConfigError(file, "database", "must be a database URL such as sqlite:///path.db")
    database = normalize_database_url(database)

    max_age: timedelta | None = DEFAULT_MAX_ALERT_AGE
    if "max_alert_age" in merged:
        raw_age = str(merged["max_alert_age"]).strip()
        if raw_age.lower() == "none":
            max_age = None
        else:
            try:
                max_age = parse_duration(raw_age)
            except ValueError as exc:
                raise ConfigError(file, "max_alert_age", f"{exc} or 'none'") from None

    webhooks = _parse_webhooks(merged.get("webhooks", []), environ, file)
    extra_hook = environ.get(f"{ENV_PREFIX}WEBHOOK_URL")
    if extra_hook and extra_hook.strip():
        _check_webhook_url(extra_hook.strip(), file, f"{ENV_PREFIX}WEBHOOK_URL")
        webhooks += (WebhookTarget(url=extra_hook.strip(), label="env-webhook"),)

    sharding = _parse_sharding(merged, file)

    def number(key: str, default: float, cast: type[float] | type[int]) -> Any:
        if key not in merged:
            return default
        try:
            value = cast(merged[key])
        except (TypeError, ValueError):
            raise ConfigError(file, key, f"must be a number, not {merged[key]!r}") from None
        if value < 0:
            raise ConfigError(file, key, "must not be negative")
        return value

    return Settings(
        database=database,
        user_agent=_str(merged.get("user_agent"), file, "user_agent", "user_agent", required=False)
        or DEFAULT_USER_AGENT,
        max_alert_age=max_age,
        webhooks=webhooks,
        allow_private_addresses=_bool(
            merged.get("allow_private_addresses"),
            file,
            "allow_private_addresses",
            "allow_private_addresses",
            False,
        ),
        fetch_timeout=_parse_fetch_timeout(merged, file),
        max_page_bytes=number("max_page_bytes", 10 * 1024 * 1024, int),
        jitter=number("jitter", 0.1, float),
        discord_token=(environ.get("DISCORD_TOKEN") or "").strip() or None,
        discord_api_url=str(merged.get("discord_api_url") or DISCORD_API_URL),
        discord_gateway_url=str(merged.get("discord_gateway_url") or DISCORD_GATEWAY_URL),
        sharding=sharding,
        log_format=_parse_log_format(merged, file),
        **_parse_operations(merged, file),
    )


LOG_FORMATS = ("text", "json")


def _parse_log_format(merged: Mapping[str, Any], file: str) -> str:
    """``log_format``: ``"text"`` (readable, the default) or ``"json"`` (one object a line)."""
    raw = merged.get("log_format")
    if raw is None:
        return "text"
    value = str(raw).strip().lower()
    if value not in LOG_FORMATS:
        raise ConfigError(file, "log_format", f"must be 'text' or 'json', not {raw!r}")
    return value


def _parse_fetch_timeout(merged: Mapping[str, Any], file: str) -> float:
    """``fetch_timeout``: seconds (``20``, ``"20"``) or a duration (``"20s"``, ``"1m"``),
    the most one fetch of a source may take, redirects and retries included."""
    raw = merged.get("fetch_timeout")
    if raw is None:
        return DEFAULT_FETCH_TIMEOUT
    seconds: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        seconds = float(raw)
    elif isinstance(raw, str):
        try:
            seconds = float(raw.strip())
        except ValueError:
            try:
                seconds = parse_duration(raw).total_seconds()
            except ValueError:
                seconds = None
    if seconds is None or math.isnan(seconds) or math.isinf(seconds):
        raise ConfigError(
            file, "fetch_timeout", f"must be seconds or a duration such as 20s, not {raw!r}"
        )
    if seconds <= 0:
        raise ConfigError(file, "fetch_timeout", "must be more than zero")
    return seconds


def _parse_sharding(merged: Mapping[str, Any], file: str) -> Sharding | None:
    """``shard_count`` (a number or ``"auto"``) and optional ``shard_ids`` (``"0,1"``)."""
    if "shard_count" not in merged:
        if "shard_ids" in merged:
            raise ConfigError(file, "shard_ids", "needs shard_count too")
        return None
    try:
        count = parse_shard_count(merged["shard_count"])
    except ValueError as exc:
        raise ConfigError(file, "shard_count", str(exc)) from None
    ids = None
    if "shard_ids" in merged:
        try:
            ids = parse_shard_ids(merged["shard_ids"])
        except ValueError as exc:
            raise ConfigError(file, "shard_ids", str(exc)) from None
    try:
        return Sharding(count, ids)
    except ValueError as exc:
        raise ConfigError(file, "shard_ids", str(exc)) from None


def _parse_operations(merged: Mapping[str, Any], file: str) -> dict[str, Any]:
    """The settings of running the service for others to watch: ``metrics_address``."""
    try:
        address = parse_listen_address(merged.get("metrics_address", "off"))
    except ValueError as exc:
        raise ConfigError(file, "metrics_address", str(exc)) from None
    return {"metrics_address": address}


def _check_webhook_url(url: str, file: str, entry: str) -> None:
    if not re.match(r"^https?://[^\s/]+/\S*$", url):
        # Never echo the URL: it is a secret.
        raise ConfigError(file, entry, "webhook URL must be an http(s) URL")


def _parse_webhooks(raw: Any, environ: Mapping[str, str], file: str) -> tuple[WebhookTarget, ...]:
    if not isinstance(raw, list):
        raise ConfigError(file, "webhooks", "must be an array of tables ([[webhooks]])")
    targets: list[WebhookTarget] = []
    for index, entry in enumerate(raw, start=1):
        label = f"webhook #{index}"
        if not isinstance(entry, dict):
            raise ConfigError(file, label, "must be a table")
        unknown = set(entry) - {
            "url", "url_env", "companies", "name", "min_affected", "data", "unknown_affected"
        }  # fmt: skip
        if unknown:
            raise ConfigError(file, label, f"unknown key(s): {', '.join(sorted(unknown))}")
        if "url" in entry and "url_env" in entry:
            raise ConfigError(file, label, "give 'url' or 'url_env', not both")
        if "url_env" in entry:
            var = _str(entry["url_env"], file, label, "url_env")
            assert var is not None
            url = (environ.get(var) or "").strip()
            if not url:
                raise ConfigError(file, label, f"environment variable {var} is not set")
        else:
            url = _str(entry.get("url"), file, label, "url (or url_env)") or ""
        _check_webhook_url(url, file, label)
        companies = None
        if "companies" in entry:
            companies = _str_list(entry["companies"], file, label, "companies")
        name = entry.get("name")
        targets.append(
            WebhookTarget(
                url=url,
                label=str(name) if isinstance(name, str) and name.strip() else f"webhook-{index}",
                companies=companies,
                card_filter=_parse_card_filter(entry, file, label),
            )
        )
    return tuple(targets)


def _parse_card_filter(entry: Mapping[str, Any], file: str, label: str) -> CardFilter:
    """``min_affected`` (10000, "10k", "1.5 million"), ``data`` (a list or "health, ssn")
    and ``unknown_affected`` ("hold" or "alert") of one webhook."""
    try:
        count = parse_count(entry.get("min_affected"))
    except ValueError as exc:
        raise ConfigError(file, label, f"min_affected: {exc}") from None
    raw = entry.get("data")
    try:
        data = frozenset() if raw is None or raw == "" else parse_data(raw)
    except ValueError as exc:
        raise ConfigError(file, label, f"data: {exc}") from None
    unknown = entry.get("unknown_affected", "hold")
    if unknown is True or unknown is False:
        unknown = "alert" if unknown else "hold"
    if not isinstance(unknown, str) or unknown.strip().lower() not in UNKNOWN_CHOICES:
        raise ConfigError(file, label, 'unknown_affected must be "hold" or "alert"')
    return CardFilter(count, data, unknown.strip().lower())


def load_config(
    directory: str | os.PathLike[str] | None = None,
    *,
    database: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load and validate a configuration directory; raise :class:`ConfigError` if invalid."""
    env = os.environ if environ is None else environ
    path = config_directory(directory)
    if not path.is_dir():
        raise ConfigError(str(path), None, "configuration directory not found")
    sources = parse_sources(_read_toml(path / "sources.toml", required=True))
    watchlist = parse_watchlist(_read_toml(path / "watchlist.toml", required=True))
    settings = parse_settings(_read_toml(path / "settings.toml", required=False), env)
    if database:
        settings = _replace_database(settings, normalize_database_url(database))
    for company_filter in (w.companies or () for w in settings.webhooks):
        for wanted in company_filter:
            if watchlist.get(wanted) is None:
                raise ConfigError(
                    "settings.toml", "webhooks", f"company {wanted!r} is not in watchlist.toml"
                )
    from bot.core.sourceplan import make_plan

    try:
        plan = make_plan(sources, watchlist.companies)
    except ValueError as exc:
        raise ConfigError("sources.toml", None, str(exc)) from None
    return Config(
        directory=path,
        sources=plan.sources,
        watchlist=watchlist,
        settings=settings,
        entries=sources,
        schedules=plan.schedules,
    )


def _replace_database(settings: Settings, url: str) -> Settings:
    from dataclasses import replace

    return replace(settings, database=url)
