"""alma-train add-language: one adapter per language, trained over a bundle base's kept vocabulary, with its
manifest entry; a tiny random Gemma 3 with the real tokenizer and the real catalogs' data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from alma_train.add_language import ENTRY_FILE, add_language
from alma_train.cli import main
from alma_train.data.demo_data import build_parallel
from alma_train.train.config import ConfigError

# Hiragana and katakana: a base whose vocabulary lacks them cannot carry a Japanese adapter.
_KANA = re.compile(r"[\u3040-\u30ff]")


@pytest.fixture(scope="module")
def tiny_gemma3(tmp_path_factory) -> Path:
    from base_exports import base_hf_export
    from tiny_model import build_tiny_gemma3

    return build_tiny_gemma3(tmp_path_factory.mktemp("tiny-gemma3") / "model", base_hf_export("gemma3-270m"))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    build_parallel(root / "parallel", languages=["fr", "ja"], max_train_pairs_per_source=8, heldout_pairs=16)
    return root


def _bundle(folder: Path, model_dir: Path, drop=lambda text: False) -> Path:
    """A bundle folder whose base GGUF carries the vocabulary of `model_dir` less the tokens `drop` names
    (a trimmed base keeps no old ids, only its tokens: that is all add-language reads of it)."""
    import gguf

    from convert.kept_vocab import hf_vocabulary

    vocabulary = hf_vocabulary(model_dir)
    kept = [(text, kind) for text, kind in zip(vocabulary.tokens, vocabulary.types, strict=True) if not drop(text)]
    folder.mkdir(parents=True)
    writer = gguf.GGUFWriter(folder / "base.gguf", arch="gemma3")
    writer.add_tokenizer_model("llama")
    writer.add_token_list([text for text, _ in kept])
    writer.add_token_types([kind for _, kind in kept])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    manifest = {"format": "alma-bundle/1", "name": folder.stem,
                "base": {"file": "base.gguf", "sha256": "0" * 64, "architecture": "gemma3"}, "adapters": []}
    (folder / "bundle.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_add_language_trains_one_adapter_over_the_bundle_base_vocabulary(tiny_gemma3, data, tmp_path):
    bundle = _bundle(tmp_path / "t.bundle", tiny_gemma3, drop=lambda text: bool(_KANA.search(text)))
    output = tmp_path / "fr-adapter"
    entry = add_language("fr", output, base=str(tiny_gemma3), bundle=bundle, data_dir=data, max_steps=2,
                         eval_limit=2)
    summary = json.loads((output / "run_summary.json").read_text())
    assert summary["global_step"] == 2 and summary["finetune"] == "lora"
    assert summary["config"]["pairs"] == ["fr-en"] and summary["config"]["both_directions"] is True
    assert summary["config"]["valid_files"] == ["parallel/fr-en/heldout-valid.jsonl"]
    # The loss ran over the bundle base's tokens, found by text in the training vocabulary.
    kept = summary["kept_vocabulary"]
    assert kept["from"] == str((bundle / "base.gguf").resolve())
    vocab = _vocab(tiny_gemma3)
    assert kept["of"] == len(vocab) and 0 < len(vocab) - kept["kept"] == sum(1 for t in vocab if _KANA.search(t))
    assert (output / "adapter_config.json").is_file()
    # The manifest entry, in bundle.json's shape, written beside the adapter.
    assert json.loads((output / ENTRY_FILE).read_text()) == entry
    assert entry["language"] == "fr" and entry["directions"] == ["fr-en", "en-fr"]
    assert entry["file"] == "adapters/fr.lora.gguf" and entry["sha256"] is None and entry["parent"] is None
    assert entry["alpha"] == 32.0 and entry["trained"]["steps"] == 2 and entry["trained"]["lora_r"] == 16
    assert set(entry["scores"]) == {"fr-en", "en-fr"}
    assert all(s["set"] == "heldout-test" and s["segments"] == 2 and s["chrf"] >= 0 for s in entry["scores"].values())


def _vocab(model_dir: Path) -> list[str]:
    from convert.kept_vocab import hf_vocabulary

    return hf_vocabulary(model_dir).tokens


def test_a_language_the_base_vocabulary_lacks_is_refused_naming_the_token_and_file(tiny_gemma3, data, tmp_path):
    bundle = _bundle(tmp_path / "nokana.bundle", tiny_gemma3, drop=lambda text: bool(_KANA.search(text)))
    with pytest.raises(ConfigError, match=r"of training example \d+ \((en->ja|ja->en).* is not in the kept "
                                          r"vocabulary of .*nokana\.bundle/base\.gguf \(build that base"):
        add_language("ja", tmp_path / "ja-adapter", base=str(tiny_gemma3), bundle=bundle, data_dir=data,
                     max_steps=1, eval_limit=0)
    assert not (tmp_path / "ja-adapter" / "adapter_config.json").exists()


def test_bad_language_or_bundle_is_exit_2_naming_it(tmp_path, capsys):
    assert main(["add-language", "da", "--output", str(tmp_path / "x")]) == 2
    assert "add-language 'da'" in capsys.readouterr().err
    (tmp_path / "b.bundle").mkdir()
    (tmp_path / "b.bundle" / "bundle.json").write_text('{"format": "alma-bundle/1", "base": {}}')
    assert main(["add-language", "fr", "--bundle", str(tmp_path / "b.bundle")]) == 2
    assert "bundle.json: key 'base.file'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_adapter_preset_is_recipe_v6_on_one_language():
    from alma_train.add_language import ADAPTER_PRESET
    from alma_train.train.config import load_config

    adapter = load_config(ADAPTER_PRESET, {"output_dir": "x"}).to_dict()
    v6 = load_config("translator-gemma3-270m", {"output_dir": "x"}).to_dict()
    differ = {key for key in v6 if adapter[key] != v6[key]}
    assert differ == {"pairs", "train_files", "valid_files", "max_steps"}
    assert adapter["restrict_vocab"] and adapter["max_steps"] == 400 and adapter["both_directions"]
    with pytest.raises(ConfigError, match="'kept_vocabulary' needs 'restrict_vocab: true'"):
        load_config(ADAPTER_PRESET, {"output_dir": "x", "kept_vocabulary": "k.json", "restrict_vocab": False})
