"""The translation engine: a GGUF model run by llama.cpp with the shared ALMA prompt.

No Qt here (the GUI puts a window on it) and no torch (the desktop bundle ships without it).
"""

from desktop.engine.model_file import ModelLoadError, read_model_info
from desktop.engine.sentences import Segment, split_segments
from desktop.engine.translation import TranslationCancelled, TranslationEngine, UntrainedDirectionWarning

__all__ = [
    "ModelLoadError",
    "Segment",
    "TranslationCancelled",
    "TranslationEngine",
    "UntrainedDirectionWarning",
    "read_model_info",
    "split_segments",
]
