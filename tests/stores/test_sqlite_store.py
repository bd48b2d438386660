"""The one SQLite opener (desktop/stores/sqlite.py) under both stores, the translation cache and the translation
memory: the same journal, each store's own name for a damaged file, one warning naming the store."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from desktop.memory.store import TranslationMemory
from desktop.stores.cache import TranslationCache
from desktop.stores.sqlite import SqliteStore


def test_both_stores_keep_their_file_in_wal_mode(tmp_path):
    cache, memory = TranslationCache(tmp_path / "cache.sqlite3"), TranslationMemory(tmp_path / "memory.sqlite")
    try:
        assert isinstance(cache, SqliteStore) and isinstance(memory, SqliteStore)
        for name in ("cache.sqlite3", "memory.sqlite"):
            # Another process's connection sees the file's journal: readers never wait for a writer.
            with closing(sqlite3.connect(tmp_path / name)) as db:
                assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        cache.close()
        memory.close()


@pytest.mark.parametrize("kind", ["cache", "memory"])
def test_a_damaged_file_goes_aside_under_its_store_s_name(tmp_path, capsys, kind):
    path = tmp_path / "store.sqlite"
    damaged = b"this is not a database\n" * 200
    path.write_bytes(damaged)
    store = TranslationCache(path) if kind == "cache" else TranslationMemory(path)
    try:
        if kind == "cache":
            store.put("m", "de", "en", "Hallo.", "Hello.")
            assert store.get("m", "de", "en", "Hallo.") == "Hello." and len(store) == 1
        else:
            store.add("de", "en", "Hallo.", "Hello.")
            assert store.lookup("de", "en", "Hallo.") == "Hello." and store.writable and store.count() == 1
    finally:
        store.close()
    (aside,) = [p for p in tmp_path.iterdir() if ".corrupt" in p.name]
    if kind == "cache":  # re-made by translating: only the latest damaged file is kept
        assert aside.name == "store.sqlite.corrupt"
    else:  # the user's work: a name of its own, time-stamped
        assert aside.name.startswith("store.sqlite.corrupt-") and aside.name != "store.sqlite.corrupt-"
    assert aside.read_bytes() == damaged
    err = capsys.readouterr().err
    assert err.count("warning") == 1
    assert f"the translation {kind} {path} is damaged (file is not a database); moved it to {aside.name}" in err
