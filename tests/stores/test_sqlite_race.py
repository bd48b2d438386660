"""Processes that open a store on a fresh data folder at the same moment (the app and alma-translate started
together, two batch runs): each gets a working store, none a "database is locked" warning."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from desktop.memory.store import TranslationMemory
from desktop.stores.cache import TranslationCache

ROUNDS, PROCESSES = 25, 4
STORES = {"memory": TranslationMemory, "cache": TranslationCache}


def _open_together(kind: str, path: str, barrier, results) -> None:
    barrier.wait()
    store = STORES[kind](Path(path))
    results.put(store.problem or "")
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(STORES))
def test_stores_opened_at_once_on_a_fresh_folder_all_work(kind: str, tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")  # the race is at opening: the start must be as close as can be
    problems = []
    for number in range(ROUNDS):
        path = tmp_path / str(number) / f"{kind}.sqlite"
        barrier, results = context.Barrier(PROCESSES), context.Queue()
        workers = [context.Process(target=_open_together, args=(kind, str(path), barrier, results))
                   for _ in range(PROCESSES)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        problems += [problem for problem in (results.get(timeout=5) for _ in workers) if problem]
    assert not problems, problems[:3]
