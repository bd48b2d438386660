"""Tuning a bundle (alma_train.bundle_tuning): the run trains the next generation of one language's adapter on
the bundle's base, starting from the current adapter's peft folder, and writes it into the same bundle with its
parent; a merged GGUF keeps the full-copy run. Real parts: the fast test model (SmolLM2-135M) as the base, a
peft LoRA on it converted by `alma-convert lora`, the steps run through alma-train's command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from alma_core.bundle import Bundle, file_sha256, load_bundle, new_adapter, new_base, write_bundle
from alma_core.gguf_file import AlmaKey, read_model_info
from alma_train.cli import main
from convert.lora_adapter import convert_lora
from desktop.engine import TranslationEngine
from desktop.models import tuning

TINY_TRAINING = {"max_steps": 2, "per_device_train_batch_size": 4, "max_source_tokens": 32,
                 "max_target_tokens": 32}


@pytest.fixture
def peft_bundle(tmp_path, default_gguf, default_hf_dir) -> Path:
    """A bundle on the fast model whose de adapter keeps its peft folder (adapters/de.peft) beside its GGUF."""
    from lora_adapters import make_peft_adapter

    root = tmp_path / "mine.bundle"
    (root / "adapters").mkdir(parents=True)
    (root / "base.gguf").symlink_to(default_gguf)
    peft = make_peft_adapter(default_hf_dir, root / "adapters" / "de.peft", seed=3)
    for name in list(peft.iterdir()):  # only the adapter: the trainer writes its own tokenizer copy elsewhere
        if name.name not in ("adapter_config.json", "adapter_model.safetensors"):
            name.unlink()
    convert_lora(peft, default_gguf, root / "adapters" / "de.lora.gguf")
    entry = new_adapter(root, "de", ["de-en", "en-de"], "adapters/de.lora.gguf", 16.0, trained={"steps": 0})
    write_bundle(Bundle("mine", new_base(root, "base.gguf", "llama"), [entry], root))
    return root


def _data(tmp_path: Path, lang: str = "de") -> Path:
    from alma_train.data.demo_data import read_django_pairs

    data = tmp_path / f"django-{lang}.jsonl"
    data.write_text("".join(json.dumps({lang: p.xx, "en": p.en}, ensure_ascii=False) + "\n"
                            for p in read_django_pairs(lang)[:24]), encoding="utf-8")
    return data


def _lora_b(peft_dir: Path) -> dict:
    from safetensors.torch import load_file

    return {name: tensor for name, tensor in load_file(peft_dir / "adapter_model.safetensors").items()
            if "lora_B" in name}


def test_tuning_a_bundle_adds_the_next_adapter_generation_with_its_parent(tmp_path, peft_bundle, capsys):
    parent_file = peft_bundle / "adapters" / "de.lora.gguf"
    parent_sha = file_sha256(parent_file)
    request = tuning.TuningRequest(_data(tmp_path), ["de-en"], base_model=str(peft_bundle),
                                   train_overrides=dict(TINY_TRAINING), eval_limit=2, eval_max_new_tokens=6,
                                   origin="corrections")
    plan = tuning.prepare_run(request, tmp_path / "runs")
    assert [step.name for step in plan.steps] == ["import-gguf", "stage2", "convert-adapter", "evaluate-base",
                                                  "evaluate-tuned", "compare", "finish"]
    assert plan.bundle.adapter == "adapters/de.g1.lora.gguf" and plan.bundle.parent == "adapters/de.lora.gguf"
    assert tuning.load_plan(plan.run_dir).bundle == plan.bundle  # config.yaml records it for resume

    for step in plan.steps:
        code = main(["tune", "step", str(plan.run_dir), step.name])
        assert code == 0, capsys.readouterr().err

    bundle = load_bundle(peft_bundle)  # every sha256 checked
    (entry,) = bundle.adapters
    assert entry.file == "adapters/de.g1.lora.gguf" and entry.parent == "adapters/de.lora.gguf"
    assert entry.directions == ("de-en", "en-de") and entry.alpha == 16.0
    assert entry.trained["origin"] == "corrections" and entry.trained["steps"] == 2
    assert entry.trained["lineage"] == [{"file": "adapters/de.lora.gguf", "sha256": parent_sha, "steps": 0}]
    assert set(entry.scores) == {"de-en", "en-de"} and entry.scores["de-en"].segments == 2
    # The parent stays as it was, so the user can go back; the new adapter is a few MB, not a model copy.
    assert file_sha256(parent_file) == parent_sha
    new_file = peft_bundle / entry.file
    assert new_file.stat().st_size < 10e6 and not list(plan.run_dir.rglob("*.q8_0.gguf"))
    info = read_model_info(new_file)
    assert info[AlmaKey.PARENT] == "adapters/de.lora.gguf" and info[AlmaKey.PARENT_SHA256] == parent_sha
    # Trained from the parent adapter, not from a fresh one (whose lora_B starts at zero): two small steps
    # leave lora_B close to the parent's random values.
    parent_b, new_b = _lora_b(peft_bundle / "adapters" / "de.peft"), _lora_b(peft_bundle / "adapters" / "de.g1.peft")
    assert parent_b.keys() == new_b.keys()
    for name, tensor in new_b.items():
        assert (tensor - parent_b[name]).abs().max() < 0.2 * parent_b[name].abs().max(), name
    assert any(not tensor.equal(parent_b[name]) for name, tensor in new_b.items())

    engine = TranslationEngine(peft_bundle, max_new_tokens=8, cache=False)
    try:
        assert Path(engine.adapter_for("de", "en")).name == "de.g1.lora.gguf"
        assert engine.translate("Speichern", "de", "en").strip()
    finally:
        engine.close()

    # The next run continues this generation, and its lineage would be both.
    again = tuning.build_plan(request, tmp_path / "runs" / "next")
    assert again.bundle.adapter == "adapters/de.g2.lora.gguf" and again.bundle.parent_peft == "adapters/de.g1.peft"
    with pytest.raises(tuning.TuningError, match="this run already finished"):
        tuning.resume_run(plan.run_dir)


def test_bundle_requests_that_cannot_make_one_adapter_are_named(tmp_path, peft_bundle, default_bundle):
    data = _data(tmp_path)
    with pytest.raises(tuning.TuningError, match="one adapter per language <-> English.*de-fr"):
        tuning.build_plan(tuning.TuningRequest(data, ["de-fr"], base_model=str(peft_bundle)), tmp_path / "a")
    with pytest.raises(tuning.TuningError, match="tuned with LoRA"):
        tuning.build_plan(tuning.TuningRequest(data, ["de-en"], base_model=str(peft_bundle), finetune="full"),
                          tmp_path / "b")
    # The tests' default bundle keeps no peft folders: its de adapter cannot be continued, and says why.
    with pytest.raises(tuning.TuningError, match=r"de\.lora\.gguf: no peft folder adapters/de\.peft"):
        tuning.build_plan(tuning.TuningRequest(data, ["de-en"], base_model=str(default_bundle)), tmp_path / "c")
    # A language without an adapter gets a fresh one (generation 1, no parent); its bundle.json is named too.
    plan = tuning.build_plan(tuning.TuningRequest(data, ["en-it"], base_model=str(peft_bundle / "bundle.json")),
                             tmp_path / "d")
    assert (plan.bundle.adapter, plan.bundle.parent, plan.bundle.parent_peft) == ("adapters/it.g1.lora.gguf",
                                                                                    None, None)
    broken = tmp_path / "broken.bundle"
    shutil.copytree(peft_bundle, broken, symlinks=True)
    (broken / "adapters" / "de.lora.gguf").write_bytes(b"changed")
    with pytest.raises(tuning.TuningError, match=r"bundle\.json: adapters\[0\]\.sha256"):
        tuning.build_plan(tuning.TuningRequest(data, ["de-en"], base_model=str(broken)), tmp_path / "e")


def test_a_merged_gguf_keeps_the_full_copy_run(tmp_path, default_gguf):
    plan = tuning.build_plan(tuning.TuningRequest(_data(tmp_path), ["de-en"], base_model=str(default_gguf)),
                             tmp_path / "run")
    assert plan.bundle is None and plan.model_path == plan.final_gguf
    assert "convert-adapter" not in [step.name for step in plan.steps] and "merge" in [s.name for s in plan.steps]


@pytest.mark.timeout(600)
def test_the_tune_view_tunes_the_bundle_in_use_and_loads_it_again(qtbot, tmp_path, peft_bundle, app_dirs):
    """Tune view on the bundle the app translates with: the run adds de.g1 and the Models view asks the window
    to load the bundle again (its engine read bundle.json at load), so the new adapter is used at once."""
    pytest.importorskip("pytestqt")
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings
    from desktop.gui.tune_view import TuneView

    models = ModelsView(AppSettings())
    qtbot.addWidget(models)
    assert models.add_model(peft_bundle)
    models.set_active(peft_bundle)
    view = TuneView(models)
    qtbot.addWidget(view)
    view.runs_root = tmp_path / "runs"
    assert view.set_data_file(_data(tmp_path))
    view.base_edit.setText(str(peft_bundle))
    view.train_overrides = dict(TINY_TRAINING)
    view.eval_limit, view.eval_max_new_tokens = 2, 8
    requested = []
    models.activateRequested.connect(requested.append)
    with qtbot.waitSignal(view.runFinished, timeout=540_000) as finished:
        view.start()
    assert finished.args == ["done"], view.log_pane.toPlainText()[-3000:]
    assert load_bundle(peft_bundle).adapters[0].file == "adapters/de.g1.lora.gguf"
    assert [spec.path for spec in requested] == [peft_bundle.resolve()]
