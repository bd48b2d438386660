"""Make the offline promise explicit: every library that could reach a hub is told not to
(docs/packaging.md)."""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}


def force_offline() -> None:
    """Set the offline switches for this process (values a user set explicitly are kept)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
