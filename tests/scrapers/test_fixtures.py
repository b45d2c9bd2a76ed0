"""Every recorded response under tests/fixtures parses to the records beside it."""

from __future__ import annotations

import pytest

from scrapers.errors import ParseError
from scrapers.registry import build, kinds
from tests.support.fixturecases import Case, as_record, cases

CASES = cases()


@pytest.mark.parametrize("case", [c for c in CASES if c.error is None], ids=lambda c: c.id)
def test_recorded_page_parses_to_expected_records(case: Case) -> None:
    """The parser turns the recorded response into exactly the expected records."""
    records = [as_record(d) for d in build(case.spec()).parse(case.page())]
    assert records == case.expected()


@pytest.mark.parametrize("case", [c for c in CASES if c.error is not None], ids=lambda c: c.id)
def test_broken_or_changed_page_raises_a_clear_parse_error(case: Case) -> None:
    """A page in the wrong format or a changed layout fails loudly, naming the problem."""
    assert case.error is not None
    with pytest.raises(ParseError, match=case.error):
        build(case.spec()).parse(case.page())


def test_every_kind_has_a_recorded_page_and_a_broken_one() -> None:
    """No source kind ships without a fixture that parses and one that must fail."""
    good = {c.kind for c in CASES if c.error is None}
    bad = {c.kind for c in CASES if c.error is not None}
    assert set(kinds()) - good == set()
    assert set(kinds()) - bad == set()


def test_fixture_bodies_are_not_rewritten_by_tools() -> None:
    """Recorded bodies keep their bytes: the CSV keeps CRLF, the Casio page stays Shift_JIS."""
    by_id = {c.id: c for c in CASES}
    csv = by_id["ca-ag/list-export"].body.read_bytes()
    assert csv.count(b"\r\n") == csv.count(b"\n") > 1
    casio = by_id["casio-jp-releases/release"].body.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        casio.decode("utf-8")
    assert "ランサムウェア" in casio.decode("shift_jis")
