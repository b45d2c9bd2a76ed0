"""docs/operations.md: its Prometheus configuration parses and names only metrics we export."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.service.metrics import Metrics

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def exported() -> dict[str, set[str]]:
    """Each metric family and the sample names it may show."""
    families: dict[str, set[str]] = {}
    for family in Metrics(role="all", sources=["bleepingcomputer"]).registry.collect():
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
        families[family.name] = {family.name + s for s in suffixes.get(family.type, ("",))}
    return families


def yaml_blocks() -> list[object]:
    text = DOC.read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def test_alert_rules_parse_and_use_exported_metrics_only() -> None:
    names = set().union(*exported().values())
    rules = [
        rule
        for block in yaml_blocks()
        if isinstance(block, dict) and "groups" in block
        for group in block["groups"]
        for rule in group["rules"]
    ]
    assert {r["alert"] for r in rules} == {
        "BreachRadarSourceSilent",
        "BreachRadarOutboxGrowing",
        "BreachRadarDeliveriesFailing",
    }
    for rule in rules:
        used = set(re.findall(r"breachradar_[a-z_]+", rule["expr"]))
        assert used and used <= names, f"{rule['alert']} names {used - names}"
    scrape = next(b for b in yaml_blocks() if isinstance(b, dict) and "scrape_configs" in b)
    assert scrape["scrape_configs"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9464"]


def test_every_breachradar_metric_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for family, samples in exported().items():
        if family.startswith("breachradar_"):
            assert any(f"`{name}`" in text for name in samples | {family}), family
