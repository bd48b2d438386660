"""The Models view: the default model, the bundles in the user model folder and the GGUF files (or bundles) the user
added, with their card, adapters and lineage.

What it shows and does (Use this model, Use parent, Delete…): docs/gui.md#models.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from alma_core.bundle import MANIFEST, bundle_root, is_bundle, load_bundle, model_info
from alma_core.gguf_file import AlmaKey, ModelLoadError, trained_pairs
from alma_core.models import (
    BASES,
    DefaultModelMissingError,
    canonical_model_path,
    installed_bundles,
    resolve_translation_model,
)
from desktop.gui.add_language_dialog import AddLanguageDialog
from desktop.gui.dialogs import show_error
from desktop.gui.settings import AppSettings, ModelOptions
from desktop.gui.worker import ModelSpec
from desktop.models import card as model_card
from desktop.models.lineage import file_sha256, model_card_path
from desktop.models.tuning import runs_root

PATH_ROLE = Qt.ItemDataRole.UserRole


def format_size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def format_count(n: int) -> str:
    for value, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= value:
            return f"{n / value:.1f}{suffix}"
    return str(n)


def resolve_default_model():
    """(ModelChoice, None), or (None, the reason) when there is no model to translate with."""
    try:
        return resolve_translation_model(), None
    except DefaultModelMissingError as exc:
        return None, str(exc)


def gpu_offload_supported() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


class ModelsView(QWidget):
    """Model inventory on the left, the selected model's metadata and run options on the right."""

    activateRequested = Signal(object)  # ModelSpec
    statusMessage = Signal(str)

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._active: Path | None = None  # the loaded model's file (None until one is loaded)
        # The model used when none is set, resolved once here (a restart picks up a new `make model`).
        self.default_choice, self.default_problem = resolve_default_model()
        self._terms_path: Path | None = None  # the Gemma Terms of Use, when the selected model needs them

        self.list = QListWidget()
        self.list.setAccessibleName("Models")
        self.default_label = QLabel()  # how the default entry was chosen
        self.default_label.setWordWrap(True)
        self.default_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.add_button = QPushButton("Add GGUF…")
        self.add_button.setToolTip("Add a GGUF model file, or a bundle (pick its bundle.json)")
        self.remove_button = QPushButton("Remove from list")
        self.remove_button.setToolTip("Takes the model off this list; the file stays on disk")
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setToolTip("Deletes the model file (and its model card) from the disk, after asking; "
                                      "never the default model or a base model")
        # Asks before a file is deleted: (title, text) -> yes. Tests answer it without a modal dialog.
        self.confirm: Callable[[str, str], bool] = self._ask
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.list, 1)
        left_layout.addWidget(self.default_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.delete_button)
        left_layout.addLayout(buttons)

        self.fields: dict[str, QLabel] = {}
        details = QGroupBox("Model")
        form = QFormLayout(details)
        self.terms_button = QPushButton("Gemma Terms of Use…")
        self.terms_button.setToolTip("Open the Gemma Terms of Use, which apply to Gemma 3 and every model "
                                     "derived from it")
        self.terms_button.setVisible(False)
        for key, label in (("name", "Name"), ("file", "File"), ("base", "Base"), ("licence", "Licence"),
                           ("data", "Training data"), ("steps", "Training steps"), ("scores", "Scores"),
                           ("lineage", "Lineage"), ("architecture", "Architecture"), ("quantization", "Quantization"),
                           ("adapters", "Languages (adapters)"),
                           ("parameters", "Parameters"), ("size", "Size on disk"), ("context", "Context length"),
                           ("layers", "Layers"), ("pairs", "Trained language pairs"), ("alma", "ALMA metadata")):
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            self.fields[key] = value
            if key == "licence":
                row = QHBoxLayout()
                row.addWidget(value, 1)
                row.addWidget(self.terms_button)
                form.addRow(label, row)
            else:
                form.addRow(label, value)

        run = QGroupBox("Run options")
        run_form = QFormLayout(run)
        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(-1, 999)
        self.gpu_layers.setSpecialValueText("automatic")
        self.gpu_layers.setToolTip("Layers offloaded to the GPU: 0 runs on the CPU; automatic offloads every "
                                   "layer when llama.cpp was built for a GPU (Metal, CUDA)")
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("automatic")
        for box in (self.gpu_layers, self.threads):
            box.setMaximumWidth(180)
        run_form.addRow("GPU layers", self.gpu_layers)
        run_form.addRow("CPU threads", self.threads)
        if not gpu_offload_supported():
            note = QLabel("This build of llama.cpp runs on the CPU only; GPU layers take effect with a "
                          "CUDA or Metal build.")
            note.setWordWrap(True)
            note.setEnabled(False)
            run_form.addRow(note)
        self.use_button = QPushButton("Use this model")
        self.parent_button = QPushButton("Use parent")
        self.parent_button.setToolTip("Go back to the model this one was tuned from")
        self.add_language_button = QPushButton("Add a language…")
        self.add_language_button.setToolTip("Train an adapter for one more language <-> English into this bundle "
                                            "(alma-train add-language; minutes on a CPU)")
        self.add_language_button.setVisible(False)
        # For the Add a language dialog: where its runs go (None: the tuning runs folder) and more alma-train
        # options (tests set a tiny base and two steps).
        self.add_language_runs_root: Path | None = None
        self.add_language_args: tuple[str, ...] = ()
        self.add_language_dialog: AddLanguageDialog | None = None
        self.state_label = QLabel()

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(details)
        right_layout.addWidget(run)
        action = QHBoxLayout()
        action.addWidget(self.state_label, 1)
        action.addWidget(self.add_language_button)
        action.addWidget(self.parent_button)
        action.addWidget(self.use_button)
        right_layout.addLayout(action)
        right_layout.addStretch(1)
        self.settings_layout = right_layout  # the window adds its own settings groups here (the API switch)

        # The details scroll: a long card (data sources, scores) never forces the window taller.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(right)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([340, 660])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self.add_button.clicked.connect(self.choose_model)
        self.remove_button.clicked.connect(self.remove_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.parent_button.clicked.connect(self.use_parent)
        self.add_language_button.clicked.connect(self.add_language)
        self.use_button.clicked.connect(self.use_selected)
        self.terms_button.clicked.connect(self.open_terms)
        self.list.currentItemChanged.connect(self._show_selected)
        self.gpu_layers.valueChanged.connect(self._save_options)
        self.threads.valueChanged.connect(self._save_options)
        self._fill_list()

    # --- inventory ---------------------------------------------------------------------------
    def model_paths(self) -> list[Path]:
        return [Path(self.list.item(i).data(PATH_ROLE)) for i in range(self.list.count())]

    def default_path(self) -> Path | None:
        """The default entry's file (None when no model could be resolved), in canonical form like every
        path of the list."""
        return self.default_choice.path if self.default_choice is not None else None

    def default_text(self) -> str:
        """The default entry's label, e.g. "default-translator.gguf (default: built by make model)"."""
        return model_card.default_label(self.default_choice) if self.default_choice is not None else ""

    def _fill_list(self, select: Path | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        default = self.default_path()
        if default is not None:
            self.default_label.setText(f"Default: {self.default_choice.description}.")
            self.default_label.setToolTip(str(default))
        else:
            self.default_label.setText(f"No default model: {self.default_problem}")
        self._add_new_bundles()
        added = list(dict.fromkeys(canonical_model_path(path) for path in self._settings.added_models()))
        for path in [*([default] if default is not None else []), *(p for p in added if p != default)]:
            item = QListWidgetItem()
            item.setData(PATH_ROLE, str(path))
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._refresh_labels()
        paths = self.model_paths()
        wanted = select or self._active or default
        wanted = canonical_model_path(wanted) if wanted is not None else None
        self.list.setCurrentRow(paths.index(wanted) if wanted in paths else 0)
        self._show_selected()

    def _add_new_bundles(self) -> None:
        """A bundle that appears in the user model folder (where bundles install) is added to the list once,
        as if the user had added it: from then on it is a listed model like a GGUF, and "Remove from list"
        takes it off for good. The folder's bundles are remembered as seen; one deleted and installed again
        is new again."""
        installed = installed_bundles()
        seen = {canonical_model_path(p) for p in self._settings.seen_bundles()}
        new = [path for path in installed if path not in seen]
        if new:
            self._settings.set_added_models([*self._settings.added_models(), *new])
        if new or seen != set(installed):
            self._settings.set_seen_bundles(installed)

    def _refresh_labels(self) -> None:
        default = self.default_path()
        for i in range(self.list.count()):
            item = self.list.item(i)
            path = Path(item.data(PATH_ROLE))
            text = self.default_text() if path == default else path.name
            active = self._active is not None and path == self._active
            font = QFont(item.font())
            font.setBold(active)
            item.setFont(font)
            item.setText(("● " if active else "   ") + text)
            item.setToolTip(f"{text}\n{path}" if text != path.name else str(path))

    @Slot()
    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a GGUF model or a bundle", "",
                                              f"GGUF models (*.gguf);;Bundles ({MANIFEST});;All files (*)")
        if path:
            self.add_model(Path(path))

    def add_model(self, path: Path) -> bool:
        """Add path (a GGUF, a bundle folder or its bundle.json) to the inventory after checking its header
        (a bundle: its bundle.json); a bad one gets a dialog, not a row."""
        path = canonical_model_path(bundle_root(path))
        try:
            model_info(path)
        except ModelLoadError as exc:
            show_error(self, "Model not added", str(exc))
            self.statusMessage.emit(f"Model not added: {exc}")
            return False
        if path not in self.model_paths():
            self._settings.set_added_models([*self._settings.added_models(), path])
        self._fill_list(select=path)
        self.statusMessage.emit(f"Added {path.name}")
        return True

    @Slot()
    def remove_selected(self) -> None:
        path = self.selected_path()
        if path is None or self._is_default(path):
            return
        self._settings.set_added_models([p for p in self._settings.added_models() if canonical_model_path(p) != path])
        self._fill_list()
        self.statusMessage.emit(f"Removed {path.name} from the list (the file stays on disk)")

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def protected_reason(self, path: Path) -> str | None:
        """Why path must not be deleted (the default model, a base's own GGUF, a bundled file), else None."""
        path = Path(path)
        if self._is_default(path):
            return f"{path.name} is the default model"
        bundle_root = getattr(sys, "_MEIPASS", None)
        if bundle_root is not None and path.resolve().is_relative_to(Path(bundle_root).resolve()):
            return f"{path.name} is carried by this package"
        try:
            info = model_info(path)
        except ModelLoadError:
            return None  # a damaged file may go
        if model_card.base_of_gguf(path, info) is not None and not info.get(AlmaKey.PARENT):
            return f"{path.name} is a base model"
        return None

    @Slot()
    def delete_selected(self) -> bool:
        """Delete the selected model's file and card after a confirmation; True when deleted."""
        path = self.selected_path()
        if path is None:
            return False
        reason = self.protected_reason(path)
        if reason is not None:
            show_error(self, "Model not deleted", f"{reason}: it cannot be deleted here.")
            return False
        in_use = self._active is not None and path == self._active
        replacement = self.find_parent(path) if in_use else None
        if in_use and replacement is None:
            replacement = self.default_path()
        note = ""
        if in_use:
            note = (f"\n\nIt is the model in use: the app switches to {replacement.name} first." if replacement
                    else "\n\nIt is the model in use and there is no other model to switch to.")
        if not self.confirm("Delete model", f"Delete {path.name} from the disk?\n{path}{note}"):
            return False
        if in_use and replacement is None:
            show_error(self, "Model not deleted", f"{path.name} is in use and no other model can replace it.")
            return False
        if in_use:
            if replacement != self.default_path() and replacement not in self.model_paths():
                self.add_model(replacement)
            self.activateRequested.emit(self.spec_for(replacement))
            self._active = None  # until the worker reports the replacement loaded
        try:
            if is_bundle(path):  # its own folder: bundle.json, the base and the adapters
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
                model_card_path(path).unlink(missing_ok=True)
        except OSError as exc:
            show_error(self, "Model not deleted", f"{path}: {exc.strerror or exc}")
            return False
        self._settings.set_added_models([p for p in self._settings.added_models() if canonical_model_path(p) != path])
        self._fill_list(select=replacement)
        self.statusMessage.emit(f"Deleted {path.name}")
        return True

    def find_parent(self, path: Path) -> Path | None:
        """The file of the model path was tuned from, checked by its sha256 where recorded, or None.

        Looked for where the run found it (alma.parent_path), then by name among the listed models,
        the tuning runs and the installed bases."""
        try:
            card = model_card.read_model_card(path, model_info(path))
        except ModelLoadError:
            return None
        if card.parent is None:
            return None
        candidates: list[Path] = []
        if card.parent_path:
            candidates.append(canonical_model_path(card.parent_path))
        candidates += [p for p in self.model_paths() if p.name == card.parent]
        candidates += [canonical_model_path(p) for p in self._runs_models(card.parent) + self._base_models(card.parent)]
        seen: set[Path] = set()
        for candidate in candidates:
            if candidate in seen or candidate == canonical_model_path(path) or not candidate.is_file():
                continue
            seen.add(candidate)
            if card.parent_sha256 is None or file_sha256(candidate) == card.parent_sha256:
                return candidate
        return None

    @staticmethod
    def _runs_models(name: str) -> list[Path]:
        root = runs_root()
        return sorted(root.glob(f"*/{name}")) if root.is_dir() else []

    @staticmethod
    def _base_models(name: str) -> list[Path]:
        found = []
        for base in BASES.values():
            if base.gguf_name == name:
                try:
                    found.append(base.gguf_path())
                except FileNotFoundError:
                    continue
        return found

    @Slot()
    def use_parent(self) -> bool:
        """Load the model the selected one was tuned from (added to the list when needed)."""
        path = self.selected_path()
        if path is None:
            return False
        parent = self.find_parent(path)
        if parent is None:
            try:
                card = model_card.read_model_card(path, model_info(path))
            except ModelLoadError as exc:
                show_error(self, "Parent not found", str(exc))
                return False
            what = (f"{card.parent} (sha256 {card.parent_sha256[:16]}…)" if card.parent and card.parent_sha256
                    else card.parent)
            show_error(self, "Parent not found",
                       f"{path.name} records no parent model." if card.parent is None else
                       f"The model {path.name} was tuned from, {what}, is not at {card.parent_path} nor among "
                       "your models, tuning runs or installed bases (moved, changed or deleted).")
            return False
        if not self._is_default(parent) and parent not in self.model_paths():
            self.add_model(parent)
        self.select_model(parent)
        self.use_selected()
        return True

    def active_path(self) -> Path | None:
        """The file of the model the app translates with (None until one is loaded)."""
        return self._active

    def selected_path(self) -> Path | None:
        item = self.list.currentItem()
        return Path(item.data(PATH_ROLE)) if item else None

    def select_model(self, path: Path) -> None:
        self.list.setCurrentRow(self.model_paths().index(canonical_model_path(path)))

    def _is_default(self, path: Path) -> bool:
        return self.default_choice is not None and canonical_model_path(path) == self.default_choice.path

    def spec_for(self, path: Path) -> ModelSpec:
        stored = None if self._is_default(path) else path
        return ModelSpec(stored, self._settings.model_options(stored))

    @Slot()
    def use_selected(self) -> None:
        path = self.selected_path()
        if path is not None:
            self.state_label.setText("Loading…")
            self.activateRequested.emit(self.spec_for(path))

    # --- called by the window when the worker reports -----------------------------------------
    def set_active(self, path: Path) -> None:
        self._active = canonical_model_path(path)
        self._refresh_labels()
        self._show_selected()

    def set_load_failed(self) -> None:
        self._show_selected()

    # --- details -------------------------------------------------------------------------------
    @Slot()
    def _show_selected(self) -> None:
        path = self.selected_path()
        self.remove_button.setEnabled(path is not None and not self._is_default(path))
        self.delete_button.setEnabled(path is not None and not self._is_default(path))
        self.use_button.setEnabled(path is not None)
        self.parent_button.setEnabled(False)
        self.add_language_button.setVisible(path is not None and is_bundle(path))
        self._terms_path = None
        self.terms_button.setVisible(False)
        if path is None:
            return
        stored = None if self._is_default(path) else path
        options = self._settings.model_options(stored)
        for box, value in ((self.gpu_layers, options.n_gpu_layers), (self.threads, options.n_threads)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.state_label.setText("Active model" if path == self._active else "")
        try:
            info = model_info(path)
            bundle = load_bundle(path, check_files=False) if is_bundle(path) else None
        except ModelLoadError as exc:  # e.g. the file was moved or damaged since it was added
            for label in self.fields.values():
                label.clear()
                label.setToolTip("")
            self.fields["file"].setText(str(path))
            self.fields["name"].setText(f"unreadable: {exc}")
            return
        pairs = trained_pairs(info)
        card = model_card.read_model_card(path, info)
        shown = {AlmaKey.LANGUAGE_PAIRS, AlmaKey.BASE, AlmaKey.LICENCE, AlmaKey.TRAINING_DATA, AlmaKey.TRAINING_STEPS,
                 AlmaKey.SCORES, AlmaKey.RECIPE, AlmaKey.PARENT, AlmaKey.PARENT_SHA256, AlmaKey.PARENT_PATH,
                 AlmaKey.LINEAGE}
        self.parent_button.setEnabled(card.parent is not None)
        alma = {k: v for k, v in info.items() if k.startswith(AlmaKey.PREFIX) and k not in shown}
        licence = card.licence
        if card.gemma_derived:
            self._terms_path = model_card.gemma_terms_path()
            if "gemma" not in licence.lower():
                licence += "; derived from Gemma 3, so the Gemma Terms of Use apply"
            if self._terms_path is None:
                licence += " (terms file not installed: see https://ai.google.dev/gemma/terms)"
        self.terms_button.setVisible(self._terms_path is not None)
        values = {
            "name": info.get("bundle") or info.get("name") or path.stem,
            "file": str(path),
            "base": model_card.describe_base(card),
            "licence": licence,
            "data": model_card.describe_training_data(card),
            "steps": model_card.describe_steps(card),
            "scores": model_card.describe_scores(card),
            "lineage": model_card.describe_lineage(card),
            "architecture": info.get("architecture") or "unknown",
            "quantization": info.get("quantization") or "unknown",
            "adapters": model_card.describe_adapters(bundle) if bundle is not None
            else "none (one merged model for every direction)",
            "parameters": format_count(int(info.get("parameters") or 0)),
            "size": format_size(int(info["file_size"])),
            "context": str(info.get("context_length") or "unknown"),
            "layers": str(info.get("layers") or "unknown"),
            "pairs": ", ".join(f"{s}-{t}" for s, t in sorted(pairs)) if pairs else "not recorded in the file",
            "alma": "\n".join(f"{k}: {v}" for k, v in sorted(alma.items())) or "none",
        }
        for key, text in values.items():
            self.fields[key].setText(text)
        self.fields["scores"].setToolTip(model_card.describe_scores_detail(card))

    # --- adding a language to a bundle -----------------------------------------------------------
    @Slot()
    def add_language(self) -> AddLanguageDialog | None:
        """Open the Add a language dialog for the selected bundle; its adapters are shown again when a run ends."""
        path = self.selected_path()
        if path is None or not is_bundle(path):
            return None
        if self.add_language_dialog is not None and self.add_language_dialog.is_running():
            self.add_language_dialog.raise_()  # one run at a time: the CPU is the limit
            return self.add_language_dialog
        try:
            dialog = AddLanguageDialog(path, self, self.add_language_runs_root, self.add_language_args)
        except ModelLoadError as exc:  # bundle.json unreadable since the bundle was listed
            show_error(self, "Cannot add a language", str(exc))
            return None
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.runFinished.connect(lambda state, bundle=path: self._language_added(bundle, state))
        dialog.destroyed.connect(self._forget_add_language_dialog)
        self.add_language_dialog = dialog
        dialog.show()  # not modal: training takes minutes and the app stays usable meanwhile, as for tuning
        return dialog

    def _language_added(self, bundle: Path, state: str) -> None:
        if state == "done":
            again = " (loading it again to use it)" if self.reload_if_active(bundle) else ""
            self.statusMessage.emit(f"{bundle.name}: language added{again}")
        if self.selected_path() == bundle:
            self._show_selected()  # the adapter list as bundle.json now has it

    def reload_if_active(self, path: Path) -> bool:
        """Load `path` again when it is the model in use (True then). A bundle's engine read bundle.json when
        it loaded, so an adapter added or tuned since is used only after a reload (about 1-2 s: the base too)."""
        if self._active is None or canonical_model_path(path) != self._active:
            return False
        self.activateRequested.emit(self.spec_for(self._active))
        return True

    @Slot()
    def _forget_add_language_dialog(self) -> None:
        self.add_language_dialog = None

    @Slot()
    def _save_options(self) -> None:
        path = self.selected_path()
        if path is None:
            return
        stored = None if self._is_default(path) else path
        self._settings.set_model_options(stored, ModelOptions(self.gpu_layers.value(), self.threads.value()))

    def terms_path(self) -> Path | None:
        """The Gemma Terms of Use file the Terms button opens (None when the selected model needs none)."""
        return self._terms_path

    @Slot()
    def open_terms(self) -> None:
        """Open the Gemma Terms of Use (the HTML page the wheel or the bundle carries) in the browser."""
        path = self._terms_path
        if path is None:
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            show_error(self, "Cannot open the Gemma Terms of Use",
                       f"No application opened {path}. Open it in a web browser, or read the terms at "
                       "https://ai.google.dev/gemma/terms.")
            return
        self.statusMessage.emit(f"Opened {path.name}")
