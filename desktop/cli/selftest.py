"""--self-test for the packaged app: load the default model, translate one sentence headless, print the model
and how it was chosen, exit 0 (docs/packaging.md)."""

from __future__ import annotations

import os
import sys
import time

from alma_core.models import resolve_translation_model

SELF_TEST_SENTENCE = ("de", "en", "Ich habe einen Hund.")


def run_self_test(check_qt: bool = True) -> int:
    """Print what was checked; return 0 on success, 1 on failure."""
    started = time.perf_counter()
    try:
        # Inside the try: a bundle without llama.cpp's shared library is reported, not a traceback.
        from desktop.engine import TranslationEngine

        choice = resolve_translation_model()  # what a fresh bundle translates with
        engine = TranslationEngine(choice.path, n_threads=2)
        src, tgt, text = SELF_TEST_SENTENCE
        translation = engine.translate(text, src, tgt)
        if not translation.strip() or translation.strip() == text:
            print(f"self-test: FAILED: no translation of {text!r} (got {translation!r})")
            return 1
        print(f"self-test: model {engine.model_path.name}, {choice.description}")
        print(f"self-test: {src}->{tgt}: {text!r} -> {translation!r}")
        if check_qt:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            from PySide6.QtWidgets import QApplication, QLabel

            app = QApplication.instance() or QApplication([sys.argv[0]])
            label = QLabel(translation)
            label.show()
            app.processEvents()
            print(f"self-test: Qt {app.platformName()} platform plugin loaded")
            label.close()
    except Exception as exc:  # the point of a self-test is to report, not to crash
        print(f"self-test: FAILED: {type(exc).__name__}: {exc}")
        return 1
    print(f"self-test: OK in {time.perf_counter() - started:.1f} s")
    return 0
