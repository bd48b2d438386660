"""The Tune view: tune the translator on the user's own translations, each step of a run a QProcess child.

The run and its steps come from desktop.models.tuning; cancel, resume and the lineage: docs/tuning.md.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from alma_core.models import DefaultModelMissingError, resolve_translation_model
from desktop.gui.child_process import ChildRun
from desktop.gui.dialogs import show_error
from desktop.memory.store import MEMORY_MIN_PAIRS
from desktop.models import tuning
from desktop.models.card import default_label

LOG_PANE_MAX_LINES = 5000
DATA_FILTER = "Parallel data (*.tmx *.tsv *.jsonl *.po);;All files (*)"


class TuneView(QWidget):
    """Choose data, pairs, base model, LoRA/full, preset and quantization; run, follow, cancel."""

    statusMessage = Signal(str)
    runFinished = Signal(str)  # "done", "failed" or "cancelled"

    def __init__(self, models_view=None, parent: QWidget | None = None, memory=None) -> None:
        super().__init__(parent)
        self.models_view = models_view
        self.memory = memory  # the app's TranslationMemory (desktop.memory.store), or None
        self.direction: tuple[str, str] | None = None  # the Text view's language pair
        # Settings no widget shows; tests and power users set them (alma-train settings by name).
        self.train_overrides: dict = {}
        self.eval_limit = 20
        self.eval_max_new_tokens = 64
        self.runs_root: Path | None = None  # None: <user data dir>/tuning

        self.plan: tuning.TuningPlan | None = None
        self.state = "idle"
        self.last_report: dict | None = None
        self._child: ChildRun | None = None  # the step running
        self._step_index = -1
        self._cancelled = False
        self._progress = tuning.TrainProgress()

        self.missing = tuning.missing_training_modules()
        self.install_label = QLabel(
            f"Tuning needs the training extra ({', '.join(self.missing)} not installed). Install it with\n"
            f"    {tuning.INSTALL_HINT}\nand restart the app.")
        self.install_label.setWordWrap(True)
        self.install_label.setVisible(bool(self.missing))

        self.data_edit = QLineEdit()
        self.data_edit.setPlaceholderText("TMX, TSV, jsonl or .po file with your translations")
        self.data_button = QPushButton("Choose…")
        self.pairs_edit = QLineEdit()
        self.pairs_edit.setPlaceholderText("detected from the file, e.g. de-en (comma-separated)")
        self.base_edit = QLineEdit("default")
        self.base_edit.setToolTip('"default" (the model the app translates with), a base name '
                                  '(gemma3-270m, smollm2-135m), an HF model folder, or a GGUF file')
        self.base_note = QLabel()
        self.base_note.setWordWrap(True)
        self.base_note.setEnabled(False)
        self._describe_default_base()
        self.base_gguf_button = QPushButton("GGUF…")
        self.base_hf_button = QPushButton("HF folder…")
        self.finetune_combo = QComboBox()
        self.finetune_combo.addItems(tuning.FINETUNE_MODES)
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("quick (CPU demo, minutes)", "quick")
        self.preset_combo.addItem("workstation (GPU, paper settings)", "workstation")
        self.quant_combo = QComboBox()
        self.quant_combo.addItems(tuning.QUANT_TYPES)

        form_box = QGroupBox("Tuning")
        form = QFormLayout(form_box)
        data_row = QHBoxLayout()
        data_row.addWidget(self.data_edit, 1)
        data_row.addWidget(self.data_button)
        form.addRow("Data", data_row)
        form.addRow("Language pairs", self.pairs_edit)
        base_row = QHBoxLayout()
        base_row.addWidget(self.base_edit, 1)
        base_row.addWidget(self.base_gguf_button)
        base_row.addWidget(self.base_hf_button)
        form.addRow("Base model", base_row)
        form.addRow("", self.base_note)
        form.addRow("Fine-tuning", self.finetune_combo)
        form.addRow("Preset", self.preset_combo)
        form.addRow("Quantization", self.quant_combo)

        self.corrections_label = QLabel()
        self.corrections_label.setWordWrap(True)
        self.corrections_button = QPushButton("Tune on my corrections")
        self.corrections_button.setToolTip("Tune the model in use on the corrections saved in the Text view "
                                           "(the translation memory) for the current language pair")
        # A row of the form, not a box of its own: the tab keeps the window's minimum height.
        corrections_box = QWidget()
        corrections_row = QHBoxLayout(corrections_box)
        corrections_row.setContentsMargins(0, 0, 0, 0)
        corrections_row.addWidget(self.corrections_label, 1)
        corrections_row.addWidget(self.corrections_button)
        self.corrections_box = corrections_box
        form.insertRow(0, "Your corrections", corrections_box)
        self._form = form

        self.start_button = QPushButton("Start")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the last cancelled or failed run: finished steps are skipped, "
                                      "training continues from its last checkpoint")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.step_label = QLabel("Idle")
        self.progress_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%v/%m steps done")
        self.log_pane = QPlainTextEdit()
        self.log_pane.setReadOnly(True)
        self.log_pane.setMaximumBlockCount(LOG_PANE_MAX_LINES)
        self.log_pane.setAccessibleName("Tuning log")
        self.report_view = QTextBrowser()
        self.report_view.setAccessibleName("Tuning report")
        # Below their default 70 px minimum, so the tab (with its corrections row) fits a small window.
        self.log_pane.setMinimumHeight(48)
        self.report_view.setMinimumHeight(40)

        actions = QHBoxLayout()
        actions.addWidget(self.step_label, 1)
        actions.addWidget(self.progress_label)
        actions.addWidget(self.start_button)
        actions.addWidget(self.resume_button)
        actions.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.install_label)
        layout.addWidget(form_box)
        layout.addLayout(actions)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.log_pane, 2)
        layout.addWidget(self.report_view, 1)

        self.data_button.clicked.connect(self.choose_data)
        self.base_gguf_button.clicked.connect(self.choose_base_gguf)
        self.base_hf_button.clicked.connect(self.choose_base_hf)
        self.data_edit.editingFinished.connect(lambda: self.set_data_file(Path(self.data_edit.text())))
        self.start_button.clicked.connect(self.start)
        self.resume_button.clicked.connect(lambda: self.resume())
        self.corrections_button.clicked.connect(self.tune_on_corrections)
        self.cancel_button.clicked.connect(self.cancel)
        self.start_button.setEnabled(not self.missing)
        self.refresh_corrections()
        self.refresh_resumable()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        # Corrections are saved in the Text view: the count is fresh whenever the tab is shown.
        self.refresh_corrections()
        self.refresh_resumable()
        super().showEvent(event)

    def _describe_default_base(self) -> None:
        """Say which model "default" tunes: the app's default (built translator, else a base)."""
        try:
            choice = resolve_translation_model()
        except DefaultModelMissingError as exc:
            self.base_note.setText(f"default: no model ({exc})")
            return
        self.base_note.setText(f"default = {default_label(choice)}")
        self.base_note.setToolTip(str(choice.path))

    # --- choosing -----------------------------------------------------------------------------------
    @Slot()
    def choose_data(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Your translations", "", DATA_FILTER)
        if path:
            self.set_data_file(Path(path))

    @Slot()
    def choose_base_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Base model (GGUF)", "", "GGUF models (*.gguf)")
        if path:
            self.base_edit.setText(path)

    @Slot()
    def choose_base_hf(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Base model (HF folder)")
        if path:
            self.base_edit.setText(path)

    def set_data_file(self, path: Path) -> bool:
        """Show path and the language pairs found in it (the user may edit them)."""
        if not str(path).strip() or str(path) == ".":
            return False
        self.data_edit.setText(str(path))
        try:
            pairs = tuning.detect_pairs(path)
        except ValueError as exc:  # TuningError, DataFormatError (file:line)
            show_error(self, "Cannot read the data", str(exc))
            return False
        self.pairs_edit.setText(", ".join(pairs))
        self.statusMessage.emit(f"{path.name}: {', '.join(pairs)}")
        return True

    def request(self) -> tuning.TuningRequest:
        return tuning.TuningRequest(
            data_file=Path(self.data_edit.text().strip()),
            pairs=tuning.parse_pairs(self.pairs_edit.text()),
            base_model=self.base_edit.text().strip() or "default",
            finetune=self.finetune_combo.currentText(),
            preset=self.preset_combo.currentData(),
            quant=self.quant_combo.currentText(),
            train_overrides=dict(self.train_overrides),
            eval_limit=self.eval_limit,
            eval_max_new_tokens=self.eval_max_new_tokens,
        )

    # --- corrections (the translation memory) --------------------------------------------------------
    @Slot(str, str)
    def set_direction(self, src: str, tgt: str) -> None:
        """The language pair whose corrections "Tune on my corrections" uses (the Text view's)."""
        self.direction = (src, tgt)
        self.refresh_corrections()

    def corrections_count(self) -> int:
        if self.memory is None or self.direction is None:
            return 0
        return self.memory.count(*self.direction)

    def refresh_corrections(self) -> None:
        """Show how many corrections the memory holds for the pair; the button once there are enough."""
        self._form.setRowVisible(self.corrections_box, self.memory is not None)
        if self.memory is None:
            return
        count = self.corrections_count()
        pair = "-".join(self.direction) if self.direction else "no language pair"
        if count >= MEMORY_MIN_PAIRS:
            self.corrections_label.setText(f"{count} corrections for {pair} in your translation memory: "
                                           "tune the model in use on them.")
        else:
            self.corrections_label.setText(f"{count} corrections for {pair} in your translation memory; "
                                           f"tuning on them needs at least {MEMORY_MIN_PAIRS}.")
        self.corrections_button.setEnabled(count >= MEMORY_MIN_PAIRS and not self.missing
                                           and not self.is_running())

    def model_in_use(self) -> Path | None:
        """The GGUF the app translates with (the Models view's active model), else None."""
        if self.models_view is None:
            return None
        return self.models_view.active_path()

    @Slot()
    def tune_on_corrections(self) -> None:
        """Tune the model in use on the memory's pairs for the current language pair."""
        if self.is_running():
            return
        if self.missing:
            show_error(self, "Training extra missing", self.install_label.text())
            return
        if self.memory is None or self.direction is None:
            show_error(self, "Cannot tune on corrections", "No translation memory or language pair is set.")
            return
        model = self.model_in_use()
        if model is None:
            show_error(self, "Cannot tune on corrections",
                       "No model is loaded: pick one in the Models view, then tune it on your corrections.")
            return
        request = self.request_settings()
        try:
            plan = tuning.prepare_corrections_run(self.memory, *self.direction, base_model=str(model),
                                                  root=self.runs_root, **request)
        except (ValueError, OSError) as exc:
            show_error(self, "Cannot tune on corrections", str(exc))
            return
        self.data_edit.setText(str(plan.request.data_file))
        self.pairs_edit.setText(", ".join(plan.request.pairs))
        self.base_edit.setText(str(model))
        self._run(plan, f"Tuning {model.name} on {self.corrections_count()} corrections")

    def request_settings(self) -> dict:
        """The TuningRequest fields the form sets besides data, pairs and base."""
        return {"finetune": self.finetune_combo.currentText(), "preset": self.preset_combo.currentData(),
                "quant": self.quant_combo.currentText(), "train_overrides": dict(self.train_overrides),
                "eval_limit": self.eval_limit, "eval_max_new_tokens": self.eval_max_new_tokens}

    # --- resume ----------------------------------------------------------------------------------------
    def resumable_runs(self) -> list[Path]:
        return tuning.resumable_runs(self.runs_root)

    def refresh_resumable(self) -> None:
        runs = [] if self.missing else self.resumable_runs()
        self.resume_button.setEnabled(bool(runs) and not self.is_running())
        self.resume_button.setToolTip(f"Continue {runs[0].name}: finished steps are skipped, training continues "
                                      "from its last checkpoint" if runs else "No cancelled run to resume")

    def resume(self, run_dir: Path | None = None) -> bool:
        """Resume run_dir (default: the newest cancelled or failed run); False with a dialog if it cannot."""
        if self.is_running():
            return False
        runs = self.resumable_runs()
        if run_dir is None and not runs:
            show_error(self, "Nothing to resume", "No cancelled or failed tuning run was found.")
            return False
        try:
            plan = tuning.resume_run(Path(run_dir) if run_dir is not None else runs[0])
        except ValueError as exc:
            show_error(self, "Cannot resume tuning", str(exc))
            return False
        done = ", ".join(plan.done_steps) or "none"
        self._run(plan, f"Resuming {plan.run_id} (steps done: {done})", clear=False)
        return True

    # --- running -------------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.state == "running"

    @Slot()
    def start(self) -> None:
        if self.is_running():
            return
        if self.missing:
            show_error(self, "Training extra missing", self.install_label.text())
            return
        try:
            plan = tuning.prepare_run(self.request(), self.runs_root)
        except ValueError as exc:
            show_error(self, "Cannot start tuning", str(exc))
            return
        self._run(plan, "")

    def _run(self, plan: tuning.TuningPlan, note: str, clear: bool = True) -> None:
        self.plan = plan
        self.state = "running"
        self.last_report = None
        self._cancelled = False
        self._step_index = -1
        if clear:
            self.log_pane.clear()
        self.report_view.clear()
        self.progress_bar.setRange(0, len(self.plan.steps))
        self.progress_bar.setValue(0)
        self.start_button.setEnabled(False)
        self.resume_button.setEnabled(False)
        self.corrections_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        if note:
            self._append(note + "\n")
        self._append(f"Run folder: {self.plan.run_dir}\n")
        self._next_step()

    def _next_step(self) -> None:
        assert self.plan is not None
        start = self._step_index + 1
        self._step_index = tuning.next_step_index(self.plan, start)
        for skipped in self.plan.steps[start:self._step_index]:
            self._append(f"\n$ {skipped.name}: done in an earlier attempt, skipped\n")
        self.progress_bar.setValue(self._step_index)
        if self._step_index >= len(self.plan.steps):
            self._finish()
            return
        step = self.plan.steps[self._step_index]
        tuning.set_status(self.plan, "running", step=step.name)
        self._progress = tuning.TrainProgress()
        self.progress_label.clear()
        self.step_label.setText(f"Step {self._step_index + 1}/{len(self.plan.steps)}: {step.name}")
        self._append(f"\n$ {step.name}\n")
        self._child = ChildRun(self, self.plan.command(step), self.plan.log_path(step))
        self._child.output.connect(self._read_output)
        self._child.ended.connect(self._end_step)
        self._child.start()

    @Slot(str)
    def _read_output(self, text: str) -> None:
        self._append(text.replace("\r", "\n"))
        assert self.plan is not None
        if self.plan.steps[self._step_index].name == "stage2":
            tuning.update_progress(self._progress, text, self.plan.train_dir)
            self.progress_label.setText(self._progress.describe())

    @Slot(int)
    def _end_step(self, exit_code: int) -> None:
        self._child = None
        assert self.plan is not None
        step = self.plan.steps[self._step_index]
        if self._cancelled:
            self._stop("cancelled", f"cancelled during {step.name}")
        elif exit_code != 0:
            self._stop("failed", f"{step.name} failed (exit code {exit_code}); see {self.plan.log_path(step)}")
        else:
            self.plan.done_steps.append(step.name)
            tuning.set_status(self.plan, "running", step=step.name)  # a resume skips it from now on
            self._next_step()

    @Slot()
    def cancel(self) -> None:
        if not self.is_running():
            return
        self._cancelled = True
        self._append("\nCancelling…\n")
        if self._child is not None:
            self._child.stop()  # its end ends the run as cancelled

    def _finish(self) -> None:
        assert self.plan is not None
        try:
            report = tuning.finish_run(self.plan)
        except (OSError, ValueError, KeyError) as exc:
            self._stop("failed", f"report: {exc}")
            return
        self.last_report = report
        self.report_view.setMarkdown(tuning.report_markdown(report))
        if self.models_view is not None:
            self.models_view.add_model(self.plan.model_path)  # a bundle's row shows its new adapter
            if self.plan.bundle is not None:
                self.models_view.reload_if_active(self.plan.model_path)  # in use: translate with the new adapter
        what = (f"new adapter {self.plan.bundle.adapter} in {self.plan.bundle.root.name}" if self.plan.bundle
                else f"new model {self.plan.final_gguf.name}")
        self._stop("done", what)

    def _stop(self, state: str, message: str) -> None:
        assert self.plan is not None
        if state != "done":
            tuning.set_status(self.plan, state, message)
        self.state = state
        self.step_label.setText(f"{state.capitalize()}: {message}")
        self._append(f"\n{state}: {message}\n")
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.refresh_resumable()
        self.refresh_corrections()
        if state == "cancelled":
            self._append("The run can be resumed (Resume): finished steps are kept.\n")
        self.statusMessage.emit(f"Tuning {state}: {message}")
        if state == "failed":
            show_error(self, "Tuning failed", message)
        self.runFinished.emit(state)

    def _append(self, text: str) -> None:
        self.log_pane.moveCursor(QTextCursor.MoveOperation.End)
        self.log_pane.insertPlainText(text)

    def shutdown(self) -> None:
        """Called when the window closes: a running step is stopped (the run is marked cancelled)."""
        if self._child is not None:
            self._cancelled = True
            self._child.stop_and_wait()
