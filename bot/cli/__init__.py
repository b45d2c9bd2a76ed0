"""The ``breachradar`` command line (also ``python -m bot``)."""

from __future__ import annotations

from bot.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
