"""Alembic migrations of the BreachRadar database, shipped inside the package.

``breachradar db upgrade`` applies them (``bot.store.migrate``); the service checks at start
that the database is at the newest revision here.

To add a migration after changing ``bot/store/schema.py`` (for example new tables):

1. Bring a scratch database to the current head::

       export BREACHRADAR_DATABASE_URL=sqlite+aiosqlite:////tmp/breachradar-migrate.db
       rm -f /tmp/breachradar-migrate.db && python -m bot db upgrade

2. Let Alembic write the difference between that database and ``schema.metadata``. Run it
   from the repository root with ``PYTHONPATH=.`` so it reads this tree's ``schema.py``
   (not an installed copy), and give the next number as the revision id::

       PYTHONPATH=. alembic -c bot/store/migrations/alembic.ini revision --autogenerate \\
           --rev-id 0003 -m "add discord subscriptions"

3. Read the new file under ``versions/``, fix what autogenerate cannot know (renames, data
   to copy, server defaults), and keep it portable: the same script runs on SQLite and
   PostgreSQL (``render_as_batch`` makes ALTERs work on SQLite).
4. ``tests/store/test_migrations.py`` checks, on both backends, that upgrading an empty
   database yields exactly ``schema.metadata`` and that downgrading works.
"""
