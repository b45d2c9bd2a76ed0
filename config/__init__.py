"""This folder ships inside the package as ``bot.bundled.config`` (see pyproject.toml)."""
