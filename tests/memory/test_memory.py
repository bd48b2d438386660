"""The translation memory (desktop/memory/store.py) and `alma-translate memory`: real SQLite files, real TMX
and JSON Lines read back by translate-toolkit, lxml (against the TMX 1.4 DTD's rules) and the readers
that tuning uses; a damaged file, a folder that cannot be written, a reader thread while another writes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from io import BytesIO
from pathlib import Path

import pytest
from lxml import etree

from desktop.memory.cli import main
from desktop.memory.store import (
    MEMORY_MIN_PAIRS,
    MemoryFileError,
    MemoryUnit,
    MemoryWriteError,
    TranslationMemory,
)

ROOT = Path(__file__).resolve().parents[2]
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# The rules of the TMX 1.4 DTD (LISA, tmx14.dtd) for the elements the memory writes; <seg> holds text
# only, as the memory stores plain sentences.
TMX14_DTD = """
<!ELEMENT tmx (header, body)>
<!ATTLIST tmx version CDATA #FIXED "1.4">
<!ELEMENT header (note|ude|prop)*>
<!ATTLIST header creationtool CDATA #REQUIRED creationtoolversion CDATA #REQUIRED
  segtype (block|paragraph|sentence|phrase) #REQUIRED o-tmf CDATA #REQUIRED adminlang CDATA #REQUIRED
  srclang CDATA #REQUIRED datatype CDATA #REQUIRED o-encoding CDATA #IMPLIED creationdate CDATA #IMPLIED
  creationid CDATA #IMPLIED changedate CDATA #IMPLIED changeid CDATA #IMPLIED>
<!ELEMENT ude (map*)>
<!ELEMENT map EMPTY>
<!ELEMENT body (tu*)>
<!ELEMENT tu ((note|prop)*, tuv+)>
<!ATTLIST tu tuid CDATA #IMPLIED o-encoding CDATA #IMPLIED datatype CDATA #IMPLIED usagecount CDATA #IMPLIED
  lastusagedate CDATA #IMPLIED creationtool CDATA #IMPLIED creationtoolversion CDATA #IMPLIED
  creationdate CDATA #IMPLIED creationid CDATA #IMPLIED changedate CDATA #IMPLIED
  segtype (block|paragraph|sentence|phrase) #IMPLIED changeid CDATA #IMPLIED o-tmf CDATA #IMPLIED
  srclang CDATA #IMPLIED>
<!ELEMENT tuv ((note|prop)*, seg)>
<!ATTLIST tuv xml:lang CDATA #REQUIRED o-encoding CDATA #IMPLIED datatype CDATA #IMPLIED
  usagecount CDATA #IMPLIED lastusagedate CDATA #IMPLIED creationtool CDATA #IMPLIED
  creationtoolversion CDATA #IMPLIED creationdate CDATA #IMPLIED creationid CDATA #IMPLIED
  changedate CDATA #IMPLIED changeid CDATA #IMPLIED o-tmf CDATA #IMPLIED>
<!ELEMENT seg (#PCDATA)>
<!ELEMENT note (#PCDATA)>
<!ATTLIST note o-encoding CDATA #IMPLIED xml:lang CDATA #IMPLIED>
<!ELEMENT prop (#PCDATA)>
<!ATTLIST prop type CDATA #REQUIRED xml:lang CDATA #IMPLIED o-encoding CDATA #IMPLIED>
"""

DE_EN = [("Das Haus ist groß.", "The house is big."), ("Öffnen Sie die Datei „Bericht.txt“.", "Open the file \"Bericht.txt\"."),
         ("Zwei < drei & vier > eins.", "Two < three & four > one.")]


@pytest.fixture
def memory(tmp_path) -> TranslationMemory:
    memory = TranslationMemory(tmp_path / "memory.sqlite")
    for source, target in DE_EN:
        memory.add("de", "en", source, target, model="translator.gguf")
    memory.add("en", "de", "Good morning.", "Guten Morgen.")
    yield memory
    memory.close()


def test_default_file_is_in_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "data"))
    with TranslationMemory() as memory:
        assert memory.path == tmp_path / "data" / "memory.sqlite" and memory.writable
        memory.add("de", "en", "Hallo.", "Hello.")
    assert (tmp_path / "data" / "memory.sqlite").is_file()
    assert MEMORY_MIN_PAIRS == 20


def test_upsert_exact_lookup_counts_and_remove(memory, tmp_path):
    assert memory.lookup("de", "en", "  Das Haus ist groß.\n") == "The house is big."  # ends' whitespace
    assert memory.lookup("de", "en", "Das Haus ist groß") is None  # exact: not a fuzzy match
    assert memory.lookup("en", "de", "Das Haus ist groß.") is None  # per direction
    assert memory.lookup("de", "en", "   ") is None
    first = memory.pairs("de", "en")[0]
    memory.add("de", "en", "Das Haus ist groß. ", "The house is large.", model="tuned.gguf")
    again = memory.pairs("de", "en")
    assert len(again) == 3 and memory.lookup("de", "en", "Das Haus ist groß.") == "The house is large."
    # Replaced in place: the first confirmation's time stays, the change is dated, the model is the latest.
    assert (again[0].source, again[0].created, again[0].model) == (first.source, first.created, "tuned.gguf")
    assert again[0].updated >= first.updated and isinstance(again[0], MemoryUnit)
    assert memory.count() == 4 and memory.count("de", "en") == 3 and memory.count("en") == 1
    assert memory.counts() == {("de", "en"): 3, ("en", "de"): 1}
    assert [u.source for u in memory.pairs(tgt="de")] == ["Good morning."]
    assert memory.remove("de", "en", "Das Haus ist groß.") and not memory.remove("de", "en", "Das Haus ist groß.")
    assert memory.count("de", "en") == 2
    with pytest.raises(ValueError, match="empty target"):
        memory.add("de", "en", "Satz.", "  ")
    with pytest.raises(ValueError, match="empty source"):
        memory.add("de", "en", "", "Sentence.")
    # Another connection (another process, the CLI) sees the same rows.
    with TranslationMemory(tmp_path / "memory.sqlite") as other:
        assert other.lookup("de", "en", "Zwei < drei & vier > eins.") == "Two < three & four > one."


def test_tmx_export_is_valid_tmx_1_4_and_reads_back(memory, tmp_path):
    from translate.storage.tmx import tmxfile

    from alma_core.parallel_files import read_tmx

    out = tmp_path / "export" / "memory.tmx"
    out.parent.mkdir()
    assert memory.export_tmx(out) == 4
    root = etree.parse(str(out)).getroot()
    dtd = etree.DTD(BytesIO(TMX14_DTD.encode()))
    assert dtd.validate(root), dtd.error_log.filter_from_errors()
    assert root.get("version") == "1.4" and root.find("header").get("srclang") == "*all*"
    units = root.findall("body/tu")
    langs = [[tuv.get(XML_LANG) for tuv in tu.findall("tuv")] for tu in units]
    assert langs == [["de", "en"]] * 3 + [["en", "de"]]
    assert [tu.findtext("prop[@type='x-alma-model']") for tu in units] == ["translator.gguf"] * 3 + [None]
    assert {tu.findtext("prop[@type='x-alma-origin']") for tu in units} == {"correction"}
    assert all(len(tu.get("creationdate")) == 16 and tu.get("creationdate").endswith("Z") for tu in units)

    store = tmxfile.parsefile(str(out))
    assert [(u.source, u.target) for u in store.units[:3]] == DE_EN
    assert [r.texts for r in read_tmx(out)][:3] == [{"de": s, "en": t} for s, t in DE_EN]
    assert not [p for p in out.parent.iterdir() if p != out]  # atomic: no temporary file left
    assert out.stat().st_mode & 0o777 != 0o600

    # One direction: the header names its source language.
    assert memory.export_tmx(out, "en", "de") == 1
    assert etree.parse(str(out)).getroot().find("header").get("srclang") == "en"
    with pytest.raises(MemoryFileError, match="is a folder"):
        memory.export_tmx(tmp_path)
    with pytest.raises(MemoryFileError, match="does not exist"):
        memory.export_tmx(tmp_path / "missing" / "memory.tmx")


def test_tmx_import_adds_units_and_names_bad_files(memory, tmp_path):
    tmx = tmp_path / "memory.tmx"
    memory.export_tmx(tmx)
    with TranslationMemory(tmp_path / "other.sqlite") as other:
        # A TMX serves both directions: de->en takes every unit with both languages, the en->de one too.
        assert other.import_tmx(tmx, "de", "en") == 4
        assert other.lookup("de", "en", DE_EN[1][0]) == DE_EN[1][1]
        assert other.lookup("de", "en", "Guten Morgen.") == "Good morning."
        assert {u.origin for u in other.pairs()} == {"import"}
        assert other.import_tmx(tmx, "en", "de") == 4 and other.lookup("en", "de", "The house is big.") == DE_EN[0][0]

        with pytest.raises(MemoryFileError, match=r"no unit has both de and fr .*languages: de, en"):
            other.import_tmx(tmx, "de", "fr")
        with pytest.raises(MemoryFileError, match="nothing.tmx: no such file"):
            other.import_tmx(tmp_path / "nothing.tmx", "de", "en")
        broken = tmp_path / "broken.tmx"
        broken.write_text('<tmx version="1.4">\n<header srclang="de"/>\n<body>\n<tu><tuv xml:lang="de"><seg>a</tu>\n',
                          encoding="utf-8")
        with pytest.raises(MemoryFileError, match=r"broken.tmx:4: malformed TMX"):
            other.import_tmx(broken, "de", "en")
        assert other.count() == 8  # a failed import adds nothing


def test_jsonl_export_is_the_tuning_data_format(memory, tmp_path):
    from alma_core.parallel_files import read_records
    from alma_train.data.parallel import iter_pairs
    from desktop.models.tuning import detect_pairs

    out = tmp_path / "corrections.jsonl"
    assert memory.export_jsonl(out, "de", "en") == 3
    records = list(read_records(out))
    assert [r.texts for r in records] == [{"de": s, "en": t} for s, t in DE_EN]
    assert [(p.src, p.tgt) for p in iter_pairs(records, [("de", "en")])] == DE_EN
    assert detect_pairs(out) == ["de-en"]


def test_a_damaged_file_is_kept_aside_and_a_new_memory_started(tmp_path, capsys):
    path = tmp_path / "memory.sqlite"
    with TranslationMemory(path) as memory:
        memory.add_many([(f"Satz Nummer {i} ist ziemlich lang.", f"Sentence {i}.") for i in range(2000)], "de", "en")
    with path.open("r+b") as handle:  # truncated, as a full disk or a crash during a backup leaves it
        handle.truncate(path.stat().st_size // 2)
    damaged = path.read_bytes()
    with TranslationMemory(path) as memory:
        assert memory.writable and memory.count() == 0
        memory.add("de", "en", "Hallo.", "Hello.")
        assert memory.lookup("de", "en", "Hallo.") == "Hello."
    err = capsys.readouterr().err
    assert err.count("warning") == 1 and "is damaged" in err and "memory.sqlite.corrupt-" in err
    kept = list(tmp_path.glob("memory.sqlite.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged  # the user's rows, for rescue

    path.write_bytes(b"this is not a database\n" * 200)
    with TranslationMemory(path) as memory:
        assert memory.lookup("de", "en", "Hallo.") is None and memory.count() == 0
    # The second damaged file does not overwrite the first one.
    assert len(list(tmp_path.glob("memory.sqlite.corrupt-*"))) == 2
    assert "not a database" in capsys.readouterr().err


def test_a_file_damaged_while_open_loses_no_new_correction(tmp_path, capsys):
    path = tmp_path / "memory.sqlite"
    memory = TranslationMemory(path)
    memory.add_many([(f"Satz Nummer {i} ist ziemlich lang.", f"Sentence {i}.") for i in range(2000)], "de", "en")
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with path.open("r+b") as handle:  # the pages after the first two overwritten while the app runs
        handle.seek(8192)
        handle.write(os.urandom(path.stat().st_size - 8192))
    for i in range(0, 2000, 97):  # lookups answer (a miss at worst)
        assert memory.lookup("de", "en", f"Satz Nummer {i} ist ziemlich lang.") in (f"Sentence {i}.", None)
    memory.add("de", "en", "Hallo.", "Hello.")  # saved in the fresh memory, not dropped
    assert memory.lookup("de", "en", "Hallo.") == "Hello."
    memory.close()
    assert capsys.readouterr().err.count(" is damaged ") == 1
    assert len(list(tmp_path.glob("memory.sqlite.corrupt-*"))) == 1


def test_a_folder_that_cannot_be_created_is_a_warning(tmp_path, capsys):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    memory = TranslationMemory(blocker / "memory.sqlite")  # a warning, not a crash
    assert not memory.writable and "cannot be written" in memory.problem
    assert memory.lookup("de", "en", "Hallo.") is None and memory.count() == 0 and memory.pairs() == []
    assert f"{blocker / 'memory.sqlite'}" in capsys.readouterr().err
    # Saving is the user's action: an error that names the file (the app shows it), not a silent loss.
    with pytest.raises(MemoryWriteError, match="memory.sqlite cannot be written"):
        memory.add("de", "en", "Hallo.", "Hello.")
    with pytest.raises(OSError):
        memory.remove("de", "en", "Hallo.")
    assert main(["--memory", str(blocker / "memory.sqlite"), "stats"]) == 0
    assert main(["--memory", str(blocker / "memory.sqlite"), "remove", "--from", "de", "--to", "en", "Hallo."]) == 2
    assert "cannot be written" in capsys.readouterr().err


def test_a_file_that_cannot_be_written_still_serves_lookups(tmp_path, capsys, monkeypatch):
    path = tmp_path / "memory.sqlite"
    with TranslationMemory(path) as memory:
        memory.add("de", "en", "Hallo.", "Hello.")
    if os.geteuid() != 0:  # a real read-only file and folder
        path.chmod(0o444)
        tmp_path.chmod(0o555)
    else:  # root writes anywhere: SQLite's refusal, as a read-only home gives it, comes from _open
        def refuse(self):
            raise sqlite3.OperationalError("attempt to write a readonly database")

        monkeypatch.setattr(TranslationMemory, "_open", refuse)
    try:
        with TranslationMemory(path) as memory:
            assert not memory.writable and "corrections will not be saved" in memory.problem
            assert memory.lookup("de", "en", "Hallo.") == "Hello." and memory.count() == 1
            with pytest.raises(MemoryWriteError, match="corrections will not be saved"):
                memory.add("de", "en", "Tschüss.", "Bye.")
            assert memory.lookup("de", "en", "Tschüss.") is None and memory.count() == 1
    finally:
        tmp_path.chmod(0o755)
    assert "cannot be written" in capsys.readouterr().err


def test_the_engine_thread_reads_while_the_gui_thread_writes(tmp_path):
    memory = TranslationMemory(tmp_path / "memory.sqlite")
    other_process = TranslationMemory(tmp_path / "memory.sqlite")  # alma-translate memory import, meanwhile
    rows = 300
    errors: list[BaseException] = []
    seen: list[int] = []
    done = threading.Event()

    def engine() -> None:  # lookups of sentences that may or may not be stored yet
        try:
            while True:
                last = done.is_set()  # one more pass after the last write
                seen.append(sum(memory.lookup("de", "en", f"Satz {i}.") == f"Sentence {i}."
                                for i in range(0, rows, 7)))
                if last:
                    return
        except BaseException as exc:
            errors.append(exc)

    def importer() -> None:
        try:
            other_process.add_many([(f"Import {i}.", f"Imported {i}.") for i in range(rows)], "de", "en", "import")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=engine), threading.Thread(target=importer)]
    for thread in threads:
        thread.start()
    for i in range(rows):
        memory.add("de", "en", f"Satz {i}.", f"Sentence {i}.")
    done.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    # The reader saw the rows arrive, never lost one, and found all of them in the end.
    assert seen == sorted(seen) and seen[-1] == len(range(0, rows, 7))
    assert memory.count("de", "en") == 2 * rows
    memory.close()
    other_process.close()
    assert sqlite3.connect(tmp_path / "memory.sqlite").execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_cli_commands_and_exit_codes(memory, tmp_path, capsys):
    db = ["--memory", str(memory.path)]
    assert main([*db, "stats"]) == 0
    out = capsys.readouterr().out
    assert "4 units" in out and "de-en\t3" in out and f"needs {MEMORY_MIN_PAIRS}" in out

    tmx = tmp_path / "out.tmx"
    assert main([*db, "export", str(tmx), "--from", "de", "--to", "en"]) == 0
    assert f"3 units (de-en) -> {tmx}" in capsys.readouterr().err
    assert len(etree.parse(str(tmx)).getroot().findall("body/tu")) == 3
    jsonl = tmp_path / "out.jsonl"
    assert main([*db, "export", str(jsonl)]) == 0 and len(jsonl.read_text().splitlines()) == 4

    fresh = ["--memory", str(tmp_path / "fresh.sqlite")]
    assert main([*fresh, "import", str(tmx), "--from", "de", "--to", "en"]) == 0
    assert "3 units (de-en)" in capsys.readouterr().err
    assert main([*fresh, "remove", "--from", "de", "--to", "en", DE_EN[0][0]]) == 0
    assert main([*fresh, "remove", "--from", "de", "--to", "en", DE_EN[0][0]]) == 1  # not there any more
    with TranslationMemory(tmp_path / "fresh.sqlite") as check:
        assert check.count() == 2
    capsys.readouterr()

    bad = {
        ("export", str(tmp_path / "out.txt")): "out.txt: export writes a .tmx",
        ("export", str(tmp_path / "no" / "out.tmx")): "does not exist",
        ("export", str(tmx), "--from", "xx"): "--from 'xx' is not a known language code",
        ("import", str(tmp_path / "none.tmx"), "--from", "de", "--to", "en"): "none.tmx: no such file",
        ("import", str(jsonl), "--from", "de", "--to", "en"): "out.jsonl:1: malformed TMX",
        ("import", str(tmx), "--from", "de", "--to", "fr"): "no unit has both de and fr",
        ("import", str(tmx), "--from", "de"): "required: --to",
        ("import", str(tmx), "--from", "de", "--to", "de"): "--from and --to are both 'de'",
        ("remove", "--from", "de", "Satz."): "required: --to",
        ("frobnicate",): "invalid choice: 'frobnicate'",
        (): "required: command",
    }
    for args, message in bad.items():
        assert main([*db, *args]) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.startswith("alma-translate memory: error:"), (args, err)
    assert main(["--memory", str(tmp_path), "stats"]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_alma_translate_memory_runs_the_memory_cli(memory, tmp_path):
    env = {**os.environ, "ALMA_LOCAL_DATA": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "desktop.cli", "memory", "--memory", str(memory.path), "stats"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0 and "4 units" in run.stdout, run.stderr
    run = subprocess.run([sys.executable, "-m", "desktop.cli", "memory", "import", str(tmp_path / "x.tmx"),
                          "--from", "de", "--to", "en"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2 and "x.tmx: no such file" in run.stderr
