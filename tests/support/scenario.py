"""Build a configuration directory for a test, from TOML text, and load it for real."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.settings import Config, bundled_config, load_config

# Tests serve everything from 127.0.0.1, which the operator must opt in to.
LOOPBACK = "allow_private_addresses = true\n"


def write_config(
    directory: Path,
    *,
    sources: str,
    settings: str = "jitter = 0\n",
    watchlist: str | None = None,
    loopback: bool = False,
) -> Path:
    """Write ``sources.toml``, ``settings.toml`` and a watchlist (the bundled one by default).

    ``loopback`` opens the settings with ``allow_private_addresses = true``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if loopback:
        settings = LOOPBACK + settings
    (directory / "sources.toml").write_text(sources, encoding="utf-8")
    (directory / "settings.toml").write_text(settings, encoding="utf-8")
    if watchlist is None:
        shutil.copy(bundled_config() / "watchlist.toml", directory / "watchlist.toml")
    else:
        (directory / "watchlist.toml").write_text(watchlist, encoding="utf-8")
    return directory


def load(directory: Path, db_url: str, environ: dict[str, str] | None = None) -> Config:
    """Load ``directory`` with ``db_url`` and only the given environment."""
    return load_config(directory, database=db_url, environ=environ or {})


def rss_source(name: str, url: str, every: str = "10m", **extra: str) -> str:
    """One ``[[sources]]`` entry of kind rss, private addresses allowed (loopback tests)."""
    lines = [
        "[[sources]]",
        f'name = "{name}"',
        'kind = "rss"',
        f'url = "{url}"',
        f'every = "{every}"',
        "allow_private = true",
    ]
    lines += [f'{k} = "{v}"' for k, v in extra.items()]
    return "\n".join(lines) + "\n\n"
