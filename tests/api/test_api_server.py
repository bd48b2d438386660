"""The local LibreTranslate-compatible API served for real and driven by the real libretranslatepy client.

Servers listen on free ports of this computer with the real fast model (SmolLM2-135M GGUF) behind
them: in-process servers share one engine (loaded once), and one test runs `alma-translate serve`
as a user does, in a subprocess, and stops it with SIGTERM. A translation through the API must equal
the same engine's own translation (greedy decoding, no cache), so a server that answered anything
else, echoed its input or fell back to another model fails. Error cases go over raw HTTP.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

from libretranslatepy import LibreTranslateAPI  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HOUSE = "Das Haus ist groß."
DOG = "Ich habe einen Hund."
KEY = "test-key-4f1c9a"
MAX_REQUEST_BYTES = 50_000
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
    from desktop.api.server import ApiServer, ServerOptions

    options = ServerOptions(port=0, max_queue=1, max_request_bytes=MAX_REQUEST_BYTES)
    with ApiServer(engine, options, own_engine=False) as running:
        yield running


def call(url: str, path: str, body: bytes | None = None, content_type: str | None = None,
         method: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, object]:
    """(status, decoded JSON) of one raw HTTP request; error statuses are returned, not raised."""
    request = urllib.request.Request(url + path, data=body, method=method, headers=dict(headers or {}))
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post_json(url: str, path: str, payload: object) -> tuple[int, object]:
    return call(url, path, json.dumps(payload).encode(), "application/json")


def multipart(fields: dict[str, str], file_name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "alma-test-boundary-7d3f"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def still_serving(url: str) -> None:
    status, languages = call(url, "languages")
    assert status == 200 and any(entry["code"] == "de" for entry in languages)


def test_the_client_translates_text_with_the_loaded_model(server, reference):
    client = LibreTranslateAPI(server.url)
    translated = client.translate(HOUSE, "de", "en")
    assert translated == reference(HOUSE)
    assert translated.strip() and translated != HOUSE


def test_a_list_is_translated_item_by_item(server, reference):
    status, answer = post_json(server.url, "translate", {"q": [HOUSE, DOG], "source": "de", "target": "en"})
    assert status == 200, answer
    assert answer == {"translatedText": [reference(HOUSE), reference(DOG)]}


def test_a_translation_cut_at_the_token_cap_says_truncated(server, reference):
    """Not in LibreTranslate's answer: a text whose translation stopped at the token cap (its end may be
    missing) gets "truncated": true (a list of flags for a list), and an answer with nothing cut has no such
    field, as LibreTranslate's clients expect (issue 26: nothing is cut silently)."""
    long = "Der Mieter verpflichtet sich, die Wohnung Nummer 17 im dritten Stock sauber zu halten und zu lüften."
    status, answer = post_json(server.url, "translate", {"q": [HOUSE, long], "source": "de", "target": "en"})
    assert status == 200, answer
    assert answer["truncated"] == [False, True] and answer["translatedText"][0] == reference(HOUSE)
    status, answer = post_json(server.url, "translate", {"q": f"<p>{long}</p>", "source": "de", "target": "en",
                                                         "format": "html"})
    assert status == 200 and answer["truncated"] is True, answer
    status, answer = post_json(server.url, "translate", {"q": HOUSE, "source": "de", "target": "en"})
    assert status == 200 and "truncated" not in answer, answer


def test_source_auto_identifies_the_language(server, reference):
    status, answer = post_json(server.url, "translate",
                               {"q": DOG, "source": "auto", "target": "en", "alternatives": 2})
    assert status == 200, answer
    assert answer["translatedText"] == reference(DOG)
    assert answer["detectedLanguage"]["language"] == "de" and 50 < answer["detectedLanguage"]["confidence"] <= 100
    assert isinstance(answer["alternatives"], list) and answer["translatedText"] not in answer["alternatives"]


def test_detect_and_languages_through_the_client(server):
    client = LibreTranslateAPI(server.url)
    for text, code in ((DOG, "de"), ("Мне нужно сменить пароль.", "ru"), ("无法保存文件。", "zh"),
                       ("Soubor nelze uložit.", "cs"), ("Ekki tókst að vista skrána.", "is")):
        found = client.detect(text)
        assert found[0]["language"] == code, (text, found)
        assert 0 < found[0]["confidence"] <= 100
    assert client.detect("1234 !!") == [{"confidence": 0.0, "language": "en"}]
    # curl -d sends UTF-8 without %-escapes; it must not be read as Latin-1 (which looks Icelandic).
    status, found = call(server.url, "detect", "q=Мне нужно сменить пароль.".encode(),
                         "application/x-www-form-urlencoded")
    assert status == 200 and found[0]["language"] == "ru", found
    languages = {entry["code"]: entry for entry in client.languages()}
    assert languages["de"]["name"] == "German" and "en" in languages["de"]["targets"]
    assert "de" not in languages["de"]["targets"]


def test_html_keeps_its_markup(server, reference):
    status, answer = post_json(server.url, "translate", {
        "q": '<p class="x">Das Haus ist groß.</p><script>var Haus = 1;</script>', "source": "de",
        "target": "en", "format": "html"})
    assert status == 200, answer
    assert answer["translatedText"] == f'<p class="x">{reference(HOUSE)}</p><script>var Haus = 1;</script>'


def test_a_pdf_is_translated_into_a_word_document(server, tmp_path):
    import docx

    pdf = ROOT / "tests/data/corpus/pdf/pypdf-crazyones.pdf"  # pypdf's sample (MANIFEST.toml)
    body, content_type = multipart({"source": "en", "target": "de"}, "crazyones.pdf", pdf.read_bytes())
    status, answer = call(server.url, "translate_file", body, content_type)
    assert status == 200, answer
    url = answer["translatedFileUrl"]
    assert url.endswith(".crazyones.de.docx")
    with urllib.request.urlopen(url, timeout=60) as response:
        assert 'filename="crazyones.de.docx"' in response.headers["Content-Disposition"]
        (tmp_path / "out.docx").write_bytes(response.read())
    assert any(p.text.strip() for p in docx.Document(tmp_path / "out.docx").paragraphs)


def test_a_document_is_translated_and_downloaded(server, reference, tmp_path):
    import docx

    letter = docx.Document()
    letter.add_paragraph(HOUSE)
    letter.save(tmp_path / "brief.de.docx")
    body, content_type = multipart({"source": "de", "target": "en"}, "brief.de.docx",
                                   (tmp_path / "brief.de.docx").read_bytes())
    status, answer = call(server.url, "translate_file", body, content_type)
    assert status == 200, answer
    url = answer["translatedFileUrl"]
    assert url.startswith(server.url + "download_file/") and url.endswith(".brief.en.docx")
    with urllib.request.urlopen(url, timeout=60) as response:
        assert 'filename="brief.en.docx"' in response.headers["Content-Disposition"]
        (tmp_path / "out.docx").write_bytes(response.read())
    assert [p.text for p in docx.Document(tmp_path / "out.docx").paragraphs] == [reference(HOUSE)]

    body, content_type = multipart({"source": "de", "target": "en"}, "notes.rtf", rb"{\rtf1 Notizen}")
    assert call(server.url, "translate_file", body, content_type) == (
        400, {"error": "Invalid request: file format not supported"})
    for name in ("nothing.docx", "..%2F..%2Fetc%2Fpasswd", url.rsplit("/", 1)[1].replace(".brief", ".other")):
        status, answer = call(server.url, f"download_file/{name}")
        assert status == 404 and set(answer) == {"error"}, answer  # the traversal never matches the route
    still_serving(server.url)


def test_errors_come_as_libretranslate_answers_and_the_server_keeps_serving(server, reference):
    url = server.url
    cases = [
        (call(url, "translate", b'{"q": "Hallo", "source": ', "application/json"), 400, "Failed to decode JSON object"),
        (call(url, "translate", b'["Hallo"]', "application/json"), 400, "Invalid JSON format"),
        (post_json(url, "translate", {"q": "Hallo", "source": "xx", "target": "en"}), 400, "xx is not supported"),
        (post_json(url, "translate", {"q": "Hallo", "source": "de", "target": "tlh"}), 400, "tlh is not supported"),
        (post_json(url, "translate", {"source": "de", "target": "en"}), 400, "Invalid request: missing q parameter"),
        (post_json(url, "translate", {"q": "Hallo", "target": "en"}), 400, "Invalid request: missing source parameter"),
        (post_json(url, "translate", {"q": "Hallo", "source": "de", "target": "en", "format": "pdf"}), 400,
         "pdf format is not supported"),
        (post_json(url, "translate", {"q": "Hallo", "source": "de", "target": "de"}), 400,
         "German (de) is not available as a target language from German (de)"),
        (post_json(url, "translate", {"q": [1, 2], "source": "de", "target": "en"}), 400, "Invalid request: q must"),
        (post_json(url, "translate", {"q": "Hallo " * MAX_REQUEST_BYTES, "source": "de", "target": "en"}), 413,
         "Request too large"),
        (call(url, "no-such-route"), 404, "Not Found"),
        (call(url, "languages", headers={"Host": f"rebound.example:{server.port}"}), 403, "is not this computer"),
    ]
    for (status, answer), expected_status, expected_error in cases:
        assert status == expected_status, answer
        assert set(answer) == {"error"} and expected_error in answer["error"], answer
        still_serving(url)

    # A body without Content-Length (chunked) is held to the same limit.
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    chunks = (b'{"q": "' + b"x" * 10_000 for _ in range(8))
    connection.request("POST", "/translate", body=chunks, headers={"Content-Type": "application/json"},
                       encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 413 and "Request too large" in json.loads(response.read())["error"]
    connection.close()

    assert LibreTranslateAPI(url).translate(DOG, "de", "en") == reference(DOG)


def test_a_full_queue_answers_429_and_serving_goes_on(server, reference):
    # max_queue=1: while one request uses the model, the others are refused at once.
    texts = [[f"Ich habe {n} Hunde und {n + 1} Katzen.", f"Das Haus hat {n} Fenster."] for n in (3, 5, 7)]
    results: list[tuple[int, object]] = []
    start = threading.Barrier(len(texts))

    def send(q: list[str]) -> None:
        start.wait()
        results.append(post_json(server.url, "translate", {"q": q, "source": "de", "target": "en"}))

    threads = [threading.Thread(target=send, args=(q,)) for q in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) >= 1 and statuses.count(429) >= 1, results
    for status, answer in results:
        if status == 429:
            assert answer["error"].startswith("Slowdown:"), answer
        else:
            assert status == 200 and len(answer["translatedText"]) == 2, answer
    assert server.models.pending == 0
    assert LibreTranslateAPI(server.url).translate(HOUSE, "de", "en") == reference(HOUSE)


def test_closing_the_model_queue_cancels_the_running_translation(engine):
    import time

    from desktop.api.jobs import ModelQueue, QueueFull, ShuttingDown
    from desktop.engine import TranslationCancelled

    models = ModelQueue(engine, max_jobs=2)
    long_text = " ".join(f"Der Satz Nummer {n} ist nicht sehr lang." for n in range(300))
    before = engine.generated_tokens
    running = models.submit(lambda e, stopping: e.translate(long_text, "de", "en", cancel=stopping))
    waiting = models.submit(lambda e, stopping: "never run")
    with pytest.raises(QueueFull):
        models.submit(lambda e, stopping: "one too many")
    deadline = time.monotonic() + 300
    while engine.generated_tokens == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.generated_tokens > before and not running.done()  # it is generating now
    assert models.close(timeout=120)  # the thread ended: the translation stopped between tokens
    with pytest.raises(TranslationCancelled):
        running.result(0)
    with pytest.raises(ShuttingDown):
        waiting.result(0)
    with pytest.raises(ShuttingDown):
        models.submit(lambda e, stopping: "after close")
    assert models.pending == 0


def test_a_client_that_hangs_up_takes_its_translation_with_it(server, engine, reference):
    import time

    sentences = 300  # each one at least a token: all of them would take at least 300 tokens
    long_text = " ".join(f"Der Satz Nummer {n} ist nicht sehr lang." for n in range(sentences))
    body = json.dumps({"q": long_text, "source": "de", "target": "en"}).encode()
    before = engine.generated_tokens
    with socket.create_connection(("127.0.0.1", server.port)) as client:
        client.sendall(b"POST /translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        deadline = time.monotonic() + 300
        while engine.generated_tokens == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.generated_tokens > before  # it is translating: now hang up
    deadline = time.monotonic() + 600
    while server.models.pending and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.models.pending == 0
    assert engine.generated_tokens - before < sentences  # stopped long before the end
    assert LibreTranslateAPI(server.url).translate(HOUSE, "de", "en") == reference(HOUSE)


def test_another_host_needs_an_api_key(engine, reference):
    from desktop.api.server import ApiServer, ApiServerError, ServerOptions, check_options

    with pytest.raises(ApiServerError, match="--api-key-file"):
        check_options(ServerOptions(host="0.0.0.0", port=0))
    with ApiServer(engine, ServerOptions(host="0.0.0.0", port=0, api_keys=(KEY,)), own_engine=False) as keyed:
        url = f"http://127.0.0.1:{keyed.port}/"
        for payload, expected in (({}, "Please contact the server operator to get an API key"),
                                  ({"api_key": "wrong"}, "Invalid API key")):
            status, answer = post_json(url, "translate", {"q": HOUSE, "source": "de", "target": "en", **payload})
            assert (status, answer) == (403, {"error": expected})
            status, answer = call(url, "detect", f"q={DOG}&api_key={payload.get('api_key', '')}".encode(),
                                  "application/x-www-form-urlencoded")
            assert status == 403, answer
            still_serving(url)  # /languages needs no key, as in LibreTranslate
        # Off loopback, any Host header is fine: the key is the protection.
        assert call(url, "languages", headers={"Host": "translator.lan"})[0] == 200
        assert LibreTranslateAPI(url, api_key=KEY).translate(HOUSE, "de", "en") == reference(HOUSE)
        assert LibreTranslateAPI(url, api_key=KEY).detect(DOG)[0]["language"] == "de"


def test_a_taken_port_is_a_plain_error(engine):
    from desktop.api.server import ApiServer, ApiServerError, ServerOptions

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ApiServerError, match=f"cannot listen on 127.0.0.1 port {port}"):
            ApiServer(engine, ServerOptions(port=port), own_engine=False)


@pytest.mark.parametrize("arguments, message", [
    (["--host", "0.0.0.0"], "--host 0.0.0.0 is reachable from other computers: give --api-key-file"),
    (["--port", "70000"], "--port 70000: a port from 1 to 65535"),
    (["--max-queue", "0"], "--max-queue 0: at least 1"),
    (["--max-request-mb", "0"], "--max-request-mb 0: must be more than 0"),
    (["--host", "no-such-host.invalid"], "--host no-such-host.invalid: not an address of this computer"),
    (["--api-key-file", "MISSING"], "cannot be read"),
    (["--api-key-file", "EMPTY"], "no key in it"),
    (["-m", "MISSING"], "no such model file"),
])
def test_bad_serve_options_exit_2_with_one_line(arguments, message, tmp_path, capsys):
    from desktop.cli.main import main

    (tmp_path / "EMPTY").write_text("# no keys yet\n\n")
    arguments = [str(tmp_path / a) if a in ("MISSING", "EMPTY") else a for a in arguments]
    assert main(["serve", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("alma-translate serve: error: ") and message in err and err.count("\n") == 1, err


def test_alma_translate_serve_runs_until_sigterm_and_cleans_up(default_gguf, reference, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop.cli", "serve", "-m", str(default_gguf), "--port", "0", "--threads", "1",
         "--max-new-tokens", str(MAX_NEW_TOKENS), "--no-cache"],
        stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        seen = []
        while not seen or ("(LibreTranslate API; Ctrl-C stops)" not in seen[-1] and seen[-1]):
            seen.append(process.stderr.readline())  # llama.cpp may say something while loading first
        assert seen[-1], seen
        url = seen[-1].split(" at ", 1)[1].split(" ", 1)[0]
        assert url.startswith("http://127.0.0.1:")  # loopback by default
        assert LibreTranslateAPI(url).translate(HOUSE, "de", "en") == reference(HOUSE)
        body, content_type = multipart({"source": "de", "target": "en"}, "a.txt", f"{DOG}\n".encode())
        status, answer = call(url, "translate_file", body, content_type)
        assert status == 200, answer
        assert list(tmp_path.glob("alma-api-files-*/*.a.en.txt"))  # kept until the server stops
        process.send_signal(signal.SIGTERM)
        rest = process.stderr.read()
        assert process.wait(120) == 128 + signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "alma-translate serve: interrupted (SIGTERM); the server stopped" in rest, rest
    assert "Traceback" not in rest, rest
    assert not list(tmp_path.glob("alma-api-*")), "the translated files were left behind"
