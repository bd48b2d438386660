"""What the API's routes know about their server: its options, and the per-app state they reach through
request.app.state (docs/api.md, "Options")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop.api.files import TranslatedFiles
from desktop.api.jobs import ModelQueue


@dataclass(frozen=True)
class ApiOptions:
    """What the routes need to know about the server: its keys and its limits."""

    api_keys: tuple[str, ...] = ()  # empty: no key asked (loopback only; the CLI enforces that)
    max_request_bytes: int = 20_000_000
    check_host: bool = True  # refuse Host headers that do not name this computer (DNS rebinding)
    files_kept_s: float = 3600.0  # translated files stay downloadable this long (and until shutdown)
    terms: Any = None  # a desktop.terminology.sources.TermSource (GlossarySet) for every request, or None
    cors_origins: tuple[str, ...] = ()  # web origins allowed besides browser extensions (serve --cors-origin)
    memory: Any = None  # the desktop.memory.store.TranslationMemory /suggest stores into, or None (no /suggest)
    suggest: bool = True  # False: /suggest refused even with a memory (serve --no-suggest)

    @property
    def suggestions(self) -> bool:
        """Whether /suggest stores pairs now: asked for, and a memory that can be written."""
        return self.suggest and self.memory is not None and bool(getattr(self.memory, "writable", False))


@dataclass(frozen=True)
class ApiState:
    """One app's model queue, options and translated files: app.state.api, read by desktop.api.deps."""

    models: ModelQueue
    options: ApiOptions
    files: TranslatedFiles
