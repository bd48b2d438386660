"""Office Open XML paragraphs (Word w:p, PowerPoint a:p, Excel rich text si) as stretches of text runs, and
rebuilt from the translated spans (docs/translate.md, "Documents": inline formatting in office documents)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from desktop.documents.base import Translate, has_words
from desktop.documents.runs import Span, TextRun, segment_text, translate_runs

if TYPE_CHECKING:
    from lxml.etree import _Element

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
# Characters XML 1.0 cannot hold: a model may emit them, lxml would refuse them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class RunSchema:
    """The element names of one format's runs and what to make of the rest of a paragraph."""

    run: str
    props: str
    text: str
    wrappers: frozenset[str] = frozenset()  # hold runs that belong to the sentence (w:hyperlink)
    nested: frozenset[str] = frozenset()  # hold runs of their own sentences (w:ins, content controls)
    skipped: frozenset[str] = frozenset()  # paragraph children that only record state (w:proofErr): dropped
    cached: frozenset[str] = frozenset()  # run children that only cache layout (w:lastRenderedPageBreak)
    volatile: frozenset[str] = frozenset()  # property children/attributes that do not change the look
    preserve_space: bool = False  # whether <t> needs xml:space="preserve" to keep edge spaces
    name_of: Callable[[object, object], str] = lambda props, wrapper: "span"


@dataclass
class RunStretch:
    """Consecutive text runs of one container (a paragraph, or a hyperlink holding other things too)."""

    container: object
    top: list = field(default_factory=list)  # the container's children this stretch replaces
    runs: list[TextRun] = field(default_factory=list)
    templates: list[tuple[object, object]] = field(default_factory=list)  # (run, wrapper or None) per run

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


def _content(run, schema: RunSchema) -> list:
    return [child for child in run if child.tag != schema.props and child.tag not in schema.cached]


def _run_text(run, schema: RunSchema) -> str | None:
    """The run's text when it holds nothing but text (a run with no text at all counts: it is empty)."""
    content = _content(run, schema)
    if any(child.tag != schema.text for child in content):
        return None
    return "".join(child.text or "" for child in content)


def _split_mixed_runs(container, schema: RunSchema) -> None:
    """Split each run holding text and other objects into runs of one kind, keeping their order."""
    # Word writes "a<tab/>b" as one run; split, the tab can end a stretch and stay where it is.
    for run in list(container):
        if run.tag != schema.run:
            continue
        content = _content(run, schema)
        kinds = [child.tag == schema.text for child in content]
        if all(kinds) or not any(kinds):
            continue
        position = container.index(run)
        groups: list[list] = []
        for child, is_text in zip(content, kinds, strict=True):
            if groups and (groups[-1][0].tag == schema.text) == is_text:
                groups[-1].append(child)
            else:
                groups.append([child])
        for offset, group in enumerate(groups):
            piece = copy.deepcopy(run)
            for child in _content(piece, schema):
                piece.remove(child)
            for child in group:
                piece.append(child)  # moves the child out of the original run
            container.insert(position + 1 + offset, piece)
        container.remove(run)


def _props_key(props, schema: RunSchema) -> str:
    from lxml import etree

    if props is None:
        return ""
    props = copy.deepcopy(props)
    for child in list(props):
        if child.tag in schema.volatile:
            props.remove(child)
    for name in list(props.attrib):
        if name in schema.volatile:
            del props.attrib[name]
    if not len(props) and not props.attrib:
        return ""  # properties that only held volatile things look like none at all
    return etree.tostring(props, encoding="unicode")


def _text_run(run, wrapper, schema: RunSchema) -> TextRun:
    props = run.find(schema.props)
    wrapper_key = None if wrapper is None else (wrapper.tag, tuple(sorted(wrapper.attrib.items())))
    return TextRun(_run_text(run, schema) or "", (wrapper_key, _props_key(props, schema)),
                   schema.name_of(props, wrapper))


def _simple_wrapper(wrapper, schema: RunSchema) -> bool:
    """A wrapper whose children are all text runs (or state records): it belongs inside a sentence."""
    runs = [child for child in wrapper if child.tag == schema.run]
    return bool(runs) and all(
        child.tag in schema.skipped or (child.tag == schema.run and _run_text(child, schema) is not None)
        for child in wrapper
    )


def stretches(container: _Element, schema: RunSchema) -> Iterator[RunStretch]:
    """The container's stretches that hold words, in order (a complex wrapper's own stretches in place)."""
    _split_mixed_runs(container, schema)
    current = RunStretch(container)
    for child in list(container):
        if child.tag == schema.run and _run_text(child, schema) is not None:
            current.top.append(child)
            current.runs.append(_text_run(child, None, schema))
            current.templates.append((child, None))
            continue
        if child.tag in schema.wrappers:
            _split_mixed_runs(child, schema)
            if _simple_wrapper(child, schema):
                current.top.append(child)
                for run in child:
                    if run.tag == schema.run:
                        current.runs.append(_text_run(run, child, schema))
                        current.templates.append((run, child))
                continue
            if has_words(current.text):
                yield current
            current = RunStretch(container)
            yield from stretches(child, schema)
            continue
        if child.tag in schema.nested:  # a tracked insertion, a content control: translated in place
            if has_words(current.text):
                yield current
            current = RunStretch(container)
            yield from stretches(child, schema)
            continue
        if child.tag in schema.skipped and current.runs:
            current.top.append(child)  # dropped with the stretch: it marked a spelling state, nothing more
            continue
        if has_words(current.text):
            yield current
        current = RunStretch(container)
    if has_words(current.text):
        yield current


def _new_run(template: _Element, text: str, schema: RunSchema) -> _Element:
    from lxml import etree

    run = etree.Element(template.tag, attrib=dict(template.attrib))
    props = template.find(schema.props)
    if props is not None:
        run.append(copy.deepcopy(props))
    element = etree.SubElement(run, schema.text)
    element.text = xml_text(text)
    if schema.preserve_space:
        element.set(XML_SPACE, "preserve")
    return run


def rebuild(stretch: RunStretch, spans: list[Span], schema: RunSchema) -> None:
    """Replace the stretch's runs with one run per span, each formatted as the run it came from."""
    from lxml import etree

    container = stretch.container
    index = container.index(stretch.top[0])
    for element in stretch.top:
        container.remove(element)
    new: list = []
    open_wrapper: tuple[object, object] | None = None  # (source wrapper, its copy being filled)
    for span in spans:
        template, wrapper = stretch.templates[span.run]
        run = _new_run(template, span.text, schema)
        if wrapper is None:
            new.append(run)
            open_wrapper = None
        elif open_wrapper is not None and open_wrapper[0] is wrapper:
            open_wrapper[1].append(run)
        else:
            copy_ = etree.Element(wrapper.tag, attrib=dict(wrapper.attrib))
            copy_.append(run)
            new.append(copy_)
            open_wrapper = (wrapper, copy_)
    for offset, element in enumerate(new):
        container.insert(index + offset, element)


def translate_container(container: _Element, schema: RunSchema, translate: Translate) -> int:
    """Translate every stretch of the container in place; returns how many there were."""
    found = list(stretches(container, schema))
    for stretch in found:
        rebuild(stretch, translate_runs(stretch.runs, translate), schema)
    return len(found)


def xml_text(text: str) -> str:
    """The text without the control characters XML 1.0 cannot hold (a model may emit them)."""
    return _XML_INVALID.sub("", text)


def container_segments(container: _Element, schema: RunSchema) -> Iterator[str]:
    """The texts a container's stretches send to translation (their plain text), without changing it.

    Works on a copy: finding stretches splits mixed runs, which must not touch the caller's tree.
    """
    for stretch in stretches(copy.deepcopy(container), schema):
        yield segment_text(stretch.runs)
