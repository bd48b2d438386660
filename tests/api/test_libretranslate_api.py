"""LibreTranslate's own API tests (libretranslate/tests/test_api, commit 39429cb), ported with their names and
assertions, against a real server with the real fast model (docs/api.md, "Tests").

Their `client` is Flask's test client on an app loaded with en and es; here it is plain HTTP to
`alma-translate serve`'s server on a free port of this computer, with the same calls (form fields for
`data=`, a JSON body for `json=`) and the same reading of the answer (status code, JSON body).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest

pytestmark = [pytest.mark.timeout(600)]


@dataclass
class Response:
    status_code: int
    data: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.data)


class Client:
    """What LibreTranslate's tests use of Flask's test client: get/post with form data or a JSON body."""

    def __init__(self, base: str) -> None:
        self.base = base

    def _send(self, method: str, path: str, data: dict | None = None, json_body: Any = None) -> Response:
        body, headers = None, {}
        if json_body is not None:
            body, headers = json.dumps(json_body).encode(), {"Content-Type": "application/json"}
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        elif method == "POST":
            body = b""
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=300) as answer:
                return Response(answer.status, answer.read())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read())

    def get(self, path: str) -> Response:
        return self._send("GET", path)

    def post(self, path: str, data: dict | None = None, json: Any = None) -> Response:  # noqa: A002 - Flask's name
        return self._send("POST", path, data, json)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    # urllib would send even 127.0.0.1 through a proxy named in the environment.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client(default_gguf):
    from desktop.api.server import ApiServer, ServerOptions
    from desktop.engine import TranslationEngine

    engine = TranslationEngine(default_gguf, n_threads=1, max_new_tokens=8, cache=False)
    with ApiServer(engine, ServerOptions(port=0), own_engine=True) as running:
        yield Client(f"http://127.0.0.1:{running.port}")


# --- test_api_detect_language.py -------------------------------------------------------------------

def test_api_detect_language(client):
    response = client.post("/detect", data={
        "q": "Hello"
    })
    response_json = json.loads(response.data)

    assert "confidence" in response_json[0] and "language" in response_json[0]
    assert len(response_json) >= 1
    assert response.status_code == 200


def test_api_detect_language_must_fail_without_parameters(client):
    response = client.post("/detect")
    response_json = json.loads(response.data)

    assert "error" in response_json
    assert response.status_code == 400


def test_api_detect_language_must_fail_bad_request_type(client):
    response = client.get("/detect")

    assert response.status_code == 405


# --- test_api_frontend_settings.py -----------------------------------------------------------------

def test_api_get_frontend_settings(client):
    response = client.get("/frontend/settings")

    assert response.status_code == 200


# --- test_api_get_languages.py ---------------------------------------------------------------------

def test_api_get_languages(client):
    response = client.get("/languages")
    response_json = json.loads(response.data)

    assert "code" in response_json[0] and "name" in response_json[0]
    assert len(response_json) >= 1
    assert response.status_code == 200


def test_api_get_languages_must_fail_bad_request_type(client):
    response = client.post("/languages")

    assert response.status_code == 405


# --- test_api_health.py ----------------------------------------------------------------------------

def test_api_get_health(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_api_health_must_fail_bad_request_type(client):
    response = client.post("/health")

    assert response.status_code == 405


# --- test_api_spec.py ------------------------------------------------------------------------------

def test_api_get_spec(client):
    response = client.get("/spec")

    assert response.status_code == 200


def test_api_get_spec_must_fail_bad_request_type(client):
    response = client.post("/spec")

    assert response.status_code == 405


# --- test_api_translate.py -------------------------------------------------------------------------

def test_api_translate(client):
    response = client.post("/translate", data={
        "q": "Hello",
        "source": "en",
        "target": "es",
        "format": "text"
    })

    response_json = json.loads(response.data)

    assert "translatedText" in response_json
    assert response.status_code == 200


def test_api_translate_batch(client):

    response = client.post("/translate", json={
        "q": ["Hello", "World"],
        "source": "en",
        "target": "es",
        "format": "text"
    })

    response_json = json.loads(response.data)

    assert "translatedText" in response_json
    assert isinstance(response_json["translatedText"], list)
    assert len(response_json["translatedText"]) == 2
    assert response.status_code == 200


def test_api_translate_unsupported_language(client):
    response = client.post("/translate", data={
        "q": "Hello",
        "source": "en",
        "target": "zz",
        "format": "text"
    })

    response_json = json.loads(response.data)

    assert "error" in response_json
    assert response_json["error"] == "zz is not supported"
    assert response.status_code == 400


def test_api_translate_missing_parameter(client):
    response = client.post("/translate", data={
        "source": "en",
        "target": "es",
        "format": "text"
    })

    response_json = json.loads(response.data)

    assert "error" in response_json
    assert response_json["error"] == "Invalid request: missing q parameter"
    assert response.status_code == 400
