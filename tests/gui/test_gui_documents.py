"""The documents view driven for real: files dropped on the window, translated by the default model.

Settings and the translation cache live in tmp_path; documents are built in the test (python-docx).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alma_core.models import default_gguf_path

pytest.importorskip("pytestqt")
# app_dirs: QSettings and the user data dir in tmp_path
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300), pytest.mark.usefixtures("app_dirs")]
docx = pytest.importorskip("docx")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

TIMEOUT_MS = 90_000


@pytest.fixture
def window(qtbot):
    from desktop.gui.app import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.documents_view)
    return window


@pytest.fixture
def docs_dir(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder


def write_docx(path: Path, paragraphs: list[str]) -> Path:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return path


def drop_files(widget, paths: list[Path]) -> None:
    """Drag paths from a file manager and drop them on widget, as Qt delivers it."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, drop)


def dialog_texts(widget) -> list[str]:
    return [box.text() for box in widget.findChildren(QMessageBox) if box.isVisible()]


def test_dropped_docx_is_translated_and_bad_files_fail_alone(qtbot, window, docs_dir):
    from desktop.engine import TranslationEngine

    view = window.documents_view
    queue = window.document_queue
    paragraphs = ["Guten Morgen.", "Das Haus ist groß."]
    letter = write_docx(docs_dir / "letter.docx", paragraphs)
    source_bytes = letter.read_bytes()
    unsupported = docs_dir / "data.xyz"
    unsupported.write_text("Hallo.\n", encoding="utf-8")
    empty = docs_dir / "empty.txt"
    empty.write_text("\n", encoding="utf-8")

    drop_files(view, [unsupported, empty, letter])
    bad_job, empty_job, letter_job = queue.jobs.values()
    qtbot.waitUntil(lambda: letter_job.state.finished, timeout=TIMEOUT_MS)

    assert letter_job.state.value == "Done", letter_job.error
    assert letter_job.output == docs_dir / "letter.en.docx"
    assert letter.read_bytes() == source_bytes  # the source is never touched
    reference = TranslationEngine(default_gguf_path(), cache=False)  # same threads as the window: identical arithmetic
    expected = [reference.translate(text, "de", "en") for text in paragraphs]
    assert [p.text for p in docx.Document(str(letter_job.output)).paragraphs] == expected
    bar = view.progress_bar(letter_job.job_id)
    assert bar.value() == bar.maximum() == 2
    assert view.status_text(letter_job.job_id) == "Done"

    # Each bad file failed on its own, with a dialog naming it; the queue went on.
    assert bad_job.state.value == empty_job.state.value == "Failed"
    assert view.detail_text(bad_job.job_id).startswith("unsupported file type '.xyz'")
    assert view.detail_text(empty_job.job_id).startswith("nothing to translate")
    assert view.detail_text(letter_job.job_id) == "letter.en.docx"
    texts = dialog_texts(view)
    assert len(texts) == 2
    assert any("data.xyz" in text for text in texts) and any("empty.txt" in text for text in texts)

    opened: list[QUrl] = []
    view.opener = opened.append
    view.select_job(letter_job.job_id)
    view.open_button.click()
    view.folder_button.click()
    assert [url.toLocalFile() for url in opened] == [str(letter_job.output), str(docs_dir)]

    view.clear_button.click()
    assert view.table.rowCount() == 0 and letter_job.output.exists()


def test_cancel_one_then_all(qtbot, window, docs_dir):
    from desktop.gui.documents_view import format_eta

    view = window.documents_view
    queue = window.document_queue
    sentences = [f"Im Jahr {1900 + n} baute die Stadt eine neue Brücke." for n in range(40)]
    long_doc = docs_dir / "chronik.txt"
    long_doc.write_text("\n\n".join(sentences) + "\n", encoding="utf-8")
    short_doc = docs_dir / "gruss.txt"
    short_doc.write_text("Viele Grüße.\n", encoding="utf-8")

    long_job, short_job = view.add_files([long_doc, short_doc])
    qtbot.waitUntil(lambda: long_job.done >= 1, timeout=TIMEOUT_MS)
    assert view.status_text(long_job.job_id) == "Translating"
    eta_cell = view.table.item(view._rows.index(long_job.job_id), 4).text()
    assert long_job.eta_seconds is not None and eta_cell == format_eta(long_job.eta_seconds) != ""
    view.select_job(long_job.job_id)
    view.cancel_button.click()

    qtbot.waitUntil(lambda: short_job.state.finished, timeout=TIMEOUT_MS)
    assert long_job.state.value == "Cancelled" and long_job.done < 40
    assert short_job.state.value == "Done"  # the queue went on after the cancel
    assert sorted(p.name for p in docs_dir.iterdir()) == ["chronik.txt", "gruss.en.txt", "gruss.txt"]

    # Cancel all: the running job and the one waiting behind it.
    again = docs_dir / "chronik2.txt"
    again.write_text("\n\n".join(reversed(sentences)) + "\n", encoding="utf-8")
    running, waiting = view.add_files([again, long_doc])
    qtbot.waitUntil(lambda: running.done >= 1, timeout=TIMEOUT_MS)
    view.cancel_all_button.click()
    assert waiting.state.value == "Cancelled"
    qtbot.waitUntil(lambda: running.state.finished, timeout=TIMEOUT_MS)
    assert running.state.value == "Cancelled"
    assert sorted(p.name for p in docs_dir.iterdir()) == ["chronik.txt", "chronik2.txt", "gruss.en.txt",
                                                          "gruss.txt"]
    assert queue.running is None
