"""Sentence splitting: the pieces join back to the input exactly, and cut where sentences end."""

from __future__ import annotations

import pytest

from desktop.engine import split_segments


def sentences(text: str) -> list[str]:
    return [s.text for s in split_segments(text) if s.translatable]


@pytest.mark.parametrize(
    "text",
    [
        "Das Haus ist groß. Der Garten ist schön.",
        "  Eingerückt.\n\n\tMit Tab!  Und Leerzeichen?   \n",
        "Zeile eins\r\nZeile zwei\r\n",
        "我爱你。你好吗？ 好",
        "",
        "   \n\n ",
        "- Punkt eins\n- Punkt zwei\n",
        'Er sagte: "Ja." Dann ging er.',
    ],
)
def test_segments_join_back_to_the_input(text):
    assert "".join(s.text for s in split_segments(text)) == text


def test_sentences_are_cut_at_sentence_ends():
    assert sentences("Das Haus ist groß. Der Garten ist schön! Wo ist er? Hier…  Ja.") == [
        "Das Haus ist groß.", "Der Garten ist schön!", "Wo ist er?", "Hier…", "Ja.",
    ]


def test_line_breaks_and_indentation_are_kept_outside_the_sentences():
    segments = split_segments("  Erste Zeile.\n\n    Zweite Zeile.  ")
    assert [(s.text, s.translatable) for s in segments] == [
        ("  ", False), ("Erste Zeile.", True), ("\n\n    ", False), ("Zweite Zeile.", True), ("  ", False),
    ]


def test_abbreviations_initials_and_ordinals_do_not_end_a_sentence():
    assert sentences("Dr. Müller kam am 1. Mai, z. B. heute. Er sah J. Smith.") == [
        "Dr. Müller kam am 1. Mai, z. B. heute.", "Er sah J. Smith.",
    ]
    assert sentences("Das war 1990. Dann kam er.") == ["Das war 1990.", "Dann kam er."]


def test_closing_quotes_stay_with_their_sentence():
    assert sentences('Er sagte: "Ja." Dann ging er.') == ['Er sagte: "Ja."', "Dann ging er."]


def test_cjk_full_stops_cut_without_spaces():
    assert sentences("我爱你。你好吗？") == ["我爱你。", "你好吗？"]


def test_text_without_letters_is_kept_not_translated():
    assert [(s.text, s.translatable) for s in split_segments("---\n42\n•")] == [
        ("---", False), ("\n", False), ("42", False), ("\n", False), ("•", False),
    ]
