"""alma-translate --details / --alternatives / --no-memory / memory, run as a user runs it (real fast model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"source", "translation", "confidence", "alternatives"}


def run_cli(*args: str, data_dir: Path, stdin: str = "", options: tuple[str, ...] = ("--max-new-tokens", "16"),
            ) -> subprocess.CompletedProcess:
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "desktop.cli", *options, *args],
                          input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


def test_details_prints_one_json_object_per_sentence(default_gguf, tmp_path):
    result = run_cli("-m", str(default_gguf), "--from", "de", "--to", "en", "--details", data_dir=tmp_path,
                     stdin="Das Haus ist groß. Ich habe einen Hund.\n\nWo ist die Straße?\n")
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["source"] for o in objects] == ["Das Haus ist groß.", "Ich habe einen Hund.", "Wo ist die Straße?"]
    for obj in objects:
        assert KEYS <= obj.keys()
        assert obj["translation"] and 0.0 <= obj["confidence"] <= 1.0
        assert obj["alternatives"] == [] and obj["origin"] == "model"
    assert "Straße" in result.stdout  # ensure_ascii=False: the text as it is, not \u escapes


def test_alternatives_implies_details_and_gives_distinct_strings(default_gguf, tmp_path):
    result = run_cli("-m", str(default_gguf), "--from", "de", "--to", "en", "--alternatives", "2",
                     "--no-cache", data_dir=tmp_path, stdin="Der Hund schläft im Garten.\n")
    assert result.returncode == 0, result.stderr
    (obj,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert 1 <= len(obj["alternatives"]) <= 2
    assert obj["translation"] not in obj["alternatives"]
    assert len(set(obj["alternatives"])) == len(obj["alternatives"])


@pytest.mark.parametrize(("args", "message"), [
    (["--alternatives", "0"], "--alternatives 0: give a number from 1 to 16"),
    (["--alternatives", "17"], "--alternatives 17: give a number from 1 to 16"),
    (["--alternatives", "two"], "argument --alternatives: invalid int value: 'two'"),
    (["--details", "README.md"], "--details and --alternatives work on text from stdin, not on documents"),
])
def test_bad_details_arguments_exit_2(default_gguf, tmp_path, args, message):
    result = run_cli("-m", str(default_gguf), "--from", "de", "--to", "en", *args, data_dir=tmp_path,
                     stdin="Hallo.\n")
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_memory_serves_a_sentence_unless_no_memory(default_gguf, tmp_path):
    from desktop.memory.store import TranslationMemory

    with TranslationMemory(tmp_path / "memory.sqlite") as memory:
        memory.add("de", "en", "Das Haus ist groß.", "The house is big, says my memory.")
    stdin = "Das Haus ist groß.\n"
    served = run_cli("-m", str(default_gguf), "--from", "de", "--to", "en", "--details", data_dir=tmp_path,
                     stdin=stdin)
    assert served.returncode == 0, served.stderr
    obj = json.loads(served.stdout)
    assert (obj["translation"], obj["confidence"], obj["origin"]) == ("The house is big, says my memory.", 1.0,
                                                                     "memory")
    plain = run_cli("-m", str(default_gguf), "--from", "de", "--to", "en", data_dir=tmp_path, stdin=stdin)
    assert plain.stdout == "The house is big, says my memory.\n"
    skipped = run_cli("-m", str(default_gguf), "--from", "de", "--to", "en", "--no-memory", data_dir=tmp_path,
                      stdin=stdin)
    assert skipped.returncode == 0 and skipped.stdout.strip() not in ("", "The house is big, says my memory.")


def test_memory_subcommand_is_dispatched(tmp_path):
    result = run_cli("memory", "stats", data_dir=tmp_path, options=())
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "memory.sqlite") in result.stdout + result.stderr


def test_a_translation_cut_at_its_token_limit_is_warned_and_in_details(default_gguf, tmp_path):
    """--max-new-tokens 4 stops every translation here at its limit: each is warned on stderr with the
    input's name and line, and --details says "truncated": true (issue 26: nothing cut silently)."""
    tiny = ("--max-new-tokens", "4", "--no-cache")
    lines = "Der Hund schläft im Garten.\nDie Katze ist schwarz. Ja.\n"
    result = run_cli("-m", str(default_gguf), "--from", "de", "--to", "en", "--details", data_dir=tmp_path,
                     stdin=lines, options=tiny)
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["truncated"] for o in objects] == [True, True, True]
    warned = [line for line in result.stderr.splitlines() if "token limit" in line]
    assert warned == [
        "stdin: line 1: translation stopped at its token limit and may be cut (--max-new-tokens 4): "
        "'Der Hund schläft im Garten.'",
        "stdin: line 2: translation stopped at its token limit and may be cut (--max-new-tokens 4): "
        "'Die Katze ist schwarz.'",
        "stdin: line 2: translation stopped at its token limit and may be cut (--max-new-tokens 4): 'Ja.'"]
    # Streamed (no --details) the same warnings come; with room to finish, none.
    streamed = run_cli("-m", str(default_gguf), "--from", "de", "--to", "en", data_dir=tmp_path,
                       stdin=lines, options=tiny)
    assert [line for line in streamed.stderr.splitlines() if "token limit" in line] == warned
    roomy = run_cli("-m", str(default_gguf), "--from", "de", "--to", "en", "--details", data_dir=tmp_path,
                    stdin="Wo ist der Bahnhof?\n", options=("--max-new-tokens", "256", "--no-cache"))
    assert json.loads(roomy.stdout)["truncated"] is False and "token limit" not in roomy.stderr


def test_a_documents_cut_sentence_is_warned_with_the_file_name_and_segment(default_gguf, tmp_path):
    """A document (DocumentJob, decoded ahead in a batch): the warning names the file and the segment's number
    (as stdin's name its line), and quotes the sentence."""
    source = tmp_path / "brief.txt"
    long_sentence = "Die Katze schläft auf dem Sofa im Wohnzimmer neben dem großen Fenster zum Garten hinaus."
    source.write_text(f"Ja.\n\n{long_sentence}\n", encoding="utf-8")
    result = run_cli("-m", str(default_gguf), "--from", "de", "--to", "en", str(source), data_dir=tmp_path,
                     options=("--max-new-tokens", "4", "--no-cache"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "brief.en.txt").is_file()
    warned = [line for line in result.stderr.splitlines() if "token limit" in line]
    assert warned == [
        f"{source}: segment 1: translation stopped at its token limit and may be cut (--max-new-tokens 4): 'Ja.'",
        f"{source}: segment 2: translation stopped at its token limit and may be cut (--max-new-tokens 4): "
        "'Die Katze schläft auf dem Sofa im Wohnzimmer neben dem…'"]
