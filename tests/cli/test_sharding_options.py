"""The bot's shard options: settings, environment and command line, and Discord's formula."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.cli.run import resolve_sharding
from bot.core.sharding import Sharding, ShardSet, shard_of
from bot.core.watchlist import Watchlist
from bot.settings import Config, ConfigError, Settings, parse_settings


def test_shards_follow_the_creation_time_in_a_guild_id() -> None:
    """(guild_id >> 22) % count: the low 22 bits (worker, process, increment) never matter,
    and consecutive milliseconds of creation go round the shards."""
    created = 46977654225  # ms since 2015 of a guild made in 2016
    for low in (0, 1, 0x3FFFFF):
        guild = (created << 22) | low
        assert [shard_of(guild, n) for n in (1, 2, 7)] == [0, created % 2, created % 7]
    assert [shard_of((created + k) << 22, 4) for k in range(4)] == [
        (created + k) % 4 for k in range(4)
    ]
    guild = (created << 22) | 12345
    assert ShardSet(7, (created % 7,)).owns(guild)
    assert not ShardSet(7, ((created + 1) % 7,)).owns(guild)


def test_settings_and_environment_give_the_shards() -> None:
    """shard_count and shard_ids come from settings.toml or BREACHRADAR_SHARD_*; env wins."""
    toml = parse_settings({"shard_count": 4, "shard_ids": [2, 3]}, {})
    assert toml.sharding == Sharding(4, (2, 3))
    env = parse_settings(
        {"shard_count": 4}, {"BREACHRADAR_SHARD_COUNT": "8", "BREACHRADAR_SHARD_IDS": "0-2,7"}
    )
    assert env.sharding == Sharding(8, (0, 1, 2, 7))
    assert parse_settings({"shard_count": "auto"}, {}).sharding == Sharding(None)
    assert parse_settings({}, {}).sharding is None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"shard_ids": "0"}, "shard_ids: needs shard_count too"),
        ({"shard_count": 0}, "shard_count: must be between 1"),
        ({"shard_count": "two"}, "shard_count: must be a number of shards or 'auto'"),
        ({"shard_count": 2, "shard_ids": "0,2"}, "shard id 2 is out of range: ids go from 0 to 1"),
        ({"shard_count": 2, "shard_ids": "1,1"}, "a shard id is listed twice"),
        ({"shard_count": 4, "shard_ids": "3-1"}, "'3-1' is not a shard id"),
        ({"shard_count": 4, "shard_ids": "-1"}, "'-1' is not a shard id"),
        ({"shard_count": "auto", "shard_ids": "0"}, "need a shard count (a number, not auto)"),
    ],
)
def test_bad_shard_settings_are_refused_clearly(data: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_settings(data, {})


def _config(sharding: Sharding | None) -> Config:
    settings = Settings(database="sqlite+aiosqlite://", sharding=sharding)
    return Config(Path("."), (), Watchlist([]), settings)


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["run", *argv])


def test_command_line_options_replace_each_setting() -> None:
    """--shard-ids alone keeps the configured count; --shard-count alone keeps the ids."""
    shared = _config(Sharding(4))  # e.g. BREACHRADAR_SHARD_COUNT=4 for every process
    assert resolve_sharding(shared, _args("--shard-ids", "1,3"), "bot") == Sharding(4, (1, 3))
    assert resolve_sharding(shared, _args(), "bot") == Sharding(4)
    assert resolve_sharding(_config(None), _args(), "bot") is None
    assert resolve_sharding(
        _config(Sharding(4, (0,))), _args("--shard-count", "8"), "all"
    ) == Sharding(8, (0,))
    assert resolve_sharding(_config(None), _args("--shard-count", "auto"), "bot") == Sharding(None)
    with pytest.raises(ValueError, match="--shard-ids needs --shard-count"):
        resolve_sharding(_config(None), _args("--shard-ids", "0"), "bot")
    with pytest.raises(ValueError, match="for --role bot or all"):
        resolve_sharding(shared, _args("--shard-ids", "0"), "scraper")


def test_which_processes_filter_guilds() -> None:
    """Only a process running some of the shards leaves guilds to others."""
    assert Sharding(2, (0, 1)).owner() is None  # every shard here: every guild here
    assert Sharding(None).owner() is None
    assert Sharding(3).owner() is None
    assert Sharding(3, (2, 0)).owner() == ShardSet(3, (2, 0))
    assert ShardSet(3, (0,)).owns(None) and not ShardSet(3, (1,)).owns(None)


def test_a_shard_option_on_a_scraper_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scraper has no Discord connection to shard: the mistake is named, exit status 2."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.toml").write_text("")
    (config / "watchlist.toml").write_text("")
    monkeypatch.delenv("BREACHRADAR_SHARD_COUNT", raising=False)
    code = main(
        ["run", "--role", "scraper", "--config", str(config), "--db",
         f"sqlite:///{tmp_path / 'x.db'}", "--shard-count", "2", "--shard-ids", "1"]
    )  # fmt: skip
    assert code == 2
    assert "--shard-count and --shard-ids are for --role bot or all" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()
