"""The text view: source and translation side by side, translated as you type.

Typing restarts a short debounce timer; when it fires the text goes to the Translator, which keeps
only the newest request. Output streams in sentence by sentence. The glossaries switched on for the
pair go with the text (a TermBase); sentences whose terms could not be placed are highlighted in the
translation, with a tooltip naming the terms.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextEdit,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.language_pair import LanguagePair
from desktop.gui.settings import AppSettings
from desktop.gui.worker import MissingTerms, TranslationResult, Translator

DEBOUNCE_MS = 500
# Streamed output is painted at most this often: a long text streams thousands of tokens, and
# re-laying out the whole target box for each one would make the window sluggish.
STREAM_PAINT_MS = 50
MISSING_TERMS_COLOR = QColor(255, 224, 178)  # a sentence whose glossary terms were not placed


def describe_missing(missing: MissingTerms) -> str:
    """The tooltip of a highlighted sentence: the terms it lacks."""
    lines = []
    for entry in missing.terms:
        if getattr(entry, "keep", False):
            lines.append(f"'{entry.source}' not kept as it is")
        else:
            lines.append(f"'{entry.source}' → '{entry.target}' not placed")
    return "Terms not placed in this sentence:\n" + "\n".join(lines)


def count_segments(text: str) -> int:
    """Sentences the engine will translate one by one (the unit ALMA is trained on)."""
    from desktop.engine import split_segments

    return sum(1 for segment in split_segments(text) if segment.translatable)


class TextView(QWidget):
    """Side-by-side source and target, language pickers, live translation, stop and copy."""

    statusMessage = Signal(str)

    def __init__(self, translator: Translator, settings: AppSettings, glossaries=None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._translator = translator
        self._settings = settings
        self._glossaries = glossaries  # a GlossaryStore (desktop.gui.glossary_view), or None
        self.missing: tuple[MissingTerms, ...] = ()  # the shown translation's sentences lacking terms

        self.languages = LanguagePair(*settings.languages("text"))
        self.live_box = QCheckBox("Translate as I type")
        self.live_box.setChecked(settings.live_translation())
        self.translate_button = QPushButton("Translate")
        self.translate_button.setToolTip("Translate now (Ctrl+Return)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the translation to the clipboard")
        self.copy_button.setEnabled(False)

        self.source = QPlainTextEdit()
        self.source.setPlaceholderText("Type or paste text to translate")
        self.source.setAccessibleName("Source text")
        self.target = QPlainTextEdit()
        self.target.setReadOnly(True)
        self.target.setPlaceholderText("Translation")
        self.target.setAccessibleName("Translation")
        self.source_counts = QLabel()
        self.target_counts = QLabel()
        self.terms_label = QLabel()  # the glossaries in use, and how many sentences lack their terms
        self.busy_label = QLabel()
        self.target.viewport().installEventFilter(self)  # tooltips over highlighted sentences

        controls = QHBoxLayout()
        controls.addWidget(self.languages)
        controls.addStretch(1)
        controls.addWidget(self.live_box)
        controls.addWidget(self.translate_button)
        controls.addWidget(self.stop_button)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for editor, counts, extra in ((self.source, self.source_counts, None),
                                      (self.target, self.target_counts, self.copy_button)):
            pane = QWidget()
            pane_layout = QVBoxLayout(pane)
            pane_layout.setContentsMargins(0, 0, 0, 0)
            pane_layout.addWidget(editor)
            footer = QHBoxLayout()
            footer.addWidget(counts, 1)
            if extra is not None:
                footer.addWidget(extra)
            pane_layout.addLayout(footer)
            splitter.addWidget(pane)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)
        status = QHBoxLayout()
        status.addWidget(self.busy_label, 1)
        status.addWidget(self.terms_label)
        layout.addLayout(status)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.translate_now)
        self._streamed = ""
        self._paint_timer = QTimer(self)
        self._paint_timer.setSingleShot(True)
        self._paint_timer.setInterval(STREAM_PAINT_MS)
        self._paint_timer.timeout.connect(self._paint_streamed)

        self.source.textChanged.connect(self._on_source_changed)
        self.languages.changed.connect(self._on_languages_changed)
        self.live_box.toggled.connect(settings.set_live_translation)
        self.translate_button.clicked.connect(self.translate_now)
        self.stop_button.clicked.connect(self.stop)
        self.copy_button.clicked.connect(self.copy_translation)
        translator.partial.connect(self._on_partial)
        translator.translationReady.connect(self._on_ready)
        translator.error.connect(self._on_error)
        translator.notice.connect(self.statusMessage)
        translator.pendingChanged.connect(self._on_pending_changed)
        self._update_counts()
        self._update_terms_label()

    def terms(self):
        """The TermBase of the glossaries switched on for the chosen pair, or None."""
        if self._glossaries is None:
            return None
        return self._glossaries.terms_for(*self.languages.pair())

    @Slot()
    def glossaries_changed(self) -> None:
        """A glossary or its switch changed: translate again (as typing would)."""
        self._update_terms_label()
        if self.live_box.isChecked() and self.source.toPlainText().strip():
            self._debounce.start()

    @Slot()
    def translate_now(self) -> None:
        self._debounce.stop()
        text = self.source.toPlainText()
        if not text.strip():
            self._translator.stop()
            self._paint_timer.stop()
            self.target.clear()
            self._show_missing(())
            return
        self._translator.translate(text, *self.languages.pair(), terms=self.terms())

    @Slot()
    def stop(self) -> None:
        self._debounce.stop()
        if self._translator.busy:
            self.statusMessage.emit("Translation stopped")
        self._translator.stop()
        if self._paint_timer.isActive():  # show what was produced up to the stop, then nothing more
            self._paint_timer.stop()
            self._paint_streamed()

    @Slot()
    def swap(self) -> None:
        """Swap the languages; the translation becomes the new source, as in most translators."""
        translation = self.target.toPlainText()
        self.languages.swap()
        if translation.strip():
            self.source.setPlainText(translation)

    @Slot()
    def copy_translation(self) -> None:
        QGuiApplication.clipboard().setText(self.target.toPlainText())
        self.statusMessage.emit("Translation copied")

    @Slot()
    def _on_source_changed(self) -> None:
        self._update_counts()
        if self.live_box.isChecked():
            self._debounce.start()

    @Slot(str, str)
    def _on_languages_changed(self, src: str, tgt: str) -> None:
        self._settings.set_languages("text", src, tgt)
        self._update_terms_label()
        if self.live_box.isChecked() and self.source.toPlainText().strip():
            self._debounce.start()

    @Slot(str)
    def _on_partial(self, text: str) -> None:
        self._streamed = text
        if not self._paint_timer.isActive():
            self._paint_timer.start()

    @Slot()
    def _paint_streamed(self) -> None:
        self._show_target(self._streamed)

    @Slot(object)
    def _on_ready(self, result: TranslationResult) -> None:
        self._paint_timer.stop()
        self._show_target(result.text)
        self._show_missing(result.missing)

    def _show_target(self, text: str) -> None:
        if self.missing:
            self._show_missing(())
        current = self.target.toPlainText()
        if text.startswith(current) and current:
            # Append the new tail: keeps the scroll position while the output grows.
            cursor = self.target.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(text[len(current):])
        else:
            self.target.setPlainText(text)
        self._update_counts()

    def _show_missing(self, missing: tuple[MissingTerms, ...]) -> None:
        """Highlight the sentences whose terms were not placed (their tooltip names the terms)."""
        self.missing = tuple(missing)
        selections = []
        length = len(self.target.toPlainText())
        for item in self.missing:
            if item.end > length:
                continue
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.target.document())
            cursor.setPosition(item.start)
            cursor.setPosition(item.end, QTextCursor.MoveMode.KeepAnchor)
            char_format = QTextCharFormat()
            char_format.setBackground(QBrush(MISSING_TERMS_COLOR))
            char_format.setToolTip(describe_missing(item))
            selection.cursor, selection.format = cursor, char_format
            selections.append(selection)
        self.target.setExtraSelections(selections)
        self._update_terms_label()

    def missing_at(self, position: int) -> MissingTerms | None:
        """The highlighted sentence at a character position of the translation, if any."""
        return next((item for item in self.missing if item.start <= position < item.end), None)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.target.viewport() and event.type() == QEvent.Type.ToolTip and self.missing:
            item = self.missing_at(self.target.cursorForPosition(event.pos()).position())  # a QHelpEvent
            if item is not None:
                QToolTip.showText(event.globalPos(), describe_missing(item), self.target)
            else:
                QToolTip.hideText()
            return True
        return super().eventFilter(watched, event)

    def _update_terms_label(self) -> None:
        names = self._glossaries.enabled_names(*self.languages.pair()) if self._glossaries is not None else []
        text = f"Glossaries: {', '.join(names)}" if names else ""
        if self.missing:
            count = len(self.missing)
            text += f" · terms not placed in {count} sentence{'s' if count > 1 else ''} (highlighted)"
        self.terms_label.setText(text.lstrip(" ·"))
        self.terms_label.setToolTip("\n\n".join(describe_missing(item) for item in self.missing))

    @Slot(str)
    def _on_error(self, message: str) -> None:
        self.statusMessage.emit(f"Translation failed: {message}")

    @Slot(bool)
    def _on_pending_changed(self, busy: bool) -> None:
        self.stop_button.setEnabled(busy)
        self.busy_label.setText("Translating…" if busy else "")

    def _update_counts(self) -> None:
        source = self.source.toPlainText()
        segments = count_segments(source) if source.strip() else 0
        self.source_counts.setText(f"{len(source)} characters · {segments} segments")
        target = self.target.toPlainText()
        self.target_counts.setText(f"{len(target)} characters")
        self.copy_button.setEnabled(bool(target))
