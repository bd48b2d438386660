"""GET /spec: an OpenAPI 3.0 document of the API's routes, written here rather than generated (the routes
read their parameters through dependencies FastAPI cannot describe) and served with no page or CDN
(docs/api.md, "Endpoints")."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from desktop.api.deps import MAX_ALTERNATIVES

_JSON = "application/json"
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: str, forms: bool = True) -> dict[str, Any]:
    """A request body of `schema` as JSON and, when forms, as form or multipart fields (LibreTranslate's)."""
    types = (_JSON, *_FORMS) if forms else ("multipart/form-data",)
    return {"required": True, "content": {kind: {"schema": _ref(schema)} for kind in types}}


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {_JSON: {"schema": schema}}
    return answer


def _errors(*statuses: int) -> dict[str, Any]:
    """The error answers an operation can give ({"error": "..."}; docs/api.md, "Errors")."""
    reasons = {
        400: "Invalid request: a parameter missing or wrong, an unknown language, a bad document",
        403: "An API key missing or wrong (a server with keys), or a Host that is not this computer",
        404: "No such translated file (they are kept for an hour)",
        413: "The request body is over the server's limit (serve --max-request-mb)",
        429: "Too many requests waiting for the model (serve --max-queue); retry after a second",
        500: "The engine failed",
        503: "The server is stopping, or the client went away",
    }
    return {str(status): _answer(reasons[status], _ref("Error")) for status in statuses}


_KEY = {"type": "string", "description": "An API key, on a server started with --api-key-file"}
_LANGUAGE = {"type": "string", "description": "A language code of GET /languages (zh-Hans, de, ...); "
                                              "LibreTranslate's pb, pt-BR, zh and zt (as a source) are read too"}
_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Detection": {"type": "object", "required": ["confidence", "language"], "properties": {
        "confidence": {"type": "number", "minimum": 0, "maximum": 100},
        "language": {"type": "string"}}},
    "Language": {"type": "object", "required": ["code", "name", "targets"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "targets": {"type": "array", "items": {"type": "string"}}}},
    "TranslateRequest": {"type": "object", "required": ["q", "source", "target"], "properties": {
        "q": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
              "description": "The text, or a list of texts"},
        "source": {**_LANGUAGE, "description": "A language code, or auto (identified among the trained languages)"},
        "target": _LANGUAGE,
        "format": {"type": "string", "enum": ["text", "html"], "default": "text"},
        "alternatives": {"type": "integer", "minimum": 0, "maximum": MAX_ALTERNATIVES, "default": 0,
                         "description": "How many other translations to return (beam search n-best)"},
        "glossary": {"type": "array", "items": {"type": "object", "required": ["source", "target"], "properties": {
            "source": {"type": "string"}, "target": {"type": "string"}, "note": {"type": "string"}}},
            "description": "Terms this request translates a fixed way (a JSON text in form fields)"},
        "do_not_translate": {"type": "array", "items": {"type": "string"},
                             "description": "Terms this request keeps as they are (a JSON text in form fields)"},
        "api_key": _KEY, "apiKey": {**_KEY, "description": "The npm client's spelling of api_key"}}},
    "TranslateResponse": {"type": "object", "required": ["translatedText"], "properties": {
        "translatedText": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "detectedLanguage": {"oneOf": [_ref("Detection"), {"type": "array", "items": _ref("Detection")}],
                             "description": "With source auto"},
        "alternatives": {"oneOf": [{"type": "array", "items": {"type": "string"}},
                                   {"type": "array", "items": {"type": "array", "items": {"type": "string"}}}],
                         "description": "With alternatives > 0: a list for a text, a list of lists for a list"},
        "terms_missing": {"type": "array", "description": "With glossaries: the terms not placed"}}},
    "DetectRequest": {"type": "object", "required": ["q"], "properties": {
        "q": {"type": "string"}, "api_key": _KEY, "apiKey": _KEY}},
    "SuggestRequest": {"type": "object", "required": ["q", "s", "source", "target"], "properties": {
        "q": {"type": "string", "description": "The source text"},
        "s": {"type": "string", "description": "Its suggested translation"},
        "source": _LANGUAGE, "target": _LANGUAGE, "api_key": _KEY, "apiKey": _KEY}},
    "TranslateFileRequest": {"type": "object", "required": ["file", "source", "target"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "source": {**_LANGUAGE, "description": "A language code, or auto"}, "target": _LANGUAGE,
        "api_key": _KEY, "apiKey": _KEY}},
}


def openapi_spec() -> dict[str, Any]:
    """The OpenAPI document of every route the app serves (tests check the two lists agree)."""
    try:
        app_version = version("alma-local")
    except PackageNotFoundError:
        app_version = "dev"
    paths: dict[str, Any] = {
        "/translate": {"post": {
            "summary": "Translate text", "requestBody": _body("TranslateRequest"),
            "responses": {"200": _answer("The translation", _ref("TranslateResponse")),
                          **_errors(400, 403, 413, 429, 500, 503)}}},
        "/detect": {"post": {
            "summary": "Identify the language of a text", "requestBody": _body("DetectRequest"),
            "responses": {"200": _answer("At most 3 candidates, most likely first",
                                         {"type": "array", "items": _ref("Detection")}),
                          **_errors(400, 403, 413)}}},
        "/languages": {"get": {
            "summary": "The languages and directions served",
            "responses": {"200": _answer("One entry per source language",
                                         {"type": "array", "items": _ref("Language")})}}},
        "/translate_file": {"post": {
            "summary": "Translate a document", "requestBody": _body("TranslateFileRequest", forms=False),
            "responses": {"200": _answer("Where to download the translation", {
                "type": "object", "required": ["translatedFileUrl"],
                "properties": {"translatedFileUrl": {"type": "string"}}}),
                          **_errors(400, 403, 413, 429, 500, 503)}}},
        "/download_file/{filename}": {"get": {
            "summary": "Download a translated document",
            "parameters": [{"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The document (Content-Disposition: attachment)",
                                  "content": {"application/octet-stream": {
                                      "schema": {"type": "string", "format": "binary"}}}},
                          **_errors(404)}}},
        "/suggest": {"post": {
            "summary": "Store a better translation in the translation memory",
            "requestBody": _body("SuggestRequest"),
            "responses": {"200": _answer("Stored", {"type": "object", "properties": {"success": {"type": "boolean"}}}),
                          **_errors(400, 403, 413, 500)}}},
        "/frontend/settings": {"get": {
            "summary": "LibreTranslate's settings shape (file formats, keys, suggestions)",
            "responses": {"200": _answer("The settings", {"type": "object"})}}},
        "/health": {"get": {
            "summary": "Whether the server answers",
            "responses": {"200": _answer("OK", {"type": "object", "properties": {"status": {"type": "string"}}})}}},
        "/spec": {"get": {
            "summary": "This document",
            "responses": {"200": _answer("OpenAPI 3.0", {"type": "object"})}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "alma-local", "version": app_version,
                 "description": "The LibreTranslate-compatible API of alma-translate serve: a local model, on "
                                "this computer (docs/api.md). Any route may also answer 403 to a Host header "
                                "that is not this computer (a server without keys) and 413 to a body over "
                                "the limit, as {\"error\": \"...\"}."},
        "paths": paths,
        "components": {"schemas": _SCHEMAS},
    }
