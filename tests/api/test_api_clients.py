"""What LibreTranslate's clients send beyond the basics, against real servers with the real fast model
(SmolLM2-135M GGUF): the npm client's apiKey, LibreTranslate's language codes (pb, zt, zh-Hans),
n-best alternatives, /suggest into the translation memory, many requests at once, CORS and /spec.

Servers listen on free ports of this computer, as in test_api_server.py; the libretranslatepy client
is used where it can send what is tested, raw HTTP elsewhere (the npm client's and the browsers'
requests are replayed as they send them). Every translation must equal the same engine's own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

from libretranslatepy import LibreTranslateAPI  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HOUSE = "Das Haus ist groß."
DOG = "Ich habe einen Hund."
KEY = "test-key-8b2e41"
MAX_NEW_TOKENS = 8


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    # urllib (and so libretranslatepy) would send even 127.0.0.1 through a proxy named in the environment.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def engine(default_gguf):
    from desktop.engine import TranslationEngine

    # One thread: a 2-core machine under load makes llama.cpp's threads wait on each other.
    engine = TranslationEngine(default_gguf, n_threads=1, max_new_tokens=MAX_NEW_TOKENS, cache=False)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def reference(engine):
    """The engine's own translation of a text (memoized): what the API must answer."""
    done: dict[tuple[str, str, str], str] = {}

    def translate(text: str, src: str = "de", tgt: str = "en") -> str:
        if (text, src, tgt) not in done:
            done[text, src, tgt] = engine.translate(text, src, tgt)
        return done[text, src, tgt]

    return translate


@pytest.fixture(scope="module")
def server(engine):
    """A server with the default options (queue, CORS), on a free port."""
    from desktop.api.server import ApiServer, ServerOptions

    with ApiServer(engine, ServerOptions(port=0), own_engine=False) as running:
        yield running


@pytest.fixture(scope="module")
def keyed(engine):
    """A server that asks for a key (listening on every address, as --host 0.0.0.0 --api-key-file)."""
    from desktop.api.server import ApiServer, ServerOptions

    with ApiServer(engine, ServerOptions(host="0.0.0.0", port=0, api_keys=(KEY,)), own_engine=False) as running:
        yield running


def url_of(server) -> str:
    return f"http://127.0.0.1:{server.port}/"


def call(url: str, path: str, body: bytes | None = None, content_type: str | None = None,
         method: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, object, dict[str, str]]:
    """(status, decoded JSON or None, headers) of one raw HTTP request; error statuses are returned."""
    request = urllib.request.Request(url + path, data=body, method=method, headers=dict(headers or {}))
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            status, data, answer_headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, data, answer_headers = exc.code, exc.read(), dict(exc.headers)
    return status, json.loads(data) if data.strip() else None, answer_headers


def post_json(url: str, path: str, payload: object, headers: dict[str, str] | None = None) -> tuple[int, object]:
    status, answer, _ = call(url, path, json.dumps(payload).encode(), "application/json", headers=headers)
    return status, answer


def post_form(url: str, path: str, fields: dict[str, str]) -> tuple[int, object]:
    body = urllib.parse.urlencode(fields).encode()
    status, answer, _ = call(url, path, body, "application/x-www-form-urlencoded")
    return status, answer


def post_multipart(url: str, path: str, fields: dict[str, str]) -> tuple[int, object]:
    boundary = "alma-test-boundary-51c0"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields.items()) + f"--{boundary}--\r\n".encode()
    status, answer, _ = call(url, path, body, f"multipart/form-data; boundary={boundary}")
    return status, answer


# -- 1. the npm client's apiKey ----------------------------------------------------------------------


def test_the_npm_clients_apikey_is_accepted_in_json_form_and_multipart(keyed, reference):
    url = url_of(keyed)
    request = {"q": HOUSE, "source": "de", "target": "en"}
    for send in (post_json, post_form, post_multipart):
        assert send(url, "translate", {**request, "apiKey": KEY}) == (200, {"translatedText": reference(HOUSE)})
        assert send(url, "translate", {**request, "apiKey": "wrong"}) == (403, {"error": "Invalid API key"})
        assert send(url, "translate", request) == (
            403, {"error": "Please contact the server operator to get an API key"})
    status, found = post_json(url, "detect", {"q": DOG, "apiKey": KEY})
    assert status == 200 and found[0]["language"] == "de", found
    # libretranslatepy sends api_key: still the field LibreTranslate documents.
    assert LibreTranslateAPI(url, api_key=KEY).translate(HOUSE, "de", "en") == reference(HOUSE)


# -- 2. LibreTranslate's language codes -------------------------------------------------------------


def test_libretranslates_portuguese_and_chinese_codes_map_onto_the_table(server, reference):
    url = url_of(server)
    client = LibreTranslateAPI(url)
    casa, wenjian = "A casa é grande.", "无法保存文件。"
    for code in ("pb", "pt-BR", "pt"):  # Brazilian Portuguese (LibreTranslate's pb) is the table's Portuguese
        assert client.translate(casa, code, "en") == reference(casa, "pt", "en"), code
    assert client.translate(HOUSE, "de", "pt-BR") == reference(HOUSE, "de", "pt")
    for code in ("zh-Hans", "zh", "zh-CN"):
        assert client.translate(wenjian, code, "en") == reference(wenjian, "zh", "en"), code
        assert client.translate(DOG, "de", code) == reference(DOG, "de", "zh"), code
    # Traditional Chinese is read as Chinese, but never promised as a target: the model writes Simplified.
    for code in ("zt", "zh-Hant", "zh-TW"):
        assert client.translate(wenjian, code, "en") == reference(wenjian, "zh", "en"), code
        status, answer = post_json(url, "translate", {"q": DOG, "source": "de", "target": code})
        assert status == 400 and answer["error"].startswith(f"{code} is not supported: Traditional Chinese"), answer
    status, answer = post_json(url, "translate", {"q": casa, "source": "pb", "target": "pt"})
    assert (status, answer) == (400, {"error": "Portuguese (pt) is not available as a target language from "
                                               "Portuguese (pt)"})


def test_languages_lists_chinese_as_zh_hans_and_every_listed_code_translates(server, reference):
    languages = {entry["code"]: entry for entry in LibreTranslateAPI(url_of(server)).languages()}
    assert "zh-Hans" in languages and "zh" not in languages
    assert languages["zh-Hans"]["name"] == "Chinese" and "en" in languages["zh-Hans"]["targets"]
    assert all("zh" not in entry["targets"] for entry in languages.values())
    assert "zh-Hans" in languages["de"]["targets"]
    # A client that takes its codes from /languages gets them accepted back.
    client = LibreTranslateAPI(url_of(server))
    assert client.translate(DOG, "de", "zh-Hans") == reference(DOG, "de", "zh")


# -- 3. alternatives ---------------------------------------------------------------------------------


def test_alternatives_are_the_engines_n_best_in_libretranslates_shape(server, engine, reference):
    url = url_of(server)
    expected = {text: engine.translate_report(text, "de", "en", alternatives=3).sentences[0].alternatives
                for text in (HOUSE, DOG)}
    assert all(expected.values()), expected  # beam search finds other translations of both sentences
    status, answer = post_json(url, "translate", {"q": DOG, "source": "de", "target": "en", "alternatives": 3})
    assert (status, answer) == (200, {"translatedText": reference(DOG), "alternatives": expected[DOG]})
    assert 1 <= len(answer["alternatives"]) <= 3 and len(set(answer["alternatives"])) == len(answer["alternatives"])

    # A list gets a list of lists; form fields send the number as text.
    status, answer = post_json(url, "translate", {"q": [HOUSE, DOG], "source": "de", "target": "en",
                                                  "alternatives": 3})
    assert (status, answer) == (200, {"translatedText": [reference(HOUSE), reference(DOG)],
                                      "alternatives": [expected[HOUSE], expected[DOG]]})
    assert post_form(url, "translate", {"q": DOG, "source": "de", "target": "en", "alternatives": "3"}) == (
        200, {"translatedText": reference(DOG), "alternatives": expected[DOG]})

    # Two sentences: each alternative is the whole text, one sentence's n-best in its place.
    both = f"{HOUSE} {DOG}"
    status, answer = post_json(url, "translate", {"q": both, "source": "de", "target": "en", "alternatives": 2})
    assert status == 200 and answer["translatedText"] == reference(both), answer
    first = [reference(HOUSE), *expected[HOUSE][:2]]
    second = [reference(DOG), *expected[DOG][:2]]
    assert answer["alternatives"], answer
    for other in answer["alternatives"]:
        assert other != answer["translatedText"]
        assert any(other == f"{a} {b}" for a in first for b in second), (other, first, second)

    # HTML has none (as in LibreTranslate); too many is a 400.
    status, answer = post_json(url, "translate", {"q": f"<p>{DOG}</p>", "source": "de", "target": "en",
                                                  "format": "html", "alternatives": 2})
    assert status == 200 and answer["alternatives"] == [], answer
    assert post_json(url, "translate", {"q": DOG, "source": "de", "target": "en", "alternatives": 17}) == (
        400, {"error": "Invalid request: alternatives (17) must be <= 16"})


# -- 4. /suggest -------------------------------------------------------------------------------------


@pytest.fixture
def remembering(engine, tmp_path):
    """A server whose engine serves from, and whose /suggest stores into, a fresh translation memory
    (as `serve` gives both the user's memory)."""
    from desktop.api.server import ApiServer, ServerOptions
    from desktop.memory.store import TranslationMemory

    memory = TranslationMemory(tmp_path / "memory.sqlite")
    engine.memory = memory
    try:
        with ApiServer(engine, ServerOptions(port=0, memory=memory), own_engine=False) as running:
            yield running, memory
    finally:
        engine.memory = None
        memory.close()


def test_a_suggestion_is_stored_in_the_memory_and_served_from_then_on(remembering, reference):
    server, memory = remembering
    url = url_of(server)
    assert call(url, "frontend/settings")[1]["suggestions"] is True
    better = "The house is big, truly."
    assert reference(HOUSE) != better
    assert post_json(url, "suggest", {"q": HOUSE, "s": better, "source": "de", "target": "en"}) == (
        200, {"success": True})
    [unit] = memory.pairs("de", "en")
    assert (unit.source, unit.target, unit.origin) == (HOUSE, better, "suggestion")
    assert LibreTranslateAPI(url).translate(HOUSE, "de", "en") == better  # the memory's match comes first
    # Form fields (LibreTranslate's web page sends them), LibreTranslate's codes, a browser extension.
    assert post_form(url, "suggest", {"q": DOG, "s": "I own a dog.", "source": "de", "target": "en"}) == (
        200, {"success": True})
    status, answer, _ = call(url, "suggest", json.dumps({"q": "A casa é grande.", "s": "The house is large.",
                                                        "source": "pb", "target": "en"}).encode(),
                             "application/json", headers={"Origin": "moz-extension://2f5c7e1a-4b7d-4e8c-9a61-0c3d"})
    assert (status, answer) == (200, {"success": True})
    assert memory.lookup("de", "en", DOG) == "I own a dog." and memory.lookup("pt", "en", "A casa é grande.")
    assert memory.count() == 3

    cases = [
        ({"s": better, "source": "de", "target": "en"}, "Invalid request: missing q parameter"),
        ({"q": HOUSE, "source": "de", "target": "en"}, "Invalid request: missing s parameter"),
        ({"q": HOUSE, "s": better, "target": "en"}, "Invalid request: missing source parameter"),
        ({"q": HOUSE, "s": better, "source": "de"}, "Invalid request: missing target parameter"),
        ({"q": HOUSE, "s": "   ", "source": "de", "target": "en"}, "Invalid request: s must be a non-empty string"),
        ({"q": HOUSE, "s": better, "source": "auto", "target": "en"}, "needs its source language, not auto"),
        ({"q": HOUSE, "s": better, "source": "xx", "target": "en"}, "xx is not supported"),
        ({"q": HOUSE, "s": better, "source": "de", "target": "zt"}, "zt is not supported"),
        ({"q": HOUSE, "s": better, "source": "de", "target": "de"}, "is not available as a target language"),
    ]
    for payload, message in cases:
        status, answer = post_json(url, "suggest", payload)
        assert status == 400 and message in answer["error"], (payload, answer)
    # A web page may send a form POST to 127.0.0.1 without CORS; it must not write into the memory.
    status, answer, _ = call(url, "suggest", b"q=Hallo.&s=Pwned.&source=de&target=en",
                             "application/x-www-form-urlencoded", headers={"Origin": "https://evil.example"})
    assert status == 403 and "https://evil.example are refused" in answer["error"], answer
    assert memory.count() == 3 and memory.lookup("de", "en", "Hallo.") is None


def test_suggest_is_403_without_a_writable_memory_or_with_no_suggest(engine, tmp_path, capsys):
    from desktop.api.server import ApiServer, ServerOptions
    from desktop.memory.store import TranslationMemory

    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    unwritable = TranslationMemory(blocker / "memory.sqlite")  # warns: cannot be written
    writable = TranslationMemory(tmp_path / "memory.sqlite")
    pair = {"q": HOUSE, "s": "The house is big.", "source": "de", "target": "en"}
    try:
        for options in (ServerOptions(port=0), ServerOptions(port=0, memory=unwritable),
                        ServerOptions(port=0, memory=writable, suggest=False)):
            with ApiServer(engine, options, own_engine=False) as running:
                url = url_of(running)
                for payload in (pair, {}):  # off is said first, as LibreTranslate does, whatever was sent
                    assert post_json(url, "suggest", payload) == (
                        403, {"error": "Suggestions are disabled on this server."})
                assert call(url, "frontend/settings")[1]["suggestions"] is False
        assert writable.count() == 0
    finally:
        unwritable.close()
        writable.close()
    assert "cannot be written" in capsys.readouterr().err


def test_suggest_on_a_keyed_server_needs_the_key(engine, tmp_path):
    from desktop.api.server import ApiServer, ServerOptions
    from desktop.memory.store import TranslationMemory

    pair = {"q": HOUSE, "s": "The house is big.", "source": "de", "target": "en"}
    with TranslationMemory(tmp_path / "memory.sqlite") as memory, \
            ApiServer(engine, ServerOptions(host="0.0.0.0", port=0, api_keys=(KEY,), memory=memory),
                      own_engine=False) as running:
        url = url_of(running)
        assert post_json(url, "suggest", pair) == (403, {"error": "Please contact the server operator to get an "
                                                                  "API key"})
        assert post_json(url, "suggest", {**pair, "apiKey": "wrong"}) == (403, {"error": "Invalid API key"})
        assert memory.count() == 0
        assert post_json(url, "suggest", {**pair, "apiKey": KEY}) == (200, {"success": True})
        assert memory.lookup("de", "en", HOUSE) == "The house is big."


def test_alma_translate_serve_stores_suggestions_in_the_users_memory_and_serves_them(default_gguf, tmp_path):
    from desktop.memory.store import TranslationMemory

    env = {**os.environ, "PYTHONPATH": str(ROOT), "ALMA_LOCAL_DATA": str(tmp_path / "data")}
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop.cli", "serve", "-m", str(default_gguf), "--port", "0", "--threads", "1",
         "--max-new-tokens", str(MAX_NEW_TOKENS), "--no-cache"],
        stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        seen = []
        while not seen or ("(LibreTranslate API; Ctrl-C stops)" not in seen[-1] and seen[-1]):
            seen.append(process.stderr.readline())
        assert seen[-1], seen
        url = seen[-1].split(" at ", 1)[1].split(" ", 1)[0]
        better = "The house is big, truly."
        assert post_json(url, "suggest", {"q": HOUSE, "s": better, "source": "de", "target": "en"}) == (
            200, {"success": True})
        assert LibreTranslateAPI(url).translate(HOUSE, "de", "en") == better
        process.send_signal(signal.SIGTERM)
        assert process.wait(120) == 128 + signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with TranslationMemory(tmp_path / "data" / "memory.sqlite") as memory:
        [unit] = memory.pairs()
    assert (unit.src, unit.tgt, unit.source, unit.target, unit.origin) == ("de", "en", HOUSE, better, "suggestion")


def test_serve_opens_the_users_memory_unless_told_not_to(tmp_path, monkeypatch):
    from desktop.api.cli import _options, build_parser

    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "data"))
    options = _options(build_parser().parse_args(["--port", "0"]))
    try:
        assert options.memory.path == tmp_path / "data" / "memory.sqlite" and options.memory.writable
        assert options.suggest
    finally:
        options.memory.close()
    assert _options(build_parser().parse_args(["--port", "0", "--no-memory"])).memory is None
    options = _options(build_parser().parse_args(["--port", "0", "--no-suggest"]))
    try:
        assert options.memory is not None and not options.suggest
    finally:
        options.memory.close()


# -- 5. many requests at once ------------------------------------------------------------------------


def test_sixteen_simultaneous_requests_all_succeed_on_the_default_server(server, reference):
    from desktop.api.server import DEFAULT_MAX_QUEUE

    # A tool that pre-translates a file with 16 workers sends 16 requests at once; they wait their turn.
    texts = [f"Ich habe {n} Hunde." for n in range(16)]
    results: dict[str, tuple[int, object]] = {}
    start = threading.Barrier(len(texts))

    def send(text: str) -> None:
        start.wait()
        results[text] = post_json(url_of(server), "translate", {"q": text, "source": "de", "target": "en"})

    threads = [threading.Thread(target=send, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert {text: results.get(text) for text in texts} == {
        text: (200, {"translatedText": reference(text)}) for text in texts}
    assert server.models.pending == 0
    assert server.models.max_jobs == DEFAULT_MAX_QUEUE and 16 < DEFAULT_MAX_QUEUE < 1000  # still bounded


# -- 6. CORS -----------------------------------------------------------------------------------------

EXTENSIONS = ("chrome-extension://abcdefghijklmnopabcdefghijklmnop", "moz-extension://2f5c7e1a-4b7d-4e8c-9a61-0c3d",
              "safari-web-extension://6A1F9E1C-3B4D-4C8E-8A2B-1D2E3F4A5B6C")


def preflight(url: str, path: str, origin: str) -> tuple[int, dict[str, str]]:
    """A browser's preflight for a JSON POST from `origin` (status, headers)."""
    request = urllib.request.Request(url + path, method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}


def test_browser_extensions_may_call_the_api_and_web_pages_may_not(server, reference):
    url = url_of(server)
    for origin in EXTENSIONS:
        status, headers = preflight(url, "translate", origin)
        assert status == 200 and headers["access-control-allow-origin"] == origin, (origin, headers)
        assert "POST" in headers["access-control-allow-methods"]
        assert "content-type" in headers["access-control-allow-headers"].lower()
        status, answer, headers = call(url, "translate", json.dumps({"q": DOG, "source": "de", "target": "en"}).encode(),
                                       "application/json", headers={"Origin": origin})
        assert (status, answer) == (200, {"translatedText": reference(DOG)})
        assert headers["access-control-allow-origin"] == origin
        status, _, headers = call(url, "languages", headers={"Origin": origin})
        assert status == 200 and headers["access-control-allow-origin"] == origin
    # A web page (or a look-alike of an extension's origin) gets no permission: the browser keeps the
    # answer from it.
    for origin in ("https://evil.example", "http://localhost:8080", "null", "chrome-extension://x/path",
                   "https://chrome-extension.example"):
        status, headers = preflight(url, "translate", origin)
        assert status == 400 and "access-control-allow-origin" not in headers, (origin, headers)
        status, _, headers = call(url, "languages", headers={"Origin": origin})
        assert status == 200 and "access-control-allow-origin" not in headers, (origin, headers)


def test_cors_origin_allows_the_web_origins_named(engine, reference, tmp_path):
    from desktop.api.server import ApiServer, ServerOptions
    from desktop.memory.store import TranslationMemory

    app = "https://translate.example.org"
    with TranslationMemory(tmp_path / "memory.sqlite") as memory, \
            ApiServer(engine, ServerOptions(port=0, cors_origins=(app, "http://localhost:8080"), memory=memory),
                      own_engine=False) as running:
        url = url_of(running)
        for origin in (app, "http://localhost:8080", EXTENSIONS[0]):
            status, headers = preflight(url, "translate", origin)
            assert status == 200 and headers["access-control-allow-origin"] == origin, (origin, headers)
        status, headers = preflight(url, "translate", "https://evil.example")
        assert status == 400 and "access-control-allow-origin" not in headers
        # The origins CORS allows may suggest; the others may not.
        pair = {"q": HOUSE, "s": "The house is big.", "source": "de", "target": "en"}
        assert post_json(url, "suggest", pair, headers={"Origin": app}) == (200, {"success": True})
        status, answer = post_json(url, "suggest", pair, headers={"Origin": "https://evil.example"})
        assert status == 403 and memory.count() == 1


def test_serve_cors_origin_options(tmp_path, monkeypatch, capsys):
    from desktop.api.cli import _options, build_parser
    from desktop.cli.main import main

    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "data"))
    options = _options(build_parser().parse_args(["--port", "0", "--no-memory", "--cors-origin",
                                                  "https://Translate.example.org", "--cors-origin",
                                                  "http://localhost:8080"]))
    assert options.cors_origins == ("https://translate.example.org", "http://localhost:8080")
    for bad in ("https://translate.example.org/", "translate.example.org", "null"):
        assert main(["serve", "--no-memory", "--cors-origin", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"alma-translate serve: error: --cors-origin {bad}: not a web origin") and \
            err.count("\n") == 1, err


# -- 7. /spec ----------------------------------------------------------------------------------------


def test_spec_is_an_openapi_document_of_exactly_the_routes_served(server):
    from desktop.api.routes import router

    url = url_of(server)
    status, spec, headers = call(url, "spec")
    assert status == 200 and headers["content-type"] == "application/json", headers
    assert spec["openapi"].startswith("3.0.") and spec["info"]["title"] == "alma-local"
    served = {(method.lower(), route.path) for route in router.routes for method in route.methods}
    assert not [route for route in server.app.routes if getattr(route, "path", None)]  # all in the router
    documented = {(method, path) for path, operations in spec["paths"].items() for method in operations}
    assert documented == served
    # Every reference resolves, every operation has its answer, and the request fields are the ones read.
    text = json.dumps(spec)
    for name in {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}:
        assert name in spec["components"]["schemas"], name
    assert all("200" in operation["responses"] for operations in spec["paths"].values()
               for operation in operations.values())
    fields = spec["components"]["schemas"]["TranslateRequest"]["properties"]
    assert set(fields) == {"q", "source", "target", "format", "alternatives", "glossary", "do_not_translate",
                           "api_key", "apiKey"}
    assert fields["alternatives"]["maximum"] == 16
    # Nothing else of FastAPI's is served: no docs page that would load scripts from a CDN.
    for path in ("docs", "redoc", "openapi.json"):
        assert call(url, path)[0] == 404, path
