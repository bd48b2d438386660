"""The language table shared by training, evaluation and the app: ISO 639-1 codes as data files use them
({"de": ...}) and the English names the ALMA prompt spells out."""

from __future__ import annotations

LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "German",
    "cs": "Czech",
    "is": "Icelandic",
    "zh": "Chinese",
    "ru": "Russian",
    "fr": "French",
    "ja": "Japanese",
    "uk": "Ukrainian",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "pl": "Polish",
    "da": "Danish",
    "sv": "Swedish",
    "fi": "Finnish",
    "hu": "Hungarian",
    "ro": "Romanian",
    "tr": "Turkish",
    "ko": "Korean",
    "ar": "Arabic",
    "ha": "Hausa",
}

# The languages alma-train has parallel data for (demo-data builds them from installed catalogs): the paper's
# five, then the extra fifteen. Here, not in alma_train, so the app can offer them without importing training code.
PAPER_LANGUAGES: tuple[str, ...] = ("de", "cs", "is", "zh", "ru")
EXTRA_LANGUAGES: tuple[str, ...] = ("fr", "es", "it", "pt", "nl", "pl", "uk", "ja", "ko", "sv", "fi", "hu", "tr",
                                    "ro", "ar")
DATA_LANGUAGES: tuple[str, ...] = (*PAPER_LANGUAGES, *EXTRA_LANGUAGES)

# The ten directions of the paper (WMT'22 de/cs/zh/ru<->en, WMT'21 is<->en).
PAPER_PAIRS: tuple[str, ...] = (
    "cs-en", "de-en", "is-en", "zh-en", "ru-en",
    "en-cs", "en-de", "en-is", "en-zh", "en-ru",
)


class UnknownLanguageError(ValueError):
    """A language code that is not in LANGUAGES."""


def language_name(code: str) -> str:
    """English name of a language code; raises UnknownLanguageError naming the code."""
    try:
        return LANGUAGES[code]
    except KeyError:
        known = ", ".join(sorted(LANGUAGES))
        raise UnknownLanguageError(f"unknown language code {code!r} (known: {known})") from None


def parse_pair(pair: str) -> tuple[str, str]:
    """Split "de-en" into ("de", "en"), checking both codes."""
    parts = pair.split("-")
    if len(parts) != 2 or not all(parts):
        raise UnknownLanguageError(f"language pair {pair!r} is not of the form src-tgt, e.g. de-en")
    src, tgt = parts
    language_name(src)
    language_name(tgt)
    if src == tgt:
        raise UnknownLanguageError(f"language pair {pair!r} has the same language on both sides")
    return src, tgt
