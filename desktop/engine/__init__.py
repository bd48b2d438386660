"""The translation engine: the Translator protocol and TranslationEngine, a GGUF model run by llama.cpp.

No Qt here and no torch (the desktop bundle ships without it); docs/translate.md, "Engine".
"""

# llama.cpp's libraries are loaded before anything here can load numpy (gguf does, to read model
# metadata): on an H200 with a CUDA build of llama-cpp-python, every process that had imported numpy
# first crashed while loading the model, and every one that loaded llama.cpp first worked (docs/gpu.md).
try:
    import llama_cpp  # noqa: F401
except ImportError:  # an install without the desktop extra still reads model metadata
    pass

from alma_core.gguf_file import ModelLoadError, read_model_info
from desktop.engine.sentences import Segment, split_segments
from desktop.engine.translation import TranslationEngine
from desktop.engine.translator import (
    SentenceReport,
    TranslationCancelled,
    TranslationReport,
    Translator,
    UntrainedDirectionWarning,
)

__all__ = [
    "ModelLoadError",
    "Segment",
    "SentenceReport",
    "TranslationCancelled",
    "TranslationEngine",
    "TranslationReport",
    "Translator",
    "UntrainedDirectionWarning",
    "read_model_info",
    "split_segments",
]
