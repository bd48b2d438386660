"""The Models view with bundles (docs/adapters.md): a bundle in the user model folder listed beside the GGUFs with
its languages, adapter sizes and scores; one added by its bundle.json; used and deleted like a model file."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = [pytest.mark.usefixtures("app_dirs"), pytest.mark.timeout(300)]

from lora_adapters import make_test_bundle  # noqa: E402

from alma_core.paths import user_models_dir  # noqa: E402


def test_an_installed_bundle_is_listed_with_its_adapters(qtbot, default_gguf, lora_adapter_ggufs):
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings

    bundle = make_test_bundle(user_models_dir() / "mine.bundle", default_gguf, lora_adapter_ggufs)
    view = ModelsView(AppSettings())
    qtbot.addWidget(view)
    assert bundle.resolve() in view.model_paths()
    view.select_model(bundle)
    assert view.fields["name"].text() == "mine"
    lines = view.fields["adapters"].text().splitlines()
    assert lines[0].startswith("de German (de-en, en-de): de.lora.gguf, 1.9 MB; de-en chrF 12.5 (heldout-test, 40 segments)")
    assert lines[1].startswith("fr French (fr-en, en-fr): fr.lora.gguf, 1.9 MB; fr-en chrF 12.5")
    assert lines[2].startswith("base base.gguf: ")
    assert view.fields["pairs"].text() == "de-en, en-de, en-fr, fr-en"
    assert view.fields["architecture"].text() == "llama"
    requested: list = []
    view.activateRequested.connect(requested.append)
    view.use_selected()
    assert requested[0].path == bundle.resolve()

    # Deleting it (after asking) removes the folder, never the base its symlink points to.
    view.confirm = lambda title, text: True
    assert view.delete_selected()
    assert not bundle.exists() and default_gguf.is_file()
    assert bundle.resolve() not in view.model_paths()


def test_removing_an_installed_bundle_from_the_list_sticks(qtbot, default_gguf, lora_adapter_ggufs):
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings

    bundle = make_test_bundle(user_models_dir() / "kept.bundle", default_gguf, lora_adapter_ggufs).resolve()
    view = ModelsView(AppSettings())
    qtbot.addWidget(view)
    assert bundle in view.model_paths()
    view.select_model(bundle)
    view.remove_selected()
    assert bundle not in view.model_paths() and bundle.is_dir()  # off the list, still on disk
    # ... and it stays off: the next listing (the view refilled, the app started again) does not bring it back.
    view._fill_list()
    assert bundle not in view.model_paths()
    again = ModelsView(AppSettings())
    qtbot.addWidget(again)
    assert bundle not in again.model_paths()
    # "Add GGUF…" with its bundle.json lists it again; another bundle installed later is listed.
    assert again.add_model(bundle / "bundle.json")
    assert bundle in again.model_paths()
    other = make_test_bundle(user_models_dir() / "other.bundle", default_gguf, lora_adapter_ggufs).resolve()
    again._fill_list()
    assert other in again.model_paths()


def test_a_bundle_is_added_by_its_manifest_and_a_broken_one_refused(qtbot, tmp_path, default_bundle, monkeypatch):
    from desktop.gui import models_view
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings

    shown: list[str] = []
    monkeypatch.setattr(models_view, "show_error", lambda parent, title, text: shown.append(text))
    view = ModelsView(AppSettings())
    qtbot.addWidget(view)
    assert view.add_model(default_bundle / "bundle.json")
    assert view.selected_path() == default_bundle.resolve()
    assert "de German (de-en, en-de)" in view.fields["adapters"].text()

    broken = tmp_path / "broken.bundle"
    broken.mkdir()
    (broken / "bundle.json").write_text('{"format": "alma-bundle/1"}', encoding="utf-8")
    assert not view.add_model(broken)
    assert shown == [f"{broken.resolve() / 'bundle.json'}: name: missing"]


def test_a_single_gguf_says_it_has_no_adapters(qtbot, default_gguf):
    from desktop.gui.models_view import ModelsView
    from desktop.gui.settings import AppSettings

    view = ModelsView(AppSettings())
    qtbot.addWidget(view)
    assert view.add_model(default_gguf)
    assert view.fields["adapters"].text() == "none (one merged model for every direction)"
