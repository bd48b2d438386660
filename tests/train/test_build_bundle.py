"""alma-train build-translator --bundle (`make model`) end to end on the tiny Gemma 3 (real tokenizer, real catalog
data for French and Spanish): every step runs, the installed bundle loads and llama.cpp translates with each
adapter, the scores are in bundle.json, a failed run resumes without training a finished adapter again, and the
bundle is the default model.

The real build (Gemma 3 270M, all twenty languages' vocabulary, the paper five's adapters) is `make model`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from alma_core.bundle import load_bundle
from alma_core.gguf_file import read_model_info
from alma_core.models import (
    default_translator_bundle_path,
    default_translator_path,
    resolve_translation_model,
)
from alma_train.cli import main
from desktop.engine import TranslationEngine


@pytest.fixture(scope="module")
def fr_es_data(tmp_path_factory) -> Path:
    """Two languages whose BLEU needs no extra tokenizer (Japanese's needs MeCab)."""
    from alma_train.data.demo_data import build_parallel

    root = tmp_path_factory.mktemp("data")
    build_parallel(root / "parallel", languages=["fr", "es"], max_train_pairs_per_source=8, heldout_pairs=16)
    return root


def _build(tiny_gemma3: Path, data: Path, work: Path, capsys) -> tuple[int, str, str]:
    rc = main(["build-translator", "--bundle", "--base", str(tiny_gemma3), "--work-dir", str(work),
               "--data-dir", str(data), "--languages", "fr,es", "--adapter-languages", "fr,es", "--max-steps", "2",
               "--eval-limit", "2", "--eval-max-new-tokens", "6"])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_bundle_build_resumes_after_a_failed_adapter_and_installs_the_default_bundle(tiny_gemma3, fr_es_data,
                                                                                     tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "user"))
    monkeypatch.delenv("ALMA_LOCAL_DEFAULT_MODEL", raising=False)
    data, work = tmp_path / "data", tmp_path / "work"
    shutil.copytree(fr_es_data, data)
    # A real bad input that stops the build at the second adapter: Spanish's validation file is not JSON.
    valid = data / "parallel" / "es-en" / "heldout-valid.jsonl"
    good = valid.read_text(encoding="utf-8")
    valid.write_text("not json\n" + good, encoding="utf-8")
    rc, _, stderr = _build(tiny_gemma3, data, work, capsys)
    assert rc == 2
    assert f"{valid}:1: not valid JSON" in stderr
    for line in ("step 3/8 kept", "kept vocabulary:", "step 5/8 trim", "adapter 1/2 fr: training",
                 "adapter 2/2 es: training"):
        assert line in stderr
    state = json.loads((work / "build-state.json").read_text())
    assert list(state["done"]) == ["data", "base", "kept", "convert", "trim"]
    staging = work / "staging.bundle"
    assert load_bundle(staging).languages == ["fr"]  # the finished adapter stays in the staging bundle
    fr_adapter = staging / "adapters" / "fr.lora.gguf"
    fr_stat = fr_adapter.stat()
    installed = default_translator_bundle_path()
    assert not installed.exists()  # nothing installed from a failed build

    valid.write_text(good, encoding="utf-8")
    rc, stdout, stderr = _build(tiny_gemma3, data, work, capsys)
    assert rc == 0, stderr
    assert stdout.strip().splitlines()[-1] == str(installed)  # the path is the last line printed
    for line in ("step 5/8 trim: done in an earlier run", "adapter 1/2 fr: in the bundle from an earlier run",
                 "adapter 2/2 es: training", "step 7/8 evaluate", "step 8/8 install", "finished: out-of-source"):
        assert line in stderr
    assert "adapter 1/2 fr: training" not in stderr
    assert fr_adapter.stat().st_mtime_ns == fr_stat.st_mtime_ns  # not trained or converted again

    bundle = load_bundle(installed)  # every file present, every sha256 as recorded
    assert bundle.name == "default-translator" and bundle.languages == ["fr", "es"]
    assert [a.directions for a in bundle.adapters] == [("fr-en", "en-fr"), ("es-en", "en-es")]
    for adapter in bundle.adapters:
        assert adapter.trained["steps"] == 2
        # The build's own evaluation: each direction's out-of-source score, 2 segments.
        assert set(adapter.scores) == set(adapter.directions)
        assert all(s.set == "heldout-test" and s.segments == 2 and 0 <= s.chrf <= 100 for s in adapter.scores.values())
        # The peft folder beside it: what the Tune view continues from.
        peft = installed / adapter.file.replace(".lora.gguf", ".peft")
        assert sorted(p.name for p in peft.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
    report = json.loads((work / "eval" / "out-of-source.json").read_text())
    assert {d: round(r["chrf"], 2) for d, r in report["directions"].items()} == {
        d: s.chrf for a in bundle.adapters for d, s in a.scores.items()}
    # The base: q8_0, trimmed to the kept set chosen on both languages' data.
    kept = json.loads((work / "kept_tokens.json").read_text())
    assert kept["languages"] == ["fr", "es"] and kept["of"] == 262144 and kept["kept"] < kept["of"]
    base_info = read_model_info(bundle.base_path)
    trimmed = json.loads(base_info["alma.vocab_trimmed"])
    assert (trimmed["kept"], trimmed["of"]) == (kept["kept"], kept["of"])
    assert base_info["alma.base"] == "model" and base_info["alma.licence"] == "see the base model's own licence"
    assert not list(installed.parent.glob(".default-translator.bundle*"))  # no staging folder left beside it

    # The default model is the bundle, also when a merged GGUF is there too.
    default_translator_path().write_bytes(b"GGUF")
    choice = resolve_translation_model()
    assert (choice.path, choice.origin) == (installed.resolve(), "built")
    # llama.cpp translates with each adapter on the one base.
    engine = TranslationEngine(installed, n_threads=2, max_new_tokens=4, cache=False)
    try:
        for src, tgt, text, adapter in ("fr", "en", "Bonjour", "fr"), ("en", "es", "Hello", "es"):
            assert isinstance(engine.translate(text, src, tgt), str)
            assert engine._model.active_adapter.name == f"{adapter}.lora.gguf"
    finally:
        engine.close()

    # A third run finds every step done and leaves the installed bundle as it is.
    manifest = (installed / "bundle.json").read_bytes()
    rc, _, stderr = _build(tiny_gemma3, data, work, capsys)
    assert rc == 0 and "step 8/8 install: done in an earlier run" in stderr
    assert (installed / "bundle.json").read_bytes() == manifest


def test_bundle_build_refuses_bad_options_before_any_work(tiny_gemma3, fr_es_data, tmp_path, capsys):
    work = tmp_path / "work"
    for argv, message in (
        (["--adapter-languages", "fr,es", "--languages", "fr"], "--adapter-languages es: not in --languages"),
        (["--languages", "fr,xx"], "languages xx"),
        (["--adapter-languages", "en", "--languages", "fr"], "languages en: demo-data builds"),
        (["--output", str(tmp_path / "mine")], "a bundle folder's name ends in .bundle"),
        (["--no-trim-vocab"], "a bundle's base is always trimmed"),
    ):
        assert main(["build-translator", "--bundle", "--base", str(tiny_gemma3), "--work-dir", str(work),
                     "--data-dir", str(fr_es_data), *argv]) == 2
        assert message in capsys.readouterr().err
    # Prepared data must hold every language's training split (the base's vocabulary is chosen on it).
    assert main(["build-translator", "--bundle", "--base", str(tiny_gemma3), "--work-dir", str(work),
                 "--data-dir", str(fr_es_data), "--languages", "fr,es,de", "--adapter-languages", "fr"]) == 2
    assert f"no {fr_es_data / 'parallel/de-en/train.jsonl'}" in capsys.readouterr().err
    assert main(["build-translator", "--languages", "fr"]) == 2
    assert "add --bundle" in capsys.readouterr().err
    assert not (work / "staging.bundle").exists()
