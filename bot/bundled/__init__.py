"""Files BreachRadar ships: the default configuration and the labeled evaluation set.

``bot.bundled.config`` is the repository's ``config/`` and ``bot.bundled.eval`` its
``tests/fixtures/eval/`` (see ``package-dir`` in pyproject.toml); read them with
:func:`importlib.resources.files`, which finds them in a checkout, an editable install
and a wheel alike.
"""
