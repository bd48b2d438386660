"""ICU MessageFormat read into its syntax and the texts of its branches, so that each text is translated and the
syntax (arguments, keywords, selectors, offsets, quoting) written back unchanged (docs/translate.md, "Software strings").

The grammar is ICU's (https://unicode-org.github.io/icu/userguide/format_parse/messages/, MessagePattern with
ApostropheMode.DOUBLE_OPTIONAL): `''` is one apostrophe; an apostrophe before `{`, `}` (or `#` in a plural
branch) starts quoted literal text up to the next single apostrophe; any other apostrophe is literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A message with a plural, select or selectordinal argument: the only messages read as ICU here (a plain
# "{name}" is a placeholder in every brace syntax, and quoting rules would misread other formats' apostrophes).
ICU_HINT = re.compile(r"\{\s*[^\s{}',#]+\s*,\s*(?:plural|select|selectordinal)\s*,")
_NAME = re.compile(r"[^\s{}',#|]+")
_SELECTOR = re.compile(r"=\s*-?\d+(?:\.\d+)?|[^\s{}',#|=]+")
_OFFSET = re.compile(r"offset\s*:\s*\d+")
_BRANCHING = ("plural", "select", "selectordinal")
# Deeper nesting is no real message: refused as malformed (a hostile one must not exhaust the stack).
MAX_DEPTH = 32


class IcuSyntaxError(ValueError):
    """The text is not a well-formed ICU message (where and why)."""


@dataclass
class Text:
    """Literal text: `raw` as written (quotes and all), `value` what it says."""

    raw: str
    value: str


@dataclass
class Argument:
    """Kept as written: a simple argument (`{name}`, `{n, number, ::currency/EUR}`), or `#` in a plural branch."""

    raw: str


@dataclass
class Branching:
    """A plural, select or selectordinal argument: in `parts` its syntax as written alternates with the branches'
    messages, `["{n, plural, one {", message, "} other {", message, "}}"]`."""

    parts: list[str | Message] = field(default_factory=list)
    argument: str = ""  # "count, plural": the argument's name and type
    selectors: list[str] = field(default_factory=list)  # "=0", "one", "other", in order


Node = Text | Argument | Branching


@dataclass
class Message:
    """A message or a branch's message: its nodes in order."""

    nodes: list[Node] = field(default_factory=list)

    @property
    def raw(self) -> str:
        return "".join(node.raw if not isinstance(node, Branching) else
                       "".join(part if isinstance(part, str) else part.raw for part in node.parts)
                       for node in self.nodes)

    def branching(self) -> bool:
        return any(isinstance(node, Branching) for node in self.nodes)


def parse(text: str) -> Message:
    """The message's tree; IcuSyntaxError when it is not well-formed ICU."""
    parser = _Parser(text)
    message = parser.message(in_plural=False, nested=False)
    if parser.at != len(text):
        raise IcuSyntaxError(f"an unmatched '}}' at offset {parser.at}")
    return message


def parse_text(raw: str, in_plural: bool) -> list[Text]:
    """Literal ICU message text (no arguments) read: its Text nodes."""
    parser = _Parser(raw)
    message = parser.message(in_plural=in_plural, nested=False)
    return [node for node in message.nodes if isinstance(node, Text)]


def is_icu(text: str) -> bool:
    """Whether the text looks like an ICU message with branches (it may still be malformed)."""
    return ICU_HINT.search(text) is not None


def quote(text: str, in_plural: bool, before: str = "") -> str:
    """Literal text written as ICU message text: apostrophes that would start a quote doubled, braces (and `#` in a
    plural branch) quoted; `before` is what follows the text (an argument's `{` makes a final apostrophe special)."""
    special = "{}#" if in_plural else "{}"
    out: list[str] = []
    for index, char in enumerate(text):
        following = text[index + 1] if index + 1 < len(text) else before[:1]
        if char == "'":
            out.append("''" if following in (*special, "'", "|") and following else "'")
        elif char in special:
            out.append(f"'{char}'")
        else:
            out.append(char)
    return "".join(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.depth = 0

    def error(self, what: str) -> IcuSyntaxError:
        return IcuSyntaxError(f"{what} at offset {self.at}")

    def message(self, in_plural: bool, nested: bool) -> Message:
        nodes: list[Node] = []
        raw: list[str] = []
        value: list[str] = []

        def flush() -> None:
            if raw:
                nodes.append(Text("".join(raw), "".join(value)))
                raw.clear()
                value.clear()

        text = self.text
        while self.at < len(text):
            char = text[self.at]
            if char == "'":
                raw_quote, literal = self._apostrophe(in_plural)
                raw.append(raw_quote)
                value.append(literal)
            elif char == "{":
                flush()
                nodes.append(self.argument())
            elif char == "}":
                if not nested:
                    raise self.error("an unmatched '}'")
                break
            elif char == "#" and in_plural:
                flush()
                nodes.append(Argument("#"))
                self.at += 1
            else:
                raw.append(char)
                value.append(char)
                self.at += 1
        flush()
        return Message(nodes)

    def _apostrophe(self, in_plural: bool) -> tuple[str, str]:
        """(raw, literal) of an apostrophe at self.at: `''`, a quoted literal, or a plain apostrophe."""
        text, start = self.text, self.at
        following = text[start + 1] if start + 1 < len(text) else ""
        if following == "'":
            self.at += 2
            return "''", "'"
        if following and following in ("{}#|" if in_plural else "{}|"):
            literal: list[str] = []
            self.at += 1
            while self.at < len(text):
                if text[self.at] == "'":
                    if text[self.at + 1:self.at + 2] == "'":
                        literal.append("'")
                        self.at += 2
                        continue
                    self.at += 1
                    return text[start:self.at], "".join(literal)
                literal.append(text[self.at])
                self.at += 1
            raise self.error("a quote that never ends")
        self.at += 1
        return "'", "'"

    def _space(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def _expect(self, pattern: re.Pattern[str], what: str) -> str:
        match = pattern.match(self.text, self.at)
        if not match:
            raise self.error(f"{what} expected")
        self.at = match.end()
        return match.group()

    def argument(self) -> Node:
        text, start = self.text, self.at
        self.at += 1  # "{"
        self._space()
        name = self._expect(_NAME, "an argument name")
        self._space()
        if text[self.at:self.at + 1] == "}":
            self.at += 1
            return Argument(text[start:self.at])
        if text[self.at:self.at + 1] != ",":
            raise self.error("',' or '}' expected")
        self.at += 1
        self._space()
        kind = self._expect(_NAME, "an argument type")
        self._space()
        if kind not in _BRANCHING:
            self._style()
            return Argument(text[start:self.at])
        if text[self.at:self.at + 1] != ",":
            raise self.error(f"',' expected after {kind}")
        self.at += 1
        self._space()
        if kind != "select" and _OFFSET.match(text, self.at):
            self._expect(_OFFSET, "an offset")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"arguments nested deeper than {MAX_DEPTH}")
        node = Branching(argument=f"{name}, {kind}")
        syntax_start = start
        seen = node.selectors
        while True:
            self._space()
            if text[self.at:self.at + 1] == "}":
                break
            if self.at >= len(text):
                raise self.error("'}' expected")
            selector = self._expect(_SELECTOR, "a selector").replace(" ", "")
            if selector in seen:
                raise self.error(f"the selector {selector!r} twice")
            seen.append(selector)
            self._space()
            if text[self.at:self.at + 1] != "{":
                raise self.error("'{' expected after a selector")
            self.at += 1
            node.parts.append(text[syntax_start:self.at])
            node.parts.append(self.message(in_plural=kind != "select", nested=True))
            if text[self.at:self.at + 1] != "}":
                raise self.error("'}' expected")
            syntax_start = self.at
            self.at += 1
        if "other" not in seen:
            raise self.error(f"a {kind} argument without 'other'")
        self.depth -= 1
        self.at += 1
        node.parts.append(text[syntax_start:self.at])
        return node

    def _style(self) -> None:
        """A simple argument's style up to its closing brace (nested braces and quotes allowed)."""
        text, depth = self.text, 0
        while self.at < len(text):
            char = text[self.at]
            if char == "'":
                end = text.find("'", self.at + 1)
                if end < 0:
                    raise self.error("a quote that never ends")
                self.at = end + 1
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                if depth == 0:
                    self.at += 1
                    return
                depth -= 1
            self.at += 1
        raise self.error("'}' expected")
