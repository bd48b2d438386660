"""Terminology: glossaries and do-not-translate terms, read, found in sentences, and handed to the engine.

Files: files; finding: matching; a direction's terms + strategy: terms; docs/terminology.md.
"""

from desktop.terminology.entry import TermEntry
from desktop.terminology.files import (
    GlossaryError,
    read_do_not_translate,
    read_glossary,
    write_glossary,
)
from desktop.terminology.matching import TermBase, TermMatch, target_present
from desktop.terminology.terms import DEFAULT_STRATEGY, STRATEGIES, Terms, check_strategy

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "GlossaryError",
    "TermBase",
    "TermEntry",
    "TermMatch",
    "Terms",
    "check_strategy",
    "read_do_not_translate",
    "read_glossary",
    "target_present",
    "write_glossary",
]
