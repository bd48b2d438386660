"""XLIFF 1.2 and 2.0 (.xlf, .xliff, .sdlxliff; translate-toolkit): empty targets (or segments) filled with machine
translation marked for review, inline codes carried, languages checked, all else kept byte for byte
(docs/translate.md, "XLIFF and TMX")."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from alma_core.safe_xml import UnsafeXMLError, parser, read_checked
from desktop.documents.base import DocumentError, DocumentFormat, Translatable, Translate
from desktop.documents.inline_markup import (
    TaggedText,
    check_tags,
    close_tag,
    empty_tag,
    escape_text,
    open_tag,
    parse,
    strip_tags,
)
from desktop.documents.placeholders import software_pieces, written
from desktop.documents.xliff_segments import (
    SDL_NS,
    SegmentPlan,
    has_text,
    mark_sdl_segment,
    plan,
    rebuild_target,
    sdl_segs,
    seg_markers,
    target_markers,
)
from desktop.documents.xml_splice import Edits, SpliceError

NS_12 = "urn:oasis:names:tc:xliff:document:1.2"
NS_20 = "urn:oasis:names:tc:xliff:document:2.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MT_NOTE_CATEGORY = "alma-local"
# XLIFF 1.2 target states saying the target is not a translation yet (Okapi writes "new" or
# "needs-translation" on targets it pre-filled); 2.0 segment states saying it is one.
_UNTRANSLATED_STATES_12 = {"new", "needs-translation"}
_TRANSLATED_STATES_20 = {"translated", "reviewed", "final"}
# What a unit of the file is to this job (XliffFormat._classified).
FILL, TRANSLATED, LOCKED, NO_TEXT = "fill", "translated", "locked", "no text"

# Inline elements by role. Containers hold translatable text; pair markers open and close a span as
# two empty elements (matched by id/rid, or 2.0 startRef); the rest are standalone codes.
_CONTAINERS = {"g", "mrk", "pc"}
_PAIR_START = {"bpt", "bx", "sc", "sm"}
_PAIR_END = {"ept", "ex", "ec", "em"}
# The element name the model sees for each code (inline_markup spells tags as HTML for the model).
_HINTS = {"g": "b", "pc": "b", "mrk": "span", "bpt": "b", "bx": "b", "sc": "b", "sm": "span",
          "x": "br", "ph": "br", "it": "br", "cp": "br"}
# XLIFF 1.2 says a unit is a program's UI text (where "&" marks an accelerator and a tab a shortcut) by its file's
# datatype (Windows resources, .NET resx) or the restype of the unit or a group around it (controls and menus;
# Passolo writes "menupopup" and "menuentry").
_UI_DATATYPES = {"winres", "resx", "rc", "x-winres", "x-resx", "x-rc"}
_UI_RESTYPES = {
    "auto3state", "autocheckbox", "autoradiobutton", "button", "caption", "checkbox", "checkboxmenuitem", "combobox",
    "contextmenu", "ctext", "defpushbutton", "dialog", "groupbox", "label", "linklabel", "ltext", "menu", "menubar",
    "menuitem", "menupopup", "menuentry", "popupmenu", "pushbox", "pushbutton", "radio", "radiobuttonmenuitem",
    "rtext", "state3", "statusbar", "tabcontrol", "togglebutton", "toolbar", "tooltip", "userbutton", "window"}


def _local(tag: object) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else str(tag)


def _language(code: str | None) -> str:
    """The primary language subtag, lowercased: de-DE -> de, zh_CN -> zh."""
    return (code or "").replace("_", "-").split("-", 1)[0].strip().lower()


@dataclass
class _Codes:
    """The source's inline code elements by tag id, for rebuilding the target."""

    containers: dict[int, object]  # id -> the container element (its attributes are copied)
    starts: dict[int, object]  # id -> begin marker element (bpt, bx, sc, sm), copied whole
    ends: dict[int, object]  # id -> end marker element
    empties: dict[int, object]  # id -> standalone code element, copied whole


def _tagged_source(source_element, pair_markers: bool = True) -> tuple[TaggedText, _Codes]:
    """The source element's content as a tagged string and the code elements behind its tags."""
    codes = _Codes({}, {}, {}, {})
    names: dict[int, str] = {}
    counter = 0
    open_markers: dict[tuple[str, str], int] = {}  # (kind, pairing key) -> tag id
    out: list[str] = []

    def pairing_key(element, end: bool) -> str:
        name = _local(element.tag)
        if name == "ec":
            return element.get("startRef") or element.get("id") or ""
        if name in ("em",):
            return element.get("startRef") or ""
        return element.get("rid") or element.get("id") or ""

    def walk(element) -> None:
        nonlocal counter
        if element.text:
            out.append(escape_text(element.text))
        for child in element:
            if not isinstance(child.tag, str):  # a comment or processing instruction inside the text
                if child.tail:
                    out.append(escape_text(child.tail))
                continue
            name = _local(child.tag)
            counter += 1
            if name in _CONTAINERS:
                codes.containers[counter] = child
                names[counter] = _HINTS.get(name, "b")
                number = counter
                out.append(open_tag(number))
                walk(child)
                out.append(close_tag(number))
            elif pair_markers and name in _PAIR_START:
                codes.starts[counter] = child
                names[counter] = _HINTS.get(name, "b")
                open_markers[(name, pairing_key(child, False))] = counter
                out.append(open_tag(counter))
            elif pair_markers and name in _PAIR_END:
                start_name = {"ept": "bpt", "ex": "bx", "ec": "sc", "em": "sm"}[name]
                number = open_markers.pop((start_name, pairing_key(child, True)), None)
                if number is None:  # an end without its start in this unit (isolated): standalone
                    codes.empties[counter] = child
                    out.append(empty_tag(counter))
                else:
                    codes.ends[number] = child
                    out.append(close_tag(number))
            else:
                codes.empties[counter] = child
                names[counter] = _HINTS.get(name, "br")
                out.append(empty_tag(counter))
            if child.tail:
                out.append(escape_text(child.tail))

    walk(source_element)
    tagged = "".join(out)
    if pair_markers and (open_markers or check_tags(tagged, tagged)):
        # A start without its end here, or spans that cross (2.0 allows sc/ec to overlap <pc>):
        # every marker becomes a standalone code instead, which is always well formed.
        return _tagged_source(source_element, pair_markers=False)
    return TaggedText(tagged, names), codes


def _fill_target(target_element, translation: str, codes: _Codes) -> None:
    """Rebuild the target's content from the tagged translation and copies of the source's codes."""
    for child in list(target_element):
        target_element.remove(child)
    target_element.text = None
    stack = [target_element]
    last = None  # the last element appended to the current parent: text after it is its tail

    def add_text(text: str) -> None:
        if last is not None and last.getparent() is stack[-1]:
            last.tail = (last.tail or "") + text
        else:
            stack[-1].text = (stack[-1].text or "") + text

    def append(element) -> None:
        nonlocal last
        element.tail = None
        stack[-1].append(element)
        last = element

    for piece in parse(translation):
        if isinstance(piece, str):
            add_text(piece)
        elif piece.kind == "empty":
            append(copy.deepcopy(codes.empties[piece.id]))
        elif piece.id in codes.containers:
            if piece.kind == "open":
                original = codes.containers[piece.id]
                element = original.makeelement(original.tag, dict(original.attrib), original.nsmap)
                append(element)
                stack.append(element)
                last = None
            else:
                last = stack.pop()  # text after the container is its tail
        elif piece.kind == "open":
            append(copy.deepcopy(codes.starts[piece.id]))
        else:
            append(copy.deepcopy(codes.ends[piece.id]))


@dataclass
class _Unit:
    """One translatable unit of the file: where its source and target live, and how to mark it."""

    holder: object  # 1.2 <trans-unit>, 2.0 <segment>
    source: object  # its <source>
    version: int
    segments: SegmentPlan | None = None  # 1.2 with <seg-source> segment markers: translated segment by segment
    ui: bool = False  # a program's UI text: accelerators and shortcuts

    def texts(self) -> list:
        """The elements whose content is translated, in order: the source, or each segment to fill."""
        return list(self.segments.fill) if self.segments is not None else [self.source]


class XliffFormat(DocumentFormat):
    """XLIFF 1.2 and 2.0. `configured` binds a job's languages, overwrite switch and model name."""

    extensions = (".xlf", ".xliff", ".sdlxliff")

    def __init__(self, src: str | None = None, tgt: str | None = None, overwrite: bool = False,
                 model_name: str | None = None) -> None:
        self.src = src
        self.tgt = tgt
        self.overwrite = overwrite
        self.model_name = model_name

    def configured(self, src: str, tgt: str, overwrite: bool = False, model_name: str | None = None) -> XliffFormat:
        return XliffFormat(src, tgt, overwrite, model_name)

    # -- reading -------------------------------------------------------------------------------

    def _load(self, source: Path):
        """The translate-toolkit store of the file, its XLIFF version (1 or 2) and its bytes, after the safety
        checks and the language check."""
        from lxml import etree

        try:
            data = read_checked(source, "XLIFF file")
        except UnsafeXMLError as exc:
            raise DocumentError(str(exc)) from None
        try:
            root = etree.fromstring(data, parser=_parser())
        except etree.XMLSyntaxError as exc:
            raise DocumentError(f"{source}: not well-formed XML ({exc})") from None
        if _local(root.tag) != "xliff":
            raise DocumentError(f"{source}: the root element is <{_local(root.tag)}>, not <xliff>; not an XLIFF file")
        version = root.get("version", "")
        namespace = root.nsmap.get(None, "") or ""
        is_two = version.startswith("2.") or (not version and namespace == NS_20)
        try:
            if is_two:
                from translate.storage.xliff2 import Xliff2File

                store = Xliff2File.parsestring(data)
            else:
                if version and not version.startswith("1."):
                    raise DocumentError(f"{source}: XLIFF version {version!r}; versions 1.x and 2.x are supported")
                from translate.storage.xliff import Xliff1File

                store = Xliff1File.parsestring(data)
        except DocumentError:
            raise
        except Exception as exc:  # translate-toolkit: StopIteration for no <file>, ValueError, lxml errors
            detail = str(exc) or type(exc).__name__
            raise DocumentError(f"{source}: not a readable XLIFF file ({detail})") from None
        self._check_languages(source, store, 2 if is_two else 1)
        return store, 2 if is_two else 1, data

    def _check_languages(self, source: Path, store, version: int) -> None:
        if self.src is None or self.tgt is None:
            return
        root = store.document.getroot()
        if version == 2:
            checks = [(root, "srcLang", self.src, "--from"), (root, "trgLang", self.tgt, "--to")]
            if not root.get("srcLang"):
                raise DocumentError(f"{source}: <xliff> has no srcLang attribute (XLIFF 2.0 requires it)")
        else:
            checks = []
            for number, file_node in enumerate(root.iterchildren(f"{{{store.namespace}}}file"), 1):
                checks.append((file_node, "source-language", self.src, "--from"))
                checks.append((file_node, "target-language", self.tgt, "--to"))
                if not file_node.get("source-language"):
                    raise DocumentError(f"{source}: <file> number {number} has no source-language attribute")
        for element, attribute, wanted, option in checks:
            value = element.get(attribute)
            if value and _language(value) != _language(wanted):
                where = "<xliff>" if _local(element.tag) == "xliff" else \
                    f"<file original={element.get('original') or element.get('id') or '?'!r}>"
                raise DocumentError(f"{source}: {where} {attribute}=\"{value}\" does not match {option} {wanted}; "
                                    f"translate it with {option} {_language(value)} or fix the file")

    def _classified(self, store, version: int) -> Iterator[tuple[str, _Unit | None]]:
        """Every unit (1.2 <trans-unit>, 2.0 <segment>) in document order with what it is: FILL (its
        _Unit), TRANSLATED (a target kept), LOCKED (translate="no") or NO_TEXT (no letters in the source)."""
        namespace = store.namespace
        for unit, holder, group_locked in _holders(store, version):
            if version == 1 and (holder.get("translate") or ("no" if group_locked else "yes")).lower() == "no" or \
                    version == 2 and not unit.istranslatable():
                yield LOCKED, None
                continue
            source = holder.find(f"{{{namespace}}}source")
            if source is None or not any(ch.isalpha() for ch in "".join(source.itertext())):
                yield NO_TEXT, None
                continue
            target = holder.find(f"{{{namespace}}}target")
            seg_source = holder.find(f"{{{namespace}}}seg-source") if version == 1 else None
            if seg_markers(seg_source) and not (  # a whole-unit translation without segments is judged whole
                    target is not None and has_text(target) and not seg_markers(target)
                    and not self.overwrite and _translated(holder, source, target, version)):
                segments = plan(holder, seg_source, target, self.overwrite,
                                lambda mine, theirs, holder=holder, target=target:
                                _translated(holder, mine, theirs, version, target))
                if segments.fill:
                    yield FILL, _Unit(holder, source, version, segments, _is_ui(holder, version))
                else:  # every segment kept: translated already, or locked in Trados
                    yield (LOCKED if segments.locked == len(seg_markers(seg_source)) else TRANSLATED), None
                continue
            if target is not None and not self.overwrite and _translated(holder, source, target, version):
                yield TRANSLATED, None  # a translation is there already (a human's, a TM match): left alone
                continue
            yield FILL, _Unit(holder, source, version, ui=_is_ui(holder, version))

    def _units(self, store, version: int) -> Iterator[_Unit]:
        """The units to fill, in document order."""
        for _, unit in self._classified(store, version):
            if unit is not None:
                yield unit

    def segments(self, source: Path) -> Iterator[str]:
        store, version, _ = self._load(source)
        for unit in self._units(store, version):
            for element in unit.texts():
                tagged, _ = _tagged_source(element)
                for piece in software_pieces(tagged, tagged.names, ui=unit.ui):
                    if isinstance(piece, Translatable):
                        yield piece.text

    def why_empty(self, source: Path) -> str:
        """All translated already (how many, and --overwrite), all translate="no", or no text at all."""
        store, version, _ = self._load(source)
        kinds = Counter(kind for kind, _ in self._classified(store, version))
        noun = "unit" if version == 1 else "segment"
        translated, locked, no_text = kinds[TRANSLATED], kinds[LOCKED], kinds[NO_TEXT]
        if not translated + locked + no_text:
            return f"nothing to translate (the file has no translation {noun}s)"
        others = []
        if locked:
            others.append(f"{_many(locked, noun)} marked translate=\"no\"")
        if no_text:
            others.append(f"{_many(no_text, noun)} without text (no letters in the source)")
        if translated:
            them = "it" if translated == 1 else "them"
            if others:
                said = f"{_many(translated, noun)} translated already"
            else:
                said = f"its one {noun} is" if translated == 1 else f"all {_many(translated, noun)}"
                said += " translated already"
            return (f"{said} (use --overwrite to translate {them} again)"
                    + (f"; the other {' and '.join(others)}" if others else ""))
        return f"nothing to translate: {' and '.join(others)}"

    # -- writing -------------------------------------------------------------------------------

    def write(self, source: Path, out: BinaryIO, translate: Translate) -> None:
        from lxml import etree

        store, version, data = self._load(source)
        root = store.document.getroot()
        namespace = store.namespace
        edits = Edits(store.document)
        sdl = SDL_NS in root.nsmap.values()  # SDLXLIFF: segments marked in sdl:seg-defs, as Trados does
        for unit in list(self._units(store, version)):
            target_element = unit.holder.find(f"{{{namespace}}}target")
            if target_element is None:
                target_element = etree.Element(f"{{{namespace}}}target")
                # XLIFF 1.2 orders a unit: source, seg-source, target, then the rest
                after = unit.holder.find(f"{{{namespace}}}seg-source") if version == 1 else None
                after = unit.source if after is None else after
                previous = after.getprevious()
                indent = previous.tail if previous is not None else unit.holder.text
                after.addnext(target_element)
                target_element.tail = after.tail
                after.tail = indent  # the new target indented like its source
                edits.inserted(target_element)
            else:
                edits.replaced(target_element)
            if unit.segments is None:
                _fill_target(target_element, *_translation(unit.source, translate, unit.ui))
            else:
                segments = unit.segments
                if segments.rebuild:
                    rebuild_target(target_element, segments.seg_source, segments.kept)
                markers = target_markers(target_element)
                seg_defs = sdl_segs(unit.holder)
                for marker in segments.fill:
                    mid = marker.get("mid")
                    _fill_target(markers[mid], *_translation(marker, translate, unit.ui))
                    if mid in seg_defs:
                        mark_sdl_segment(seg_defs[mid], edits.attributes)
            if version == 1:
                if sdl and unit.segments is not None:
                    continue  # Trados keeps a segment's status in its sdl:seg, not on <target>
                file_node = next(unit.holder.iterancestors(f"{{{namespace}}}file"), None)
                language = file_node.get("target-language") if file_node is not None else None
                if language or self.tgt:  # the file's own spelling (en-US) where it has one
                    target_element.set(XML_LANG, language or self.tgt)
                target_element.set("state", "needs-review-translation")
                target_element.set("state-qualifier", "mt-suggestion")
            else:
                edits.attributes(unit.holder)
                unit.holder.set("state", "initial")
                self._add_note(unit.holder.getparent(), namespace, edits)
        if self.tgt:
            if version == 2 and not root.get("trgLang"):
                edits.attributes(root)
                root.set("trgLang", self.tgt)
            if version == 1:
                for file_node in root.iterchildren(f"{{{namespace}}}file"):
                    if not file_node.get("target-language"):
                        edits.attributes(file_node)
                        file_node.set("target-language", self.tgt)
        try:
            out.write(edits.spliced(data))
        except SpliceError:  # an encoding Python cannot write: the whole tree, as lxml writes it
            encoding = store.document.docinfo.encoding or "UTF-8"
            out.write(etree.tostring(store.document, xml_declaration=True, encoding=encoding))

    def _add_note(self, unit_element, namespace: str, edits: Edits) -> None:
        """2.0: one note per unit saying the target is machine translation (notes come first in a unit)."""
        from lxml import etree

        text = "Machine translation by alma-local" + (f" (model {self.model_name})" if self.model_name else "") + \
            "; review before use."
        notes = unit_element.find(f"{{{namespace}}}notes")
        if notes is None:
            notes = etree.Element(f"{{{namespace}}}notes")
            first = next((child for child in unit_element if isinstance(child.tag, str) and _local(child.tag) in
                          ("originalData", "segment", "ignorable")), None)
            if first is not None:
                previous = first.getprevious()
                indent = previous.tail if previous is not None else unit_element.text
                first.addprevious(notes)
                notes.tail = indent  # the new element indented like the one it precedes
            else:
                unit_element.append(notes)
            edits.inserted(notes)
        else:
            edits.replaced(notes)
        for note in notes.iterchildren(f"{{{namespace}}}note"):
            if note.get("category") == MT_NOTE_CATEGORY:
                note.text = text
                return
        note = etree.SubElement(notes, f"{{{namespace}}}note", category=MT_NOTE_CATEGORY)
        note.text = text


def _holders(store, version: int) -> Iterator[tuple[object, object, bool]]:
    """(translate-toolkit unit, the element holding a <source>, whether its group says translate="no")
    for every unit of the file. In 1.2 a <group restype="x-gettext-plurals"> (po2xliff's plural forms)
    is one unit to translate-toolkit: each <trans-unit> in it is one here, translated like any other."""
    for unit in store.units:
        holder = unit.xmlelement
        if version == 1 and _local(holder.tag) == "group":
            locked = (holder.get("translate") or "yes").lower() == "no"
            for child in holder.iterchildren(f"{{{store.namespace}}}trans-unit"):
                yield unit, child, locked
        else:
            yield unit, holder, False


def _many(count: int, noun: str) -> str:
    """"1 unit is", "12 units are"."""
    return f"{count} {noun} is" if count == 1 else f"{count:,} {noun}s are"


def _translated(holder, source, target, version: int, target_element=None) -> bool:
    """Whether a unit's existing target (or a segment's target marker: source and target are then the
    segment's markers, target_element the <target> holding them) is a translation to keep, decided by the
    XLIFF states where the file has them. 1.2: approved="yes" keeps it; a target state "new" or
    "needs-translation" is not a translation; any other state is. 2.0: a segment state "translated",
    "reviewed" or "final" keeps it ("initial", the default, says nothing). Otherwise a target that is a
    copy of its source (what Okapi/Rainbow and other kit makers pre-fill) is not a translation, and any
    other text is. A target without text (empty, or only empty segment markers and codes) is none."""
    if not has_text(target):
        return False
    if version == 1:
        if (holder.get("approved") or "").lower() == "yes":
            return True
        state = (target_element if target_element is not None else target).get("state")
        if state is not None:
            return state not in _UNTRANSLATED_STATES_12
    elif holder.get("state") in _TRANSLATED_STATES_20:
        return True
    return _content(target) != _content(source)


def _content(element) -> str:
    """An element's text and inline codes as one comparable string (whitespace runs as one space)."""
    tagged, _ = _tagged_source(element)
    return " ".join(tagged.split())


def _translation(element, translate: Translate, ui: bool = False) -> tuple[str, _Codes]:
    """The element's content translated (a tagged string whose tags are its codes) and those codes: its
    placeholders and syntax kept, its sentences translated whole (desktop.documents.placeholders)."""
    tagged, codes = _tagged_source(element)
    translation = written(software_pieces(tagged, tagged.names, ui=ui), translate)
    if check_tags(tagged, translation):  # the pipeline always repairs tags; never write broken ones
        translation = escape_text(strip_tags(translation))
    return translation, codes


def _is_ui(holder, version: int) -> bool:
    """Whether a 1.2 unit is a program's UI text: its file's datatype or a restype on it or a group around it."""
    if version != 1:
        return False
    for element in (holder, *holder.iterancestors()):
        name = _local(element.tag)
        if name == "file":
            return (element.get("datatype") or "").lower() in _UI_DATATYPES
        if (element.get("restype") or "").lower() in _UI_RESTYPES:
            return True
    return False


def _parser():
    return parser()

