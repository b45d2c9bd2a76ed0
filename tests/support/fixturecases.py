"""Recorded source responses under ``tests/fixtures``, each with what it must parse to.

A case is ``<source>/<case>.toml`` naming the ``kind``, the ``url`` it was served from,
the ``body`` file, its ``content_type`` and optional ``encoding`` and ``[options]``.
Beside it, ``<case>.expected.json`` holds the expected records; a case that must fail
says ``error = "<part of the ParseError message>"`` instead.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapers.base import Page, SourceSpec
from scrapers.models import Disclosure

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class Case:
    """One recorded response and what parsing it must give."""

    path: Path
    kind: str
    url: str
    body: Path
    content_type: str
    encoding: str | None
    options: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"

    @property
    def expected_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".expected.json")

    def spec(self) -> SourceSpec:
        return SourceSpec(
            name=self.path.parent.name, kind=self.kind, url=self.url, options=self.options
        )

    def page(self) -> Page:
        return Page(
            url=self.url,
            body=self.body.read_bytes(),
            content_type=self.content_type.split(";", 1)[0].strip().lower(),
            encoding=self.encoding,
        )

    def expected(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads(self.expected_path.read_text("utf-8"))
        return data


def cases() -> list[Case]:
    """Every case under ``tests/fixtures``, sorted by id."""
    found: list[Case] = []
    for path in sorted(FIXTURES.glob("*/*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        if "kind" not in data:
            continue
        found.append(
            Case(
                path=path,
                kind=data["kind"],
                url=data["url"],
                body=path.with_name(data["body"]),
                content_type=data.get("content_type", ""),
                encoding=data.get("encoding"),
                options=data.get("options", {}),
                error=data.get("error"),
            )
        )
    return found


def as_record(item: Disclosure) -> dict[str, Any]:
    """A disclosure as the plain JSON an expected file holds."""
    return {
        "source": item.source,
        "title": item.title,
        "url": item.url,
        "published": item.published.isoformat() if item.published else None,
        "summary": item.summary,
        "guid": item.guid,
        "organization": item.organization,
        "evidence": item.evidence.value,
        "incident_by_nature": item.incident_by_nature,
        "language": item.language,
        "extra": dict(sorted(item.extra.items())),
    }


def write_expected() -> None:
    """Write the expected file of every success case from the current parsers (review it!)."""
    from scrapers.registry import build

    for case in cases():
        if case.error is None:
            records = [as_record(d) for d in build(case.spec()).parse(case.page())]
            text = json.dumps(records, ensure_ascii=False, indent=2) + "\n"
            case.expected_path.write_text(text, "utf-8")
            print(f"{case.id}: {len(records)} records")


if __name__ == "__main__":
    write_expected()
