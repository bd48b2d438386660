"""On-device tuning: the plan (desktop.models.tuning, and what alma_train.tune makes of it) and the Tune view.

The plan tests check what "default" tunes (the model the app translates with: a built translator
through import-gguf, else the best base by name) and every other kind of base. The GUI tests run the
real pipeline (`alma-train tune step` for stage2 -> merge -> convert -> evaluate -> compare -> finish, as
child processes) on the base smollm2-135m, named as a user types it, with a small real TMX of Django's
German UI translations and tiny step counts, so that a run takes about a minute on a 2-core CPU.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from desktop.models import tuning

RUN_TIMEOUT_MS = 240_000
FAST_BASE = "smollm2-135m"  # the fast test model, by its base name
TINY_TRAINING = {"max_steps": 2, "per_device_train_batch_size": 4, "max_source_tokens": 32,
                 "max_target_tokens": 32}


pytestmark = pytest.mark.usefixtures("app_dirs")  # QSettings and the user data dir (tuning runs, cache) in tmp_path


@pytest.fixture(scope="module")
def django_tmx(tmp_path_factory) -> Path:
    """A real TMX (as a CAT tool exports it) of 40 German/English pairs from Django's catalogs."""
    from alma_train.data.demo_data import read_django_pairs

    pairs = read_django_pairs("de")[:40]
    units = "".join(
        f'  <tu><tuv xml:lang="de-DE"><seg>{escape(p.xx)}</seg></tuv>'
        f'<tuv xml:lang="en-US"><seg>{escape(p.en)}</seg></tuv></tu>\n' for p in pairs)
    path = tmp_path_factory.mktemp("tmx") / "django-de.tmx"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4">\n'
                    '<header srclang="en-US" datatype="plaintext" segtype="sentence" adminlang="en" '
                    'creationtool="test" creationtoolversion="1" o-tmf="none"/>\n'
                    f"<body>\n{units}</body>\n</tmx>\n", encoding="utf-8")
    return path


# --- desktop.models.tuning, no Qt ---------------------------------------------------------------------------
def test_pairs_are_detected_in_every_format(tmp_path, django_tmx):
    import polib

    assert tuning.detect_pairs(django_tmx) == ["de-en"]

    tsv = tmp_path / "memory.tsv"
    tsv.write_text("en\tcs\nSave\tUložit\nDelete\tSmazat\n", encoding="utf-8")
    assert tuning.detect_pairs(tsv) == ["cs-en"]

    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text('{"de": "Ja", "en": "Yes", "zh": "是"}\n{"de": "Nein", "en": "No"}\n', encoding="utf-8")
    assert tuning.detect_languages(jsonl) == ["de", "en", "zh"]
    assert tuning.detect_pairs(jsonl) == ["de-en", "zh-en"]

    catalog = polib.POFile()
    catalog.metadata = {"Language": "ru", "Content-Type": "text/plain; charset=UTF-8"}
    catalog.append(polib.POEntry(msgid="Save", msgstr="Сохранить"))
    po = tmp_path / "django.po"
    catalog.save(str(po))
    assert tuning.detect_pairs(po) == ["ru-en"]

    no_en = tmp_path / "de-cs.tsv"
    no_en.write_text("de\tcs\nJa\tAno\n", encoding="utf-8")
    assert tuning.detect_pairs(no_en) == ["cs-de"]

    with pytest.raises(tuning.TuningError, match="notes.txt: not a TMX"):
        tuning.detect_pairs(tmp_path / "notes.txt")
    with pytest.raises(tuning.TuningError, match="language pair 'de-xx'"):
        tuning.parse_pairs("de-en, de-xx")


def test_heldout_split_is_deterministic_disjoint_and_order_free(django_tmx):
    records = tuning.read_data(django_tmx)
    train, heldout = tuning.split_heldout(records, ["de-en"], heldout_fraction=0.1)
    assert (len(train), len(heldout)) == (36, 4)
    assert tuning.split_heldout(records, ["de-en"], 0.1) == (train, heldout)
    shuffled_train, shuffled_heldout = tuning.split_heldout(list(reversed(records)), ["de-en"], 0.1)
    assert sorted(map(json.dumps, shuffled_heldout)) == sorted(map(json.dumps, heldout))
    keys = {json.dumps(row, sort_keys=True) for row in train}
    assert not keys & {json.dumps(row, sort_keys=True) for row in heldout}
    assert all(set(row) == {"de", "en"} for row in train + heldout)


def test_plan_commands_for_each_base_and_mode(tmp_path, django_tmx, default_gguf, default_hf_dir):
    from alma_train.tune import TuneRun, stage2_settings

    request = tuning.TuningRequest(django_tmx, ["de-en"], base_model=FAST_BASE, train_overrides={"max_steps": 2},
                                   eval_limit=4)
    plan = tuning.build_plan(request, tmp_path / "run")
    assert [s.name for s in plan.steps] == ["stage2", "merge", "convert", "evaluate-base", "evaluate-tuned",
                                            "compare", "finish"]
    for step in plan.steps:  # every step is one `alma-train tune step` of this run folder
        assert step.args == ["-m", "alma_train.cli", "tune", "step", str(plan.run_dir), step.name]
    preset, stage2 = stage2_settings(plan)
    assert preset == "demo-stage2"
    assert stage2["max_steps"] == 2
    assert stage2["pairs"] == ["de-en"]
    assert stage2["model"] == FAST_BASE  # alma-train exports the base itself
    assert plan.hf_base == FAST_BASE  # what merge takes as --base too
    assert plan.base_gguf == default_gguf
    assert TuneRun(plan).directions == "de-en,en-de"  # the converted model's language pairs
    assert plan.candidate_gguf.parent != plan.final_gguf.parent  # moved into place only at the end
    assert plan.command(plan.steps[0])[0] == sys.executable  # the app's own interpreter, not a PATH lookup

    # A base's own GGUF, picked as a file, is that base: no import step.
    picked = tuning.build_plan(tuning.TuningRequest(django_tmx, ["de-en"], base_model=str(default_gguf)),
                               tmp_path / "run1")
    assert picked.steps[0].name == "stage2" and picked.base_gguf == default_gguf
    assert stage2_settings(picked)[1]["model"] == FAST_BASE

    other = tmp_path / "someone-elses.gguf"
    shutil.copyfile(default_gguf, other)
    full = tuning.build_plan(tuning.TuningRequest(django_tmx, ["de-en"], base_model=str(other),
                                                  finetune="full", preset="workstation", quant="q4_k_m"),
                             tmp_path / "run2")
    assert [s.name for s in full.steps] == ["import-gguf", "stage2", "convert", "evaluate-base",
                                            "evaluate-tuned", "compare", "finish"]
    assert full.base_gguf == other.resolve()  # what import-gguf imports
    assert stage2_settings(full)[0] == "alma-7b-stage2-full"
    assert stage2_settings(full)[1]["model"] == full.hf_base == str(full.run_dir / "work" / "base-hf")
    assert full.final_gguf.name.endswith(".q4_k_m.gguf")

    hf = tuning.build_plan(tuning.TuningRequest(django_tmx, ["de-en"], base_model=str(default_hf_dir)),
                           tmp_path / "run3")
    assert [s.name for s in hf.steps][:2] == ["convert-base", "stage2"]

    with pytest.raises(tuning.TuningError, match="not an HF model folder"):
        tuning.build_plan(tuning.TuningRequest(django_tmx, ["de-en"], base_model=str(tmp_path)), tmp_path / "x")
    with pytest.raises(tuning.TuningError, match="quantization"):
        tuning.build_plan(tuning.TuningRequest(django_tmx, ["de-en"], quant="q2"), tmp_path / "x")


def test_default_tunes_the_model_the_app_translates_with(tmp_path, django_tmx, default_gguf, app_default_gguf):
    """"default" is resolve_translation_model()'s choice: the best base by name when nothing is built,
    the built translator (a GGUF, imported to HF first) once `make model` has put one in place."""
    from alma_core.models import default_translator_path
    from alma_train.tune import stage2_settings
    from desktop.engine import read_model_info
    from desktop.models.card import base_of_gguf

    request = tuning.TuningRequest(django_tmx, ["de-en"])
    assert request.base_model == "default"
    plan = tuning.build_plan(request, tmp_path / "run-base")
    base_name = base_of_gguf(app_default_gguf, read_model_info(app_default_gguf)).name
    assert base_name == "gemma3-270m"
    assert [s.name for s in plan.steps][:2] == ["stage2", "merge"]
    assert stage2_settings(plan)[1]["model"] == base_name
    assert plan.base_gguf == app_default_gguf
    assert plan.base_description == "default: base, zero-shot (base gemma3-270m)"

    built = default_translator_path()
    built.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(default_gguf, built)  # a real GGUF standing where `make model` puts the translator
    plan = tuning.build_plan(request, tmp_path / "run-built")
    assert [s.name for s in plan.steps][:3] == ["import-gguf", "stage2", "merge"]
    assert plan.hf_base == str(plan.run_dir / "work" / "base-hf")  # where import-gguf writes
    assert stage2_settings(plan)[1]["model"] == plan.hf_base
    assert plan.base_gguf == built  # imported, and evaluated as "before"
    assert plan.base_description == "default: built by make model"

    prepared = tuning.prepare_run(request, tmp_path / "runs")
    config = (prepared.run_dir / "config.yaml").read_text(encoding="utf-8")
    assert f"base_gguf: {built}" in config and "base: 'default: built by make model'" in config


def test_a_bad_default_model_is_named(tmp_path, django_tmx, monkeypatch):
    monkeypatch.setenv("ALMA_LOCAL_DEFAULT_MODEL", str(tmp_path / "gone.gguf"))
    with pytest.raises(tuning.TuningError, match=r"base model default: ALMA_LOCAL_DEFAULT_MODEL=.*gone\.gguf"):
        tuning.build_plan(tuning.TuningRequest(django_tmx, ["de-en"]), tmp_path / "run")


def test_desktop_side_never_imports_torch():
    code = ("import sys, desktop.models.tuning, desktop.gui.app; "
            "print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.stdout.strip() == "[]"


def test_progress_from_trainer_output_and_log(tmp_path):
    (tmp_path / "train_log.jsonl").write_text('{"step": 3, "loss": 2.5}\n{"step": 4, "loss": 2.25}\n')
    progress = tuning.update_progress(tuning.TrainProgress(), " 40%|####      | 4/10 [00:08<00:12,  2.0s/it]",
                                      tmp_path)
    assert (progress.step, progress.total, progress.loss, progress.eta) == (4, 10, 2.25, "00:12")
    assert progress.describe() == "step 4/10, loss 2.250, ETA 00:12"


# --- the Tune view, for real ----------------------------------------------------------------------
pytest.importorskip("pytestqt")


def test_tune_view_without_training_extra_says_how_to_install(qtbot, monkeypatch):
    from desktop.gui.tune_view import TuneView

    assert tuning.missing_training_modules() == []  # this environment has the extra
    monkeypatch.setattr(tuning, "missing_training_modules", lambda: ["torch", "peft"])
    view = TuneView()
    qtbot.addWidget(view)
    assert not view.start_button.isEnabled()
    assert 'pip install "alma-local[train]"' in view.install_label.text()
    assert "torch, peft" in view.install_label.text()
    assert not view.install_label.isHidden()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.timeout(420)
def test_tune_view_runs_the_pipeline_and_the_new_model_translates(qtbot, django_tmx):
    from desktop.engine import TranslationEngine
    from desktop.gui.app import TUNE_TAB, MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentIndex(TUNE_TAB)
    view = window.tune_view
    assert view.base_note.text() == "default = gemma-3-270m-q4_k_m.gguf (default: base, zero-shot)"
    assert view.set_data_file(django_tmx)
    view.base_edit.setText(FAST_BASE)
    assert view.pairs_edit.text() == "de-en"
    view.quant_combo.setCurrentText("q8_0")
    view.train_overrides = dict(TINY_TRAINING)
    view.eval_limit, view.eval_max_new_tokens = 4, 16
    before = window.models_view.model_paths()

    with qtbot.waitSignal(view.runFinished, timeout=RUN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(view.start_button, qtbot_left())
        assert view.is_running() and not view.start_button.isEnabled()
        # The event loop keeps running while the steps do: the window repaints and answers.
        qtbot.waitUntil(lambda: view.progress_label.text().startswith("step"), timeout=RUN_TIMEOUT_MS)
    assert finished.args == ["done"], view.log_pane.toPlainText()[-3000:]

    plan = view.plan
    run = plan.run_dir
    assert window.models_view.model_paths() == [*before, plan.final_gguf]
    assert plan.final_gguf.is_file() and not plan.candidate_gguf.exists()
    config = (run / "config.yaml").read_text(encoding="utf-8")
    assert "django-de.tmx" in config and "stage2" in config
    assert {p.name for p in (run / "logs").iterdir()} == {f"{s.name}.log" for s in plan.steps}
    assert "train_loss" in (run / "logs" / "stage2.log").read_text(encoding="utf-8")
    assert json.loads((run / "status.json").read_text())["state"] == "done"
    report = json.loads((run / "report" / "report.json").read_text(encoding="utf-8"))
    assert set(report["directions"]) == {"de-en", "en-de"}
    for row in report["directions"].values():
        assert row["n"] == 4 and row["chrf_before"] is not None and row["chrf_after"] is not None
    assert "BLEU before" in view.report_view.toPlainText()
    assert (run / "report" / "compare.md").is_file()

    engine = TranslationEngine(plan.final_gguf, cache=False)
    assert engine.info.get("alma.language_pairs") in (["de-en", "en-de"], "de-en,en-de")
    assert engine.translate("Passwort ändern", "de", "en").strip()


def qtbot_left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


@pytest.mark.timeout(240)
def test_cancel_during_stage2_leaves_previous_models_untouched(qtbot, tmp_path, django_tmx, default_gguf):
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings
    from desktop.gui.tune_view import TuneView

    previous = tmp_path / "previous.gguf"
    shutil.copyfile(default_gguf, previous)
    models = ModelsView(AppSettings())
    qtbot.addWidget(models)
    assert models.add_model(previous)
    before_paths, before_hash = models.model_paths(), sha256(previous)

    view = TuneView(models)
    qtbot.addWidget(view)
    view.set_data_file(django_tmx)
    view.base_edit.setText(FAST_BASE)
    view.train_overrides = {**TINY_TRAINING, "max_steps": 200}
    view.start()
    # Cancel once training is under way (the first step logged), not while the model loads.
    qtbot.waitUntil(lambda: (view.plan.train_dir / "train_log.jsonl").is_file(), timeout=90_000)
    assert view.plan.steps[view._step_index].name == "stage2" and view._child is not None and view._child.running()
    with qtbot.waitSignal(view.runFinished, timeout=30_000) as finished:
        view.cancel_button.click()
    assert finished.args == ["cancelled"]
    run = view.plan.run_dir
    assert json.loads((run / "status.json").read_text())["state"] == "cancelled"
    assert not list(run.rglob("*.gguf"))
    assert models.model_paths() == before_paths
    assert sha256(previous) == before_hash
    assert view.start_button.isEnabled() and not view.cancel_button.isEnabled()


def test_bad_request_is_named_and_starts_nothing(qtbot, tmp_path, django_tmx):
    from PySide6.QtWidgets import QMessageBox

    from desktop.gui.tune_view import TuneView

    view = TuneView()
    qtbot.addWidget(view)
    view.runs_root = tmp_path / "runs"
    view.set_data_file(django_tmx)
    view.pairs_edit.setText("de-xx")
    view.start()
    boxes = [box for box in view.findChildren(QMessageBox) if box.isVisible()]
    assert len(boxes) == 1 and "language pair 'de-xx'" in boxes[0].text()
    assert view.state == "idle" and view.start_button.isEnabled()
    assert not (tmp_path / "runs").exists()


def test_a_failing_step_stops_the_run_and_names_its_log(qtbot, tmp_path, django_tmx):
    from PySide6.QtWidgets import QMessageBox

    from desktop.gui.tune_view import TuneView

    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF but not really a model")
    view = TuneView()
    qtbot.addWidget(view)
    view.set_data_file(django_tmx)
    view.base_edit.setText(str(corrupt))
    with qtbot.waitSignal(view.runFinished, timeout=60_000) as finished:
        view.start()
    assert finished.args == ["failed"]
    run = view.plan.run_dir
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "failed" and "import-gguf failed (exit code 2)" in status["message"]
    assert "corrupt.gguf" in (run / "logs" / "import-gguf.log").read_text(encoding="utf-8")
    assert not (run / "logs" / "stage2.log").exists() and not list(run.rglob("*.gguf"))
    boxes = [box for box in view.findChildren(QMessageBox) if box.isVisible()]
    assert len(boxes) == 1 and "import-gguf.log" in boxes[0].text()
