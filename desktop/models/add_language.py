"""Adding a language to a bundle as the app sees it, without Qt and torch: the languages a bundle can get and the
`alma-train add-language xx --bundle X.bundle` child process the Models view starts (docs/adapters.md#adding-a-language).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alma_core.bundle import load_bundle
from alma_core.languages import DATA_LANGUAGES, LANGUAGES
from desktop.models.tuning import new_run_dir


class AddLanguageError(ValueError):
    """A language that cannot be added to this bundle, named in one line."""


def addable_languages(bundle: Path) -> list[str]:
    """The languages alma-train has data for that the bundle has no adapter for, in alma-train's order.

    Raises BundleError (a ModelLoadError) naming bundle.json when it cannot be read."""
    have = {adapter.language for adapter in load_bundle(bundle, check_files=False).adapters}
    return [lang for lang in DATA_LANGUAGES if lang not in have]


def language_label(code: str) -> str:
    """ "fr French": what the dialog lists."""
    return f"{code} {LANGUAGES.get(code, '')}".rstrip()


@dataclass(frozen=True)
class AddLanguageRun:
    """One add-language run: its folder (the log and the trained adapter's checkpoints) and its command line."""

    bundle: Path
    language: str
    run_dir: Path
    extra_args: tuple[str, ...] = field(default=())  # more alma-train options (tests: --base, --max-steps ...)

    @property
    def output(self) -> Path:
        """The adapter's training folder (--output); the bundle gets only the converted GGUF."""
        return self.run_dir / "adapter"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "add-language.log"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "alma_train.cli", "add-language", self.language, "--bundle", str(self.bundle),
                "--output", str(self.output), *self.extra_args]


def new_run(bundle: Path, language: str, root: Path | None = None, extra_args: Sequence[str] = ()) -> AddLanguageRun:
    """Check that the bundle lacks `language` and has data for it, and make the run's folder under the
    tuning runs folder (runs/add-<xx>-<time>)."""
    bundle = Path(bundle).resolve()
    if language not in addable_languages(bundle):
        why = "already has an adapter for" if language in DATA_LANGUAGES else "has no training data for"
        raise AddLanguageError(f"{bundle.name}: {why} {language!r}")
    return AddLanguageRun(bundle, language, new_run_dir(root, prefix=f"add-{language}"), tuple(extra_args))


_ERROR_LINE = re.compile(r"^alma-train(?: [\w-]+)?: error: (.+)$", re.MULTILINE)
_EXCEPTION_LINE = re.compile(r"^(\w+(?:\.\w+)*(?:Error|Exception)\b.*)$", re.MULTILINE)


def failure_reason(output: str, exit_code: int) -> str:
    """The cause of a failed run in one line: alma-train's own error line (bad input, exit code 2), else the
    last exception line of a traceback, else the exit code."""
    for pattern in (_ERROR_LINE, _EXCEPTION_LINE):
        found = pattern.findall(output)
        if found:
            return found[-1].strip()
    return f"alma-train add-language ended with exit code {exit_code}"
