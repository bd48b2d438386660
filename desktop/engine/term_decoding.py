"""Putting glossary terms into translations, sentence by sentence: the strategies "substitute", "constrained"
(TermForcer) and "grammar" of desktop.terminology.terms (docs/terminology.md, "How terms are enforced")."""

from __future__ import annotations

import math
from typing import Any, Protocol

from desktop.terminology.entry import TermEntry
from desktop.terminology.matching import TermMatch, target_present
from desktop.terminology.terms import Terms

# A missing term is forced where its first token is among this many best next tokens.
FORCE_TOP_K = 8
# Do-not-translate terms are names the small model often garbles ("Thonnyu"), so their first token
# seldom ranks in the top 8: they are forced from further down, and as a last resort at any rank
# (measured in docs/terminology.md: DNT kept 92.4 % with the top 8 alone).
KEEP_FORCE_TOP_K = 64
# A word this similar to a missing do-not-translate term is taken as its misspelling and replaced.
KEEP_REPAIR_SIMILARITY = 0.75


class Vocabulary(Protocol):
    def tokenize(self, text: str) -> list[int]: ...

    def detokenize(self, tokens: list[int]) -> str: ...


class TermDecoder(Vocabulary, Protocol):
    """The model as term decoding sees it (desktop.engine.llama_model.DirectionDecoder): one direction's
    greedy translation of a text, optionally with a logits processor (a TermForcer) or a GBNF grammar."""

    def generate(self, text: str, forcer: Any = None, grammar: str | None = None) -> str: ...


def substitute(sentence: str, matches: list[TermMatch]) -> str:
    """The sentence with each matched source term replaced by its target term."""
    parts = []
    position = 0
    for match in sorted(matches, key=lambda m: m.start):
        parts.append(sentence[position:match.start])
        parts.append(match.entry.target)
        position = match.end
    parts.append(sentence[position:])
    return "".join(parts)


def missing_entries(matches: list[TermMatch], translation: str, tgt: str) -> list[TermEntry]:
    """The matched entries whose target is not in the translation, each once, in source order."""
    missing: list[TermEntry] = []
    for match in matches:
        if match.entry not in missing and not target_present(translation, match.entry, tgt):
            missing.append(match.entry)
    return missing


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def term_grammar(entries: list[TermEntry]) -> str:
    """A GBNF grammar for one line of text that contains each entry's target term, in this order
    (a glossary term may take a lowercase ending: "client" + "s")."""
    rules = ["free ::= [^\\n]*", "ending ::= [a-z\\u00e0-\\u024f\\u0400-\\u04ff]{0,4}"]
    body = ["free"]
    for number, entry in enumerate(entries):
        forms = [entry.target]
        if not entry.keep and entry.target[:1].islower():
            forms.append(entry.target[:1].upper() + entry.target[1:])
        rules.append(f"term{number} ::= " + " | ".join(_gbnf_literal(form) for form in forms))
        body += [f"term{number}", *([] if entry.keep else ["ending"]), "free"]
    return "\n".join([f"root ::= {' '.join(body)}", *rules]) + "\n"


class TermForcer:
    """A llama-cpp-python logits processor for lexically constrained greedy decoding.

    Each target term is tokenized in a few spellings (with and without a leading space, first letter
    as written and capitalized). While a term is missing from the text generated so far, and the first
    token of one of its spellings is among the top_k best next tokens, that token is forced and then
    the spelling's remaining tokens one by one. A spelling without a leading space may only start
    after a non-word character (or at the very start), so a term is never glued onto a word.
    """

    def __init__(self, vocabulary: Vocabulary, entries: list[TermEntry], tgt: str, top_k: int | None = FORCE_TOP_K,
                 keep_top_k: int | None = KEEP_FORCE_TOP_K) -> None:
        # top_k / keep_top_k: the rank window for glossary / do-not-translate terms; None: any rank.
        self.vocabulary = vocabulary
        self.tgt = tgt
        self.top_k = top_k
        self.keep_top_k = keep_top_k
        self.pending: list[tuple[TermEntry, list[list[int]]]] = []
        for entry in entries:
            forms = {entry.target}
            if not entry.keep:
                forms.add(entry.target[:1].upper() + entry.target[1:])
            spellings: list[list[int]] = []
            for form in sorted(forms):
                for text in (" " + form, form):
                    tokens = vocabulary.tokenize(text)
                    if tokens and tokens not in spellings and self._text([tokens[0]]).strip():
                        spellings.append(tokens)
            if spellings:
                self.pending.append((entry, spellings))
        self.queue: list[int] = []
        self.prompt_tokens: int | None = None
        self.forced = 0

    def _text(self, tokens: list[int]) -> str:
        return self.vocabulary.detokenize(tokens)

    @staticmethod
    def _force(scores: Any, token: int) -> Any:
        keep = scores[token]
        scores[:] = -math.inf
        scores[token] = keep if math.isfinite(keep) else 0.0
        return scores

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.prompt_tokens is None:
            self.prompt_tokens = len(input_ids)
        if self.queue:
            return self._force(scores, self.queue.pop(0))
        if not self.pending:
            return scores
        generated = [int(token) for token in input_ids[self.prompt_tokens:]]
        text = self._text(generated)
        self.pending = [(entry, spellings) for entry, spellings in self.pending
                        if not target_present(text, entry, self.tgt)]
        if not self.pending:
            return scores
        import numpy as np

        def window(k: int | None) -> set[int] | None:
            if k is None or k >= len(scores):
                return None  # any rank
            return set(np.argpartition(scores, -k)[-k:].tolist())

        best, best_keep = window(self.top_k), window(self.keep_top_k)
        glued = bool(text) and (text[-1].isalnum() or text[-1] == "_")
        choice = None
        for index, (entry, spellings) in enumerate(self.pending):
            allowed = best_keep if entry.keep else best
            for tokens in spellings:
                if allowed is not None and tokens[0] not in allowed:
                    continue
                if glued and not self._text([tokens[0]])[:1].isspace():
                    continue
                if choice is None or scores[tokens[0]] > scores[choice[1][0]]:
                    choice = (index, tokens)
        if choice is None:
            return scores
        index, tokens = choice
        del self.pending[index]
        self.queue = list(tokens[1:])
        self.forced += 1
        return self._force(scores, tokens[0])


def repair_kept_terms(translation: str, entries: list[TermEntry]) -> str:
    """The translation with each missing do-not-translate term restored where the model misspelt it:
    the run of words (as many as the term has) most similar to the term, if at least
    KEEP_REPAIR_SIMILARITY alike ("Thonnyu" -> "Thonny"), is replaced by the term."""
    import difflib
    import re

    for entry in entries:  # each is missing as a whole word (it may be inside one: "Thonnyu")
        # The name with an ending glued on (the model inflects it, or a forced name runs on into
        # "Thonnyuðuðuð"): the word becomes the name.
        glued = re.search(r"(?<!\w)" + re.escape(entry.source) + r"\w+", translation)
        if glued:
            translation = translation[:glued.start()] + entry.source + translation[glued.end():]
            continue
        size = len(entry.source.split())
        words = list(re.finditer(r"\S+", translation))
        best: tuple[float, int, int] | None = None
        for first in range(len(words) - size + 1):
            start, end = words[first].start(), words[first + size - 1].end()
            candidate = translation[start:end].strip(".,;:!?()[]{}\"'«»„“”")
            ratio = difflib.SequenceMatcher(None, candidate.lower(), entry.source.lower()).ratio()
            if ratio >= KEEP_REPAIR_SIMILARITY and (best is None or ratio > best[0]):
                offset = translation[start:end].find(candidate)
                best = (ratio, start + offset, start + offset + len(candidate))
        if best is not None:
            translation = translation[:best[1]] + entry.source + translation[best[2]:]
    return translation


def enforce_sentence(decoder: TermDecoder, sentence: str, terms: Terms,
                     matches: list[TermMatch] | None = None) -> str:
    """The translation of one sentence with its terms put in by terms.strategy."""
    if matches is None:
        matches = terms.base.find(sentence)
    if terms.strategy == "none" or not matches:
        return decoder.generate(sentence)
    tgt = terms.tgt
    prepared = substitute(sentence, matches)
    translation = decoder.generate(prepared)
    missing = missing_entries(matches, translation, tgt)
    if not missing or terms.strategy == "substitute":
        return translation
    if terms.strategy == "constrained":
        forcer = TermForcer(decoder, missing, tgt)
        if not forcer.pending:
            return translation
        second = decoder.generate(prepared, forcer=forcer)
    else:
        second = decoder.generate(prepared, grammar=term_grammar(missing))
    if len(missing_entries(matches, second, tgt)) < len(missing):
        translation, missing = second, missing_entries(matches, second, tgt)
    kept = [entry for entry in missing if entry.keep]
    if not kept:
        return translation
    # Do-not-translate terms are kept always: mend a misspelt name, else force it at any rank.
    translation = repair_kept_terms(translation, kept)
    missing = missing_entries(matches, translation, tgt)
    kept = [entry for entry in missing if entry.keep]
    if not kept or terms.strategy != "constrained":
        return translation
    # Every term of the sentence, so that the glossary terms already placed are forced again where
    # they rank in the top FORCE_TOP_K; the do-not-translate terms at any rank.
    entries = list(dict.fromkeys(match.entry for match in matches))
    forcer = TermForcer(decoder, entries, tgt, top_k=FORCE_TOP_K, keep_top_k=None)
    third = decoder.generate(prepared, forcer=forcer)
    third = repair_kept_terms(third, [e for e in missing_entries(matches, third, tgt) if e.keep])
    if sum(e.keep for e in missing_entries(matches, third, tgt)) < len(kept):
        return third  # do-not-translate terms come first: they are kept always
    return translation
