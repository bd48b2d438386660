"""Reviewing a translated document (issue 15 item 4): corrections in the review table go to the translation
memory, and the document written again comes out with them.

Driven for real: the window loads the fast test model (conftest `default_gguf`), a .txt document goes
through the Documents view on the app's engine, the review dialog is edited as a user would, and the
memory is the app's own SQLite file (in the test's data dir, `app_dirs`). Expectations are built from
what the model wrote the first time, so they hold whatever it translates.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
pytestmark = [pytest.mark.usefixtures("app_dirs"), pytest.mark.timeout(900)]

from PySide6.QtWidgets import QMessageBox  # noqa: E402

TIMEOUT_MS = 600_000  # a model load and a short document on a busy 2-core machine
# Line 2 is indented and has two sentences: its correction must apply to the whole segment, and the
# document's indentation must stay.
LINES = [
    "Der Hund schläft im Garten.",
    "    Die Katze ist schwarz. Das Wetter ist schön.",
    "Ich habe heute keine Zeit.",
    "Wir gehen in die Stadt.",
]
CORRECTED = {
    1: "The black cat is asleep. The weather is lovely, truly.",
    2: "Today I really have no time at all.",
}


def test_a_document_job_serves_a_whole_multi_sentence_segment_from_the_memory(default_gguf, tmp_path):
    """No GUI: the engine's memory holds a correction of a two-sentence line; the line comes out as the
    correction (its indentation kept), not sentence by sentence from the model."""
    from desktop.documents import DocumentJob, JobOptions
    from desktop.engine import TranslationEngine
    from desktop.memory.store import TranslationMemory

    memory = TranslationMemory(tmp_path / "memory.sqlite")
    source = "Die Katze ist schwarz. Das Wetter ist schön."
    correction = "The black cat is asleep. The weather is lovely, truly."
    memory.add("de", "en", source, correction)
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=12, cache=False, memory=memory)
    document = tmp_path / "notes.txt"
    document.write_text(f"    {source}\nDer Hund schläft.\n", encoding="utf-8")
    pairs: list[tuple[str, str]] = []
    try:
        output = DocumentJob(document, JobOptions("de", "en", pairs=lambda s, t: pairs.append((s, t)))).run(engine)
    finally:
        memory.close()
    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"    {correction}"
    assert lines[1].strip() and lines[1] != "Der Hund schläft."  # the other line from the model
    assert pairs[0] == (f"    {source}", f"    {correction}")


def test_edits_are_marked_and_a_failed_save_keeps_them(qtbot, tmp_path):
    """No model: the dialog on a finished job's pairs; a memory that cannot be written -> an error dialog,
    nothing stored, the edit still in its row; an emptied cell is no correction."""
    from desktop.gui.document_queue import DocumentJob, JobState
    from desktop.gui.review_dialog import ReviewDialog
    from desktop.memory.store import TranslationMemory

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    memory = TranslationMemory(blocker / "memory.sqlite")  # its folder cannot be made: read-only/off
    assert not memory.writable
    job = DocumentJob(1, tmp_path / "a.txt", "de", "en", state=JobState.DONE, model="m.gguf",
                      pairs=[("Guten Tag.", "Good day."), ("  Danke. Bitte. ", " Thanks. Please. ")])
    dialog = ReviewDialog(job, memory)
    qtbot.addWidget(dialog)
    assert dialog.translation(1) == "Thanks. Please."  # shown without the segment's whitespace
    assert not dialog.confirm_button.isEnabled()

    dialog.edit_row(1, "Thank you. You're welcome.")
    dialog.edit_row(0, "")
    assert dialog.row_state(1) == "edited" and dialog.row_state(0) == ""
    assert dialog.corrections() == [("Danke. Bitte.", "Thank you. You're welcome.")]
    assert dialog.confirm_button.isEnabled()

    assert dialog.confirm_corrections() == 0
    errors = dialog.findChildren(QMessageBox)
    assert errors and "Corrections not saved" in errors[0].windowTitle()
    assert memory.count() == 0
    assert dialog.row_state(1) == "edited" and dialog.translation(1) == "Thank you. You're welcome."
    memory.close()


def test_review_table_corrections_go_to_the_memory_and_the_document_is_written_again(qtbot, default_gguf,
                                                                                      tmp_path):
    from desktop.gui.app import MainWindow
    from desktop.gui.document_queue import JobState

    window = MainWindow(default_gguf)
    qtbot.addWidget(window)  # closed at teardown: queue and engine threads stopped, memory closed
    qtbot.waitUntil(lambda: window.translator.engine is not None, timeout=TIMEOUT_MS)
    view = window.documents_view
    document = tmp_path / "tiere.txt"
    document.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    view.languages.set_pair("de", "en")
    (job,) = view.add_files([document])
    qtbot.waitUntil(lambda: job.state.finished, timeout=TIMEOUT_MS)
    assert job.state is JobState.DONE, job.error
    output = tmp_path / "tiere.en.txt"
    first = output.read_text(encoding="utf-8").splitlines()
    assert len(first) == len(LINES)
    # Every segment pair was kept on the job (no TMX asked for), with the model that made them.
    assert [source for source, _ in job.pairs] == LINES
    assert job.model == Path(default_gguf).name

    view.select_job(job.job_id)
    assert view.review_button.isEnabled()
    view.review_button.click()
    dialog = view.review_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.table.rowCount() == len(LINES)
    for row, text in CORRECTED.items():
        assert dialog.translation(row) != text  # the model did not write the correction already
        dialog.edit_row(row, text)
    assert [dialog.row_state(row) for row in range(len(LINES))] == ["", "edited", "edited", ""]

    dialog.confirm_button.click()
    assert [dialog.row_state(row) for row in range(len(LINES))] == ["", "saved", "saved", ""]
    units = {unit.source: unit for unit in window.memory.pairs("de", "en")}
    assert set(units) == {LINES[row].strip() for row in CORRECTED}
    for row, text in CORRECTED.items():
        unit = units[LINES[row].strip()]
        assert (unit.target, unit.origin, unit.model) == (text, "correction", Path(default_gguf).name)

    assert dialog.rewrite_button.isEnabled()
    dialog.rewrite_button.click()
    assert job.state in (JobState.QUEUED, JobState.RUNNING) and job.pairs is None
    qtbot.waitUntil(lambda: job.state.finished, timeout=TIMEOUT_MS)
    assert job.state is JobState.DONE, job.error
    again = output.read_text(encoding="utf-8").splitlines()
    # The corrected segments from the memory (the indentation of line 2 kept), the rest as before.
    assert again == [first[0], f"    {CORRECTED[1]}", CORRECTED[2], first[3]]
    assert [translation.strip() for _, translation in job.pairs] == [line.strip() for line in again]
