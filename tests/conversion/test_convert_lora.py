"""`alma-convert lora`: real peft adapters of the real default model (SmolLM2, llama) and of the tiny Gemma 3
as llama.cpp GGUF LoRA adapters: the layout, llama.cpp's own convert_lora_to_gguf.py on the same folder (where
its source is at hand), logits of base GGUF + adapter in llama.cpp against the peft-merged HF model, refusals.
"""

from __future__ import annotations

import json
import shutil

import gguf
import numpy as np
import pytest
from base_exports import base_hf_export
from convert_helpers import (
    NAMING_KEYS,
    THREADS,
    build_peft_lora,
    build_tiny_gemma3,
    gguf_differences,
    run_cli,
    run_llama_cpp_lora_converter,
)

from alma_core.gguf_file import read_gguf
from convert.converters.llama import permute_for_rope
from convert.verify import VERIFY_TEXTS, HFReference, verify_gguf

pytestmark = pytest.mark.slow

# llama.cpp's converter also copies the model card peft writes (README.md: the base model's path, tags).
MODEL_CARD_KEYS = frozenset(
    {"general.base_model.count", "general.base_model.0.name", "general.base_model.0.repo_url", "general.tags"}
)


@pytest.fixture(scope="module")
def smollm_lora(default_hf_dir, tmp_path_factory):
    return build_peft_lora(default_hf_dir, tmp_path_factory.mktemp("smollm-lora") / "de-lora", b_std=0.05)


@pytest.fixture(scope="module")
def smollm_lora_gguf(smollm_lora, smollm_ggufs, tmp_path_factory):
    out = tmp_path_factory.mktemp("smollm-lora-gguf") / "de.lora.gguf"
    assert run_cli("lora", smollm_lora, "--base", smollm_ggufs["f16"], "-o", out) == 0
    return out


@pytest.fixture(scope="module")
def merged_reference(default_hf_dir, smollm_lora):
    return HFReference(default_hf_dir, smollm_lora)


@pytest.fixture(scope="module")
def tiny_gemma3(tmp_path_factory):
    """The tiny Gemma 3 (bf16), its f16 GGUF and a bf16 adapter of it (as a bf16 training run saves one)."""
    root = tmp_path_factory.mktemp("tiny-gemma3-lora")
    model = build_tiny_gemma3(root / "tiny-gemma3", base_hf_export("gemma3-270m"))
    base = root / "tiny-gemma3-f16.gguf"
    assert run_cli(model, "-o", base, "--type", "f16") == 0
    adapter = build_peft_lora(model, root / "lora", r=4, alpha=8, b_std=0.1, dtype="bfloat16")
    return model, base, adapter


def test_adapter_layout(smollm_lora, smollm_lora_gguf, smollm_ggufs):
    from safetensors.numpy import load_file

    adapter = read_gguf(smollm_lora_gguf)
    meta = adapter.metadata
    assert (meta["general.architecture"], meta["general.type"], meta["adapter.type"]) == ("llama", "adapter", "lora")
    assert meta["adapter.lora.alpha"] == 16.0
    base = read_gguf(smollm_ggufs["f16"], max_array=0)
    assert len(adapter.tensors) == 2 * 7 * base.metadata["llama.block_count"]
    hf = load_file(str(smollm_lora / "adapter_model.safetensors"))
    prefix = "base_model.model.model.layers.3."
    # A is (rank, in) and B is (out, rank) in numpy's order; the base weight is (out, in)
    for part, module in (("attn_q", "self_attn.q_proj"), ("attn_k", "self_attn.k_proj"), ("ffn_down", "mlp.down_proj")):
        lora_a = adapter.tensor_array(f"blk.3.{part}.weight.lora_a")
        lora_b = adapter.tensor_array(f"blk.3.{part}.weight.lora_b")
        out, n_in = base.tensors[f"blk.3.{part}.weight"].shape[::-1]
        assert lora_a.shape == (8, n_in) and lora_b.shape == (out, 8)
        assert lora_a.dtype == lora_b.dtype == np.float16
        np.testing.assert_array_equal(lora_a, hf[prefix + module + ".lora_A.weight"].astype(np.float16))
        expected_b = hf[prefix + module + ".lora_B.weight"]
        if part == "attn_q":  # B's rows are Q's rows: permuted as Q is (9 heads); K in its 3 KV heads
            expected_b = permute_for_rope(expected_b, 9)
        elif part == "attn_k":
            expected_b = permute_for_rope(expected_b, 3)
        np.testing.assert_array_equal(lora_b, expected_b.astype(np.float16))


@pytest.mark.parametrize("out_type", ["f16", "q8_0"])
def test_smollm2_lora_matches_llama_cpp_converter(llama_cpp_lora_converter, smollm_lora, default_hf_dir,
                                                  default_gguf, tmp_path, out_type):
    # The wheel's Q4_1 GGUF as the base: only its architecture and shapes matter to the adapter.
    ours, theirs = tmp_path / "ours.gguf", tmp_path / "theirs.gguf"
    assert run_cli("lora", smollm_lora, "--base", default_gguf, "-o", ours, "--type", out_type) == 0
    run_llama_cpp_lora_converter(llama_cpp_lora_converter, smollm_lora, default_hf_dir, theirs, out_type)
    assert gguf_differences(ours, theirs, ignore=NAMING_KEYS | MODEL_CARD_KEYS) == []
    types = {t.type for t in read_gguf(ours).tensors.values()}
    # q8_0: A's rows (576 or 1536 inputs) are whole blocks; B's rows are r = 8 long, so f16
    assert types == ({gguf.GGMLQuantizationType.F16} if out_type == "f16"
                     else {gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.F16})


def test_tiny_gemma3_lora_matches_llama_cpp_converter(llama_cpp_lora_converter, tiny_gemma3, tmp_path):
    model, base, adapter = tiny_gemma3
    ours, theirs = tmp_path / "ours.gguf", tmp_path / "theirs.gguf"
    assert run_cli("lora", adapter, "--base", base, "-o", ours) == 0
    run_llama_cpp_lora_converter(llama_cpp_lora_converter, adapter, model, theirs, "f16")
    assert gguf_differences(ours, theirs, ignore=NAMING_KEYS | MODEL_CARD_KEYS) == []
    assert read_gguf(ours).metadata["general.architecture"] == "gemma3"


def test_smollm2_lora_verifies(default_hf_dir, smollm_ggufs, smollm_lora, smollm_lora_gguf, merged_reference,
                               smollm_reference, capsys):
    texts = VERIFY_TEXTS[:3]
    report = verify_gguf(default_hf_dir, smollm_ggufs["f16"], texts=texts, threads=THREADS,
                         reference=merged_reference, lora=smollm_lora_gguf, lora_source=smollm_lora)
    assert report.lora_type == "f16" and report.must_match_top1
    assert report.passed, report.summary()
    assert report.real_top1_misses == 0 and report.mean_kl < 1e-3, report.summary()
    # The adapter matters: the merged model's next tokens differ from the base's at many positions, so a
    # llama.cpp run that left the adapter out could not pass.
    changed = []
    for text in texts:
        base_top = smollm_reference.ids_and_logits(text)[1].argmax(-1)
        changed += list(merged_reference.ids_and_logits(text)[1].argmax(-1) != base_top)
    assert np.mean(changed) > 0.1


def test_verify_catches_a_wrong_adapter(default_hf_dir, smollm_ggufs, smollm_lora, merged_reference, tmp_path,
                                        capsys):
    # The same matrices with twice the alpha: llama.cpp applies twice the change peft merged.
    doubled = tmp_path / "doubled"
    shutil.copytree(smollm_lora, doubled)
    config = json.loads((doubled / "adapter_config.json").read_text())
    config["lora_alpha"] *= 2
    (doubled / "adapter_config.json").write_text(json.dumps(config))
    wrong = tmp_path / "wrong.lora.gguf"
    assert run_cli("lora", doubled, "--base", smollm_ggufs["f16"], "-o", wrong) == 0
    report = verify_gguf(default_hf_dir, smollm_ggufs["f16"], texts=VERIFY_TEXTS[:2], threads=THREADS,
                         reference=merged_reference, lora=wrong, lora_source=smollm_lora)
    assert not report.passed and report.real_top1_misses > 0


def test_tiny_gemma3_lora_verifies_on_the_command_line(tiny_gemma3, tmp_path, capsys):
    model, base, adapter = tiny_gemma3
    lora = tmp_path / "x.lora.gguf"
    assert run_cli("lora", adapter, "--base", base, "-o", lora) == 0
    assert "gemma3 LoRA adapter, 42 weights" in capsys.readouterr().out
    assert run_cli("verify", model, base, "--lora", lora, "--lora-source", adapter, "--threads", THREADS) == 0
    out = capsys.readouterr().out
    assert "+ adapter x.lora.gguf (f16)" in out and "PASS" in out


# --- bad input: exit 2, one line naming the file, nothing written ------------------------------------------


def _refused(capsys, tmp_path, *args: object, expect: str) -> None:
    output = tmp_path / "out.lora.gguf"
    assert run_cli("lora", *args, "-o", output) == 2
    err = capsys.readouterr().err
    assert expect in err and err.count("\n") == 1, err
    assert not output.exists() and not list(tmp_path.glob(".out.lora.gguf*"))


def test_wrong_base_is_refused(smollm_lora, tiny_spm_dir, tmp_path, capsys):
    other = tmp_path / "tiny-llama.gguf"  # a llama too, but 64 wide
    assert run_cli(tiny_spm_dir, "-o", other) == 0
    _refused(capsys, tmp_path, smollm_lora, "--base", other,
             expect=f"{other}: tensor blk.0.ffn_down.weight is 64x160 (out x in), the adapter's "
                    "model.layers.0.mlp.down_proj.weight is 576x1536: the adapter was trained on another model")


def test_missing_files_are_refused(smollm_lora, default_gguf, tmp_path, capsys):
    _refused(capsys, tmp_path, tmp_path / "nowhere", "--base", default_gguf, expect="nowhere: not a directory")
    no_config = tmp_path / "no-config"
    shutil.copytree(smollm_lora, no_config)
    (no_config / "adapter_config.json").unlink()
    _refused(capsys, tmp_path, no_config, "--base", default_gguf, expect="no-config: no adapter_config.json")
    _refused(capsys, tmp_path, smollm_lora, "--base", tmp_path / "missing.gguf",
             expect="missing.gguf: no such model file")


def test_pickled_adapter_is_not_loaded(smollm_lora, default_gguf, tmp_path, capsys):
    pickled = tmp_path / "pickled"
    shutil.copytree(smollm_lora, pickled)
    (pickled / "adapter_model.safetensors").rename(pickled / "adapter_model.bin")  # never opened
    _refused(capsys, tmp_path, pickled, "--base", default_gguf, expect="pickled weights are not loaded")


@pytest.mark.parametrize("module", ["embed_tokens", "lm_head"])
def test_vocabulary_adapters_are_refused(default_hf_dir, default_gguf, tmp_path, capsys, module):
    adapter = build_peft_lora(default_hf_dir, tmp_path / module, targets=(module, "q_proj"))
    _refused(capsys, tmp_path, adapter, "--base", default_gguf,
             expect="the adapter trains the embeddings or the output layer, which is refused")


@pytest.mark.parametrize("setting, value, expect", [
    ("use_dora", True, "use_dora is set"),
    ("use_rslora", True, "rsLoRA scales by alpha/sqrt(r)"),
    ("peft_type", "IA3", "only LORA adapters convert"),
])
def test_unsupported_settings_are_refused(smollm_lora, default_gguf, tmp_path, capsys, setting, value, expect):
    adapter = tmp_path / "adapter"
    shutil.copytree(smollm_lora, adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**config, setting: value}))
    _refused(capsys, tmp_path, adapter, "--base", default_gguf, expect=expect)


def test_existing_output_needs_force(smollm_lora, default_gguf, tmp_path, capsys):
    target = tmp_path / "x.lora.gguf"
    target.write_bytes(b"keep")
    assert run_cli("lora", smollm_lora, "--base", default_gguf, "-o", target) == 2
    assert "--force" in capsys.readouterr().err and target.read_bytes() == b"keep"
    assert run_cli("lora", smollm_lora, "--base", default_gguf, "-o", target, "--force") == 0
    assert read_gguf(target).metadata["general.type"] == "adapter"


def test_verify_needs_both_lora_options(default_hf_dir, smollm_ggufs, smollm_lora_gguf, capsys):
    assert run_cli("verify", default_hf_dir, smollm_ggufs["f16"], "--lora", smollm_lora_gguf) == 2
    assert "--lora and --lora-source go together" in capsys.readouterr().err
