"""alma-translate run as a user runs it: a subprocess, real model, exit codes, stdin and stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-data")


def run_cli(*args: str, data_dir: Path, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "--max-new-tokens", "12", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
    )


def test_stdin_is_translated_to_stdout_line_by_line(data_dir):
    result = run_cli("--from", "de", "--to", "en", data_dir=data_dir,
                     stdin="Das Haus ist groß.\n\nIch habe einen Hund.\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert len(lines) == 4 and lines[1] == "" and lines[3] == ""
    assert lines[0] and "Haus" not in lines[0] and lines[2] and "Hund" not in lines[2]


def test_a_file_is_written_beside_itself(data_dir, tmp_path):
    source = tmp_path / "brief.de.txt"
    source.write_text("Das Haus ist groß.\nIch habe einen Hund.\n")
    result = run_cli("--from", "de", "--to", "en", str(source), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "brief.en.txt"
    assert f"{source} -> {out}" in result.stderr
    assert source.read_text() == "Das Haus ist groß.\nIch habe einen Hund.\n"
    assert len(out.read_text().splitlines()) == 2 and "Hund" not in out.read_text()


def test_a_document_goes_to_stdout_with_dash(data_dir):
    sample = ROOT / "desktop" / "samples" / "sample.de.srt"
    result = run_cli("--from", "de", "--to", "en", str(sample), "-o", "-", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "00:00:04,000 --> 00:00:07,250" in result.stdout and "Bahnhof" not in result.stdout
    assert not (sample.parent / "sample.en.srt").exists()


def test_list_languages(data_dir):
    result = run_cli("--list-languages", data_dir=data_dir)
    assert result.returncode == 0
    assert "de\tGerman" in result.stdout.splitlines()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "de"], "both --from and --to are required"),
        (["--from", "xx", "--to", "en"], "unknown language code 'xx'"),
        (["--from", "de", "--to", "de"], "both 'de'"),
        (["--from", "de", "--to", "en", "missing.txt"], "missing.txt: no such file"),
        (["--from", "de", "--to", "en", "table.numbers"], "unsupported file type '.numbers'"),
        (["--from", "de", "--to", "en", "-m", "fake.gguf", "a.txt"], "fake.gguf: not a GGUF model file"),
        (["--from", "de", "--to", "en", "empty.txt"], "empty.txt: nothing to translate"),
        (["--from", "de", "--to", "en", "a.txt", "empty.txt", "-o", "out.txt"], "must be an existing folder"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(data_dir, tmp_path, args, message):
    (tmp_path / "table.numbers").write_bytes(b"x")
    (tmp_path / "fake.gguf").write_text("not a model")
    (tmp_path / "a.txt").write_text("Hallo.\n")
    (tmp_path / "empty.txt").write_text("")
    result = run_cli(*args, data_dir=data_dir, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("alma-translate: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "empty.txt", "fake.gguf", "table.numbers"]


@pytest.mark.parametrize("extra", [[], ["--details"]])
def test_stdin_that_is_not_utf8_exits_2_naming_stdin(data_dir, extra):
    # "Grüße" in Latin-1 is not UTF-8: a usage error naming stdin, not a traceback.
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "--max-new-tokens", "8", "--from", "de", "--to", "en", *extra],
        input=b"Guten Morgen.\n" + "Grüße\n".encode("latin-1"), capture_output=True, env=env, cwd=ROOT,
        timeout=300)
    assert result.returncode == 2, result.stderr
    assert b"stdin: not utf-8 text" in result.stderr and b"Traceback" not in result.stderr


def test_the_apps_glossaries_reach_alma_translate_only_when_asked(default_gguf, tmp_path):
    """A glossary switched on in the app's store (its Glossaries tab) is used with --app-glossaries."""
    from desktop.terminology import TermEntry
    from desktop.terminology.store import GLOSSARY, GlossaryStore

    data_dir = tmp_path / "data"
    store = GlossaryStore(data_dir / "glossaries").load()
    store.add("Customers", GLOSSARY, "de", "en", [TermEntry("Kunde", "client")])
    sentence = "Der Kunde hat das Passwort geändert.\n"
    common = ("-m", str(default_gguf), "--no-cache", "--from", "de", "--to", "en")
    plain = run_cli(*common, data_dir=data_dir, stdin=sentence)
    assert plain.returncode == 0, plain.stderr
    assert "client" not in plain.stdout.lower() and "not placed" not in plain.stderr  # the store is not read
    reported = run_cli(*common, "--app-glossaries", "--term-strategy", "none", data_dir=data_dir, stdin=sentence)
    assert reported.returncode == 0, reported.stderr
    assert "stdin: sentence 1: term 'Kunde' -> 'client' not placed" in reported.stderr
    placed = run_cli(*common, "--app-glossaries", data_dir=data_dir, stdin=sentence)
    assert placed.returncode == 0, placed.stderr
    assert "client" in placed.stdout.lower() and "not placed" not in placed.stderr
