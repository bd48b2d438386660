"""The tokenizer import-gguf writes gives llama.cpp's token ids, for both bases (always run, never skipped).

Real text of every supported language (de cs is zh ru, and English) comes from Django's own gettext
catalogs, plus text that is hard for a tokenizer: runs of spaces, tabs and line breaks, emoji,
special-token strings. HF's ids are compared with llama.cpp's tokenizer on the source GGUF:
- with parse_special=True, how our engine tokenizes prompts (llama-cpp-python's create_completion);
- with parse_special=False as well, on text that spells no control token (alma-convert verify and
  the engine's context budget tokenize that way).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from base_exports import base_gguf, base_hf_export

pytestmark = pytest.mark.slow

BASES = ("gemma3-270m", "smollm2-135m")
# Django locale folders of the supported languages (Chinese: the simplified catalog).
DJANGO_LOCALES = {"de": "de", "cs": "cs", "is": "is", "zh": "zh_Hans", "ru": "ru"}
HARD_TEXTS = (
    "two  spaces, three   spaces,    four, and forty" + " " * 40 + "end",
    "  leading spaces",
    "trailing spaces   ",
    " ",
    "\ttab\t\ttabs\t\t\t\tand a mix \t \t of both",
    "line\nbreak\n\nparagraph\n\n\n\nfour, then Windows\r\nline ends\r\n",
    "\n",
    "emoji 🚀 (normal) 😶\u200d🌫️ (joined) ✅ 🦙🦙 👩🏽\u200d💻",
    "Ünïcödé: naïve café, Ærøskøbing, Łódź, Þórsmörk, ½ × ∞",
    "数字 1234567890 和 3.14159，日本語のテキスト、한국어 텍스트",
    "numbers of every kind: 12 345, x² ⅷ ٣٤ ¾",
    "code:\n    def f(x):\n        return x  # four spaces\n",
    "<b>HTML</b> <table><tr><td>cell</td></tr></table>",
)
# Strings of control tokens: parse_special=True turns them into their ids, as HF always does.
SPECIAL_TEXTS = {
    "gemma3-270m": (
        "<start_of_turn>user\nHallo<end_of_turn>\n<start_of_turn>model\n",
        "<bos>x<eos> <pad><mask>",
    ),
    "smollm2-135m": ("<|im_start|>user\nHallo<|im_end|>\n<|im_start|>assistant\n", "<|endoftext|>x"),
}
CONTROL_TOKEN = {"gemma3-270m": ("<start_of_turn>", 105), "smollm2-135m": ("<|im_start|>", 1)}


def django_texts() -> dict[str, list[str]]:
    """Translated strings of each supported language and their English sources, from Django's catalogs."""
    import django
    import polib

    locale = Path(django.__file__).parent / "conf" / "locale"
    texts: dict[str, list[str]] = {"en": []}
    for code, folder in DJANGO_LOCALES.items():
        entries = [e for e in polib.pofile(str(locale / folder / "LC_MESSAGES" / "django.po")) if e.msgstr]
        texts[code] = [e.msgstr for e in entries]
        texts["en"] += [e.msgid for e in entries if e.msgid not in texts["en"]]
    return texts


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    return django_texts()


@pytest.fixture(scope="module", params=BASES)
def base(request):
    """(name, HF tokenizer of the export, llama.cpp vocabulary of the source GGUF, export folder)."""
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    name = request.param
    export = base_hf_export(name)
    llama = Llama(str(base_gguf(name)), vocab_only=True, verbose=False)
    yield name, AutoTokenizer.from_pretrained(export), llama, export
    llama.close()


def _mismatches(tokenizer, llama, texts, special: bool) -> list[str]:
    problems = []
    for text in texts:
        ours = tokenizer.encode(text)
        theirs = llama.tokenize(text.encode("utf-8"), add_bos=True, special=special)
        if ours != theirs:
            problems.append(f"{text[:50]!r}: HF {ours[:10]} vs llama.cpp {theirs[:10]}")
    return problems


def test_real_text_of_every_language_gives_llama_cpp_ids(base, texts):
    name, tokenizer, llama, _ = base
    counts = {}
    for code, lines in texts.items():
        assert len(lines) > 300, code
        problems = _mismatches(tokenizer, llama, lines, special=True)
        problems += _mismatches(tokenizer, llama, lines, special=False)
        assert not problems, (
            f"{name} {code}: {len(problems)} of {len(lines)} lines differ, e.g. {problems[:3]}"
        )
        counts[code] = len(lines)
    print(f"{name}: identical ids on {sum(counts.values())} lines {counts}, parse_special on and off")


def test_whitespace_emoji_and_special_tokens_give_llama_cpp_ids(base):
    name, tokenizer, llama, _ = base
    assert _mismatches(tokenizer, llama, HARD_TEXTS, special=True) == []
    assert _mismatches(tokenizer, llama, HARD_TEXTS, special=False) == []
    assert _mismatches(tokenizer, llama, SPECIAL_TEXTS[name], special=True) == []
    # a control token is matched as such (one id), not spelled out in pieces
    text, token_id = CONTROL_TOKEN[name]
    assert tokenizer.encode(text, add_special_tokens=False) == [token_id]
    assert llama.tokenize(text.encode(), add_bos=False, special=True) == [token_id]


def test_decode_gives_the_text_back(base, texts):
    name, tokenizer, _, _ = base
    for text in [*HARD_TEXTS, *texts["de"][:50], *texts["zh"][:50]]:
        ids = tokenizer.encode(text, add_special_tokens=False)
        assert tokenizer.decode(ids) == text, (name, text)


def test_gemma3_tokenizer_files_are_the_family_standard():
    """tokenizer.model (SentencePiece) + tokenizer.json (BPE, byte fallback, no dummy prefix) + config."""
    import sentencepiece as spm
    from llama_cpp import Llama

    export = base_hf_export("gemma3-270m")
    config = json.loads((export / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "GemmaTokenizer"  # transformers drops "Fast", as HF repos have it
    assert (config["add_bos_token"], config["add_eos_token"]) == (True, False)
    assert config["model_max_length"] == 32768
    assert [config[f"{k}_token"] for k in ("pad", "eos", "bos", "unk")] == [
        "<pad>",
        "<eos>",
        "<bos>",
        "<unk>",
    ]
    decoder = config["added_tokens_decoder"]
    assert decoder["105"] == {**decoder["105"], "content": "<start_of_turn>", "special": True}
    assert decoder["107"] == {**decoder["107"], "content": "\n", "special": False, "normalized": False}
    assert decoder["138"]["content"] == "  " and decoder["255968"]["content"] == "\t"
    assert len(decoder) == 6249 + 165  # every CONTROL and USER_DEFINED token of the GGUF

    spec = json.loads((export / "tokenizer.json").read_text())
    assert spec["model"]["type"] == "BPE" and spec["model"]["byte_fallback"] is True
    assert len(spec["model"]["vocab"]) == 262144
    assert spec["normalizer"] == {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}
    assert [d["type"] for d in spec["decoder"]["decoders"]] == ["Replace", "ByteFallback", "Fuse"]

    # tokenizer.model is a SentencePiece model SentencePiece itself loads, with the GGUF's pieces;
    # encoding with it gives llama.cpp's ids too.
    processor = spm.SentencePieceProcessor(model_file=str(export / "tokenizer.model"))
    llama = Llama(str(base_gguf("gemma3-270m")), vocab_only=True, verbose=False)
    try:
        assert processor.vocab_size() == 262144
        assert (processor.bos_id(), processor.eos_id(), processor.unk_id(), processor.pad_id()) == (
            2,
            1,
            3,
            0,
        )
        assert processor.IdToPiece(236743) == "▁" and processor.IsByte(238) and processor.IsControl(105)
        assert processor.IdToPiece(138) == "▁▁"  # user-defined pieces match escaped text in SentencePiece
        sample = [*HARD_TEXTS, *django_texts()["ru"][:100]]
        for text in sample:
            assert processor.encode(text) == llama.tokenize(text.encode(), add_bos=False, special=False), text
    finally:
        llama.close()


def test_smollm2_tokenizer_files_are_byte_level_bpe():
    """The SmolLM2 export is plain byte-level BPE, so llama.cpp's converter reads it as gpt2/smollm."""
    export = base_hf_export("smollm2-135m")
    spec = json.loads((export / "tokenizer.json").read_text())
    assert spec["model"]["type"] == "BPE" and spec["model"]["byte_fallback"] is False
    # llama.cpp's "smollm" pre-tokenizer: every number character alone, then GPT-2's byte-level split
    assert [p["type"] for p in spec["pre_tokenizer"]["pretokenizers"]] == ["Digits", "ByteLevel"]
    assert spec["decoder"]["type"] == "ByteLevel"
    assert spec["post_processor"] is None  # SmolLM2 adds no BOS
    config = json.loads((export / "tokenizer_config.json").read_text())
    assert (config["add_bos_token"], config["add_prefix_space"]) == (False, False)
    assert "add_eos_token" not in config  # as the source GGUF: it has no tokenizer.ggml.add_eos_token
    assert config["model_max_length"] == 8192  # the GGUF's context length
    assert (config["bos_token"], config["eos_token"]) == ("<|im_start|>", "<|im_end|>")
    assert "<|im_start|>" in (export / "chat_template.jinja").read_text()
    assert not (export / "tokenizer.model").exists()
