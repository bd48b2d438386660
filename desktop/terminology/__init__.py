"""Terminology: glossaries and do-not-translate terms, found in sentences and enforced in translations.

Reading files: desktop.terminology.files; matching: desktop.terminology.matching; enforcement
strategies: desktop.engine.term_decoding.
"""

from desktop.terminology.entry import TermEntry
from desktop.terminology.files import (
    GlossaryError,
    read_do_not_translate,
    read_glossary,
    write_glossary,
)
from desktop.terminology.matching import TermBase, TermMatch, target_present

__all__ = [
    "GlossaryError",
    "TermBase",
    "TermEntry",
    "TermMatch",
    "read_do_not_translate",
    "read_glossary",
    "target_present",
    "write_glossary",
]
