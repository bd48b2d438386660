"""The ALMA prompt byte for byte, the language table, and the paper's output cut."""

from __future__ import annotations

import pytest

from alma_core.languages import LANGUAGES, UnknownLanguageError, language_name, parse_pair
from alma_core.prompts import PROMPT_TEMPLATE, build_prompt, clean_output


@pytest.mark.parametrize(
    ("src", "tgt", "text", "expected"),
    [
        ("de", "en", "Das Haus ist groß.",
         b"Translate this from German to English:\nGerman: Das Haus ist gro\xc3\x9f.\nEnglish:"),
        ("en", "de", "The house is big.",
         b"Translate this from English to German:\nEnglish: The house is big.\nGerman:"),
        ("cs", "en", "Dobr\u00fd den",
         b"Translate this from Czech to English:\nCzech: Dobr\xc3\xbd den\nEnglish:"),
        ("en", "zh", "Hello",
         b"Translate this from English to Chinese:\nEnglish: Hello\nChinese:"),
        ("is", "en", "G\u00f3\u00f0an dag",
         b"Translate this from Icelandic to English:\nIcelandic: G\xc3\xb3\xc3\xb0an dag\nEnglish:"),
        ("en", "ru", "Good morning",
         b"Translate this from English to Russian:\nEnglish: Good morning\nRussian:"),
    ],
)
def test_build_prompt_is_byte_exact(src, tgt, text, expected):
    assert build_prompt(src, tgt, text).encode("utf-8") == expected


def test_template_uses_to_and_no_trailing_space():
    prompt = build_prompt("de", "en", "x")
    assert " to English:" in prompt and " into " not in prompt
    assert prompt.endswith("\nEnglish:") and not prompt.endswith(" ")
    assert PROMPT_TEMPLATE.count("\n") == 2


def test_language_table_covers_required_codes():
    for code in "en de cs is zh ru fr ja uk es it pt nl pl".split():
        assert LANGUAGES[code]
    assert language_name("zh") == "Chinese"
    with pytest.raises(UnknownLanguageError, match="'xx'"):
        build_prompt("xx", "en", "hi")
    assert parse_pair("de-en") == ("de", "en")
    for bad in ("de", "de-de", "de-xx", "de-en-fr"):
        with pytest.raises(UnknownLanguageError):
            parse_pair(bad)


def test_clean_output_cuts_after_the_prompts_last_marker():
    prompt = build_prompt("de", "en", "Das Haus ist groß.")
    # The prompt's first line also ends in "English:", and a rambling model may repeat the pattern.
    decoded = prompt + " The house is big.\nGerman: Der Hund.\nEnglish: The dog."
    assert clean_output(decoded, "en") == "The house is big."
    assert clean_output(prompt + "\n\n  The house.  \n", "en") == "The house."
    assert clean_output(" The house is big.\nEnglish: more", "en") == "The house is big."
    assert clean_output(prompt, "en") == ""
    assert clean_output("\n\n", "en") == ""


def test_clean_output_on_real_model_output(default_llama):
    prompt = build_prompt("de", "en", "Das Haus ist groß.")
    result = default_llama.create_completion(prompt, max_tokens=32, temperature=0.0, top_k=1)
    continuation = result["choices"][0]["text"]
    expected_line = next(line.strip() for line in continuation.splitlines() if line.strip())
    # Continuation alone (as llama.cpp returns it) and prompt + continuation (as HF decodes it).
    assert clean_output(continuation, "en") == expected_line
    assert clean_output(prompt + continuation, "en") == expected_line
    assert "\n" not in expected_line and expected_line


def test_output_token_limit_bounds_runaway_outputs_by_source_length():
    from alma_core.prompts import OUTPUT_LENGTH_SLACK, output_token_limit

    assert output_token_limit(5, 256) == 3 * 5 + OUTPUT_LENGTH_SLACK  # a short UI string: 31 tokens
    assert output_token_limit(200, 256) == 256  # never past max_new_tokens
    assert output_token_limit(5, 256, factor=0) == 256  # the paper's decoding: max_new_tokens only
    assert output_token_limit(0, 256) == OUTPUT_LENGTH_SLACK and output_token_limit(0, 8) == 8
