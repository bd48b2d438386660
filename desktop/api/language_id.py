"""Language identification for source "auto" and /detect: lingua restricted to the languages the translators
are trained on, built on first use (docs/api.md, "Language identification")."""

from __future__ import annotations

import threading
from typing import TypedDict

# The ALMA languages: every translator this project builds is trained on these, to and from English.
# Restricted to them, lingua reads short strings: three words are ambiguous among 75 languages,
# rarely among six.
DETECTABLE: tuple[str, ...] = ("en", "de", "cs", "is", "zh", "ru")
# What LibreTranslate answers for text with nothing to identify (digits, emoji, punctuation only).
UNDETERMINED = "en"
# /detect lists at most this many candidates, as LibreTranslate does.
MAX_CANDIDATES = 3

_detector = None
_lock = threading.Lock()


class Detection(TypedDict):
    """LibreTranslate's detection shape: confidence from 0 to 100."""

    confidence: float
    language: str


def _get_detector():
    global _detector
    with _lock:  # two first requests at once must not build it twice
        if _detector is None:
            from lingua import IsoCode639_1, LanguageDetectorBuilder

            codes = [getattr(IsoCode639_1, code.upper()) for code in DETECTABLE]
            _detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()
        return _detector


def detect_languages(text: str) -> list[Detection]:
    """The likely languages of text, most likely first (at most MAX_CANDIDATES, confidence > 0).

    Text without letters gets [{"confidence": 0.0, "language": "en"}], as from LibreTranslate.
    """
    if not any(ch.isalpha() for ch in text):
        return [{"confidence": 0.0, "language": UNDETERMINED}]
    values = _get_detector().compute_language_confidence_values(text)
    found: list[Detection] = [
        {"confidence": round(value.value * 100, 1), "language": value.language.iso_code_639_1.name.lower()}
        for value in values[:MAX_CANDIDATES] if value.value > 0
    ]
    return found or [{"confidence": 0.0, "language": UNDETERMINED}]


def detect_language(text: str) -> Detection:
    """The most likely language of text (see detect_languages)."""
    return detect_languages(text)[0]
