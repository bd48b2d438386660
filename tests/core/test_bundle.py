"""alma_core.bundle: a real bundle (the fast test model's GGUF and two adapters made by llama.cpp's converter)
read back, written again, and every broken bundle.json refused with the file and the key named."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from alma_core.bundle import (
    FORMAT,
    BundleError,
    Score,
    file_sha256,
    is_bundle,
    load_bundle,
    write_bundle,
)


@pytest.fixture
def bundle_copy(default_bundle, tmp_path) -> Path:
    """A copy of the session's bundle to break (the base stays a symlink to the test model)."""
    target = tmp_path / default_bundle.name
    shutil.copytree(default_bundle, target, symlinks=True)
    return target


def edit(bundle: Path, change) -> None:
    manifest = bundle / "bundle.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    change(data)
    manifest.write_text(json.dumps(data), encoding="utf-8")


def test_a_bundle_reads_back_with_its_languages_directions_and_scores(default_bundle, default_gguf):
    bundle = load_bundle(default_bundle)
    assert is_bundle(default_bundle) and not is_bundle(default_gguf)
    assert bundle.name == "smollm2-test" and bundle.base.architecture == "llama"
    assert bundle.base_path.resolve() == default_gguf.resolve()
    assert bundle.languages == ["de", "fr"]
    assert bundle.directions == [("de", "en"), ("en", "de"), ("fr", "en"), ("en", "fr")]
    assert bundle.adapter_for("en", "fr").file == "adapters/fr.lora.gguf"
    assert bundle.adapter_for("de", "fr") is None
    assert bundle.adapter_for("de", "en").scores == {"de-en": Score("heldout-test", 12.5, 40)}
    assert bundle.adapter_for("de", "en").alpha == 16.0
    assert bundle.size() > default_gguf.stat().st_size
    # Its bundle.json too names it.
    assert load_bundle(default_bundle / "bundle.json").root == default_bundle


def test_written_again_it_reads_back_the_same(bundle_copy):
    bundle = load_bundle(bundle_copy)
    (bundle_copy / "bundle.json").unlink()
    write_bundle(bundle)
    assert load_bundle(bundle_copy) == bundle
    assert [p.name for p in bundle_copy.iterdir() if p.name.startswith("bundle.json")] == ["bundle.json"]


def test_a_bad_manifest_is_not_written_and_the_old_one_stays(bundle_copy):
    bundle = load_bundle(bundle_copy)
    before = (bundle_copy / "bundle.json").read_bytes()
    bundle.adapters[0] = dataclasses.replace(bundle.adapters[0], directions=("cs-en",))
    with pytest.raises(BundleError, match=r"bundle\.json: adapters\[0\]\.directions: cs-en does not involve"):
        write_bundle(bundle)
    assert (bundle_copy / "bundle.json").read_bytes() == before


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(format="alma-bundle/9"), r"format: 'alma-bundle/9' is not 'alma-bundle/1'"),
    (lambda d: d.pop("name"), r"name: missing"),
    (lambda d: d["base"].update(file="../elsewhere.gguf"), r"base\.file: '\.\./elsewhere\.gguf' must be a path inside"),
    (lambda d: d["base"].update(file="gone.gguf"), r"base\.file: gone\.gguf is not in the bundle"),
    (lambda d: d["base"].update(sha256="abc"), r"base\.sha256: 'abc' is not a sha256"),
    (lambda d: d["adapters"][1].update(language="xx"), r"adapters\[1\]\.language: unknown language code 'xx'"),
    (lambda d: d["adapters"][1].update(directions=["fr-en", "en"]), r"adapters\[1\]\.directions: \"en\" is not a direction"),
    (lambda d: d["adapters"][1].update(directions=["fr-en", "de-en"]), r"adapters\[1\]\.directions: de-en does not involve"),
    (lambda d: d["adapters"][1].update(language="de", directions=["de-en"]), r"adapters\[1\]\.directions: de-en is already adapters\[0\]'s"),
    (lambda d: d["adapters"][0].update(directions=[]), r"adapters\[0\]\.directions: empty"),
    (lambda d: d["adapters"][0].update(alpha="16"), r"adapters\[0\]\.alpha: must be a number, not \"16\""),
    (lambda d: d["adapters"][0].update(alpha=0), r"adapters\[0\]\.alpha: 0\.0 must be a positive number"),
    (lambda d: d["adapters"][0]["scores"].update({"fr-en": {"set": "t", "chrf": 1, "segments": 2}}),
     r"adapters\[0\]\.scores\.fr-en: fr-en is not one of the adapter's directions"),
    (lambda d: d["adapters"][0]["scores"]["de-en"].pop("segments"), r"adapters\[0\]\.scores\.de-en\.segments: missing"),
    (lambda d: d["adapters"][0].update(file="adapters/es.lora.gguf"), r"adapters\[0\]\.file: adapters/es\.lora\.gguf is not"),
])
def test_a_broken_manifest_names_the_file_and_the_key(bundle_copy, change, message):
    edit(bundle_copy, change)
    with pytest.raises(BundleError, match=f"{bundle_copy / 'bundle.json'}: {message}"):
        load_bundle(bundle_copy)


def test_not_json_names_the_line(bundle_copy):
    (bundle_copy / "bundle.json").write_text('{\n  "format": "alma-bundle/1",\n  name\n}\n', encoding="utf-8")
    with pytest.raises(BundleError, match=r"bundle\.json:3: not JSON"):
        load_bundle(bundle_copy)


def test_a_folder_without_manifest_is_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match=r"not a bundle \(no bundle\.json\)"):
        load_bundle(tmp_path)
    with pytest.raises(BundleError, match="no such bundle folder"):
        load_bundle(tmp_path / "missing.bundle")


def test_a_changed_adapter_fails_its_sha256(bundle_copy):
    adapter = bundle_copy / "adapters" / "fr.lora.gguf"
    data = bytearray(adapter.read_bytes())
    data[-1] ^= 0xFF
    adapter.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"adapters\[1\]\.sha256: fr\.lora\.gguf has sha256 .* not the recorded"):
        load_bundle(bundle_copy)
    assert load_bundle(bundle_copy, check_files=False).adapters[1].file == "adapters/fr.lora.gguf"


def test_a_replaced_base_fails_its_sha256(bundle_copy, lora_adapter_ggufs):
    (bundle_copy / "base.gguf").unlink()
    shutil.copyfile(lora_adapter_ggufs["de"], bundle_copy / "base.gguf")
    with pytest.raises(BundleError, match=r"base\.sha256: base\.gguf has sha256"):
        load_bundle(bundle_copy)


def test_the_sha256_is_remembered_by_size_and_mtime_across_starts(tmp_path, monkeypatch, lora_adapter_ggufs):
    monkeypatch.setenv("ALMA_LOCAL_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "model.gguf"
    shutil.copyfile(lora_adapter_ggufs["de"], model)
    real = file_sha256(model)
    record = json.loads((tmp_path / "cache" / "file-sha256.json").read_text(encoding="utf-8"))
    assert record[str(model.resolve())]["sha256"] == real
    # Another start (a fresh process has no memo: a new mtime_ns plays it) reads the record, not the file...
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1000))
    record[str(model.resolve())].update(mtime_ns=stat.st_mtime_ns + 1000, sha256="0" * 64)
    (tmp_path / "cache" / "file-sha256.json").write_text(json.dumps(record), encoding="utf-8")
    assert file_sha256(model) == "0" * 64
    # ...and a file changed since is hashed again.
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2000))
    assert file_sha256(model) == real


def test_format_constant_is_the_shared_design():
    assert FORMAT == "alma-bundle/1"
