"""Screenshots of the three views from a real run: python -m desktop.gui.screenshots [--out DIR].

What it runs, where it writes: docs/gui.md (the screenshots paragraph).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

from alma_core.models import default_translator_path
from desktop.gui.app import MainWindow

WINDOW_SIZE = (1040, 640)


def _use_offscreen_screen(folder: Path) -> None:
    # The offscreen platform's default screen is 800x600 and windows are clamped to it.
    config = folder / "offscreen.json"
    config.write_text(json.dumps({"screens": [{"name": "virtual", "x": 0, "y": 0, "width": 1280,
                                               "height": 800, "logicalDpi": 96}]}), encoding="utf-8")
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


def _wait(app, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def _sample(name: str) -> str:
    return resources.files("desktop").joinpath("samples", name).read_text(encoding="utf-8")


def take_screenshots(out: Path, model: Path | None = None, timeout_s: float = 300) -> list[Path]:
    """Run the window through its three views and save one PNG per view into out."""
    work = Path(tempfile.mkdtemp(prefix="alma-screenshots-"))
    if "QT_QPA_PLATFORM" not in os.environ:
        _use_offscreen_screen(work)
    built = default_translator_path()  # the user's `make model` result, looked up before the switch
    os.environ["ALMA_LOCAL_DATA"] = str(work / "data")
    if built.is_file():
        # Show the app as a user who ran `make model` sees it: the built translator is the default.
        linked = default_translator_path()
        linked.parent.mkdir(parents=True, exist_ok=True)
        linked.symlink_to(built)

    import docx
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    app = QApplication.instance() or QApplication([sys.argv[0]])

    window = MainWindow(model)
    window.resize(*WINDOW_SIZE)
    window.show()
    _wait(app, lambda: window.translator.model is not None, timeout_s, "the model to load")

    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def grab(name: str) -> None:
        window.statusBar().clearMessage()  # keep the permanent model / device / speed fields only
        app.processEvents()
        path = out / name
        if not window.grab().save(str(path)):
            raise OSError(f"{path}: could not write the screenshot")
        saved.append(path)

    # Text view: the German sample letter, translated as typed.
    window.tabs.setCurrentWidget(window.text_view)
    done: list[object] = []
    window.translator.translationReady.connect(done.append)
    window.text_view.source.setPlainText(_sample("sample.de.txt").strip())
    _wait(app, lambda: bool(done) and not window.translator.busy, timeout_s, "the text translation")
    grab("text.png")

    # Documents view: a .docx, the Markdown sample, and a file the app cannot read.
    docs = work / "documents"
    docs.mkdir()
    letter = docx.Document()
    letter.add_heading("Einladung", level=1)
    letter.add_paragraph("Das Treffen findet am Montag statt.")
    letter.add_paragraph("Bitte bringen Sie Ihre Unterlagen mit.")
    letter.save(str(docs / "einladung.docx"))
    (docs / "willkommen.md").write_text(_sample("sample.de.md"), encoding="utf-8")
    (docs / "tabelle.xlsx").write_bytes(b"PK\x03\x04")
    window.tabs.setCurrentWidget(window.documents_view)
    jobs = window.documents_view.add_files(sorted(docs.iterdir()))
    _wait(app, lambda: all(job.state.finished for job in jobs), timeout_s, "the document queue")
    for box in window.findChildren(QMessageBox):  # the per-file error dialog is its own window
        box.close()
    grab("documents.png")

    # Models view: the default model's metadata and run options.
    window.tabs.setCurrentWidget(window.models_view)
    grab("models.png")

    window.close()
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desktop.gui.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="folder for the PNG files")
    parser.add_argument("-m", "--model", type=Path,
                        help="GGUF model (default: the app's default model, as alma-translate --print-model shows)")
    args = parser.parse_args(argv)
    for path in take_screenshots(args.out, args.model):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
