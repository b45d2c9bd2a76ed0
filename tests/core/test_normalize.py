"""Folding names and text into one comparable form."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.normalize import fold, fold_name, fold_slow, pattern_key


@pytest.mark.parametrize(
    ("written", "same_as"),
    [
        ("AT&T", "AT and T"),
        ("AT & T Inc.", "AT&T"),
        ("Marks & Spencer plc", "Marks and Spencer"),
        ("M&S", "M and S"),
        ("ＣＡＳＩＯ", "Casio"),
        ("ｶｼｵ計算機", "カシオ計算機"),
        ("株式会社KADOKAWA", "KADOKAWA"),
        ("KADOKAWA Corporation", "Kadokawa"),
        ("Casio Computer Co., Ltd.", "casio computer"),
        ("MoneyGram International, Inc.", "MoneyGram International"),
        ("The Home Depot", "Home Depot"),
        ("T-Mobile US", "T Mobile US"),
        ("Macy’s", "Macy's"),
    ],
)
def test_company_names_fold_alike(written: str, same_as: str) -> None:
    """Width, case, '&', punctuation and legal forms do not change which company is named."""
    assert fold_name(written) == fold_name(same_as)


def test_a_name_that_is_only_a_legal_form_keeps_a_word() -> None:
    """'Holdings Inc.' and '株式会社' are not folded to nothing."""
    assert fold_name("Holdings Inc.") == "holdings"
    assert fold_name("株式会社") == "株式会社"


def test_latin_next_to_japanese_is_a_word_boundary() -> None:
    """'KADOKAWAは' contains the whole word 'kadokawa'."""
    assert " kadokawa " in fold("KADOKAWAはサイバー攻撃を受けた")


def test_possessive_does_not_glue_to_the_name() -> None:
    """'AT&T's customers' still contains 'at and t' as whole words."""
    assert " at and t customers " in fold("AT&T’s customers")


def test_pattern_key_guards_latin_ends_only() -> None:
    """Latin ends need a space around them; Japanese ends match inside longer words."""
    assert pattern_key("casio") == " casio "
    assert pattern_key("カシオ") == "カシオ"
    assert pattern_key("ntt ドコモ") == " ntt ドコモ"


_TEXT = st.text(
    alphabet=st.sampled_from(string.printable + "’‘“”–—…\u00a0\u3000&éßカシオ計算機ＡＢ"),
    max_size=60,
)


@given(_TEXT)
def test_fast_folding_agrees_with_the_unicode_path(text: str) -> None:
    """The ASCII fast path gives exactly what the regular expressions give."""
    assert fold(text) == fold_slow(text)


@given(_TEXT)
def test_folded_text_is_padded_single_spaced(text: str) -> None:
    """Folded text starts and ends with one space and never holds two in a row."""
    folded = fold(text)
    assert folded.startswith(" ")
    assert folded.endswith(" ")
    assert "  " not in folded or folded == "  "
