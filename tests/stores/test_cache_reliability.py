"""The translation cache under stress: several processes at once, the size cap, a damaged file, --no-cache.

Real SQLite files and real processes; the CLI tests run alma-translate with the fast test model.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from alma_core.paths import CACHE_MAX_ROWS_ENV as MAX_ROWS_ENV
from desktop.stores.cache import TranslationCache, max_rows_setting

ROOT = Path(__file__).resolve().parents[2]

# Each writer opens the shared file itself (so the first ones race to create it), waits for the
# start signal so the processes really overlap, then writes its own rows and reads everyone's.
WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from desktop.stores.cache import TranslationCache
    path, go, name, rows = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    while not go.exists():
        time.sleep(0.01)
    cache = TranslationCache(path)
    for i in range(rows):
        cache.put("model", "de", "en", f"{name} {i}", f"{name} translated {i}")
        assert cache.get("model", "de", "en", f"{name} {i}") == f"{name} translated {i}"
        cache.get("model", "de", "en", f"w0 {i}")  # another writer's row, there or not yet
    cache.close()
    cache = TranslationCache(path)  # reopening while the others still write
    missing = [i for i in range(rows) if cache.get("model", "de", "en", f"{name} {i}") is None]
    assert not missing, missing
    print("done", name)
""")


def test_several_processes_and_a_thread_share_one_cache_file(tmp_path):
    path = tmp_path / "data" / "translation-cache.sqlite3"
    go = tmp_path / "go"
    rows, writers = 150, 4
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(go), f"w{n}", str(rows)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for n in range(writers)]
    app_errors: list[BaseException] = []

    def app() -> None:  # the desktop app's engine thread, writing at the same time
        try:
            cache = TranslationCache(path)
            for i in range(rows):
                cache.put("model", "de", "en", f"app {i}", f"app translated {i}")
            cache.close()
        except BaseException as exc:  # reported below with the processes' output
            app_errors.append(exc)

    go.touch()
    thread = threading.Thread(target=app)
    thread.start()
    outputs = [proc.communicate(timeout=240) for proc in procs]
    thread.join()
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0 and "done" in out, err
        assert "locked" not in err and "warning" not in err, err
    assert not app_errors
    cache = TranslationCache(path)
    assert len(cache) == rows * (writers + 1)
    for name in [f"w{n}" for n in range(writers)] + ["app"]:
        assert all(cache.get("model", "de", "en", f"{name} {i}") == f"{name} translated {i}"
                   for i in range(rows))
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_cap_evicts_the_least_recently_used_rows(tmp_path):
    path = tmp_path / "cache.sqlite3"
    cache = TranslationCache(path, max_rows=100)
    for i in range(100):
        cache.put("m", "de", "en", f"s{i}", f"t{i}")
    # Row 0 was used long ago, rows 1.. just now: eviction takes the oldest use first.
    with sqlite3.connect(path) as db:
        db.execute("UPDATE translations SET used = used - 7200 WHERE source != 's0'")
        db.execute("UPDATE translations SET used = used + 7200 WHERE source = 's0'")
    for i in range(100, 120):
        cache.put("m", "de", "en", f"s{i}", f"t{i}")
    assert cache.evict() == 30  # 120 rows, down to 90% of the cap
    assert len(cache) == 90
    assert cache.get("m", "de", "en", "s0") == "t0"  # recently used: kept
    assert cache.get("m", "de", "en", "s1") is None  # least recently used: gone
    assert all(cache.get("m", "de", "en", f"s{i}") == f"t{i}" for i in range(100, 120))  # newest: kept
    cache.close()
    # The cap also applies on open, and by itself after enough writes.
    assert len(TranslationCache(path, max_rows=50)) == 45
    small = TranslationCache(tmp_path / "small.sqlite3", max_rows=10)
    for i in range(300):
        small.put("m", "de", "en", f"s{i}", f"t{i}")
    assert len(small) < 300 and small.get("m", "de", "en", "s299") == "t299"


def test_the_cap_comes_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv(MAX_ROWS_ENV, "5000")
    assert max_rows_setting() == 5000
    monkeypatch.setenv(MAX_ROWS_ENV, "lots")
    assert max_rows_setting() == 100_000
    assert f"{MAX_ROWS_ENV}='lots'" in capsys.readouterr().err
    monkeypatch.delenv(MAX_ROWS_ENV)
    assert max_rows_setting() == 100_000


def test_a_cache_from_before_the_cap_is_upgraded(tmp_path):
    path = tmp_path / "cache.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE translations (model TEXT NOT NULL, src TEXT NOT NULL, tgt TEXT NOT NULL, "
                   "source TEXT NOT NULL, target TEXT NOT NULL, PRIMARY KEY (model, src, tgt, source))")
        db.execute("INSERT INTO translations VALUES ('m', 'de', 'en', 'Hallo.', 'Hello.')")
    cache = TranslationCache(path)
    assert cache.get("m", "de", "en", "Hallo.") == "Hello."
    cache.put("m", "de", "en", "Tschüss.", "Bye.")
    assert len(cache) == 2


def test_a_damaged_cache_file_is_moved_aside_with_one_warning(tmp_path, capsys):
    path = tmp_path / "cache.sqlite3"
    cache = TranslationCache(path)
    for i in range(2000):
        cache.put("m", "de", "en", f"Satz Nummer {i} ist ziemlich lang.", f"Sentence {i}")
    cache.close()
    with path.open("r+b") as handle:  # a truncated copy, as a full disk or a crash during backup leaves
        handle.truncate(path.stat().st_size // 2)
    cache = TranslationCache(path)
    cache.put("m", "de", "en", "Hallo.", "Hello.")
    assert cache.get("m", "de", "en", "Hallo.") == "Hello."
    cache.close()
    err = capsys.readouterr().err
    assert err.count("warning") == 1 and "damaged" in err and "cache.sqlite3.corrupt" in err
    assert (tmp_path / "cache.sqlite3.corrupt").is_file()

    path.write_bytes(b"this is not a database\n" * 200)  # overwritten by something else entirely
    cache = TranslationCache(path)
    assert cache.get("m", "de", "en", "Hallo.") is None
    cache.put("m", "de", "en", "Hallo.", "Hello.")
    assert len(cache) == 1
    assert "not a database" in capsys.readouterr().err


def test_a_cache_damaged_while_open_does_not_stop_lookups(tmp_path, capsys):
    path = tmp_path / "cache.sqlite3"
    cache = TranslationCache(path)
    for i in range(2000):
        cache.put("m", "de", "en", f"Satz Nummer {i} ist ziemlich lang.", f"Sentence {i}")
    other = TranslationCache(path)  # keeps the WAL alive, as the app does while the CLI runs
    other.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with path.open("r+b") as handle:
        handle.seek(8192)
        handle.write(os.urandom(path.stat().st_size - 8192))
    # Every call answers (a miss at worst); the damage is reported once and the cache starts afresh.
    for i in range(0, 2000, 97):
        assert cache.get("m", "de", "en", f"Satz Nummer {i} ist ziemlich lang.") in (f"Sentence {i}", None)
    cache.put("m", "de", "en", "Hallo.", "Hello.")
    assert cache.get("m", "de", "en", "Hallo.") == "Hello."
    assert capsys.readouterr().err.count(" is damaged ") == 1


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "desktop.cli", "--max-new-tokens", "12", *args],
                          input="Ich habe einen Hund.\n", capture_output=True, text=True, env=env, timeout=300)


def _engine_cache_key(model: Path, max_new_tokens: int) -> str:
    """The key TranslationEngine files its rows under (fingerprint and decoding settings)."""
    from alma_core.prompts import OUTPUT_LENGTH_FACTOR
    from desktop.stores.cache import model_fingerprint

    return f"{model_fingerprint(model)}:greedy:{max_new_tokens}:lf{OUTPUT_LENGTH_FACTOR}"


def test_no_cache_neither_reads_nor_writes_the_cache(default_gguf, tmp_path):
    data = tmp_path / "data"
    args = ("-m", str(default_gguf), "--from", "de", "--to", "en")
    result = run_cli(*args, "--no-cache", data_dir=data)
    assert result.returncode == 0, result.stderr
    real = result.stdout.strip()
    assert real and not (data / "translation-cache.sqlite3").exists()  # nothing written

    # A planted cache row: used without --no-cache, ignored with it.
    cache = TranslationCache(data / "translation-cache.sqlite3")
    cache.put(_engine_cache_key(default_gguf, 12), "de", "en", "Ich habe einen Hund.", "PLANTED")
    cache.close()
    assert run_cli(*args, data_dir=data).stdout.strip() == "PLANTED"
    result = run_cli(*args, "--no-cache", data_dir=data)
    assert result.returncode == 0 and result.stdout.strip() == real


def test_a_damaged_cache_does_not_stop_the_cli(default_gguf, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "translation-cache.sqlite3").write_bytes(b"\0garbage" * 1000)
    result = run_cli("-m", str(default_gguf), "--from", "de", "--to", "en", data_dir=data)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and "Traceback" not in result.stderr
    assert result.stderr.count("translation cache") == 1 and "damaged" in result.stderr
    assert (data / "translation-cache.sqlite3.corrupt").is_file()
