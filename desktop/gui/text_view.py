"""The text view: source and translation side by side, translated as you type; unsure, remembered and
term-missing sentences marked, corrections saved to the translation memory (docs/gui.md, "Text";
docs/post_editing.md)."""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import QEvent, QEventLoop, QObject, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QBrush, QColor, QGuiApplication, QKeySequence, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextEdit,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from desktop.engine import SentenceReport, split_segments
from desktop.gui.dialogs import show_error
from desktop.gui.language_pair import LanguagePair
from desktop.gui.sentence_map import SentenceMap, Utf16Positions
from desktop.gui.settings import AppSettings
from desktop.gui.worker import AlternativesResult, MissingTerms, TranslationResult, Translator
from desktop.terminology import Terms

DEBOUNCE_MS = 500
# Streamed output is painted at most this often: a long text streams thousands of tokens, and
# re-laying out the whole target box for each one would make the window sluggish.
STREAM_PAINT_MS = 50
MISSING_TERMS_COLOR = QColor(255, 224, 178)  # a sentence whose glossary terms were not placed
# Sentences whose confidence (0..1, desktop.engine.confidence) is below this are shaded. Calibrated,
# a confidence is the fitted chance that the sentence reaches the calibration's chrF threshold: under
# 0.5 it more likely does not. TextView.set_confidence_threshold changes it.
LOW_CONFIDENCE = 0.5
LOW_CONFIDENCE_COLOR = QColor(255, 205, 210)
LOW_CONFIDENCE_UNDERLINE = QColor(198, 40, 40)  # still seen under another sentence mark
MEMORY_COLOR = QColor(200, 230, 201)  # served from (or saved to) the user's translation memory
EDITED_COLOR = QColor(255, 249, 196)  # corrected by the user, not confirmed yet
PAIR_COLOR = QColor(187, 222, 251)  # the sentence under the cursor and its counterpart
ALTERNATIVES = 4  # n-best asked of the engine (the greedy translation among them)
ALTERNATIVES_TIMEOUT_MS = 300_000  # show_alternatives() waits at most this long for the engine
MEMORY_TOOLTIP = "from your translation memory"
# A sentence whose translation stopped at the engine's token limit: shaded as an unsure one.
CUT_TOOLTIP = "the translation may be cut: it stopped at its token limit, so its end may be missing"
CONFIRM_TOOLTIP = "Save your corrected sentences to the translation memory (Ctrl+Shift+Return)"


def describe_missing(missing: MissingTerms) -> str:
    """The tooltip of a highlighted sentence: the terms it lacks."""
    lines = []
    for entry in missing.terms:
        if entry.keep:
            lines.append(f"'{entry.source}' not kept as it is")
        else:
            lines.append(f"'{entry.source}' → '{entry.target}' not placed")
    return "Terms not placed in this sentence:\n" + "\n".join(lines)


def describe_confidence(confidence: float) -> str:
    return f"confidence {confidence:.2f}"


def count_segments(text: str) -> int:
    """Sentences the engine will translate one by one (the unit ALMA is trained on)."""
    return sum(1 for segment in split_segments(text) if segment.translatable)


class TextView(QWidget):
    """Side-by-side source and target, language pickers, live translation, stop and copy."""

    statusMessage = Signal(str)

    def __init__(self, translator: Translator, settings: AppSettings, glossaries=None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._translator = translator
        self._settings = settings
        self._glossaries = glossaries  # a GlossaryStore (desktop.terminology.store), or None
        self.missing: tuple[MissingTerms, ...] = ()  # the shown translation's sentences lacking terms
        self.sentences: list[SentenceReport] = []  # the shown translation's sentences (spans, confidence, origin)
        self.confidence_threshold = LOW_CONFIDENCE
        self._map: SentenceMap | None = None  # sentences tracked in both boxes while the user edits
        self._shades: dict[int, QTextEdit.ExtraSelection] = {}  # sentence index -> its shade
        self._missing_cursors: list[tuple[QTextCursor, MissingTerms]] = []
        self._shown_pair: tuple[str, str] | None = None  # the pair the shown translation is in
        self._translated_source: str | None = None  # the source text the shown translation is of
        self._pair_index: int | None = None  # the sentence highlighted in both boxes
        self._alternatives: dict[int, list[str]] = {}  # sentence index -> alternatives (this translation)
        self._alternatives_request: tuple[int, int, QPoint | None] | None = None  # id, sentence, where
        self.alternatives_menu: QMenu | None = None  # the last alternatives menu shown
        self.question: QMessageBox | None = None  # "confirm or discard corrections?" while open

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
        self.target.setReadOnly(True)  # editable once a translation is shown (not while one streams in)
        self.target.setPlaceholderText("Translation")
        self.target.setAccessibleName("Translation")
        self.target.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.confirm_button = QPushButton("Confirm corrections")
        self.confirm_button.setToolTip(CONFIRM_TOOLTIP)
        self.confirm_button.setEnabled(False)
        self.review_label = QLabel()  # corrections waiting, live translation paused
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
        for editor, counts, extras in ((self.source, self.source_counts, ()),
                                       (self.target, self.target_counts, (self.confirm_button, self.copy_button))):
            pane = QWidget()
            pane_layout = QVBoxLayout(pane)
            pane_layout.setContentsMargins(0, 0, 0, 0)
            pane_layout.addWidget(editor)
            footer = QHBoxLayout()
            footer.addWidget(counts, 1)
            for extra in extras:
                footer.addWidget(extra)
            pane_layout.addLayout(footer)
            splitter.addWidget(pane)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)
        status = QHBoxLayout()
        status.addWidget(self.busy_label, 1)
        status.addWidget(self.review_label)
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
        self.confirm_button.clicked.connect(self.confirm_corrections)
        self.target.textChanged.connect(self._update_target_counts)
        self.target.document().contentsChange.connect(self._on_target_changed)
        self.target.cursorPositionChanged.connect(self._on_target_cursor)
        self.source.cursorPositionChanged.connect(self._on_source_cursor)
        self.target.customContextMenuRequested.connect(self._on_context_menu)
        # The keyboard way to the alternatives of the sentence at the cursor (a combo box's key).
        self.alternatives_action = QAction("Alternatives…", self.target)
        self.alternatives_action.setShortcut(QKeySequence("Alt+Down"))
        self.alternatives_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.alternatives_action.triggered.connect(self.alternatives_at_cursor)
        self.target.addAction(self.alternatives_action)
        translator.alternativesReady.connect(self._on_alternatives)
        translator.partial.connect(self._on_partial)
        translator.translationReady.connect(self._on_ready)
        translator.error.connect(self._on_error)
        translator.notice.connect(self.statusMessage)
        translator.pendingChanged.connect(self._on_pending_changed)
        self._update_counts()
        self._update_terms_label()

    def terms(self) -> Terms | None:
        """The Terms of the glossaries switched on for the chosen pair (the default strategy), or None."""
        if self._glossaries is None:
            return None
        return Terms.of(self._glossaries.terms_for(*self.languages.pair()))

    @Slot()
    def glossaries_changed(self) -> None:
        """A glossary or its switch changed: translate again (as typing would)."""
        self._update_terms_label()
        self._retranslate_live()

    def _retranslate_live(self) -> None:
        """Translate again after the debounce, unless that would replace unconfirmed corrections."""
        if not self.live_box.isChecked() or not self.source.toPlainText().strip():
            return
        if self.has_unconfirmed_corrections():
            self._update_review_label()  # says live translation is paused
            return
        self._debounce.start()

    @Slot()
    def translate_now(self) -> None:
        self._debounce.stop()
        if self.has_unconfirmed_corrections():
            self._ask_about_corrections()
            return
        self._translate()

    def _translate(self) -> None:
        text = self.source.toPlainText()
        if not text.strip():
            self._translator.stop()
            self._paint_timer.stop()
            self._clear_sentences()
            self.target.clear()
            self._show_missing(())
            return
        self._translator.translate(text, *self.languages.pair(), terms=self.terms())

    def _ask_about_corrections(self) -> None:
        """A new translation would replace corrected sentences: confirm them, discard them, or cancel.
        Non-blocking (desktop.gui.dialogs' reason); the answer comes back to _on_question_answered."""
        if self.question is not None:
            self.question.raise_()
            return
        count = len(self.corrections())
        box = QMessageBox(QMessageBox.Icon.Question, "Unconfirmed corrections",
                          f"You corrected {count} sentence{'s' if count != 1 else ''} of this translation. "
                          "A new translation replaces them.", QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("correctionsQuestion")
        box.setInformativeText("Save them to your translation memory first?")
        box.confirm = box.addButton("Confirm and translate", QMessageBox.ButtonRole.AcceptRole)
        box.discard = box.addButton("Discard and translate", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(box.confirm)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result, box=box: self._on_question_answered(box))
        self.question = box
        box.open()

    def _on_question_answered(self, box: QMessageBox) -> None:
        self.question = None
        clicked = box.clickedButton()
        if clicked is box.confirm:
            self.confirm_corrections()
            if self.has_unconfirmed_corrections():  # not saved (a dialog said why): keep them
                return
        elif clicked is not box.discard:
            return
        self._translate()

    @Slot()
    def stop(self) -> None:
        self._debounce.stop()
        if self._translator.busy:
            self.statusMessage.emit("Translation stopped")
        self._translator.stop()
        if self._paint_timer.isActive():  # show what was produced up to the stop, then nothing more
            self._paint_timer.stop()
            self._paint_streamed()
        self.target.setReadOnly(False)  # what came so far can be edited (no sentence map: not saved)

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
        self._retranslate_live()

    @Slot(str, str)
    def _on_languages_changed(self, src: str, tgt: str) -> None:
        self._settings.set_languages("text", src, tgt)
        self._update_terms_label()
        self._retranslate_live()

    @Slot(str)
    def _on_partial(self, text: str) -> None:
        self._streamed = text
        if not self._paint_timer.isActive():
            self._paint_timer.start()

    @Slot()
    def _paint_streamed(self) -> None:
        self._clear_sentences()  # a new translation streams in: the shown one's sentences are gone
        self._show_target(self._streamed)

    @Slot(object)
    def _on_ready(self, result: TranslationResult) -> None:
        self._paint_timer.stop()
        self._clear_sentences()
        self._show_target(result.text)
        self._show_missing(result.missing)
        self._show_sentences(result)

    def _show_target(self, text: str) -> None:
        if self.missing:
            self._show_missing(())
        self.target.setReadOnly(True)  # streaming: edits would be overwritten
        current = self.target.toPlainText()
        if text.startswith(current) and current:
            # Append the new tail: keeps the scroll position while the output grows.
            cursor = self.target.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(text[len(current):])
        else:
            self.target.setPlainText(text)

    # -- sentences: shading, highlighting, corrections ---------------------------------------------

    def _show_sentences(self, result: TranslationResult) -> None:
        """The finished translation's sentences: tracked for edits, shaded, and the box made editable."""
        self.sentences = list(result.sentences)
        self._shown_pair = (result.src, result.tgt) if result.src else self.languages.pair()
        self._translated_source = result.source_text or self.source.toPlainText()
        if self.sentences and self.target.toPlainText() == result.text:
            # Source spans are mapped where the source box still holds them (SentenceMap checks).
            self._map = SentenceMap(self.sentences, self.source.document(), self.source.toPlainText(),
                                    self.target.document(), result.text)
        self.target.setReadOnly(False)
        self._refresh_selections()
        self._update_review_label()

    def _clear_sentences(self) -> None:
        self.sentences = []
        self._map = None
        self._pair_index = None
        self._alternatives = {}
        self._alternatives_request = None
        self.missing = ()
        self._missing_cursors = []
        self._refresh_selections()
        self._update_terms_label()
        self._update_review_label()

    def _show_missing(self, missing: tuple[MissingTerms, ...]) -> None:
        """Highlight the sentences whose terms were not placed (their tooltip names the terms)."""
        self.missing = tuple(missing)
        self._missing_cursors = []
        text = self.target.toPlainText()
        position = Utf16Positions(text)
        for item in self.missing:
            if item.end > len(text):
                continue
            cursor = QTextCursor(self.target.document())  # moves with the user's edits
            cursor.setPosition(position(item.start))
            cursor.setPosition(position(item.end), QTextCursor.MoveMode.KeepAnchor)
            self._missing_cursors.append((cursor, item))
        self._refresh_selections(changed=[])
        self._update_terms_label()

    def _refresh_selections(self, changed: list[int] | None = None) -> None:
        """Every mark on the two boxes: sentence shades (low confidence, translation memory, edited),
        missing terms, and the sentence under the cursor with its counterpart (drawn last: on top).

        changed: the sentences whose shade may have changed (None: all). The others keep their
        selection, whose cursor Qt has moved with the edits."""
        if self._map is None:
            self._shades = {}
        else:
            for index in range(len(self._map)) if changed is None else changed:
                marked = self._sentence_format(index)
                if marked is None:
                    self._shades.pop(index, None)
                else:
                    self._shades[index] = self._selection(self.target, self._map.target_range(index), marked)
        selections = list(self._shades.values())
        for cursor, item in self._missing_cursors:
            selection = QTextEdit.ExtraSelection()
            char_format = QTextCharFormat()
            char_format.setBackground(QBrush(MISSING_TERMS_COLOR))
            char_format.setToolTip(describe_missing(item))
            selection.cursor, selection.format = cursor, char_format
            selections.append(selection)
        source_selections = []
        if self._map is not None and self._pair_index is not None and self._pair_index < len(self._map):
            pair_format = QTextCharFormat()
            pair_format.setBackground(QBrush(PAIR_COLOR))
            selections.append(self._selection(self.target, self._map.target_range(self._pair_index), pair_format))
            source_range = self._map.source_range(self._pair_index)
            if source_range is not None:
                source_selections.append(self._selection(self.source, source_range, pair_format))
        self.target.setExtraSelections(selections)
        self.source.setExtraSelections(source_selections)

    @staticmethod
    def _selection(editor: QPlainTextEdit, span: tuple[int, int], char_format: QTextCharFormat):
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(editor.document())
        cursor.setPosition(span[0])
        cursor.setPosition(span[1], QTextCursor.MoveMode.KeepAnchor)
        selection.cursor, selection.format = cursor, char_format
        return selection

    def _sentence_format(self, index: int) -> QTextCharFormat | None:
        """Sentence index's shade, or None: edited (unconfirmed), else from the memory, else unsure
        (low confidence, or a translation that may be cut)."""
        tooltip = self.sentence_tooltip(index)
        char_format = QTextCharFormat()
        char_format.setToolTip(tooltip)
        if self._map.edited(index):
            char_format.setBackground(QBrush(EDITED_COLOR))
        elif self._map.origins[index] == "memory":
            char_format.setBackground(QBrush(MEMORY_COLOR))
        elif self.low_confidence(index) or self.cut(index):
            char_format.setBackground(QBrush(LOW_CONFIDENCE_COLOR))
            char_format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
            char_format.setUnderlineColor(LOW_CONFIDENCE_UNDERLINE)
        else:
            return None
        return char_format

    def set_confidence_threshold(self, threshold: float) -> None:
        """Shade sentences whose confidence is below threshold (0..1) from now on."""
        self.confidence_threshold = threshold
        self._refresh_selections()

    def low_confidence(self, index: int) -> bool:
        """Whether sentence index is shaded as unsure (its confidence is below the threshold)."""
        confidence = self.sentences[index].confidence
        return confidence is not None and confidence < self.confidence_threshold

    def cut(self, index: int) -> bool:
        """Whether sentence index's translation stopped at its token limit (it is shaded as unsure)."""
        return self.sentences[index].truncated

    def sentence_tooltip(self, index: int) -> str:
        """What the tooltip over translation sentence index says (its marks), or ""."""
        lines = []
        if self._map is not None and self._map.edited(index):
            lines.append("your correction (not confirmed yet)")
        elif self._map is not None and index in self._map.confirmed:
            lines.append("your correction (saved to your translation memory)")
        elif self._map is not None and self._map.origins[index] == "memory":
            lines.append(MEMORY_TOOLTIP)
        else:
            if self.cut(index):
                lines.append(CUT_TOOLTIP)
            confidence = self.sentences[index].confidence
            if confidence is not None:
                lines.append(describe_confidence(confidence))
        return "\n".join(lines)

    def marked_sentences(self) -> dict[int, str]:
        """Sentence index -> its tooltip, for every shaded sentence of the translation box."""
        if self._map is None:
            return {}
        return {index: self.sentence_tooltip(index) for index in range(len(self._map))
                if self._sentence_format(index) is not None}

    def highlighted(self) -> tuple[str, str] | None:
        """The (source, translation) text highlighted as the sentence under the cursor, or None."""
        if self._map is None or self._pair_index is None:
            return None
        source = [s.cursor.selectedText() for s in self.source.extraSelections()]
        target = [s.cursor.selectedText() for s in self.target.extraSelections()
                  if s.format.background().color() == PAIR_COLOR]
        return (source[0] if source else "", target[0] if target else "")

    @Slot()
    def _on_target_cursor(self) -> None:
        if self._map is not None:
            self._set_pair(self._map.at_target(self.target.textCursor().position()))

    @Slot()
    def _on_source_cursor(self) -> None:
        if self._map is not None:
            self._set_pair(self._map.at_source(self.source.textCursor().position()))

    def _set_pair(self, index: int | None) -> None:
        if index != self._pair_index:
            self._pair_index = index
            self._refresh_selections(changed=[])

    @Slot(int, int, int)
    def _on_target_changed(self, position: int, _removed: int, added: int) -> None:
        """A change to the target document: the sentences it touched may now be (or no longer be)
        corrections. Only those are re-read, so typing stays quick in a long text."""
        if self._map is None:
            return
        touched = self._map.touching(position, position + added)
        flipped = self._map.changed(position, added)
        self._refresh_selections(touched)  # tooltips and shades of the sentences typed in
        if flipped:
            self._update_review_label()

    def edit_target_sentence(self, index: int, new_text: str) -> None:
        """Replace translation sentence index in the target box, as the user's typing would."""
        self._require_map(index)
        self._map.replace(index, new_text)
        # Shades again after replace() set the sentence bounds (a neighbour with no space between
        # them was re-read then, after the edit's own change notice).
        self._refresh_selections()
        self._update_review_label()

    def corrections(self) -> list[tuple[str, str]]:
        """(source sentence, corrected translation) of the sentences changed since they were shown
        (or last confirmed); a sentence emptied is no correction."""
        if self._map is None:
            return []
        return [(source, text) for _index, source, text in self._map.corrections()]

    def has_unconfirmed_corrections(self) -> bool:
        return self._map is not None and bool(self._map.corrections())

    @Slot()
    def confirm_corrections(self) -> int:
        """Save the corrections to the app's translation memory (origin "correction", the model in use
        named); returns how many were saved. A failed save is a dialog; the corrections stay."""
        if self._map is None or not (found := self._map.corrections()):
            self.statusMessage.emit("No corrections to confirm")
            return 0
        memory = self._translator.memory
        if memory is None:
            show_error(self, "Corrections not saved", "There is no translation memory to save them to.")
            return 0
        src, tgt = self._shown_pair
        model = self._translator.model.path.name if self._translator.model is not None else None
        saved = 0
        try:
            for index, source, text in found:
                memory.add(src, tgt, source, text, origin="correction", model=model)
                self._map.confirm(index, text)
                saved += 1
        except (sqlite3.Error, OSError) as exc:
            where = getattr(memory, "path", "the translation memory")
            show_error(self, "Corrections not saved", f"{where}: {exc}")
        self._refresh_selections()
        self._update_review_label()
        if saved:
            self.statusMessage.emit(f"Saved {saved} correction{'s' if saved != 1 else ''} to the "
                                    f"translation memory ({src}→{tgt})")
            if self._translated_source != self.source.toPlainText():
                self._retranslate_live()  # the source changed while live translation was paused
        return saved

    def _update_review_label(self) -> None:
        count = len(self._map.corrections()) if self._map is not None else 0
        self.confirm_button.setEnabled(count > 0)
        # Said before the user confirms: a memory that cannot be written (desktop.memory.store's problem).
        memory = self._translator.memory
        problem = "no translation memory" if memory is None else getattr(memory, "problem", None)
        self.confirm_button.setToolTip(CONFIRM_TOOLTIP + (f"\nCannot save: {problem}" if problem else ""))
        if not count:
            self.review_label.setText("")
            return
        text = f"{count} correction{'s' if count != 1 else ''} to confirm"
        if self.live_box.isChecked() and self._translated_source != self.source.toPlainText():
            text += " · live translation paused"
        self.review_label.setText(text)

    def _require_map(self, index: int) -> None:
        if self._map is None:
            raise IndexError("no translation with sentences is shown")
        if not 0 <= index < len(self._map):
            raise IndexError(f"sentence {index} out of range (the translation has {len(self._map)})")

    # -- alternatives ------------------------------------------------------------------------------

    @Slot(QPoint)
    def _on_context_menu(self, position: QPoint) -> None:
        menu = self.context_menu(position)
        menu.popup(self.target.viewport().mapToGlobal(position))

    def context_menu(self, position: QPoint) -> QMenu:
        """The translation box's menu at a viewport position: the usual edit actions, and for a
        sentence "Alternatives…" (the model's n-best; picking one replaces the sentence)."""
        menu = self.target.createStandardContextMenu(position)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        index = self._map.at_target(self.target.cursorForPosition(position).position()) if self._map else None
        if index is not None:
            menu.addSeparator()
            action = menu.addAction("Alternatives…")
            action.setObjectName("alternativesAction")
            where = self.target.viewport().mapToGlobal(position)
            action.triggered.connect(lambda _checked=False, i=index: self.request_alternatives(i, where))
        return menu

    @Slot()
    def alternatives_at_cursor(self) -> None:
        """The alternatives menu of the translation sentence the text cursor is in, if any."""
        index = self._map.at_target(self.target.textCursor().position()) if self._map is not None else None
        if index is not None:
            where = self.target.viewport().mapToGlobal(self.target.cursorRect().bottomLeft())
            self.request_alternatives(index, where)

    def request_alternatives(self, index: int, where: QPoint | None = None) -> None:
        """Ask the engine for sentence index's alternatives; a menu of them pops up at `where` (the
        sentence's place when None) once they come."""
        self._require_map(index)
        if index in self._alternatives:
            self._popup_alternatives(index, where)
            return
        src, tgt = self._shown_pair
        request_id = self._translator.alternatives(self.sentences[index].source, src, tgt, n=ALTERNATIVES)
        self._alternatives_request = (request_id, index, where)
        self.statusMessage.emit("Finding alternatives…")

    @Slot(object)
    def _on_alternatives(self, result: AlternativesResult) -> None:
        request, self._alternatives_request = self._alternatives_request, None
        if request is None or request[0] != result.request_id or self._map is None:
            return  # asked for a translation no longer shown
        _request_id, index, where = request
        if result.error:
            self.statusMessage.emit(f"No alternatives: {result.error}")
            return
        self._alternatives[index] = list(dict.fromkeys(a.strip() for a in result.alternatives if a.strip()))
        self._popup_alternatives(index, where)

    def _alternatives_for(self, index: int) -> list[str]:
        """Sentence index's alternatives other than its current text (distinct, best first)."""
        current = self._map.text(index).strip()
        return [text for text in self._alternatives.get(index, []) if text != current]

    def _popup_alternatives(self, index: int, where: QPoint | None) -> None:
        if self.alternatives_menu is not None:
            self.alternatives_menu.close()
        menu = QMenu(self.target)
        menu.setObjectName("alternativesMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.destroyed.connect(lambda _=None, menu=menu: self._forget_menu(menu))
        choices = self._alternatives_for(index)
        for text in choices:
            action = menu.addAction(text.replace("&", "&&"))  # & would be read as a shortcut mark
            action.setData(text)
            action.triggered.connect(lambda _checked=False, i=index, t=text: self.use_alternative(i, t))
        if not choices:
            menu.addAction("No other translation found").setEnabled(False)
        if where is None:
            start, _end = self._map.target_range(index)
            cursor = QTextCursor(self.target.document())
            cursor.setPosition(start)
            where = self.target.viewport().mapToGlobal(self.target.cursorRect(cursor).bottomLeft())
        self.alternatives_menu = menu
        menu.popup(where)

    def _forget_menu(self, menu: QMenu) -> None:
        if self.alternatives_menu is menu:
            self.alternatives_menu = None

    def show_alternatives(self, index: int) -> list[str]:
        """Sentence index's alternatives (distinct, best first, the current text left out), shown as a
        menu under the sentence; waits for the engine (the window stays live) when not fetched yet."""
        self._require_map(index)
        if index not in self._alternatives:
            loop = QEventLoop()
            timer = QTimer()
            timer.setSingleShot(True)
            timer.timeout.connect(loop.quit)
            self._translator.alternativesReady.connect(loop.quit, Qt.ConnectionType.QueuedConnection)
            try:
                self.request_alternatives(index)
                timer.start(ALTERNATIVES_TIMEOUT_MS)
                loop.exec()
            finally:
                self._translator.alternativesReady.disconnect(loop.quit)
        else:
            self._popup_alternatives(index, None)
        return self._alternatives_for(index) if self._map is not None else []

    def use_alternative(self, index: int, text: str) -> None:
        """Put an alternative in place of sentence index (an edit to confirm like any other)."""
        self.edit_target_sentence(index, text)
        self.statusMessage.emit("Alternative used: confirm your corrections to keep it")

    # -- tooltips and labels -------------------------------------------------------------------------

    def missing_at(self, position: int) -> MissingTerms | None:
        """The highlighted sentence at a character position of the translation, if any."""
        for cursor, item in self._missing_cursors:
            if cursor.selectionStart() <= position < cursor.selectionEnd():
                return item
        return None

    def tooltip_at(self, position: int) -> str:
        """The tooltip at a position of the translation box: the sentence's marks, its missing terms."""
        parts = []
        if self._map is not None and (index := self._map.at_target(position)) is not None:
            parts.append(self.sentence_tooltip(index))
        item = self.missing_at(position)
        if item is not None:
            parts.append(describe_missing(item))
        return "\n".join(part for part in parts if part)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.target.viewport() and event.type() == QEvent.Type.ToolTip:
            text = self.tooltip_at(self.target.cursorForPosition(event.pos()).position())  # a QHelpEvent
            if text:
                QToolTip.showText(event.globalPos(), text, self.target)
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
        if not busy:
            self.target.setReadOnly(False)  # finished, failed or stopped: nothing streams in any more

    def _update_counts(self) -> None:
        source = self.source.toPlainText()
        segments = count_segments(source) if source.strip() else 0
        self.source_counts.setText(f"{len(source)} characters · {segments} segments")
        self._update_target_counts()

    @Slot()
    def _update_target_counts(self) -> None:
        # Apart from the source's: cutting a long source into sentences on every keystroke in the
        # translation box would make typing there slow.
        target = self.target.toPlainText()
        self.target_counts.setText(f"{len(target)} characters")
        self.copy_button.setEnabled(bool(target))
