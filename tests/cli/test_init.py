"""`breachradar init [DIR]`: a copy of the bundled configuration to edit, never overwritten."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli.init import command
from bot.settings import CONFIG_FILES, bundled_config, config_directory
from tests.support.cli import run_cli


def test_init_writes_the_bundled_configuration_and_says_where(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    result = run_cli("init", str(target))
    assert result.code == 0, result.stderr
    for name in CONFIG_FILES:
        assert (target / name).read_bytes() == (bundled_config() / name).read_bytes()
    assert f"wrote sources.toml, watchlist.toml, settings.toml to {target}" in result.stdout
    assert f"--config {target}" in result.stdout


def init(directory: Path) -> int:
    return command(argparse.Namespace(directory=str(directory)))


def test_init_refuses_to_overwrite_and_leaves_edits_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    edited = '[[companies]]\nname = "Only Us"\n'
    (target / "watchlist.toml").write_text(edited, encoding="utf-8")
    assert init(target) == 1
    assert f"{target} already has watchlist.toml; nothing written" in capsys.readouterr().err
    assert (target / "watchlist.toml").read_text(encoding="utf-8") == edited
    assert not (target / "sources.toml").exists()


def test_init_without_a_directory_writes_the_configuration_every_command_reads(
    tmp_path: Path,
) -> None:
    """The default goes to the user's configuration directory, read when no --config or
    BREACHRADAR_CONFIG is given; an edit there is what check-config sees."""
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    mine = tmp_path / "xdg" / "breachradar"
    result = run_cli("init", env=env)
    assert result.code == 0, result.stderr
    assert "reads this configuration from now on" in result.stdout
    watchlist = mine / "watchlist.toml"
    watchlist.write_text('[[companies]]\nname = "Only Us"\n', encoding="utf-8")
    check = run_cli("check-config", env=env)
    assert check.code == 0, check.stderr
    assert f"configuration: {mine}" in check.stdout
    assert "watchlist: 1 companies" in check.stdout


def test_the_configuration_directory_is_chosen_explicitly_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--config, then BREACHRADAR_CONFIG, then what init wrote, then the bundled one."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("BREACHRADAR_CONFIG", raising=False)
    assert config_directory() == bundled_config()
    mine = tmp_path / "xdg" / "breachradar"
    mine.mkdir(parents=True)
    (mine / "settings.toml").write_text("", encoding="utf-8")
    assert config_directory() == bundled_config()  # no sources.toml: not a configuration
    (mine / "sources.toml").write_text("", encoding="utf-8")
    assert config_directory() == mine
    monkeypatch.setenv("BREACHRADAR_CONFIG", str(tmp_path / "env"))
    assert config_directory() == tmp_path / "env"
    assert config_directory(tmp_path / "flag") == tmp_path / "flag"


def test_init_into_a_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert init(tmp_path / "file") == 2
    assert "exists and is not a directory" in capsys.readouterr().err
