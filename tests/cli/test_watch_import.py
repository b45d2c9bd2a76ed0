"""`breachradar watch import`: a server's vendor list from a file, run as the real command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.settings.test_source_planning import planned
from tests.support.cli import cli_env, run_cli

SOURCES = """
[[sources]]
name = "bleepingcomputer"
kind = "rss"
url = "https://www.bleepingcomputer.com/feed/"
"""


@pytest.mark.slow
def test_import_reports_every_refused_line_and_a_rerun_adds_nothing(tmp_path: Path) -> None:
    """Bad lines are named with their numbers; the good ones apply; a retry changes nothing."""
    directory = planned(tmp_path / "config", SOURCES)
    where = ("--config", str(directory), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}")
    vendors = tmp_path / "vendors.csv"
    rows = ["vendor,alias", "MoneyGram", "Okta", "@everyone", "okta", "Snowflake,SNOW"]
    rows += [f"Supplier {i:04d}" for i in range(2000)]
    vendors.write_text("\n".join(rows) + "\n", encoding="utf-8")
    target = ("--guild", "9001", "--channel", "9002")
    first = run_cli("watch", "import", str(vendors), *target, *where)
    assert first.code == 1, first.stderr  # some lines were refused
    assert first.stdout.splitlines() == [
        "added 2003, already watched 0, listed twice 1, refused 1 for channel 9002 of server 9001",
        "line 4: @everyone: The company name cannot contain mentions.",
        "line 5: okta: listed twice (first on line 3)",
    ]
    again = run_cli("watch", "import", str(vendors), *target, *where, "--json")
    assert again.code == 1
    report = json.loads(again.stdout)
    assert (report["added"], report["already"], report["refused"]) == (0, 2003, 1)
    assert report["lines"][0] == {
        "line": 2, "name": "MoneyGram", "outcome": "already", "detail": "already watched here",
    }  # fmt: skip
    # From standard input, into another channel: all good lines, exit 0.
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "watch", "import", "-", "--guild", "9001",
         "--channel", "9003", *where],
        input=b"Okta\nSnowflake\n", capture_output=True, env=cli_env(), timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().startswith("added 2, already watched 0")


@pytest.mark.slow
def test_import_refuses_what_it_cannot_read_and_applies_nothing(tmp_path: Path) -> None:
    """A binary file, a missing file or an id that is not one: exit 2 and a clear line."""
    directory = planned(tmp_path / "config", SOURCES)
    where = ("--config", str(directory), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}")
    target = ("--guild", "9001", "--channel", "9002")
    binary = tmp_path / "vendors.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00binary")
    result = run_cli("watch", "import", str(binary), *target, *where)
    assert result.code == 2 and "is not UTF-8 text" in result.stderr
    missing = run_cli("watch", "import", str(tmp_path / "nope.txt"), *target, *where)
    assert missing.code == 2 and "cannot read" in missing.stderr
    bad_id = run_cli("watch", "import", str(binary), "--guild", "general", "--channel", "1", *where)
    assert bad_id.code == 2 and "is not a Discord id" in bad_id.stderr
    listed = run_cli("watch", "import", "-", *target, *where)  # empty standard input
    assert listed.code == 0 and listed.stdout.startswith("added 0,")
