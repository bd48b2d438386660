"""alma-train evaluate --model X.bundle: the bundle's base with each direction's adapter, on the fast test
model's bundle (tests/conftest.py default_bundle) and the demo test data (docs/adapters.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alma_train.cli import main

LIMIT = 6
DECODE = ["--max-new-tokens", "24", "--limit", str(LIMIT)]


@pytest.fixture(scope="module")
def parallel_data(tmp_path_factory) -> Path:
    from alma_train.data.demo_data import build_demo_data

    root = tmp_path_factory.mktemp("eval-data")
    build_demo_data(root, monolingual=False)
    return root / "parallel"


def evaluate(model: Path, tests: list[Path], pairs: str, out: Path, *extra: str) -> dict:
    code = main(["evaluate", "--model", str(model), "--test", *map(str, tests), "--pairs", pairs, *DECODE,
                 "--output", str(out), *extra])
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8"))


def hypotheses(report: dict, out: Path, direction: str) -> list[str]:
    return (out.parent / report["directions"][direction]["hypotheses"]).read_text(encoding="utf-8").split("\n")[:-1]


@pytest.fixture(scope="module")
def reports(default_bundle, default_gguf, lora_adapter_ggufs, parallel_data, tmp_path_factory):
    """The bundle (cs-en first: no adapter, then de-en: the de adapter, a switch after a shared prompt
    prefix), the base GGUF alone, and the base GGUF with the de adapter file."""
    folder = tmp_path_factory.mktemp("eval-bundle")
    tests = [parallel_data / "cs-en" / "test.jsonl", parallel_data / "de-en" / "test.jsonl"]
    outs = {name: folder / f"{name}.json" for name in ("bundle", "base", "base+de")}
    return {
        "bundle": (evaluate(default_bundle, tests, "cs-en,de-en", outs["bundle"]), outs["bundle"]),
        "base": (evaluate(default_gguf, tests, "cs-en,de-en", outs["base"]), outs["base"]),
        "base+de": (evaluate(default_gguf, tests[1:], "de-en", outs["base+de"], "--adapter",
                             str(lora_adapter_ggufs["de"])), outs["base+de"]),
    }


def test_a_bundle_direction_scores_as_its_base_with_that_adapter(reports):
    bundle, bundle_out = reports["bundle"]
    base, base_out = reports["base"]
    with_de, with_de_out = reports["base+de"]
    # The adapter changes the output: the bundle's de-en is not the base's.
    assert hypotheses(bundle, bundle_out, "de-en") != hypotheses(base, base_out, "de-en")
    assert bundle["directions"]["de-en"]["chrf"] != base["directions"]["de-en"]["chrf"]
    # ... and is exactly the base GGUF with the de adapter applied by llama.cpp (a fresh model, no switch).
    assert hypotheses(bundle, bundle_out, "de-en") == hypotheses(with_de, with_de_out, "de-en")
    assert bundle["directions"]["de-en"]["chrf"] == with_de["directions"]["de-en"]["chrf"]
    assert with_de["model"]["adapter"].endswith("de.lora.gguf")


def test_a_direction_without_adapter_runs_on_the_base_and_the_report_says_so(reports, default_bundle):
    bundle, bundle_out = reports["bundle"]
    base, base_out = reports["base"]
    assert hypotheses(bundle, bundle_out, "cs-en") == hypotheses(base, base_out, "cs-en")
    model = bundle["model"]
    assert model["kind"] == "bundle" and model["path"] == str(default_bundle)
    assert model["name"] == "smollm2-test" and model["base"] == str(default_bundle / "base.gguf")
    assert model["directions"]["de-en"]["adapter"] == "adapters/de.lora.gguf"
    assert model["directions"]["cs-en"]["adapter"] is None
    assert "base translates it alone" in model["directions"]["cs-en"]["note"]
    markdown = bundle_out.with_suffix(".md").read_text(encoding="utf-8")
    assert "de-en `adapters/de.lora.gguf`" in markdown
    assert "cs-en none (the base alone, zero-shot)" in markdown


def test_a_changed_adapter_is_refused_before_decoding(default_bundle, parallel_data, tmp_path, capsys):
    import shutil

    copy = tmp_path / "changed.bundle"
    shutil.copytree(default_bundle, copy, symlinks=True)
    adapter = copy / "adapters" / "de.lora.gguf"
    adapter.write_bytes(adapter.read_bytes()[:-1] + b"\x01")
    code = main(["evaluate", "--model", str(copy), "--test", str(parallel_data / "de-en" / "test.jsonl"),
                 "--pairs", "de-en", *DECODE, "--output", str(tmp_path / "r.json")])
    assert code == 2
    err = capsys.readouterr().err
    assert "bundle.json: adapters[0].sha256" in err
    assert not (tmp_path / "r.json").exists()
