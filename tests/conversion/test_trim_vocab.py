"""Vocabulary trimming on the real Gemma 3 270M GGUF (its 262k-token vocabulary) with real Django pairs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

llama_cpp = pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def gemma_gguf() -> Path:
    from alma_core.models import get_base

    return get_base("gemma3-270m").gguf_path()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """train.jsonl of 300 German/English pairs, and a test.jsonl of 100 others (never read by the trim)."""
    from alma_train.data.demo_data import read_django_pairs

    pairs = read_django_pairs("de")
    folder = tmp_path_factory.mktemp("trim-data") / "parallel" / "de-en"
    folder.mkdir(parents=True)
    for name, rows in (("train.jsonl", pairs[:300]), ("test.jsonl", pairs[300:400])):
        with (folder / name).open("w", encoding="utf-8") as handle:
            for pair in rows:
                handle.write(json.dumps({"de": pair.xx, "en": pair.en}, ensure_ascii=False) + "\n")
    return folder.parent.parent


@pytest.fixture(scope="module")
def trimmed(gemma_gguf, data, tmp_path_factory) -> Path:
    from convert.trim_vocab import trim_model

    output = tmp_path_factory.mktemp("trimmed") / "gemma-trimmed.gguf"
    result = trim_model(gemma_gguf, output, [data], ["de", "en"], keep_top=2000)
    assert result.kept < result.total // 4 and result.bytes_after < result.bytes_before * 0.6
    return output


def vocab(path: Path):
    return llama_cpp.Llama(str(path), vocab_only=True, verbose=False)


def pieces(model, text: str) -> list[bytes]:
    return [model.detokenize([token]) for token in model.tokenize(text.encode(), add_bos=False)]


def rows(path: Path) -> list[str]:
    return [value for line in path.read_text(encoding="utf-8").splitlines()
            for value in json.loads(line).values()]


def test_text_of_the_data_tokenizes_exactly_as_before(gemma_gguf, trimmed, data):
    full, small = vocab(gemma_gguf), vocab(trimmed)
    texts = rows(data / "parallel" / "de-en" / "train.jsonl")
    assert len(texts) == 600
    for text in texts:
        assert pieces(small, text) == pieces(full, text), text


def test_any_text_still_tokenizes_and_round_trips(gemma_gguf, trimmed, data):
    """Lines the trim never saw (another split, other scripts, emoji) tokenize with no unknown token and
    detokenize back to themselves; the special tokens keep their meaning."""
    import gguf

    small, full = vocab(trimmed), vocab(gemma_gguf)

    reader = gguf.GGUFReader(trimmed)
    unknown = int(reader.get_field("tokenizer.ggml.unknown_token_id").contents())
    lines = [*rows(data / "parallel" / "de-en" / "test.jsonl"),
             "Быстрая коричневая лиса", "快速的棕色狐狸", "Þetta er prófun 🦊", "tabs\tand  spaces\n\nend"]
    for line in lines:
        tokens = small.tokenize(line.encode(), add_bos=False)
        assert unknown not in tokens, line
        assert small.detokenize(tokens).decode() == line
    assert small.detokenize([small.token_bos()]) == full.detokenize([full.token_bos()])
    assert small.detokenize([small.token_eos()]) == full.detokenize([full.token_eos()])
    kept = json.loads(reader.get_field("alma.vocab_trimmed").contents())
    assert kept["kept"] == len(reader.get_field("tokenizer.ggml.tokens").data) and kept["of"] == 262144


def test_the_kept_logits_are_the_untrimmed_models(gemma_gguf, trimmed, data):
    """Same prompt, same tokens: the trimmed model's logits are the full model's at the kept ids."""
    import gguf

    from alma_core.prompts import build_prompt
    from desktop.engine.side_context import SideContext

    prompt = build_prompt("de", "en", rows(data / "parallel" / "de-en" / "train.jsonl")[40])

    def last_logits(path: Path):
        """The logits after the prompt, read through llama.cpp's batch API (desktop's own path)."""
        llama = llama_cpp.Llama(str(path), n_ctx=256, n_threads=2, verbose=False)
        side = SideContext(llama, n_ctx=256, n_seq_max=1, n_threads=2)
        try:
            ids = side.prompt_tokens(prompt)
            side.decode([(token, i, 0, i == len(ids) - 1) for i, token in enumerate(ids)])
            return [llama.detokenize([t]) for t in ids], np.array(side.logits(len(ids) - 1))
        finally:
            side.close()
            llama.close()

    pieces_full, logits_full = last_logits(gemma_gguf)
    pieces_small, logits_small = last_logits(trimmed)
    assert pieces_full == pieces_small
    assert np.abs(logits_full).max() > 1  # real logits, not an empty buffer
    tokens_full = [bytes(p).decode("utf-8", "replace") for p in
                   _strings(gguf.GGUFReader(gemma_gguf), "tokenizer.ggml.tokens")]
    tokens_small = _strings(gguf.GGUFReader(trimmed), "tokenizer.ggml.tokens")
    index = {text: i for i, text in enumerate(tokens_full)}
    kept = np.array([index[bytes(text).decode("utf-8", "replace")] for text in tokens_small])
    np.testing.assert_allclose(logits_small, logits_full[kept], rtol=1e-3, atol=1e-2)


def _strings(reader, key: str) -> list:
    field = reader.get_field(key)
    return [field.parts[i] for i in field.data]


def test_cli_trims_and_names_bad_input(gemma_gguf, data, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train.jsonl").write_text('{"de": "ok", "en": "ok"}\n{not json\n', encoding="utf-8")
    command = [sys.executable, "-m", "convert.cli", "trim-vocab", str(gemma_gguf), "--output", str(tmp_path / "o.gguf")]
    result = subprocess.run([*command, "--data", str(bad)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and f"{bad / 'train.jsonl'}:2: not JSON" in result.stderr
    assert not (tmp_path / "o.gguf").exists()
    result = subprocess.run([*command, "--data", str(tmp_path / "none")], capture_output=True, text=True)
    assert result.returncode == 2 and "none: no such file or folder" in result.stderr
    result = subprocess.run([*command, "--data", str(data), "--languages", "de,xx"], capture_output=True, text=True)
    assert result.returncode == 2 and "--languages" in result.stderr and "xx" in result.stderr


def test_training_chooses_the_very_tokens_the_trim_keeps(gemma_gguf, trimmed, data):
    """restrict_vocab's choice (the HF export's vocabulary and fast tokenizer) is the trim's (the GGUF's
    vocabulary and llama.cpp's tokenizer) on the same data: one function, the same ids."""
    import gguf
    from base_exports import base_hf_export

    from alma_train.train.tokenizer import load_tokenizer
    from convert.kept_vocab import data_texts, hf_vocabulary, kept_token_ids, prompt_texts

    hf_dir = base_hf_export("gemma3-270m")
    tokenizer = load_tokenizer(hf_dir)
    texts = [*prompt_texts(["de", "en"]), *data_texts([data])]
    chosen = kept_token_ids(hf_vocabulary(hf_dir), texts,
                            lambda chunk: tokenizer(chunk, add_special_tokens=False)["input_ids"], keep_top=2000)
    tokens_full = [bytes(p) for p in _strings(gguf.GGUFReader(gemma_gguf), "tokenizer.ggml.tokens")]
    index = {text: i for i, text in enumerate(tokens_full)}
    trimmed_ids = sorted(index[bytes(p)] for p in _strings(gguf.GGUFReader(trimmed), "tokenizer.ggml.tokens"))
    assert chosen == trimmed_ids


def test_the_build_trims_to_exactly_the_set_stage_2_trained_over(gemma_gguf, data, tmp_path):
    """build-translator's trim step, given stage 2's kept_tokens.json ids, keeps those ids and no others
    (not a set chosen again on the data)."""
    import gguf

    from alma_train.build_translator import _trim
    from alma_train.pipeline import Progress

    trained_on = sorted(set(range(0, 262144, 5)) | {0, 1, 2, 3})
    said: list[str] = []
    result = _trim(gemma_gguf, tmp_path / "t.gguf", data, ["de-en", "en-de"], True, Progress("t", said.append),
                   trained_on)
    assert result["kept"] == len(trained_on) and result["of"] == 262144
    tokens_full = [bytes(p) for p in _strings(gguf.GGUFReader(gemma_gguf), "tokenizer.ggml.tokens")]
    tokens_trimmed = [bytes(p) for p in _strings(gguf.GGUFReader(tmp_path / "t.gguf"), "tokenizer.ggml.tokens")]
    assert tokens_trimmed == [tokens_full[i] for i in trained_on]
