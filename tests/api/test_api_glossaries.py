"""serve --app-glossaries: the app's glossary store applied to every request of the local API (real model)."""

from __future__ import annotations

import json
import urllib.request

import pytest

pytestmark = pytest.mark.timeout(900)

SENTENCE = "Der Kunde hat das Passwort geändert."


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_serve_app_glossaries_option_serves_the_apps_lists(default_gguf, tmp_path, monkeypatch, capsys):
    from desktop.api.cli import _options, build_parser
    from desktop.api.server import ApiServer
    from desktop.engine import TranslationEngine
    from desktop.terminology import TermEntry
    from desktop.terminology.store import GLOSSARY, GlossaryStore

    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "data"))
    store = GlossaryStore().load()
    store.add("Customers", GLOSSARY, "de", "en", [TermEntry("Kunde", "client")])
    broken = store.add("Broken", GLOSSARY, "de", "en", [TermEntry("Vertrag", "contract")])
    (store.folder / broken.file).write_text("# alma-local glossary\nnur eine Spalte\n", encoding="utf-8")

    assert _options(build_parser().parse_args(["--port", "0"])).terms is None  # off unless asked
    options = _options(build_parser().parse_args(["--port", "0", "--app-glossaries"]))
    assert "warning: " in capsys.readouterr().err  # the unreadable list is named, the others serve
    assert [(e.source, e.target) for e in options.terms.entries("de", "en")] == [("Kunde", "client")]
    assert options.terms.entries("en", "de") == []

    engine = TranslationEngine(default_gguf, n_threads=1, max_new_tokens=24, cache=False)
    payload = {"q": SENTENCE, "source": "de", "target": "en"}
    try:
        with ApiServer(engine, options, own_engine=False) as server:
            request = urllib.request.Request(server.url + "translate", data=json.dumps(payload).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=600) as response:
                answer = json.loads(response.read())
    finally:
        engine.close()
    assert "client" in answer["translatedText"].lower(), answer
    assert answer["terms_missing"] == []
