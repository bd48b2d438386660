"""One unit of the translation memory: a sentence pair the user confirmed (or imported), with its origin
(docs/post_editing.md, "Translation memory")."""

from __future__ import annotations

from dataclasses import dataclass

ORIGINS = ("correction", "import", "suggestion")  # suggestion: sent to the local API's /suggest


@dataclass(frozen=True)
class MemoryUnit:
    """One confirmed pair. created/updated: seconds since the epoch (UTC)."""

    src: str
    tgt: str
    source: str
    target: str
    origin: str
    model: str | None
    created: float
    updated: float
