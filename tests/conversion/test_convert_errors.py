"""Bad input to alma-convert: one clear line naming the file at fault, exit code 2, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from convert_helpers import run_cli


def _copy_model(src: Path, dst: Path, skip: tuple[str, ...] = ()) -> Path:
    dst.mkdir()
    for item in src.iterdir():
        if item.name not in skip and item.is_file():
            (dst / item.name).symlink_to(item) if item.suffix == ".safetensors" else shutil.copy(item, dst)
    return dst


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _assert_refused(capsys, out_dir: Path, *args, expect: str) -> str:
    assert run_cli(*args) == 2
    err = capsys.readouterr().err
    assert expect in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not [p.name for p in out_dir.iterdir()], "nothing may be left behind"
    return err


@pytest.fixture
def out_dir(tmp_path) -> Path:
    (tmp_path / "out").mkdir()
    return tmp_path / "out"


def test_unsupported_architecture(tiny_spm_dir, tmp_path, out_dir, capsys):
    model = _copy_model(tiny_spm_dir, tmp_path / "gpt2")
    _edit_json(model / "config.json", architectures=["GPT2LMHeadModel"], model_type="gpt2")
    err = _assert_refused(
        capsys, out_dir, model, "-o", out_dir / "x.gguf", expect="unsupported architecture GPT2LMHeadModel"
    )
    assert "config.json" in err


def test_missing_tokenizer_files(tiny_spm_dir, tmp_path, out_dir, capsys):
    model = _copy_model(tiny_spm_dir, tmp_path / "no-tok", skip=("tokenizer.model", "tokenizer_config.json"))
    _assert_refused(capsys, out_dir, model, "-o", out_dir / "x.gguf", expect="no tokenizer files")


def test_already_quantized_input(tiny_spm_dir, tmp_path, out_dir, capsys):
    model = _copy_model(tiny_spm_dir, tmp_path / "gptq")
    _edit_json(model / "config.json", quantization_config={"quant_method": "gptq", "bits": 4})
    _assert_refused(capsys, out_dir, model, "-o", out_dir / "x.gguf", expect="already quantized (gptq)")


def test_gguf_given_as_model_dir(default_gguf, out_dir, capsys):
    _assert_refused(capsys, out_dir, default_gguf, "-o", out_dir / "x.gguf", expect="is already a GGUF")


def test_corrupt_safetensors(tiny_spm_dir, tmp_path, out_dir, capsys):
    model = _copy_model(tiny_spm_dir, tmp_path / "corrupt", skip=("model.safetensors",))
    data = (tiny_spm_dir / "model.safetensors").read_bytes()
    (model / "model.safetensors").write_bytes(data[: len(data) // 2])  # a cut-off download
    _assert_refused(
        capsys,
        out_dir,
        model,
        "-o",
        out_dir / "x.gguf",
        expect="model.safetensors: not a readable safetensors",
    )


def test_pickled_weights_are_not_loaded(tiny_spm_dir, tmp_path, out_dir, capsys):
    model = _copy_model(tiny_spm_dir, tmp_path / "pickled", skip=("model.safetensors",))
    (model / "pytorch_model.bin").write_bytes(b"not loaded")
    _assert_refused(capsys, out_dir, model, "-o", out_dir / "x.gguf", expect="pickled weights are not loaded")


def test_unknown_bpe_pre_tokenizer(default_hf_dir, tmp_path, out_dir, capsys):
    model = _copy_model(default_hf_dir, tmp_path / "odd-bpe")
    spec = json.loads((model / "tokenizer.json").read_text())
    # Byte-level without GPT-2's split regex: merges then run across word boundaries, a pre-tokenizer
    # llama.cpp has no name for.
    spec["pre_tokenizer"] = {
        "type": "ByteLevel",
        "add_prefix_space": False,
        "trim_offsets": True,
        "use_regex": False,
    }
    (model / "tokenizer.json").write_text(json.dumps(spec))
    _assert_refused(capsys, out_dir, model, "-o", out_dir / "x.gguf", expect="unknown BPE pre-tokenizer")


def test_existing_output_needs_force(tiny_spm_dir, tmp_path, capsys):
    target = tmp_path / "model.gguf"
    target.write_bytes(b"keep me")
    assert run_cli(tiny_spm_dir, "-o", target) == 2
    assert "--force" in capsys.readouterr().err
    assert target.read_bytes() == b"keep me"
    assert run_cli(tiny_spm_dir, "-o", target, "--force") == 0
    assert target.read_bytes()[:4] == b"GGUF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gguf"]


def test_failure_mid_write_leaves_no_file(tiny_spm_dir, out_dir, monkeypatch):
    """A disk that fills up during the tensors: no half file under the final name, no temp left."""
    from convert.checkpoint import Checkpoint

    real_load = Checkpoint.load_rows_f32
    calls = []

    def load_then_fail(self, name, start, stop):
        calls.append(name)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return real_load(self, name, start, stop)

    monkeypatch.setattr(Checkpoint, "load_rows_f32", load_then_fail)
    with pytest.raises(OSError, match="No space left"):
        run_cli(tiny_spm_dir, "-o", out_dir / "x.gguf")
    assert list(out_dir.iterdir()) == []


def test_bad_language_pair(tiny_spm_dir, out_dir, capsys):
    _assert_refused(
        capsys,
        out_dir,
        tiny_spm_dir,
        "-o",
        out_dir / "x.gguf",
        "--language-pairs",
        "de-xx",
        expect="--language-pairs: 'de-xx'",
    )
