"""Which model translates when none is set, with real files: $ALMA_LOCAL_DEFAULT_MODEL, else the translator
`make model` built into the user model folder, else the best installed base (Gemma 3 270M), zero-shot.

Checked where users meet it: resolve_translation_model(), the app's engine loader (the model is decided
at the edge and handed to the engine as a path), `alma-translate --print-model`, and
the desktop app, whose first translation after `make model` must use the built translator with no
setting and whose Models view shows the translator's base, licence, data, steps and scores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alma_core.models import (
    BASES,
    DefaultModelMissingError,
    default_translator_bundle_path,
    default_translator_path,
    resolve_translation_model,
)
from desktop.engine import ModelLoadError, TranslationEngine, read_model_info
from desktop.models import card as model_card

ROOT = Path(__file__).resolve().parents[2]
MODEL_TIMEOUT_MS = 60_000


@pytest.fixture
def user_data(tmp_path, monkeypatch) -> Path:
    """An empty user data dir of this test's own (the session's is shared by other tests)."""
    monkeypatch.delenv("ALMA_LOCAL_DEFAULT_MODEL", raising=False)
    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def install_translator(translator_gguf: Path) -> Path:
    """Put a real translator GGUF where `make model` writes it."""
    target = default_translator_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(translator_gguf, target)
    return target


# --- the order ---------------------------------------------------------------------------------------
def test_resolution_order_environment_then_built_then_base(user_data, monkeypatch, tmp_path, translator_gguf,
                                                           default_gguf):
    base = BASES["gemma3-270m"]
    choice = resolve_translation_model()
    assert (choice.origin, choice.path) == ("base", base.gguf_path())
    assert choice.path.name == "gemma-3-270m-q4_k_m.gguf" and "zero-shot" in choice.description

    built = install_translator(translator_gguf)
    assert built == user_data / "models" / "default-translator.gguf"
    choice = resolve_translation_model()
    assert (choice.origin, choice.path) == ("built", built)

    monkeypatch.setenv("ALMA_LOCAL_DEFAULT_MODEL", str(default_gguf))
    choice = resolve_translation_model()
    assert (choice.origin, choice.path) == ("environment", default_gguf)  # wins over the built one

    missing = tmp_path / "nowhere" / "model.gguf"
    monkeypatch.setenv("ALMA_LOCAL_DEFAULT_MODEL", str(missing))
    with pytest.raises(DefaultModelMissingError, match=f"ALMA_LOCAL_DEFAULT_MODEL={missing}: no such file"):
        resolve_translation_model()
    # The app's loader names the same problem as a load error (what its dialog shows).
    from desktop.gui.worker import ModelSpec, load_engine

    with pytest.raises(ModelLoadError, match=f"ALMA_LOCAL_DEFAULT_MODEL={missing}: no such file"):
        load_engine(ModelSpec())


def test_the_app_loader_without_a_model_uses_the_built_translator(user_data, translator_gguf):
    from desktop.gui.settings import ModelOptions
    from desktop.gui.worker import ModelSpec, load_engine

    built = install_translator(translator_gguf)
    engine = load_engine(ModelSpec(None, ModelOptions(n_threads=2)))
    assert engine.model_path == built
    assert engine.info["alma.base"] == "smollm2-135m"
    assert engine.translate("Guten Morgen.", "de", "en").strip()
    engine.close()
    with pytest.raises(TypeError):
        TranslationEngine(cache=False)  # the engine decides nothing: it is handed a path


def test_the_bundle_make_model_builds_is_preferred_to_a_merged_gguf(user_data, translator_gguf, default_bundle):
    from desktop.gui.settings import ModelOptions
    from desktop.gui.worker import ModelSpec, load_engine

    install_translator(translator_gguf)
    bundle = default_translator_bundle_path()
    assert bundle == user_data / "models" / "default-translator.bundle"
    shutil.copytree(default_bundle, bundle)
    choice = resolve_translation_model()
    assert (choice.origin, choice.path) == ("built", bundle)
    assert "bundle built by `make model`" in choice.description
    assert model_card.default_label(choice) == "default-translator.bundle (default: built by make model)"
    engine = load_engine(ModelSpec(None, ModelOptions(n_threads=2)))
    try:
        assert engine.model_path == bundle and engine.bundle is not None
        assert engine.bundle.languages == ["de", "fr"]
    finally:
        engine.close()


# --- alma-translate --print-model ------------------------------------------------------------------
def print_model(*args: str, data_dir: Path, env_model: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT)}
    env.pop("ALMA_LOCAL_DEFAULT_MODEL", None)
    if env_model is not None:
        env["ALMA_LOCAL_DEFAULT_MODEL"] = env_model
    return subprocess.run([sys.executable, "-m", "desktop.cli", "--print-model", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_print_model_in_each_case(user_data, tmp_path, translator_gguf, default_gguf, app_default_gguf):
    result = print_model(data_dir=user_data)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{app_default_gguf}\n"
    assert "zero-shot" in result.stderr

    built = install_translator(translator_gguf)
    result = print_model(data_dir=user_data)
    assert (result.returncode, result.stdout) == (0, f"{built}\n")
    assert "build-translator` (one merged GGUF)" in result.stderr  # make model builds a bundle now
    assert print_model("-q", data_dir=user_data).stderr == ""  # -q: the path alone

    result = print_model(data_dir=user_data, env_model=str(default_gguf))
    assert (result.returncode, result.stdout) == (0, f"{default_gguf}\n")

    # -m wins over everything, and is printed as an absolute path.
    chosen = tmp_path / "chosen.gguf"
    chosen.symlink_to(translator_gguf)
    result = subprocess.run([sys.executable, "-m", "desktop.cli", "--print-model", "-m", "chosen.gguf"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            env={**os.environ, "ALMA_LOCAL_DATA": str(user_data), "PYTHONPATH": str(ROOT),
                                 "ALMA_LOCAL_DEFAULT_MODEL": str(default_gguf)})
    assert (result.returncode, result.stdout) == (0, f"{chosen}\n"), result.stderr

    result = print_model("-m", str(tmp_path / "missing.gguf"), data_dir=user_data)
    assert result.returncode == 2
    assert result.stderr == f"alma-translate: error: {tmp_path / 'missing.gguf'}: no such model file or bundle folder\n"

    result = print_model(data_dir=user_data, env_model=str(tmp_path / "gone.gguf"))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"alma-translate: error: ALMA_LOCAL_DEFAULT_MODEL={tmp_path / 'gone.gguf'}: no such file or bundle folder\n"


def test_translating_with_a_bad_default_exits_2_naming_it(user_data, tmp_path):
    env = {**os.environ, "ALMA_LOCAL_DATA": str(user_data), "PYTHONPATH": str(ROOT),
           "ALMA_LOCAL_DEFAULT_MODEL": str(tmp_path / "gone.gguf")}
    result = subprocess.run([sys.executable, "-m", "desktop.cli", "--from", "de", "--to", "en"], input="Hallo.\n",
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert result.stderr == f"alma-translate: error: ALMA_LOCAL_DEFAULT_MODEL={tmp_path / 'gone.gguf'}: no such file or bundle folder\n"


def test_model_option_help_names_the_resolution_not_smollm2():
    from desktop.cli.main import build_parser

    text = build_parser().format_help()
    assert "SmolLM2" not in text
    assert "--print-model" in text and "make model" in text


# --- what the card says ----------------------------------------------------------------------------
def test_card_of_a_built_translator_reads_every_alma_key(translator_gguf, translator_metadata):
    info = read_model_info(translator_gguf)
    assert json.loads(info["alma.scores"]) == translator_metadata["alma.scores"]  # stored as JSON text
    assert info["alma.training_steps"] == 60
    card = model_card.read_model_card(translator_gguf, info)
    assert (card.base, card.is_base, card.licence, card.gemma_derived) == ("smollm2-135m", False, "Apache-2.0", False)
    assert model_card.describe_base(card) == "smollm2-135m (SmolLM2-135M-Instruct)"
    assert model_card.describe_training_data(card) == (
        "5,200 sentence pairs from 2 sources: django (4,000), sphinx (1,200)\nsha256 3f9a0c1e5b7d2a4c…")
    assert model_card.describe_steps(card) == "60 (demo-stage2)"
    assert model_card.describe_scores(card) == (
        "out-of-source: chrF 17.2, BLEU 4.1 (80 segments, the first 40 per direction)\n"
        "in-source: chrF 41.5, BLEU 20.3 (80 segments, the first 40 per direction)")
    assert model_card.describe_scores_detail(card) == (
        "out-of-source:\n  de-en: chrF 20.1, BLEU 5.0\n  en-de: chrF 14.3, BLEU 3.2\n"
        "  chrf: nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0")


def test_card_of_the_bases_and_of_files_that_say_little(app_default_gguf, default_gguf, tmp_path):
    gemma = model_card.read_model_card(app_default_gguf, read_model_info(app_default_gguf))
    assert (gemma.base, gemma.is_base, gemma.licence, gemma.gemma_derived) == (
        "gemma3-270m", True, "Gemma Terms of Use", True)
    assert model_card.describe_training_data(gemma) == "none (a base model)"
    assert model_card.describe_scores(gemma) == "not recorded in the file"

    smol = model_card.read_model_card(default_gguf, read_model_info(default_gguf))
    assert (smol.base, smol.licence, smol.gemma_derived) == ("smollm2-135m", "Apache-2.0", False)

    # The same bytes under another name are not recognised as a base: nothing is claimed.
    renamed = tmp_path / "third-party.gguf"
    renamed.symlink_to(default_gguf)
    card = model_card.read_model_card(renamed, read_model_info(renamed))
    assert (card.base, card.licence) == (None, "unknown")
    assert model_card.describe_base(card) == "unknown (not recorded in the file)"
    assert model_card.describe_steps(card) == "not recorded in the file"

    # A Gemma 3 model from elsewhere (architecture gemma3, no alma.* keys) still gets the terms shown.
    third_party_gemma = {"architecture": "gemma3"}
    card = model_card.read_model_card(tmp_path / "other-gemma.gguf", third_party_gemma)
    assert card.gemma_derived and card.licence == "unknown"
    # A translator built on Gemma names its base; malformed JSON is shown as it is, not dropped.
    card = model_card.read_model_card(tmp_path / "t.gguf", {"architecture": "gemma3", "alma.base": "gemma3-270m",
                                                            "alma.scores": "chrF 30", "alma.training_steps": "x"})
    assert card.gemma_derived and model_card.describe_scores(card) == "chrF 30"
    assert model_card.describe_steps(card) == "not recorded in the file"


def test_gemma_terms_come_from_the_installed_wheel():
    terms = model_card.gemma_terms_path()
    assert terms == BASES["gemma3-270m"].licence_path() and terms.name == "GEMMA_TERMS.html"
    assert "Gemma Terms of Use" in terms.read_text(encoding="utf-8")


# --- the desktop app --------------------------------------------------------------------------------
@pytest.fixture
def qt_settings(tmp_path):
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))


def open_window(qtbot):
    from desktop.gui.app import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.mark.timeout(300)
def test_after_make_model_the_app_translates_with_the_built_translator(qtbot, qt_settings, user_data,
                                                                      translator_gguf):
    built = install_translator(translator_gguf)
    window = open_window(qtbot)
    assert window.settings.active_model() is None  # nothing chosen: a first start

    with qtbot.waitSignal(window.translator.translationReady, timeout=MODEL_TIMEOUT_MS) as ready:
        window.text_view.source.setPlainText("Guten Morgen.")
    engine = window.translator._worker._engine
    assert engine.model_path == built  # the default, decided by the app and handed to the engine
    assert ready.args[0].text == window.text_view.target.toPlainText() != ""
    assert window.model_label.text() == "Model: default-translator.gguf"

    models = window.models_view
    window.tabs.setCurrentWidget(models)
    assert models.model_paths()[0] == built
    assert models.list.item(0).text() == "● default-translator.gguf (default: built by make model)"
    assert models.selected_path() == built
    fields = {key: label.text() for key, label in models.fields.items()}
    assert fields["base"] == "smollm2-135m (SmolLM2-135M-Instruct)"
    assert fields["licence"] == "Apache-2.0"
    assert fields["data"].startswith("5,200 sentence pairs from 2 sources: django (4,000), sphinx (1,200)")
    assert fields["steps"] == "60 (demo-stage2)"
    assert fields["scores"] == ("out-of-source: chrF 17.2, BLEU 4.1 (80 segments, the first 40 per direction)\n"
                                "in-source: chrF 41.5, BLEU 20.3 (80 segments, the first 40 per direction)")
    assert "de-en: chrF 20.1, BLEU 5.0" in models.fields["scores"].toolTip()
    assert fields["pairs"] == "de-en, en-de"
    assert "alma.source_model: SmolLM2-135M-Instruct-hf" in fields["alma"]
    assert models.terms_button.isHidden()  # not derived from Gemma
    assert "built by `alma-train build-translator` (one merged GGUF)" in models.default_label.text()
    window.close()


@pytest.mark.timeout(300)
def test_with_no_translator_the_app_offers_the_gemma_base_and_its_terms(qtbot, qt_settings, user_data,
                                                                        app_default_gguf, default_gguf):
    from PySide6.QtCore import QObject, QUrl, Slot
    from PySide6.QtGui import QDesktopServices

    window = open_window(qtbot)
    qtbot.waitUntil(lambda: window.translator.model is not None, timeout=MODEL_TIMEOUT_MS)
    assert window.translator.model.path == app_default_gguf
    models = window.models_view
    window.tabs.setCurrentWidget(models)
    assert models.list.item(0).text() == "● gemma-3-270m-q4_k_m.gguf (default: base, zero-shot)"
    assert models.fields["licence"].text() == "Gemma Terms of Use"
    assert models.fields["base"].text().startswith("gemma3-270m: Gemma 3 270M (pretrained base); this file is the base")
    assert models.fields["steps"].text() == "0 (a base model)"
    assert not models.terms_button.isHidden()

    class Opened(QObject):  # Qt's own hook for where a URL goes: here, to this list instead of a browser
        def __init__(self) -> None:
            super().__init__()
            self.urls: list[QUrl] = []

        @Slot(QUrl)
        def open(self, url: QUrl) -> None:
            self.urls.append(url)

    opened = Opened()
    QDesktopServices.setUrlHandler("file", opened, "open")
    try:
        models.terms_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [Path(url.toLocalFile()) for url in opened.urls] == [BASES["gemma3-270m"].licence_path()]

    # A model that does not derive from Gemma hides the button again.
    assert models.add_model(default_gguf)
    assert models.selected_path() == default_gguf.resolve()
    assert models.fields["licence"].text() == "Apache-2.0" and models.terms_button.isHidden()
    window.close()


@pytest.mark.timeout(120)
def test_a_bad_default_model_is_a_dialog_not_a_crash(qtbot, qt_settings, user_data, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setenv("ALMA_LOCAL_DEFAULT_MODEL", str(tmp_path / "gone.gguf"))
    window = open_window(qtbot)

    def dialogs():
        return [box for box in window.findChildren(QMessageBox) if box.isVisible()]

    qtbot.waitUntil(lambda: len(dialogs()) == 1, timeout=MODEL_TIMEOUT_MS)
    assert f"ALMA_LOCAL_DEFAULT_MODEL={tmp_path / 'gone.gguf'}: no such file" in dialogs()[0].text()
    assert window.model_label.text() == "Model: none loaded"
    assert window.models_view.model_paths() == []
    assert window.models_view.default_label.text().startswith("No default model: ALMA_LOCAL_DEFAULT_MODEL=")
    window.close()
