"""The Models view and tuning lineage: the parent chain shown, "Use parent", "Delete" with confirmation.

The tuned models here are the fast test model's GGUF with the lineage keys a tuning run writes
(alma_train.lineage's entries of the real parent files, through convert.gguf_metadata); the real
pipeline writes them in tests/models/test_tune_lineage.py and tests/gui/test_gui_corrections_e2e.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
pytestmark = [pytest.mark.usefixtures("app_dirs"), pytest.mark.timeout(300)]

from PySide6.QtWidgets import QMessageBox  # noqa: E402

LOAD_TIMEOUT_MS = 60_000


def tuned_copy(weights: Path, output: Path, parent: Path, steps: int, pairs: int, origin: str,
               chrf: tuple[float, float]) -> Path:
    """weights as a model tuned from parent: the alma.* lineage keys alma_train.lineage writes."""
    from alma_train.lineage import ancestor_entry
    from convert.gguf_metadata import copy_with_metadata
    from desktop.engine import read_model_info
    from desktop.models import lineage

    parent_info = read_model_info(parent)
    sha = lineage.file_sha256(parent)
    entry = ancestor_entry(parent, parent_info, sha)
    return copy_with_metadata(weights, output, {
        "alma.parent": parent.name, "alma.parent_sha256": sha, "alma.parent_path": str(parent),
        "alma.lineage": [entry, *lineage.read_lineage(parent_info)],
        "alma.base": entry["base"] or "",
        "alma.training_data": {"pairs": pairs, "sha256": "ab" * 32, "origin": origin, "sources": {origin: pairs}},
        "alma.training_steps": steps,
        "alma.scores": {"held-out": {"chrf": chrf[1], "bleu": 3.0, "segments": 4,
                                     "before": {"chrf": chrf[0], "bleu": 2.0}}},
    })


@pytest.fixture
def family(tmp_path, default_gguf) -> tuple[Path, Path, Path]:
    """(base, child tuned from the base, grandchild tuned from the child), with cards beside the tuned ones."""
    from alma_train.lineage import write_model_card

    child = tuned_copy(default_gguf, tmp_path / "tune-1.q8_0.gguf", default_gguf, 30, 36, "django-de.tmx",
                       (20.5, 24.25))
    grandchild = tuned_copy(default_gguf, tmp_path / "tune-2.q8_0.gguf", child, 12, 18, "corrections",
                            (24.0, 26.5))
    for path in (child, grandchild):
        write_model_card(path)
    return default_gguf, child, grandchild


def dialog_texts(widget) -> list[str]:
    return [box.text() for box in widget.findChildren(QMessageBox) if box.isVisible()]


def test_models_view_shows_the_lineage_and_goes_back_to_the_parent(qtbot, family, tmp_path):
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings

    base, child, grandchild = family
    view = ModelsView(AppSettings())
    qtbot.addWidget(view)
    assert view.add_model(grandchild)
    lines = view.fields["lineage"].text().splitlines()
    assert lines == [f"parent: {child.name}: 30 steps on 36 pairs (django-de.tmx), chrF 20.5 -> 24.2",
                     f"← {base.name}: base smollm2-135m"]
    assert view.fields["data"].text().startswith("18 sentence pairs from 1 source: corrections (18)")
    assert view.fields["steps"].text() == "12"
    assert view.fields["scores"].text() == "held-out: chrF 26.5, BLEU 3.0 (4 segments) (before tuning: chrF 24.0, BLEU 2.0)"
    assert "alma.lineage" not in view.fields["alma"].text()  # shown as the lineage, not as raw keys
    assert view.parent_button.isEnabled()

    requested: list = []
    view.activateRequested.connect(requested.append)
    view.parent_button.click()  # the child: added to the list, selected and loaded
    assert [spec.path for spec in requested] == [child]
    assert view.selected_path() == child and child in view.model_paths()
    assert view.fields["lineage"].text() == f"parent: {base.name}: base smollm2-135m"
    view.parent_button.click()  # and back to the base the chain started from
    assert requested[-1].path == base and view.selected_path() == base
    assert view.fields["lineage"].text() == "none (not tuned from another model here)"
    assert not view.parent_button.isEnabled()

    # A parent that moved is found among the listed models by its name and sha256 ...
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(child, moved / child.name)
    view.select_model(grandchild)
    assert view.find_parent(grandchild) is None  # not listed under its new place yet
    assert view.add_model(moved / child.name)
    view.select_model(grandchild)
    assert view.use_parent() and requested[-1].path == moved / child.name
    # ... and one that changed since (another sha256) is refused, with a dialog naming it.
    changed = moved / child.name
    changed.write_bytes(changed.read_bytes() + b"\0")
    view.select_model(grandchild)
    assert not view.use_parent()
    texts = dialog_texts(view)
    assert len(texts) == 1 and child.name in texts[0] and "moved, changed or deleted" in texts[0]


def test_delete_asks_first_and_never_deletes_a_base_or_the_default(qtbot, family):
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings
    from desktop.models.lineage import model_card_path

    base, child, grandchild = family
    view = ModelsView(AppSettings())
    qtbot.addWidget(view)
    for path in (base, child, grandchild):
        assert view.add_model(path)
    asked: list[str] = []

    def answer(yes: bool):
        def confirm(title: str, text: str) -> bool:
            asked.append(text)
            return yes
        return confirm

    view.select_model(grandchild)
    view.confirm = answer(False)
    view.delete_button.click()
    assert grandchild.is_file() and grandchild in view.model_paths()
    assert asked[-1].startswith(f"Delete {grandchild.name} from the disk?")
    view.confirm = answer(True)
    view.delete_button.click()
    assert not grandchild.exists() and not model_card_path(grandchild).exists()
    assert grandchild not in view.model_paths() and child.is_file()

    # A base model's own file and the default model are never deleted (a dialog says why).
    asked.clear()
    view.select_model(base)
    assert not view.delete_selected()
    assert base.is_file() and asked == []
    assert dialog_texts(view) == [f"{base.name} is a base model: it cannot be deleted here."]
    view.list.setCurrentRow(0)
    assert view.selected_path() == view.default_path() and not view.delete_button.isEnabled()
    assert not view.delete_selected() and view.default_path().is_file()


@pytest.mark.timeout(300)
def test_deleting_the_model_in_use_switches_to_its_parent_first(qtbot, family):
    from desktop.gui.app import MainWindow

    _, child, grandchild = family
    window = MainWindow(grandchild)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.translator.model is not None, timeout=LOAD_TIMEOUT_MS)
    view = window.models_view
    assert view.active_path() == grandchild
    assert view.add_model(grandchild)  # listed, as a finished tuning run adds it
    asked: list[str] = []
    view.confirm = lambda title, text: asked.append(text) or True
    with qtbot.waitSignal(window.translator.modelLoaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        assert view.delete_selected()
    assert f"the app switches to {child.name} first" in asked[0]
    assert loaded.args[0].path == child and view.active_path() == child
    assert not grandchild.exists() and window.settings.active_model() == child
    assert window.translator.engine.model_path == child


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_cancelled_tuning_run_is_resumed_from_the_tune_view(qtbot, tmp_path, default_gguf):
    """Cancel during evaluation, then Resume: the steps done are skipped, the run ends with its model."""
    import json

    from alma_train.data.demo_data import read_django_pairs
    from desktop.gui.tune_view import TuneView

    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"de": p.xx, "en": p.en}, ensure_ascii=False) + "\n"
                            for p in read_django_pairs("de")[:24]), encoding="utf-8")
    view = TuneView()
    qtbot.addWidget(view)
    view.runs_root = tmp_path / "runs"
    assert not view.resume_button.isEnabled()
    assert view.set_data_file(data)
    view.base_edit.setText(str(default_gguf))
    view.train_overrides = {"max_steps": 2, "per_device_train_batch_size": 4, "max_source_tokens": 32,
                            "max_target_tokens": 32}
    view.eval_limit, view.eval_max_new_tokens = 2, 8
    view.start()
    qtbot.waitUntil(lambda: view._step_index >= 0 and view.plan.steps[view._step_index].name == "evaluate-base"
                    or not view.is_running(), timeout=600_000)
    with qtbot.waitSignal(view.runFinished, timeout=60_000) as finished:
        view.cancel_button.click()
    assert finished.args == ["cancelled"]
    run = view.plan.run_dir
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "cancelled" and status["done_steps"] == ["stage2", "merge", "convert"]
    assert view.resume_button.isEnabled() and view.start_button.isEnabled()
    assert "can be resumed" in view.log_pane.toPlainText()
    stage2_log = (run / "logs" / "stage2.log").read_text(encoding="utf-8")

    with qtbot.waitSignal(view.runFinished, timeout=600_000) as finished:
        view.resume_button.click()
    assert finished.args == ["done"], view.log_pane.toPlainText()[-3000:]
    assert view.plan.run_dir == run
    log = view.log_pane.toPlainText()
    for name in ("stage2", "merge", "convert"):
        assert f"$ {name}: done in an earlier attempt, skipped" in log
    assert (run / "logs" / "stage2.log").read_text(encoding="utf-8") == stage2_log  # not run again
    assert view.plan.final_gguf.is_file() and not view.resume_button.isEnabled()
    assert json.loads((run / "status.json").read_text())["state"] == "done"


def test_use_parent_through_a_symlinked_model_folder(qtbot, tmp_path, default_gguf, monkeypatch):
    """Models reached through a symlinked folder (a symlinked home, models folder or environment): the
    default model, the list, the lineage and the cache's fingerprint all name one file one way."""
    from alma_core.models import resolve_translation_model
    from alma_train.lineage import write_model_card
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings
    from desktop.stores.cache import model_fingerprint

    real = tmp_path / "real-models"
    real.mkdir()
    link = tmp_path / "linked-models"
    link.symlink_to(real, target_is_directory=True)
    shutil.copyfile(default_gguf, real / "base.gguf")
    # The default model is named through the link, and the child records its parent through the link.
    monkeypatch.setenv("ALMA_LOCAL_DEFAULT_MODEL", str(link / "base.gguf"))
    child = tuned_copy(default_gguf, link / "tune-1.q8_0.gguf", link / "base.gguf", 30, 36, "django-de.tmx",
                       (20.5, 24.25))
    write_model_card(child)
    assert resolve_translation_model().path == real / "base.gguf"
    assert model_fingerprint(link / "base.gguf") == model_fingerprint(real / "base.gguf")

    view = ModelsView(AppSettings())
    qtbot.addWidget(view)
    assert view.add_model(link / "tune-1.q8_0.gguf")
    assert view.model_paths() == [real / "base.gguf", real / "tune-1.q8_0.gguf"]
    assert not view.add_model(real / "tune-1.q8_0.gguf") or len(view.model_paths()) == 2  # listed once
    requested: list = []
    view.activateRequested.connect(requested.append)
    assert view.use_parent()  # back to the default base, found through the link
    assert view.selected_path() == real / "base.gguf" and requested[-1].path is None  # the default entry
    view.select_model(link / "tune-1.q8_0.gguf")  # either spelling selects the one entry
    assert view.selected_path() == real / "tune-1.q8_0.gguf"
