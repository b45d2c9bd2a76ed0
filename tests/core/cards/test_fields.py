"""Structured record fields (regulators', trackers', HIBP's) read from the recorded fixtures."""

from __future__ import annotations

import html
import json
import re

from bot.core.cards import extract
from tests.core.cards.texts import FIXTURES


def _maine_fields() -> dict[str, str]:
    page = (FIXTURES / "maine-ag" / "notice-moneygram.html").read_text(encoding="utf-8")
    fields = {}
    for item in re.findall(r"<li>(.*?)</li>", page, re.S):
        name, sep, value = html.unescape(re.sub(r"<[^>]+>", "", item)).partition(":")
        if sep and value.strip():
            fields[name.strip()] = value.strip()
    return fields


def test_maine_notice_gives_total_count_dates_data_and_cause() -> None:
    """The total (not Maine's 2,094), occurred/discovered dates, acquired data, "hacking"."""
    found = extract(
        "Data Breach Notifications: MoneyGram Payment Systems, Inc.", fields=_maine_fields()
    )
    assert found.affected is not None
    assert (found.affected.count, found.affected.basis) == (1_204_326, "record")
    assert (str(found.began), str(found.discovered)) == ("2024-09-20", "2024-09-27")
    assert found.data == {"government_id", "financial", "credentials"}
    assert found.attack == "unauthorized_access"


def test_washington_rows_give_count_dates_and_cause() -> None:
    """Washingtonians affected, the start and awareness dates, the cause columns."""
    rows = json.loads((FIXTURES / "wa-ag" / "sb4j-ca4h.json").read_text(encoding="utf-8"))
    found = [extract(row["name"], fields=row) for row in rows]
    assert [f.affected.count if f.affected else None for f in found][:3] == [
        7_461,
        29_817,
        1_220_000,
    ]
    assert (str(found[0].began), str(found[0].discovered)) == ("2024-09-20", "2024-09-27")
    assert [f.attack for f in found][:3] == [
        "unauthorized_access",
        "unauthorized_access",
        "ransomware",
    ]


def test_hibp_record_gives_pwn_count_classes_and_breach_date() -> None:
    """PwnCount is accounts; DataClasses map to the vocabulary; BreachDate is when it began."""
    breach = json.loads((FIXTURES / "hibp" / "breaches.json").read_text(encoding="utf-8"))[0]
    found = extract(f"{breach['Title']} data breach", breach["Description"], fields=breach)
    assert found.affected is not None
    assert (found.affected.count, found.affected.kind) == (193_000_000, "accounts")
    assert found.data == {"names", "contact", "financial"}
    assert str(found.began) == "2024-05-20"


def test_fields_win_over_the_text_and_bad_fields_are_ignored() -> None:
    """A record's own count beats a number in prose; junk values change nothing."""
    found = extract(
        "Breach affects 10 million users", fields={"PwnCount": "2,500", "DataClasses": ""}
    )
    assert found.affected is not None and found.affected.count == 2_500
    junk = extract(
        "Breach affects 10 million users",
        fields={"PwnCount": "n/a", "BreachDate": "soon", "group": "nobody"},
    )
    assert junk.affected is not None and junk.affected.count == 10_000_000
    assert (junk.began, junk.actor) == (None, None)
