"""The SQLite translation cache and the model fingerprint it is keyed by."""

from __future__ import annotations

import shutil
import threading

from alma_core.paths import DATA_DIR_ENV, user_data_dir
from desktop.stores.cache import TranslationCache, model_fingerprint


def test_the_data_dir_follows_the_environment_override(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    assert user_data_dir() == tmp_path / "data"
    cache = TranslationCache()
    assert cache.path.parent == tmp_path / "data" and cache.path.is_file()


def test_entries_are_kept_per_model_direction_and_text(tmp_path):
    path = tmp_path / "cache.sqlite3"
    cache = TranslationCache(path)
    cache.put("m1", "de", "en", "Hallo.", "Hello.")
    assert cache.get("m1", "de", "en", "Hallo.") == "Hello."
    assert cache.get("m2", "de", "en", "Hallo.") is None
    assert cache.get("m1", "de", "fr", "Hallo.") is None
    assert cache.get("m1", "de", "en", "Hallo!") is None
    cache.close()
    assert TranslationCache(path).get("m1", "de", "en", "Hallo.") == "Hello."  # on disk, not in memory


def test_the_cache_can_be_shared_between_threads(tmp_path):
    cache = TranslationCache(tmp_path / "cache.sqlite3")

    def fill(n: int) -> None:
        for i in range(50):
            cache.put("m", "de", "en", f"{n}-{i}", str(i))

    threads = [threading.Thread(target=fill, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 200


def test_the_fingerprint_changes_with_the_last_weights_and_not_with_the_path(default_gguf, tmp_path):
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(default_gguf, copy)
    assert model_fingerprint(copy) == model_fingerprint(default_gguf)
    with copy.open("r+b") as handle:  # same size, one bit flipped in the last tensor
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 1]))
    assert model_fingerprint(copy) != model_fingerprint(default_gguf)
