"""``metrics_address``: written as operators write listen addresses, refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.addresses import ListenAddress, parse_listen_address
from bot.settings import ConfigError, parse_settings
from tests.support.cli import run_cli
from tests.support.scenario import write_config


@pytest.mark.parametrize(
    ("written", "host", "port"),
    [
        ("127.0.0.1:9464", "127.0.0.1", 9464),
        (" localhost:9464 ", "localhost", 9464),
        (":9464", "0.0.0.0", 9464),  # every interface, as exporters write it
        ("9464", "127.0.0.1", 9464),  # a bare port stays on loopback
        (9464, "127.0.0.1", 9464),  # TOML: metrics_address = 9464
        ("[::1]:9464", "::1", 9464),
        ("metrics.internal.example:0", "metrics.internal.example", 0),
    ],
)
def test_addresses_people_write(written: object, host: str, port: int) -> None:
    assert parse_listen_address(written) == ListenAddress(host, port)


@pytest.mark.parametrize("written", ["off", "OFF", "none", ""])
def test_off_serves_nothing(written: str) -> None:
    assert parse_listen_address(written) is None


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("127.0.0.1", "has no port"),
        ("127.0.0.1:95000", "from 0 to 65535"),
        ("localhost:metrics", "must be a number"),
        ("::1:9464", "in brackets"),
        ("[localhost]:9464", "not an IPv6 address"),
        ("999.0.0.1:9464", "not a host name or IP address"),
        ("my host:9464", "not a host name or IP address"),
        (True, "must be host:port"),
    ],
)
def test_bad_addresses_say_what_is_wrong(written: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_listen_address(written)


def test_the_environment_overrides_the_file_and_can_switch_it_off() -> None:
    data = {"metrics_address": "127.0.0.1:9464"}
    assert parse_settings(data, {}).metrics_address == ListenAddress("127.0.0.1", 9464)
    env = {"BREACHRADAR_METRICS_ADDRESS": "0.0.0.0:9100"}
    assert parse_settings(data, env).metrics_address == ListenAddress("0.0.0.0", 9100)
    assert parse_settings(data, {"BREACHRADAR_METRICS_ADDRESS": "off"}).metrics_address is None
    assert parse_settings({}, {}).metrics_address is None  # off by default


def test_a_bad_setting_names_the_file_and_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"metrics_address": "localhost"}, {})
    assert str(caught.value) == (
        "settings.toml: metrics_address: 'localhost' has no port: write host:port, "
        "such as 127.0.0.1:9464"
    )


def test_check_config_exits_2_on_a_bad_metrics_address(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c", sources="", settings='metrics_address = "9464:localhost"\n')
    result = run_cli("check-config", "--config", str(cfg))
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        "breachradar: configuration error: settings.toml: metrics_address: "
        "port 'localhost' must be a number from 0 to 65535"
    ]
