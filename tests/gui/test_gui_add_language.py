"""The Models view's "Add a language…" on a bundle (docs/adapters.md#adding-a-language): the dialog lists the languages
with data the bundle lacks, runs `alma-train add-language` as a child process and names the cause when it fails.
A whole run on a tiny Gemma 3: tests/train/test_add_language.py."""

from __future__ import annotations

import shutil
import sys

import pytest

pytest.importorskip("pytestqt")
pytestmark = [pytest.mark.usefixtures("app_dirs"), pytest.mark.timeout(300)]

from alma_core.languages import DATA_LANGUAGES  # noqa: E402


def test_the_dialog_lists_the_languages_the_bundle_lacks_and_the_command_it_runs(qtbot, default_bundle,
                                                                                 default_gguf, tmp_path):
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings
    from desktop.models.add_language import AddLanguageError, new_run

    view = ModelsView(AppSettings())
    qtbot.addWidget(view)
    assert view.add_model(default_gguf)
    assert not view.add_language_button.isVisibleTo(view)  # a GGUF has no adapters to add to
    assert view.add_language() is None
    assert view.add_model(default_bundle)
    assert view.add_language_button.isVisibleTo(view)
    dialog = view.add_language()
    assert dialog is not None
    # The twenty languages alma-train has data for, less de and fr (the bundle's adapters), in its order.
    assert dialog.languages() == [lang for lang in DATA_LANGUAGES if lang not in ("de", "fr")]
    assert len(dialog.languages()) == 18
    assert dialog.list.item(0).text() == "cs Czech"

    run = new_run(default_bundle, "is", tmp_path / "runs", ("--max-steps", "2"))
    assert run.run_dir.parent == tmp_path / "runs" and run.run_dir.name.startswith("add-is-")
    assert run.command() == [sys.executable, "-m", "alma_train.cli", "add-language", "is", "--bundle",
                             str(default_bundle.resolve()), "--output", str(run.run_dir / "adapter"), "--max-steps",
                             "2"]
    with pytest.raises(AddLanguageError, match="already has an adapter for 'de'"):
        new_run(default_bundle, "de", tmp_path / "runs")
    with pytest.raises(AddLanguageError, match="has no training data for 'da'"):
        new_run(default_bundle, "da", tmp_path / "runs")


def test_a_failed_run_names_its_cause_in_a_dialog_and_leaves_the_bundle(qtbot, default_bundle, tmp_path):
    """A real alma-train child that stops on bad input (a recipe with an unknown setting): the error dialog
    quotes alma-train's own line, the bundle keeps its two adapters and the language stays on the list."""
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings

    bundle = tmp_path / "copy.bundle"
    shutil.copytree(default_bundle, bundle, symlinks=True)
    manifest = (bundle / "bundle.json").read_bytes()
    data = tmp_path / "data"
    for split in ("train", "heldout-valid", "heldout-test"):  # present: add-language builds no data
        (data / "parallel" / "cs-en").mkdir(parents=True, exist_ok=True)
        (data / "parallel" / "cs-en" / f"{split}.jsonl").write_text('{"cs": "Ahoj", "en": "Hello"}\n')
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("bogus_setting: 1\n")
    view = ModelsView(AppSettings())
    qtbot.addWidget(view)
    assert view.add_model(bundle)
    view.add_language_runs_root = tmp_path / "runs"
    view.add_language_args = ("--data-dir", str(data), "--config", str(recipe))
    dialog = view.add_language()
    dialog.select_language("cs")
    with qtbot.waitSignal(dialog.runFinished, timeout=240_000) as finished:
        assert dialog.start()
    assert finished.args == ["failed"], dialog.log_pane.toPlainText()[-2000:]
    text = dialog.error_box.text()
    assert "bogus_setting" in text and str(recipe) in text, text
    assert "add-language.log" in text
    assert (bundle / "bundle.json").read_bytes() == manifest
    assert "cs" in dialog.languages() and dialog.start_button.isEnabled()


def test_a_model_in_use_is_loaded_again_when_its_bundle_changes(qtbot, default_bundle, default_gguf):
    """reload_if_active (called when a language was added or an adapter tuned): only the model in use is
    loaded again, through the same request as the Use button; another model or none loaded: nothing."""
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings

    view = ModelsView(AppSettings())
    qtbot.addWidget(view)
    assert view.add_model(default_bundle) and view.add_model(default_gguf)
    requested = []
    view.activateRequested.connect(requested.append)
    assert not view.reload_if_active(default_bundle)  # nothing loaded yet
    view.set_active(default_gguf)
    assert not view.reload_if_active(default_bundle) and requested == []
    view.set_active(default_bundle)
    assert view.reload_if_active(default_bundle.parent / ".." / default_bundle.parent.name / default_bundle.name)
    assert [spec.path for spec in requested] == [default_bundle.resolve()]
    assert requested[0] == view.spec_for(default_bundle.resolve())
    # The Add a language dialog's end ("done") goes the same way, and the status line says so.
    with qtbot.waitSignal(view.statusMessage) as status:
        view._language_added(default_bundle.resolve(), "done")
    assert "loading it again" in status.args[0] and len(requested) == 2
