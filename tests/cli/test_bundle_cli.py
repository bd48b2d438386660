"""A bundle as the model of alma-translate and of its API server (docs/adapters.md): `-m X.bundle` translates with
the direction's adapter, a broken bundle is exit 2 naming bundle.json's key, /languages lists its directions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from desktop.api.server import ApiServer, ServerOptions
from desktop.engine import TranslationEngine

ROOT = Path(__file__).resolve().parents[2]
SENTENCE = "Der Hund schläft im Garten."


def run_cli(*args: str, data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "desktop.cli", "--max-new-tokens", "12", "--threads", "2", *args],
                          input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_translate_with_a_bundle(default_bundle, default_gguf, tmp_path):
    lines = [SENTENCE, "Ich habe heute keine Zeit.", "Das Fenster ist offen."]
    result = run_cli("-m", str(default_bundle), "--from", "de", "--to", "en", data_dir=tmp_path,
                     stdin="".join(line + "\n" for line in lines))
    assert result.returncode == 0, result.stderr
    engine = TranslationEngine(default_bundle, n_threads=2, max_new_tokens=12, cache=False)
    base = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=12, cache=False)
    try:
        assert result.stdout.splitlines() == [engine.translate(line, "de", "en") for line in lines]
        assert result.stdout.splitlines() != [base.translate(line, "de", "en") for line in lines]
    finally:
        engine.close()
        base.close()
    printed = run_cli("--print-model", "-m", str(default_bundle), data_dir=tmp_path)
    assert (printed.returncode, printed.stdout) == (0, f"{default_bundle}\n")


def test_a_direction_without_adapter_is_warned(default_bundle, tmp_path):
    result = run_cli("-m", str(default_bundle), "--from", "de", "--to", "fr", data_dir=tmp_path, stdin=SENTENCE + "\n")
    assert result.returncode == 0, result.stderr
    assert "smollm2-test.bundle has no adapter for de-fr" in result.stderr


def test_a_broken_bundle_is_exit_2_naming_the_key(default_bundle, tmp_path):
    broken = tmp_path / "broken.bundle"
    shutil.copytree(default_bundle, broken, symlinks=True)
    data = json.loads((broken / "bundle.json").read_text(encoding="utf-8"))
    data["adapters"][1]["directions"] = ["fr-en", "de-en"]
    (broken / "bundle.json").write_text(json.dumps(data), encoding="utf-8")
    result = run_cli("-m", str(broken), "--from", "de", "--to", "en", data_dir=tmp_path, stdin=SENTENCE + "\n")
    assert result.returncode == 2
    assert f"{broken / 'bundle.json'}: adapters[1].directions: de-en does not involve" in result.stderr
    missing = run_cli("-m", str(tmp_path / "nothing.bundle"), "--from", "de", "--to", "en", data_dir=tmp_path)
    assert missing.returncode == 2 and "no such model file or bundle folder" in missing.stderr


def test_the_api_serves_the_bundle_directions(default_bundle, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    # The expected translation from an engine of its own: a second call of the same prompt on one engine reuses
    # its KV cells (llama-cpp-python), whose other batch shape may tip a near-tie.
    fresh = TranslationEngine(default_bundle, n_threads=2, max_new_tokens=12, cache=False)
    expected = fresh.translate(SENTENCE, "de", "en")
    fresh.close()
    engine = TranslationEngine(default_bundle, n_threads=2, max_new_tokens=12, cache=False)
    with ApiServer(engine, ServerOptions(port=0), own_engine=True) as running:
        base = f"http://127.0.0.1:{running.port}"
        with urllib.request.urlopen(base + "/languages", timeout=60) as answer:
            languages = {row["code"]: row["targets"] for row in json.loads(answer.read())}
        assert languages == {"en": ["de", "fr"], "de": ["en"], "fr": ["en"]}
        request = urllib.request.Request(base + "/translate", method="POST", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"q": SENTENCE, "source": "de", "target": "en"}).encode())
        with urllib.request.urlopen(request, timeout=300) as answer:
            assert json.loads(answer.read())["translatedText"] == expected
