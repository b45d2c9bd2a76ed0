"""`breachradar init [DIR]`: a copy of the bundled configuration to edit, never overwritten."""

from __future__ import annotations

from pathlib import Path

from bot.settings import CONFIG_FILES, bundled_config
from tests.support.cli import run_cli


def test_init_writes_the_bundled_configuration_and_says_where(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    result = run_cli("init", str(target))
    assert result.code == 0, result.stderr
    for name in CONFIG_FILES:
        assert (target / name).read_bytes() == (bundled_config() / name).read_bytes()
    assert f"wrote sources.toml, watchlist.toml, settings.toml to {target}" in result.stdout
    assert f"--config {target}" in result.stdout
    check = run_cli("check-config", "--config", str(target))
    assert check.code == 0 and check.stdout.strip().endswith("ok")


def test_init_refuses_to_overwrite_and_leaves_edits_alone(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    edited = '[[companies]]\nname = "Only Us"\n'
    (target / "watchlist.toml").write_text(edited, encoding="utf-8")
    result = run_cli("init", str(target))
    assert result.code == 1
    assert f"{target} already has watchlist.toml; nothing written" in result.stderr
    assert (target / "watchlist.toml").read_text(encoding="utf-8") == edited
    assert not (target / "sources.toml").exists()


def test_init_without_a_directory_writes_the_configuration_every_command_reads(
    tmp_path: Path,
) -> None:
    """The default goes to the user's configuration directory, read when no --config or
    BREACHRADAR_CONFIG is given; an edit there is what check-config sees."""
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    mine = tmp_path / "xdg" / "breachradar"
    assert f"configuration: {bundled_config()}" in run_cli("check-config", env=env).stdout
    result = run_cli("init", env=env)
    assert result.code == 0, result.stderr
    assert "reads this configuration from now on" in result.stdout
    watchlist = mine / "watchlist.toml"
    watchlist.write_text('[[companies]]\nname = "Only Us"\n', encoding="utf-8")
    check = run_cli("check-config", env=env)
    assert check.code == 0, check.stderr
    assert f"configuration: {mine}" in check.stdout
    assert "watchlist: 1 companies" in check.stdout
    # An explicit choice still wins.
    assert (
        f"configuration: {bundled_config()}"
        in run_cli("check-config", env={**env, "BREACHRADAR_CONFIG": str(bundled_config())}).stdout
    )


def test_init_into_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    result = run_cli("init", str(tmp_path / "file"))
    assert result.code == 2
    assert "exists and is not a directory" in result.stderr
