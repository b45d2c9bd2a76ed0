"""Text preparation: one normal form, sentences that survive abbreviations."""

from __future__ import annotations

from bot.core.cards import extract
from bot.core.cards.text import prepare, sentences, words


def test_full_width_and_typographic_forms_are_folded() -> None:
    """NFKC turns ＲａｎｓｏｍＨｏｕｓｅ and １２万 into ASCII; curly quotes become straight."""
    assert prepare("「ＲａｎｓｏｍＨｏｕｓｅ」が１２万件") == "「RansomHouse」が12万件"
    assert prepare("Casio’s “incident” — update") == 'Casio\'s "incident" - update'
    assert prepare("plain ASCII stays as it is") == "plain ASCII stays as it is"


def test_sentences_do_not_break_at_abbreviations() -> None:
    """ "Mr. Cooper", "U.S.", "Oct. 19" stay inside their sentence; 。 and line breaks split."""
    text = "Mr. Cooper was hit. The U.S. unit said on Oct. 19 that data leaked.\nカシオは発表した。流出はない。"
    assert sentences(text) == [
        "Mr. Cooper was hit.", "The U.S. unit said on Oct. 19 that data leaked.", "カシオは発表した。", "流出はない。",
    ]  # fmt: skip


def test_words_split_latin_out_of_japanese() -> None:
    """Latin words glued to kana are still words ("jalにddos攻撃")."""
    assert {"jal", "ddos"} <= words("jalにddos攻撃か")


def test_a_denial_in_one_sentence_does_not_reach_the_next() -> None:
    """ "No card data was taken. Names and SSNs were stolen." keeps names and SSNs."""
    found = extract(
        "Retailer breach", "No card data was taken. Names and Social Security numbers were stolen."
    )
    assert found.data == {"names", "government_id"}


def test_empty_and_unrelated_text_give_an_empty_extraction() -> None:
    """Nothing to read gives nothing, not an error."""
    assert extract("").empty
    assert extract("Casio launches new G-SHOCK model", "A titanium case.").empty
