"""A GGUF that is truncated, garbage, replaced or deleted: clear errors, and a loaded model keeps working.

All with copies of the real fast test model (SmolLM2 Q4_1): cut at several points, overwritten with
garbage, renamed over and deleted while a TranslationEngine (and the app's window) has it loaded.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from alma_core.paths import MMAP_ENV
from desktop.engine import ModelLoadError, TranslationEngine
from desktop.engine.llama_model import use_mmap

ROOT = Path(__file__).resolve().parents[2]
SENTENCE = "Ich habe einen Hund."


def run_cli(model: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "--max-new-tokens", "12", "--no-cache", "-m", str(model),
         "--from", "de", "--to", "en"],
        input=SENTENCE + "\n", capture_output=True, text=True, env=env, timeout=300,
    )


@pytest.fixture(scope="module")
def model_copy(default_gguf, tmp_path_factory) -> Path:
    """A private copy of the fast test model: tests damage copies of it, never the installed file."""
    copy = tmp_path_factory.mktemp("models") / "smollm2.gguf"
    shutil.copyfile(default_gguf, copy)
    return copy


def truncated(model: Path, folder: Path, keep: int) -> Path:
    cut = folder / f"cut-{keep}.gguf"
    with model.open("rb") as src, cut.open("wb") as dst:
        dst.write(src.read(keep))
    return cut


@pytest.mark.parametrize("keep", [0, 3, 100, 1 << 20, "half", "one byte short"])
def test_the_cli_refuses_a_truncated_model_with_exit_2(model_copy, tmp_path, keep):
    size = model_copy.stat().st_size
    keep = {"half": size // 2, "one byte short": size - 1}.get(keep, keep)
    cut = truncated(model_copy, tmp_path, keep)
    result = run_cli(cut)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"alma-translate: error: {cut}: ")
    assert ("truncated" in result.stderr) if keep >= 4 else ("not a GGUF model file" in result.stderr)


@pytest.mark.parametrize("kind", ["random bytes", "GGUF magic then random", "unknown architecture"])
def test_the_cli_refuses_a_garbage_model_with_exit_2(model_copy, tmp_path, kind):
    bad = tmp_path / "bad.gguf"
    if kind == "random bytes":
        bad.write_bytes(os.urandom(1 << 16))
    elif kind == "GGUF magic then random":
        bad.write_bytes(b"GGUF\x03\x00\x00\x00" + os.urandom(1 << 16))
    else:  # a well-formed file llama.cpp cannot run: general.architecture = "llamz"
        shutil.copyfile(model_copy, bad)
        head = bad.read_bytes()[:4096]
        at = head.find(b"llama", head.find(b"general.architecture"))
        with bad.open("r+b") as handle:
            handle.seek(at)
            handle.write(b"llamz")
    result = run_cli(bad)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"alma-translate: error: {bad}: "), result.stderr


def test_the_model_is_read_into_memory_unless_mapping_is_asked_for(monkeypatch):
    monkeypatch.delenv(MMAP_ENV, raising=False)
    assert use_mmap() is False
    monkeypatch.setenv(MMAP_ENV, "1")
    assert use_mmap() is True


# In a child process: an in-place overwrite of a mapped model kills the process with SIGBUS, so a
# regression must fail this test, not take the whole test session down.
OVERWRITE_IN_PLACE = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from desktop.engine import ModelLoadError, TranslationEngine
    path = Path(sys.argv[1])
    engine = TranslationEngine(path, n_threads=2, max_new_tokens=12, cache=False)
    before = engine.translate(sys.argv[2], "de", "en")
    with path.open("r+b") as handle:  # as `cp other.gguf model.gguf` or an unfinished download does
        handle.truncate(path.stat().st_size // 2)
    after = engine.translate(sys.argv[2], "de", "en")
    engine.translate("Das Haus ist groß.", "de", "en")  # weights not used yet are still there
    try:
        TranslationEngine(path, cache=False)
        print("loaded a truncated model")
    except ModelLoadError as exc:
        print(exc)
    print(before == after and bool(after))
""")


def test_a_model_truncated_in_place_while_loaded_keeps_translating(model_copy, tmp_path):
    model = tmp_path / "model.gguf"
    shutil.copyfile(model_copy, model)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(MMAP_ENV, None)
    result = subprocess.run([sys.executable, "-c", OVERWRITE_IN_PLACE, str(model), SENTENCE],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, (result.returncode, result.stderr)
    message, same = result.stdout.strip().splitlines()[-2:]
    assert message.startswith(f"{model}: truncated model file") and same == "True"


def test_a_model_replaced_or_deleted_while_loaded_keeps_translating(model_copy, tmp_path):
    model = tmp_path / "model.gguf"
    shutil.copyfile(model_copy, model)
    engine = TranslationEngine(model, n_threads=2, max_new_tokens=12, cache=False)
    try:
        reference = engine.translate(SENTENCE, "de", "en")
        assert reference

        # Replaced by a truncated download renamed over it: the engine keeps what it loaded.
        os.replace(truncated(model_copy, tmp_path, 1 << 20), model)
        assert engine.translate(SENTENCE, "de", "en") == reference
        with pytest.raises(ModelLoadError, match=re.escape(f"{model}: truncated")):
            TranslationEngine(model, cache=False)

        model.unlink()  # deleted
        assert engine.translate(SENTENCE, "de", "en") == reference
        with pytest.raises(ModelLoadError, match=re.escape(f"{model}: no such model file")):
            TranslationEngine(model, cache=False)
    finally:
        engine.close()


def test_the_app_keeps_its_model_when_the_file_breaks(request, tmp_path, model_copy, monkeypatch):
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from desktop.gui.app import MainWindow

    qtbot = request.getfixturevalue("qtbot")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "data"))
    monkeypatch.delenv(MMAP_ENV, raising=False)
    model = tmp_path / "in-use.gguf"
    shutil.copyfile(model_copy, model)

    window = MainWindow(model)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.translator.model is not None, timeout=60_000)

    def translate(text: str) -> str:
        with qtbot.waitSignal(window.translator.translationReady, timeout=60_000):
            window.text_view.source.setPlainText(text)
        qtbot.waitUntil(lambda: not window.translator.busy, timeout=60_000)
        return window.text_view.target.toPlainText()

    first = translate(SENTENCE)
    # A broken download renamed over it while the app uses it. (An in-place overwrite is the child
    # process test above: were the model mapped again, it would kill this whole test session.)
    os.replace(truncated(model_copy, tmp_path, model_copy.stat().st_size // 2), model)
    assert translate("Das Haus ist groß.")  # still translating with the weights it loaded

    window.load_model(window.models_view.spec_for(model))  # e.g. the user picks it again
    qtbot.waitUntil(lambda: any(box.isVisible() for box in window.findChildren(QMessageBox)), timeout=60_000)
    box = next(box for box in window.findChildren(QMessageBox) if box.isVisible())
    assert str(model) in box.text() and "truncated" in box.text()
    box.close()
    assert window.model_label.text() == f"Model: {model.name}"  # the loaded model still serves
    assert translate(SENTENCE) == first
