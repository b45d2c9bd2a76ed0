"""The configuration contract: what loads, and one clear line for what does not."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_config, parse_settings
from tests.support.cli import REPO, run_cli
from tests.support.scenario import write_config

GOOD_SOURCE = '[[sources]]\nname = "feed"\nkind = "rss"\nurl = "https://example.com/feed"\n'


def test_bundled_configuration_loads() -> None:
    """The shipped config/ is valid and watches the example companies."""
    config = load_config(REPO / "config", environ={})
    names = {c.name for c in config.watchlist.companies}
    assert {"Casio", "MoneyGram"} <= names
    assert "カシオ" in config.watchlist.get("Casio").aliases  # type: ignore[union-attr]
    assert any(s.kind == "rss" for s in config.enabled_sources)
    assert any(s.kind == "html" for s in config.enabled_sources)


def test_check_config_reports_what_it_found() -> None:
    """check-config summarises the bundled configuration and exits 0."""
    result = run_cli("check-config")
    assert result.code == 0, result.stderr
    assert "companies" in result.stdout and result.stdout.strip().endswith("ok")


@pytest.mark.parametrize(
    ("file", "content", "expected"),
    [
        (
            "sources.toml",
            "[[sources]]\nname = 'x'\nkind = 'rss'\n",
            "source 'x': missing required key 'url'",
        ),
        ("sources.toml", GOOD_SOURCE.replace('"rss"', '"gopher"'), "unknown kind 'gopher'"),
        ("sources.toml", GOOD_SOURCE + 'every = "soon"\n', "'every': not a duration"),
        ("sources.toml", GOOD_SOURCE.replace("https://", "ftp://"), "must be an http(s) URL"),
        ("sources.toml", GOOD_SOURCE + GOOD_SOURCE, "duplicate source name"),
        ("sources.toml", "[[sources]\nname=", "not valid TOML"),
        (
            "sources.toml",
            '[[sources]]\nname = "p"\nkind = "html"\nurl = "https://example.com/news"\n',
            "an html source needs a CSS selector in 'item'",
        ),
        (
            "watchlist.toml",
            "[[companies]]\naliases = ['x']\n",
            "company #1: missing required key 'name'",
        ),
        (
            "watchlist.toml",
            "[[companies]]\nname = 'Casio'\ncik = 'abc'\n",
            "'cik' must be up to 10 digits",
        ),
        (
            "watchlist.toml",
            "[[companies]]\nname = 'Casio'\ncolour = 'red'\n",
            "unknown key(s): colour",
        ),
        ("settings.toml", 'max_alert_age = "forever"\n', "max_alert_age"),
        (
            "settings.toml",
            '[[webhooks]]\nurl_env = "NOT_SET_ANYWHERE"\n',
            "NOT_SET_ANYWHERE is not set",
        ),
        ("settings.toml", "colour = 1\n", "unknown setting(s): colour"),
    ],
)
def test_invalid_configuration_exits_2_with_one_clear_line(
    tmp_path: Path, file: str, content: str, expected: str
) -> None:
    """Each kind of mistake names the file, the entry and the problem, without a traceback."""
    cfg = write_config(tmp_path / "c", sources=GOOD_SOURCE, settings="", loopback=True)
    target = cfg / file
    target.write_text(content, encoding="utf-8")
    result = run_cli("scan", "--config", str(cfg), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"breachradar: configuration error: {file}: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_configuration_directory_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("check-config", "--config", str(tmp_path / "nowhere"))
    assert result.code == 2
    assert "configuration directory not found" in result.stderr


def test_environment_overrides_settings_file() -> None:
    """BREACHRADAR_<NAME> wins over settings.toml."""
    settings = parse_settings(
        {"max_alert_age": "3d", "user_agent": "file"},
        {"BREACHRADAR_MAX_ALERT_AGE": "none", "BREACHRADAR_USER_AGENT": "env (ops@example.com)"},
    )
    assert settings.max_alert_age is None
    assert settings.user_agent == "env (ops@example.com)"
    assert parse_settings({}, {}).max_alert_age == timedelta(days=3)


def test_database_url_comes_from_the_environment_and_picks_async_drivers() -> None:
    env = {"BREACHRADAR_DATABASE_URL": "postgresql://u:p@db/breachradar"}
    assert parse_settings({}, env).database == "postgresql+asyncpg://u:p@db/breachradar"
    assert parse_settings({"database": "sqlite:///x.db"}, {}).database == "sqlite+aiosqlite:///x.db"
    assert parse_settings({}, {}).database.endswith("breachradar.db")


def test_webhook_url_from_the_environment_is_never_echoed() -> None:
    """A bad webhook URL is reported without printing it: it is a secret."""
    secret = "not a url with-secret-token-123"
    with pytest.raises(ConfigError) as err:
        parse_settings({"webhooks": [{"url_env": "HOOK"}]}, {"HOOK": secret})
    assert "secret-token-123" not in str(err.value)
    hook = parse_settings(
        {"webhooks": [{"url_env": "HOOK", "companies": ["Casio"]}]},
        {"HOOK": "https://discord.com/api/webhooks/1/secret-token-123"},
    ).webhooks[0]
    assert "secret-token-123" not in repr(hook)
    assert hook.wants("casio") and not hook.wants("MoneyGram")


def test_webhook_companies_must_be_watched(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "c",
        sources=GOOD_SOURCE,
        loopback=True,
        settings='[[webhooks]]\nurl = "https://example.com/hook"\ncompanies = ["Nobody Inc"]\n',
    )
    with pytest.raises(ConfigError, match=r"'Nobody Inc' is not in watchlist\.toml"):
        load_config(cfg, environ={})


def test_webhook_card_filters_read_as_people_write_them() -> None:
    """min_affected as a number or "10k", data as a list or one string, unknown_affected."""
    hooks = parse_settings(
        {
            "webhooks": [
                {"url": "https://example.com/a", "name": "large", "min_affected": "10k"},
                {"url": "https://example.com/b", "data": ["Health", "government ID"]},
                {"url": "https://example.com/c", "min_affected": 500, "data": "ssn, passports",
                 "unknown_affected": "alert"},
                {"url": "https://example.com/d"},
            ]
        },
        {},
    ).webhooks  # fmt: skip
    filters = [h.card_filter for h in hooks]
    assert (filters[0].min_affected, filters[0].unknown_affected) == (10_000, "hold")
    assert filters[1].data == {"health", "government_id"} and filters[1].min_affected is None
    assert (filters[2].min_affected, filters[2].data, filters[2].unknown_affected) == (
        500,
        {"government_id"},
        "alert",
    )
    assert not filters[3].active


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"min_affected": "lots"}, "webhook #1: min_affected: not a number of people"),
        (
            {"data": ["health", "blood type"]},
            "webhook #1: data: unknown data category 'blood type'",
        ),
        (
            {"min_affected": 5, "unknown_affected": "maybe"},
            'unknown_affected must be "hold" or "alert"',
        ),
        ({"min_affected": -3}, "min_affected: a number of people from 0"),
    ],
)
def test_a_bad_webhook_card_filter_is_one_clear_error(
    entry: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        parse_settings({"webhooks": [{"url": "https://example.com/a", **entry}]}, {})
