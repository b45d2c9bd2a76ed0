"""The table of kinds names every scraper class in the package, and each has fixtures."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import timedelta

import pytest

import scrapers
from scrapers.base import PageScraper, SourceSpec
from scrapers.registry import KINDS, build, kinds, scraper_class
from tests.support.fixturecases import cases


def scraper_classes() -> dict[str, type[PageScraper]]:
    """Every scraper class defined in the package, by ``module:Class``."""
    found: dict[str, type[PageScraper]] = {}
    for info in pkgutil.iter_modules(scrapers.__path__, "scrapers."):
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == info.name and issubclass(cls, PageScraper) and cls.kind:
                found[f"{info.name}:{name}"] = cls
    return found


def test_every_scraper_class_is_in_the_table_under_its_own_kind() -> None:
    """A class that declares a kind but is missing from the table is caught here."""
    classes = scraper_classes()
    assert len(classes) >= 13
    assert {cls.kind: where for where, cls in classes.items()} == dict(KINDS)


def test_every_entry_of_the_table_loads_the_class_of_that_kind() -> None:
    """Each ``module:Class`` exists and declares the kind it is listed under."""
    for kind in kinds():
        assert scraper_class(kind).kind == kind


def test_every_scraper_class_has_a_recorded_page_and_a_broken_one() -> None:
    """Walking the package, not the table: a class left out of both is still noticed."""
    all_cases = cases()
    good = {c.kind for c in all_cases if c.error is None}
    bad = {c.kind for c in all_cases if c.error is not None}
    declared = {cls.kind for cls in scraper_classes().values()}
    assert declared - good == set()
    assert declared - bad == set()


def test_an_unknown_kind_is_refused_naming_the_known_ones() -> None:
    """A typo in sources.toml gets the list of kinds, not a traceback."""
    spec = SourceSpec(name="x", kind="rsss", url="https://a.example/", every=timedelta(1))
    with pytest.raises(ValueError, match=r"unknown kind 'rsss' \(known: .*rss"):
        build(spec)
