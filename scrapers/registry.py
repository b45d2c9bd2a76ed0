"""Which class implements which ``kind`` of source."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from scrapers.base import Scraper, SourceSpec

_KINDS: dict[str, type[Scraper]] = {}

T = TypeVar("T", bound=type[Scraper])


def register(kind: str) -> Callable[[T], T]:
    """Register a scraper class under ``kind`` (the ``kind`` key of a source entry)."""

    def decorate(cls: T) -> T:
        if kind in _KINDS and _KINDS[kind] is not cls:
            raise ValueError(f"source kind {kind!r} registered twice")
        cls.kind = kind
        _KINDS[kind] = cls
        return cls

    return decorate


def kinds() -> list[str]:
    """Return every registered kind, sorted."""
    _load_builtin()
    return sorted(_KINDS)


def build(spec: SourceSpec) -> Scraper:
    """Make the scraper for one configured source."""
    _load_builtin()
    try:
        cls = _KINDS[spec.kind]
    except KeyError:
        raise ValueError(
            f"unknown kind {spec.kind!r} (known: {', '.join(sorted(_KINDS))})"
        ) from None
    return cls(spec)  # type: ignore[call-arg]


def expand(spec: SourceSpec) -> list[SourceSpec]:
    """The sources one configured entry stands for (a per-company template gives many)."""
    _load_builtin()
    cls = _KINDS.get(spec.kind)
    expander = getattr(cls, "expand", None)
    if expander is None:
        return [spec]
    result: list[SourceSpec] = expander(spec)
    return result


def _load_builtin() -> None:
    # Importing the modules runs their @register decorators.
    from scrapers import builtin  # noqa: F401
