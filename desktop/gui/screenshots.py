"""Screenshots of the app's views from a real run: python -m desktop.gui.screenshots [--out DIR].

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

from alma_core.models import default_translator_bundle_path, default_translator_path
from desktop.gui.app import MainWindow
from desktop.terminology.store import DO_NOT_TRANSLATE, GLOSSARY

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


# A small glossary of the samples' domain (a meeting letter, a page about the app), typed in as a user would.
GLOSSARY_TERMS = (("Treffen", "meeting", ""), ("Unterlagen", "documents", "papers to bring"),
                  ("Anwendung", "application", "the software"), ("Dokumentation", "documentation", ""))
DNT_TERMS = ("alma-local", "alma-translate")
REVIEW_SIZE = (900, 300)
# The sample's button sentence (its bold tags left out, as the review table shows it) and its translation.
REVIEW_FIX = ("Klicken Sie auf Übersetzen.", "Click Translate.")
# A legacy Word file: a type the app really does not read (docx, xlsx, pptx, odt ... it does).
UNSUPPORTED = "protokoll.doc"


def _write_documents(folder: Path) -> list[Path]:
    """The queue's files: a .docx and a .xlsx built here, the Markdown sample, an unsupported type."""
    import docx
    import openpyxl

    letter = docx.Document()
    letter.add_heading("Einladung", level=1)
    letter.add_paragraph("Das Treffen findet am Montag statt.")
    letter.add_paragraph("Bitte bringen Sie Ihre Unterlagen mit.")
    letter.save(str(folder / "einladung.docx"))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Termine"
    sheet.append(["Datum", "Thema"])
    sheet.append(["Montag", "Treffen mit dem Team"])
    sheet.append(["Dienstag", "Schulung für neue Kollegen"])
    book.save(str(folder / "termine.xlsx"))
    (folder / "willkommen.md").write_text(_sample("sample.de.md"), encoding="utf-8")
    # An OLE2 header, as a real .doc starts; the app refuses it by its type before reading it.
    (folder / UNSUPPORTED).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    return sorted(folder.iterdir())


def take_screenshots(out: Path, model: Path | None = None, timeout_s: float = 300) -> list[tuple[Path, str]]:
    """Run the window through its views and save one PNG per view into out: (path, what was current)."""
    work = Path(tempfile.mkdtemp(prefix="alma-screenshots-"))
    if "QT_QPA_PLATFORM" not in os.environ:
        _use_offscreen_screen(work)
    # The user's `make model` results (the bundle, a merged GGUF), looked up before the switch.
    where = (default_translator_bundle_path, default_translator_path)
    built = [(find, find()) for find in where if find().exists()]
    os.environ["ALMA_LOCAL_DATA"] = str(work / "data")
    for find, path in built:
        # Show the app as a user who ran `make model` sees it: the built translator is the default.
        linked = find()
        linked.parent.mkdir(parents=True, exist_ok=True)
        linked.symlink_to(path)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    app = QApplication.instance() or QApplication([sys.argv[0]])

    window = MainWindow(model)
    window.resize(*WINDOW_SIZE)
    window.show()
    _wait(app, lambda: window.translator.model is not None, timeout_s, "the model to load")

    out.mkdir(parents=True, exist_ok=True)
    saved: list[tuple[Path, str]] = []

    def grab(name: str, view: QWidget, dialog: QWidget | None = None) -> None:
        window.tabs.setCurrentWidget(view)
        window.statusBar().clearMessage()  # keep the permanent model / device / speed fields only
        app.processEvents()
        path = out / name
        shown = dialog if dialog is not None else window  # a dialog is a window of its own
        if not shown.grab().save(str(path)):
            raise OSError(f"{path}: could not write the screenshot")
        current = window.tabs.tabText(window.tabs.currentIndex())
        if dialog is not None:
            current += f": {dialog.windowTitle()}"
        elif view is window.models_view and view.list.currentItem() is not None:
            current += f": {view.list.currentItem().text()}"  # which model the picture shows
        saved.append((path, current))

    # Glossaries: a glossary and a do-not-translate list, typed in; both on for de -> en, so the
    # translations below use them, as they would a user's.
    glossaries = window.glossary_view
    window.tabs.setCurrentWidget(glossaries)
    glossaries.languages.set_pair("de", "en")
    glossaries.new_list(GLOSSARY)
    for row, (source, target, note) in enumerate(GLOSSARY_TERMS):
        glossaries.set_entry(row, source, target, note)
    glossaries.new_list(DO_NOT_TRANSLATE)
    for row, term in enumerate(DNT_TERMS):
        glossaries.set_entry(row, term)
    glossaries.select_glossary(glossaries.store.glossaries[0])
    glossaries.entries.setCurrentCell(-1, -1)  # no cell editor left open, nothing selected in the terms
    glossaries.entries.clearSelection()
    grab("glossaries.png", glossaries)

    # Text view: the German sample letter, translated as typed.
    window.tabs.setCurrentWidget(window.text_view)
    done: list[object] = []
    window.translator.translationReady.connect(done.append)
    window.text_view.source.setPlainText(_sample("sample.de.txt").strip())
    _wait(app, lambda: bool(done) and not window.translator.busy, timeout_s, "the text translation")
    grab("text.png", window.text_view)

    # Documents view: a .docx, a .xlsx, the Markdown sample, and a file the app cannot read.
    docs = work / "documents"
    docs.mkdir()
    view = window.documents_view
    window.tabs.setCurrentWidget(view)
    jobs = view.add_files(_write_documents(docs))
    _wait(app, lambda: all(job.state.finished for job in jobs), timeout_s, "the document queue")
    for box in window.findChildren(QMessageBox):  # the per-file error dialog is its own window
        box.close()
    grab("documents.png", view)

    # The review table of the translated Markdown sample (Review… on its row).
    reviewed = next(job for job in jobs if job.path.name == "willkommen.md")
    view.select_job(reviewed.job_id)
    view.review_button.click()
    dialog = view.review_dialog
    if dialog is None:
        raise RuntimeError(f"{reviewed.path.name}: no review table ({reviewed.state.value}: {reviewed.error})")
    _wait(app, dialog.isVisible, timeout_s, "the review table")
    dialog.resize(REVIEW_SIZE[0], REVIEW_SIZE[1])  # the sample's rows without a screen of empty table
    # A user's correction, typed but not confirmed: the row turns yellow and the status line counts it.
    # Only where the model got the button's name wrong, so the picture never shows a made-up fix.
    for row in range(dialog.table.rowCount()):
        if dialog.table.item(row, 0).text() == REVIEW_FIX[0] and dialog.translation(row) != REVIEW_FIX[1]:
            dialog.edit_row(row, REVIEW_FIX[1])
    grab("review.png", view, dialog)
    dialog.close()

    # Models view: the default model's metadata and run options.
    grab("models.png", window.models_view)

    window.close()
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desktop.gui.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="folder for the PNG files")
    parser.add_argument("-m", "--model", type=Path,
                        help="GGUF model (default: the app's default model, as alma-translate --print-model shows)")
    args = parser.parse_args(argv)
    for path, shown in take_screenshots(args.out, args.model):
        print(f"{path}\t{shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
