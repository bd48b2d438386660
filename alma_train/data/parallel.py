"""Stage-2 parallel data: records of the parallel files (alma_core.parallel_files) as training pairs.

A record gives both directions of each configured pair, capped per source (docs/training.md#data).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alma_core.languages import parse_pair
from alma_core.parallel_files import ParallelRecord, read_records

T = TypeVar("T")


@dataclass(frozen=True)
class ParallelPair:
    """One training example of stage 2: translate `src` (in src_lang) into `tgt` (in tgt_lang)."""

    src_lang: str
    tgt_lang: str
    src: str
    tgt: str


def directions_of(pairs: Sequence[str], both_directions: bool = True) -> list[tuple[str, str]]:
    """("de-en", "cs-en") -> [(de, en), (en, de), (cs, en), (en, cs)]; checks every code."""
    directions: list[tuple[str, str]] = []
    for pair in pairs:
        src, tgt = parse_pair(pair)
        for direction in ((src, tgt), (tgt, src)) if both_directions else ((src, tgt),):
            if direction not in directions:
                directions.append(direction)
    return directions


def iter_pairs(records: Iterable[ParallelRecord], directions: Sequence[tuple[str, str]]) -> Iterator[ParallelPair]:
    """One ParallelPair per record and direction whose two sides are both present and non-empty."""
    for record in records:
        for src, tgt in directions:
            source, target = record.texts.get(src), record.texts.get(tgt)
            if source and target:
                yield ParallelPair(src, tgt, source, target)


def read_parallel(paths: Iterable[Path | str], directions: Sequence[tuple[str, str]],
                  max_records_per_source: int = 0) -> Iterator[ParallelPair]:
    """ParallelPairs of several files, in file order.

    max_records_per_source > 0 keeps at most that many records of each (file, origin), a stable sample
    by a hash of the record's texts: one big project must not drown the others (see cap_per_origin).
    """
    for path in paths:
        records: Iterable[ParallelRecord] = read_records(path)
        if max_records_per_source > 0:
            records = cap_per_origin(records, max_records_per_source)
        yield from iter_pairs(records, directions)


def _stable_key(record: ParallelRecord) -> str:
    text = "\x00".join(f"{code}\x01{record.texts[code]}" for code in sorted(record.texts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cap_per_group(items: Sequence[T], cap: int, group: Callable[[T], str], order: Callable[[T], Any]) -> list[T]:
    """At most `cap` items of each group: those first by `order` (a stable hash, so the same on every
    run), returned in their original order."""
    by_group: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_group.setdefault(group(item), []).append(index)
    kept: set[int] = set()
    for indices in by_group.values():
        kept.update(sorted(indices, key=lambda i: order(items[i]))[:cap])
    return [item for index, item in enumerate(items) if index in kept]


def cap_per_origin(records: Iterable[ParallelRecord], cap: int) -> list[ParallelRecord]:
    """At most `cap` records per origin, chosen by a hash of their texts, kept in file order. Records
    without an origin count as one origin."""
    return cap_per_group(list(records), cap, lambda record: record.origin, _stable_key)
