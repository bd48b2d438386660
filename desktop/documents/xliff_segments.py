"""Segmented XLIFF 1.2 (`<seg-source>` with `<mrk mtype="seg">`, as Trados and Okapi write it) and SDLXLIFF's
`sdl:seg-defs`: which segments to translate and the target that holds them (docs/translate.md, "XLIFF and TMX")."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

SDL_NS = "http://sdl.com/FileTypes/SdlXliff/1.0"
# Inline elements whose content is text of the segment (the others hold native code, or nothing).
_TEXT_CONTAINERS = {"g", "mrk", "pc"}
# XLIFF 1.2's inline codes, each named by its id within a unit.
_CODES = {"g", "x", "bx", "ex", "bpt", "ept", "ph", "it"}
# What alma-local writes on the sdl:seg of a segment it translated: Trados Studio's own marks for a
# machine-translated, unconfirmed segment (status "Draft", origin "Automated translation").
SDL_MT = {"conf": "Draft", "origin": "mt", "origin-system": "alma-local"}
# Attributes that describe the earlier origin of a segment (a TM match's score): wrong once it is replaced.
_SDL_STALE = ("percent", "struct-match", "text-match")


def local(tag: object) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else str(tag)


def seg_markers(element) -> list:
    """The `<mrk mtype="seg">` segment markers under `element`, in document order (not nested ones)."""
    found: list = []

    def walk(parent) -> None:
        for child in parent:
            if not isinstance(child.tag, str):
                continue
            if local(child.tag) == "mrk" and child.get("mtype") == "seg":
                found.append(child)
            else:
                walk(child)

    if element is not None:
        walk(element)
    return found


def has_text(element) -> bool:
    """Whether the element holds text of its own (inside g/mrk containers too): codes alone (`<x/>`, the
    native code in `<bpt>`) and empty segment markers are not a translation."""
    if (element.text or "").strip():
        return True
    for child in element:
        if isinstance(child.tag, str) and local(child.tag) in _TEXT_CONTAINERS and has_text(child):
            return True
        if (child.tail or "").strip():
            return True
    return False


def sdl_segs(holder) -> dict[str, object]:
    """SDLXLIFF: the unit's `<sdl:seg>` elements by id (the mid of their segment)."""
    defs = holder.find(f"{{{SDL_NS}}}seg-defs")
    if defs is None:
        return {}
    return {seg.get("id"): seg for seg in defs.iterchildren(f"{{{SDL_NS}}}seg")}


def locked(seg) -> bool:
    return seg is not None and (seg.get("locked") or "").lower() == "true"


@dataclass
class SegmentPlan:
    """What to do with one segmented unit: the source markers to translate (in order), whether its target
    is rebuilt from the seg-source (missing, or markers that do not match the source's), and the target
    markers kept as they are, by mid."""

    seg_source: object
    fill: list = field(default_factory=list)  # seg-source markers whose segments get a translation
    rebuild: bool = False
    kept: dict[str, object] = field(default_factory=dict)  # mid -> target marker kept
    locked: int = 0  # segments kept because SDL locked them


def plan(holder, seg_source, target, overwrite: bool, translated: Callable[[object, object], bool]) -> SegmentPlan:
    """Segment by segment: a target marker without text (`<mrk mtype="seg" mid="1"/>`, what Trados writes
    for an untranslated segment) or missing is translated; one with text is kept unless `overwrite` or
    `translated(source_marker, target_marker)` says it is no translation; an SDL-locked one is always kept."""
    markers = seg_markers(seg_source)
    by_mid = {marker.get("mid"): marker for marker in seg_markers(target)}
    segs = sdl_segs(holder)
    result = SegmentPlan(seg_source)
    result.rebuild = target is None or set(by_mid) != {marker.get("mid") for marker in markers} \
        or len(by_mid) != len(markers)
    for marker in markers:
        mid = marker.get("mid")
        existing = by_mid.get(mid)
        if locked(segs.get(mid)):
            result.locked += 1
            if existing is not None:
                result.kept[mid] = existing
            continue
        if existing is None or overwrite or not has_text(existing) or not translated(marker, existing):
            result.fill.append(marker)
        else:
            result.kept[mid] = existing
    result.fill = _codes_once(result, target)
    return result


def _codes(element, skip: frozenset[str] = frozenset()) -> Counter:
    """The inline codes under `element`, (name, id) each, not counting those inside the segment markers
    whose mid is in `skip`."""
    found: Counter = Counter()
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = local(child.tag)
        if name == "mrk" and child.get("mtype") == "seg" and child.get("mid") in skip:
            continue
        if name in _CODES and child.get("id") is not None:
            found[(name, child.get("id"))] += 1
        found += _codes(child, skip)
    return found


def _codes_once(result: SegmentPlan, target) -> list:
    """The markers to fill, where a code that the target will already hold outside them is taken out of a
    copy: Trados may put a segment's leading code before the target's marker (`<x id="ph8"/><mrk mid="7"/>`)
    where the seg-source has it inside (`<mrk mid="7"><x id="ph8"/>Text</mrk>`), and a target holds each
    code as often as its seg-source."""
    filling = frozenset(marker.get("mid") for marker in result.fill)
    if result.rebuild:  # the target becomes the seg-source's skeleton with the kept markers in it
        placed = _codes(result.seg_source, frozenset(marker.get("mid") for marker in seg_markers(result.seg_source)))
        for marker in result.kept.values():
            placed += _codes(marker)
    else:
        placed = _codes(target, filling)
    wanted = _codes(result.seg_source)
    brought = sum((_codes(marker) for marker in result.fill), Counter())
    excess = placed + brought - wanted  # (Counter subtraction keeps the positive counts only)
    if not excess:
        return result.fill
    markers = []
    for marker in result.fill:
        if not any(key in excess for key in _codes(marker)):
            markers.append(marker)
            continue
        marker = copy.deepcopy(marker)  # the seg-source stays as it is
        for element in list(marker.iterdescendants()):
            key = (local(element.tag), element.get("id")) if isinstance(element.tag, str) else None
            if excess[key] > 0 and marker in element.iterancestors():  # (not inside a code taken out)
                excess[key] -= 1
                _take_out(element, keep_content=key[0] in _TEXT_CONTAINERS)
        markers.append(marker)
    return markers


def _take_out(element, keep_content: bool) -> None:
    """Remove an element, keeping the text after it (its tail) and, for a container, its content."""
    parent, previous = element.getparent(), element.getprevious()
    index = parent.index(element)
    children = list(element) if keep_content else []
    lead = (element.text or "") if keep_content else ""
    tail = element.tail or ""
    parent.remove(element)  # (lxml removes the tail with it: put back below)
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)
    if children:
        children[-1].tail = (children[-1].tail or "") + tail
    else:
        lead += tail
    if previous is not None:
        previous.tail = (previous.tail or "") + lead
    else:
        parent.text = (parent.text or "") + lead


def rebuild_target(target, seg_source, kept: dict[str, object]) -> None:
    """Give `target` the seg-source's content (its markers, the codes and spaces between them), with the
    kept segments' translations put back in their markers; the other markers are left empty."""
    for child in list(target):
        target.remove(child)
    target.text = seg_source.text
    for child in seg_source:
        target.append(copy.deepcopy(child))
    for marker in seg_markers(target):
        old = kept.get(marker.get("mid"))
        for child in list(marker):
            marker.remove(child)
        marker.text = None
        if old is not None:
            marker.text = old.text
            for child in old:
                marker.append(copy.deepcopy(child))


def target_markers(target) -> dict[str, object]:
    return {marker.get("mid"): marker for marker in seg_markers(target)}


def mark_sdl_segment(seg, record: Callable[[object], None]) -> None:
    """Mark an `<sdl:seg>` as a machine translation to review, as Trados marks its own MT (record: told
    before the attributes change, for the byte-exact writer)."""
    record(seg)
    for name in _SDL_STALE:
        if name in seg.attrib:
            del seg.attrib[name]
    for name, value in SDL_MT.items():
        seg.set(name, value)
