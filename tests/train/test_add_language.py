"""alma-train add-language and bundle-add: one adapter per language, trained over a bundle base's kept
vocabulary, with its manifest entry, converted into the bundle; a tiny random Gemma 3 with the real tokenizer
and the real catalogs' data."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from alma_core.bundle import file_sha256, load_bundle
from alma_train.add_language import ENTRY_FILE, add_language
from alma_train.cli import main
from alma_train.train.config import ConfigError

# Hiragana and katakana: a base whose vocabulary lacks them cannot carry a Japanese adapter.
_KANA = re.compile(r"[\u3040-\u30ff]")


@pytest.fixture(scope="module")
def tiny_gemma3_gguf(tiny_gemma3, tmp_path_factory) -> Path:
    """The tiny Gemma 3 as an f16 GGUF (alma-convert): a base llama.cpp loads and an adapter converts against."""
    from convert.cli import main as convert_main

    out = tmp_path_factory.mktemp("tiny-gemma3-gguf") / "tiny-gemma3.f16.gguf"
    assert convert_main([str(tiny_gemma3), "-o", str(out), "--type", "f16"]) == 0
    return out


def _bundle(folder: Path, model_dir: Path, layers_from: Path, drop=lambda text: False) -> Path:
    """A bundle folder whose base GGUF carries the vocabulary of `model_dir` less the tokens `drop` names
    (a trimmed base keeps no old ids, only its tokens: that is all add-language reads of it) and the layer
    tensors of the GGUF `layers_from` (all an adapter is converted against); bundle.json by alma_core.bundle."""
    import gguf
    import numpy as np

    from convert.kept_vocab import hf_vocabulary

    vocabulary = hf_vocabulary(model_dir)
    kept = [(text, kind) for text, kind in zip(vocabulary.tokens, vocabulary.types, strict=True) if not drop(text)]
    folder.mkdir(parents=True)
    layers = gguf.GGUFReader(layers_from)
    writer = gguf.GGUFWriter(folder / "base.gguf", arch="gemma3")
    writer.add_block_count(int(layers.get_field("gemma3.block_count").contents()))
    writer.add_tokenizer_model("llama")
    writer.add_token_list([text for text, _ in kept])
    writer.add_token_types([kind for _, kind in kept])
    for tensor in layers.tensors:
        if tensor.name.startswith("blk."):
            writer.add_tensor(tensor.name, np.array(tensor.data))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return _manifest(folder)


def _manifest(folder: Path) -> Path:
    from alma_core.bundle import Bundle, new_base, write_bundle

    write_bundle(Bundle(name=folder.stem, base=new_base(folder, "base.gguf", "gemma3"), adapters=[], root=folder))
    return folder


@pytest.fixture(scope="module")
def fr_run(tiny_gemma3, tiny_gemma3_gguf, fr_ja_data, tmp_path_factory):
    """add-language fr --bundle (a base without kana), 2 steps: the adapter folder, the entry, the bundle."""
    root = tmp_path_factory.mktemp("fr-run")
    bundle = _bundle(root / "t.bundle", tiny_gemma3, tiny_gemma3_gguf, drop=lambda text: bool(_KANA.search(text)))
    output = root / "fr-adapter"
    entry = add_language("fr", output, base=str(tiny_gemma3), bundle=bundle, data_dir=fr_ja_data, max_steps=2,
                         eval_limit=2)
    return output, entry, bundle


def test_add_language_trains_one_adapter_over_the_bundle_base_vocabulary(tiny_gemma3, fr_run):
    output, entry, bundle = fr_run
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
    # The manifest entry, in bundle.json's shape, written beside the adapter (sha256 null: no GGUF there).
    beside = json.loads((output / ENTRY_FILE).read_text())
    assert beside == {**entry, "sha256": None}
    assert entry["language"] == "fr" and entry["directions"] == ["fr-en", "en-fr"]
    assert entry["file"] == "adapters/fr.lora.gguf" and entry["parent"] is None
    assert entry["alpha"] == 32.0 and entry["trained"]["steps"] == 2 and entry["trained"]["lora_r"] == 16
    assert set(entry["scores"]) == {"fr-en", "en-fr"}
    assert all(s["set"] == "heldout-test" and s["segments"] == 2 and s["chrf"] >= 0 for s in entry["scores"].values())
    # ... and the adapter is in the bundle: an f16 GGUF LoRA converted against its base, its entry in
    # bundle.json (loaded with every sha256 checked).
    from convert.lora_adapter import lora_file_type

    loaded = load_bundle(bundle)
    [added] = loaded.adapters
    assert added.file == "adapters/fr.lora.gguf" and added.sha256 == entry["sha256"]
    assert added.sha256 == file_sha256(bundle / "adapters" / "fr.lora.gguf")
    assert added.directions == ("fr-en", "en-fr") and added.alpha == 32.0 and added.trained == entry["trained"]
    assert {d: s.chrf for d, s in added.scores.items()} == {d: s["chrf"] for d, s in entry["scores"].items()}
    assert lora_file_type(bundle / "adapters" / "fr.lora.gguf") == "f16"
    assert sorted(p.name for p in (bundle / "adapters").iterdir()) == ["fr.lora.gguf"]


def test_bundle_add_puts_an_earlier_adapter_into_a_bundle_llama_cpp_runs(fr_run, tiny_gemma3_gguf, tmp_path,
                                                                         capsys):
    from alma_core.bundle import Bundle, write_bundle
    from alma_train.evaluate.decode import BundleTranslator, DecodingSettings

    output, entry, _ = fr_run
    bundle = tmp_path / "real.bundle"
    bundle.mkdir()
    shutil.copyfile(tiny_gemma3_gguf, bundle / "base.gguf")
    _manifest(bundle)
    assert main(["bundle-add", str(output), "--bundle", str(bundle)]) == 0
    assert "adapters/fr.lora.gguf" in capsys.readouterr().out
    [added] = load_bundle(bundle).adapters
    assert added.sha256 == entry["sha256"]  # the same peft adapter, converted the same way
    # llama.cpp loads it on the bundle's base and translates fr-en with it.
    translator = BundleTranslator(bundle, DecodingSettings(beams=1, max_new_tokens=4, batch_size=1))
    try:
        assert len(translator.translate(["Bonjour"], "fr", "en")) == 1
        assert translator.description["directions"]["fr-en"]["adapter"] == "adapters/fr.lora.gguf"
    finally:
        translator.close()
    # Adding it again replaces the entry (one fr adapter), keeping the parent the bundle recorded.
    loaded = load_bundle(bundle)
    loaded.adapters[0] = type(added)(**{**added.__dict__, "parent": "adapters/fr-v1.lora.gguf"})
    (bundle / "adapters" / "fr-v1.lora.gguf").write_bytes(b"an older adapter")
    write_bundle(Bundle(name=loaded.name, base=loaded.base, adapters=loaded.adapters, root=bundle))
    assert main(["bundle-add", str(output), "--bundle", str(bundle)]) == 0
    [replaced] = load_bundle(bundle).adapters
    assert replaced.parent == "adapters/fr-v1.lora.gguf" and replaced.sha256 == added.sha256
    assert sorted(p.name for p in (bundle / "adapters").iterdir()) == ["fr-v1.lora.gguf", "fr.lora.gguf"]


def test_bundle_add_refuses_bad_input_with_exit_2_and_leaves_the_bundle(fr_run, tmp_path, capsys):
    output, _, bundle = fr_run
    manifest = (bundle / "bundle.json").read_bytes()
    # An adapter folder without its entry.
    assert main(["bundle-add", str(tmp_path), "--bundle", str(bundle)]) == 2
    assert f"{tmp_path / ENTRY_FILE}: no such file" in capsys.readouterr().err
    # An entry whose directions do not involve its language: refused by bundle.json's checks, and the
    # adapter file the bundle had is put back.
    bad = tmp_path / "bad-adapter"
    shutil_copy_adapter(output, bad)
    entry = json.loads((bad / ENTRY_FILE).read_text())
    (bad / ENTRY_FILE).write_text(json.dumps({**entry, "directions": ["de-en"]}))
    before = (bundle / "adapters" / "fr.lora.gguf").read_bytes()
    assert main(["bundle-add", str(bad), "--bundle", str(bundle)]) == 2
    assert "adapters[0].directions: de-en does not involve the adapter's language fr" in capsys.readouterr().err
    assert (bundle / "bundle.json").read_bytes() == manifest
    assert (bundle / "adapters" / "fr.lora.gguf").read_bytes() == before
    assert sorted(p.name for p in (bundle / "adapters").iterdir()) == ["fr.lora.gguf"]
    # A bundle whose base was changed: the adapter is not converted for it.
    copy = tmp_path / "changed.bundle"
    shutil.copytree(bundle, copy)
    with open(copy / "base.gguf", "ab") as handle:
        handle.write(b"\0")
    assert main(["bundle-add", str(output), "--bundle", str(copy)]) == 2
    assert "bundle.json: base.sha256" in capsys.readouterr().err


def shutil_copy_adapter(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("checkpoint-*", "eval"))


def _vocab(model_dir: Path) -> list[str]:
    from convert.kept_vocab import hf_vocabulary

    return hf_vocabulary(model_dir).tokens


def test_a_language_the_base_vocabulary_lacks_is_refused_naming_the_token_and_file(tiny_gemma3, tiny_gemma3_gguf,
                                                                                   fr_ja_data, tmp_path):
    bundle = _bundle(tmp_path / "nokana.bundle", tiny_gemma3, tiny_gemma3_gguf,
                     drop=lambda text: bool(_KANA.search(text)))
    with pytest.raises(ConfigError, match=r"of training example \d+ \((en->ja|ja->en).* is not in the kept "
                                          r"vocabulary of .*nokana\.bundle/base\.gguf \(build that base"):
        add_language("ja", tmp_path / "ja-adapter", base=str(tiny_gemma3), bundle=bundle, data_dir=fr_ja_data,
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


@pytest.mark.timeout(900)
def test_the_models_view_adds_a_language_to_a_bundle_with_alma_train(tiny_gemma3, tiny_gemma3_gguf, fr_ja_data, tmp_path,
                                                                   app_dirs, qtbot):
    """Models view > Add a language…: alma-train add-language in a child process (two steps on the tiny Gemma 3)
    puts the fr adapter into the bundle; the dialog no longer lists fr and the view shows the new adapter."""
    pytest.importorskip("pytestqt")
    from alma_core.languages import DATA_LANGUAGES
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings

    bundle = _bundle(tmp_path / "g.bundle", tiny_gemma3, tiny_gemma3_gguf)
    view = ModelsView(AppSettings())
    qtbot.addWidget(view)
    assert view.add_model(bundle)
    view.add_language_runs_root = tmp_path / "runs"
    view.add_language_args = ("--base", str(tiny_gemma3), "--data-dir", str(fr_ja_data), "--max-steps", "2",
                              "--eval-limit", "0")
    dialog = view.add_language()
    assert dialog.languages() == list(DATA_LANGUAGES)
    dialog.select_language("fr")
    with qtbot.waitSignal(dialog.runFinished, timeout=840_000) as finished:
        assert dialog.start()
    assert finished.args == ["done"], dialog.log_pane.toPlainText()[-3000:]
    assert "fr" not in dialog.languages() and len(dialog.languages()) == 19
    [added] = load_bundle(bundle).adapters  # every sha256 checked
    assert added.file == "adapters/fr.lora.gguf" and added.trained["steps"] == 2
    assert view.fields["adapters"].text().startswith("fr French (fr-en, en-fr): fr.lora.gguf")
    [run_dir] = (tmp_path / "runs").iterdir()
    assert (run_dir / "adapter" / ENTRY_FILE).is_file() and "add-language fr" in (run_dir / "add-language.log").read_text()
