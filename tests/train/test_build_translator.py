"""alma-train build-translator end to end on a tiny random llama (real tokenizer, real demo data):
every step runs, the installed GGUF carries its alma.* metadata, a rerun resumes, bad input is named.

The real recipe (Gemma 3 270M, tens of minutes) is `make model`; its figures are in docs/results.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from alma_core.gguf_file import read_model_info
from alma_train.cli import main

RECIPE = """\
stage: stage2
pairs: [de-en]
train_files: [parallel/de-en/train.jsonl]
valid_files: [parallel/de-en/valid.jsonl]
max_valid_examples: 8
max_source_tokens: 32
max_target_tokens: 32
finetune: lora
lora_target_modules: [down_proj]
learning_rate: 1.0e-3
per_device_train_batch_size: 4
max_steps: 4
eval_steps: 2
save_steps: 2
logging_steps: 1
"""


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory, default_hf_dir) -> Path:
    from tiny_model import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-base", default_hf_dir)


def _build(tiny_base: Path, demo_data: Path, work: Path, out: Path, capsys) -> tuple[int, str, str]:
    recipe = work.parent / "recipe.yaml"
    recipe.write_text(RECIPE)
    rc = main(["build-translator", "--base", str(tiny_base), "--recipe", str(recipe), "--work-dir", str(work),
               "--data-dir", str(demo_data), "--output", str(out), "--eval-limit", "2",
               "--eval-max-new-tokens", "6"])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_build_installs_a_gguf_with_its_metadata_then_resumes(tiny_base, demo_data, tmp_path, capsys):
    work, out = tmp_path / "work", tmp_path / "models" / "default-translator.gguf"
    rc, stdout, stderr = _build(tiny_base, demo_data, work, out, capsys)
    assert rc == 0, stderr
    assert stdout.strip().splitlines()[-1] == str(out)  # the path is the last line printed
    for step in ("step 1/8 data", "step 3/8 stage2", "stage 2: step 4/4", "step 8/8 install", "about",
                 "step 6/8 trim", "vocabulary kept: trimming handles SentencePiece vocabularies"):
        assert step in stderr
    info = read_model_info(out)
    assert info["alma.base"] == "tiny-base" and info["alma.training_steps"] == 4
    assert info["alma.recipe"].endswith("recipe.yaml")
    data = json.loads(info["alma.training_data"])
    train_lines = (demo_data / "parallel/de-en/train.jsonl").read_text().splitlines()
    assert data["pairs"] == len([line for line in train_lines if line.strip()]) and len(data["sha256"]) == 64
    scores = json.loads(info["alma.scores"])
    assert set(scores["in-source"]["directions"]) == {"de-en", "en-de"}
    assert scores["in-source"]["segments"] == 4 and 0 <= scores["in-source"]["chrf"] <= 100
    assert "nrefs:1" in scores["in-source"]["signatures"]["chrf"]
    assert sorted(info["alma.language_pairs"]) == ["de-en", "en-de"]
    # The merged model is as readable as any file the user makes (mkdtemp's staging folder is private).
    umask = os.umask(0)
    os.umask(umask)
    assert (work / "merged").stat().st_mode & 0o777 == 0o777 & ~umask
    assert (work / "merged" / "model.safetensors").stat().st_mode & 0o777 == 0o666 & ~umask

    # Interrupted after conversion (as if killed during evaluation): a rerun does only what is left.
    state_path = work / "build-state.json"
    state = json.loads(state_path.read_text())
    for step in ("evaluate", "install"):
        del state["done"][step]
    state_path.write_text(json.dumps(state))
    out.unlink()
    rc, stdout, stderr = _build(tiny_base, demo_data, work, out, capsys)
    assert rc == 0, stderr
    for step in ("data", "base", "stage2", "merge", "convert", "trim"):
        assert f"{step}: done in an earlier run" in stderr
    assert "evaluate: done in an earlier run" not in stderr
    assert json.loads(read_model_info(out)["alma.scores"]) == scores

    # Killed during stage 2: the rerun continues from the last checkpoint, not from step 0.
    state = json.loads(state_path.read_text())
    for step in ("stage2", "merge", "convert", "trim", "evaluate", "install"):
        del state["done"][step]
    state_path.write_text(json.dumps(state))
    rc, stdout, stderr = _build(tiny_base, demo_data, work, out, capsys)
    assert rc == 0, stderr
    assert "stage 2 resumes from its checkpoint at step 4" in stderr
    assert stdout.strip().splitlines()[-1] == str(out) and read_model_info(out)["alma.training_steps"] == 4


def test_build_refuses_a_work_dir_of_another_recipe_and_bad_bases(tiny_base, demo_data, tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    (work / "build-state.json").write_text(json.dumps({"identity": {"recipe": "other"}, "done": {}}))
    rc, _, stderr = _build(tiny_base, demo_data, work, tmp_path / "out.gguf", capsys)
    assert rc == 2 and "another recipe or base" in stderr
    rc = main(["build-translator", "--base", str(tmp_path / "nothing"), "--output", str(tmp_path / "x.gguf")])
    assert rc == 2 and "neither a base" in capsys.readouterr().err
    assert not (tmp_path / "out.gguf").exists() and not (tmp_path / "x.gguf").exists()
