"""FastAPI dependencies of the routes: a request's parameters read as LibreTranslate's Flask app reads them,
its key, text, languages, options and terms checked in the order a route names them
(docs/api.md, "LibreTranslate compatibility notes")."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from alma_core.languages import LANGUAGES
from desktop.api.errors import ApiError
from desktop.api.options import ApiOptions, ApiState
from desktop.api.origins import is_loopback_client, origin_allowed
from desktop.terminology import TermEntry

# Other spellings of the table's languages that LibreTranslate's clients send (lower-cased): Simplified
# Chinese with its script or region subtag (LibreTranslate's current code is zh-Hans, its older one zh), and
# Brazilian Portuguese (LibreTranslate's pb) or European Portuguese: the table's Portuguese has no variant.
ALIASES = {"zh-hans": "zh", "zh-cn": "zh", "zh-sg": "zh", "pb": "pt", "pt-br": "pt", "pt-pt": "pt"}
# Traditional Chinese (LibreTranslate's zt, now zh-Hant): not in the table. As a source it is Chinese text
# the model reads; as a target it would get Simplified Chinese, so it is refused, naming the code.
TRADITIONAL_CHINESE = frozenset({"zt", "zh-hant", "zh-tw", "zh-hk", "zh-mo"})
# LibreTranslate's answer to /suggest when suggestions are off.
SUGGESTIONS_OFF = "Suggestions are disabled on this server."
# The most alternatives a request may ask for: each one widens the beam search of every sentence
# (alma-translate --alternatives has the same bound).
MAX_ALTERNATIVES = 16
# The code /languages gives the table's Chinese: LibreTranslate's current clients look for zh-Hans.
LISTED_CODES = {"zh": "zh-Hans"}


async def api_state(request: Request) -> ApiState:
    """The app's model queue, options and translated files (set by create_app)."""
    return request.app.state.api


State = Annotated[ApiState, Depends(api_state)]


@dataclass(frozen=True)
class Params:
    """A request's parameters, and whether they came as a JSON body (else form and query fields)."""

    values: dict[str, Any]
    is_json: bool

    def get(self, key: str) -> Any:
        return self.values.get(key)


async def read_params(request: Request, state: State) -> Params:
    """Parameters from the JSON body, else form and query fields (first value wins), as in Flask."""
    mimetype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json")):
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"Failed to decode JSON object: {exc}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Invalid JSON format")
        return Params(data, True)
    params: dict[str, Any] = dict(request.query_params)
    if mimetype == "application/x-www-form-urlencoded":
        # Parsed here, as UTF-8: Starlette reads bytes that are not %-escaped as Latin-1, and
        # `curl -d 'q=Привет'` sends them raw (Flask, under LibreTranslate, reads them as UTF-8).
        try:
            fields = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise ApiError(400, "Invalid request: the form data is not UTF-8") from None
        for key, value in fields:
            params.setdefault(key, value)
    elif mimetype == "multipart/form-data":
        form = await request.form(max_part_size=state.options.max_request_bytes)
        for key, value in form.multi_items():
            params.setdefault(key, value)
    return Params(params, False)


def api_key(params: Params) -> Any:
    """The request's key: api_key (LibreTranslate's field, libretranslatepy), else apiKey (the npm
    `libretranslate` client's spelling); None when neither is given."""
    key = params.get("api_key")
    return key if key else params.get("apiKey")


def check_access(params: Params, api_keys: tuple[str, ...]) -> None:
    """ApiError 403 unless the request's api_key (or apiKey) is one of api_keys (none asked when there are none)."""
    if not api_keys:
        return
    key = api_key(params)
    if not isinstance(key, str) or not key:
        raise ApiError(403, "Please contact the server operator to get an API key")
    if not any(hmac.compare_digest(key.encode(), known.encode()) for known in api_keys):
        raise ApiError(403, "Invalid API key")


async def checked_params(params: Annotated[Params, Depends(read_params)], state: State) -> Params:
    """The request's parameters, once its key is checked."""
    check_access(params, state.options.api_keys)
    return params


Checked = Annotated[Params, Depends(checked_params)]


async def query(params: Checked) -> Any:
    """q as sent (a string or a list); ApiError when it is missing or empty."""
    q = params.get("q")
    if not q:
        raise ApiError(400, "Invalid request: missing q parameter")
    return q


Query = Annotated[Any, Depends(query)]


async def query_texts(q: Query, params: Checked) -> list[str]:
    """The texts of q (a list of one for a string); form text gets Unix line endings, as in LibreTranslate."""
    texts = q if isinstance(q, list) else [q]
    if not all(isinstance(text, str) for text in texts):
        raise ApiError(400, "Invalid request: q must be a string or a list of strings")
    if not params.is_json:
        texts = ["\n".join(text.splitlines()) for text in texts]
    return texts


QueryTexts = Annotated[list[str], Depends(query_texts)]


def language_code(value: Any) -> str | None:
    """A request's language value, lower-cased, LibreTranslate's aliases mapped (Traditional Chinese read
    as Chinese); None when missing. Check a target with check_target(value) first: it refuses zt."""
    if not isinstance(value, str) or not value.strip():
        return None
    code = value.strip().lower()
    if code in TRADITIONAL_CHINESE:
        return "zh"
    return ALIASES.get(code, code)


def check_target(value: Any) -> str:
    """A request's target value as a supported language code, else ApiError."""
    if isinstance(value, str) and value.strip().lower() in TRADITIONAL_CHINESE:
        raise ApiError(400, f"{value.strip()} is not supported: Traditional Chinese is not among the model's "
                            "languages (zh-Hans, Simplified Chinese, is)")
    target = language_code(value)
    if target is None:
        raise ApiError(400, "Invalid request: missing target parameter")
    if target not in LANGUAGES:
        raise ApiError(400, f"{target} is not supported")
    return target


def check_source(source: str | None, target: str) -> str:
    """A supported source language other than target, or "auto"; else ApiError."""
    if source is None:
        raise ApiError(400, "Invalid request: missing source parameter")
    if source != "auto" and source not in LANGUAGES:
        raise ApiError(400, f"{source} is not supported")
    if source == target:
        name = LANGUAGES[target]
        raise ApiError(400, f"{name} ({target}) is not available as a target language from {name} ({source})")
    return source


@dataclass(frozen=True)
class Direction:
    """A request's languages: source ("auto" or a code) and target."""

    source: str
    target: str


async def direction(params: Checked) -> Direction:
    """source and target, checked: the source's presence first, then the target, then the source."""
    source = language_code(params.get("source"))
    if source is None:
        raise ApiError(400, "Invalid request: missing source parameter")
    target = check_target(params.get("target"))
    return Direction(check_source(source, target), target)


Way = Annotated[Direction, Depends(direction)]


async def alternatives(params: Checked) -> int:
    """How many other translations the client asks for (0 to MAX_ALTERNATIVES; below 0 reads as 0)."""
    try:
        count = max(0, int(params.get("alternatives") or 0))
    except (TypeError, ValueError):
        raise ApiError(400, "Invalid request: alternatives parameter is not a number") from None
    if count > MAX_ALTERNATIVES:
        raise ApiError(400, f"Invalid request: alternatives ({count}) must be <= {MAX_ALTERNATIVES}")
    return count


Alternatives = Annotated[int, Depends(alternatives)]


async def text_format(params: Checked) -> str:
    """format: "text" (the default) or "html"."""
    value = params.get("format") or "text"
    if value not in ("text", "html"):
        raise ApiError(400, f"{value} format is not supported")
    return value


TextFormat = Annotated[str, Depends(text_format)]


async def request_terms(params: Checked) -> list[TermEntry]:
    """The request's own terms: glossary [{"source": ..., "target": ...}] and do_not_translate [str]."""
    glossary = params.get("glossary") or []
    keep = params.get("do_not_translate") or []
    if isinstance(glossary, str) or isinstance(keep, str):  # form fields: a JSON text
        try:
            glossary = json.loads(glossary) if isinstance(glossary, str) else glossary
            keep = json.loads(keep) if isinstance(keep, str) else keep
        except ValueError:
            raise ApiError(400, "Invalid request: glossary and do_not_translate must be JSON lists") from None
    if not isinstance(glossary, list) or not all(_is_glossary_item(item) for item in glossary):
        raise ApiError(400, 'Invalid request: glossary must be a list of {"source": "...", "target": "..."} '
                            "with non-empty terms")
    if not isinstance(keep, list) or not all(isinstance(term, str) and term.strip() for term in keep):
        raise ApiError(400, "Invalid request: do_not_translate must be a list of non-empty strings")
    entries = [TermEntry(item["source"].strip(), item["target"].strip(), str(item.get("note") or ""),
                         f"request:glossary[{number}]") for number, item in enumerate(glossary)]
    entries += [TermEntry(term.strip(), term.strip(), "", f"request:do_not_translate[{number}]", keep=True)
                for number, term in enumerate(keep)]
    return entries


def _is_glossary_item(item: Any) -> bool:
    """{"source": "...", "target": "..."} with non-empty terms (a "note" may come along)."""
    return (isinstance(item, dict) and all(isinstance(item.get(side), str) and item[side].strip()
                                           for side in ("source", "target")))


RequestTerms = Annotated[list[TermEntry], Depends(request_terms)]


async def uploaded_file(params: Checked) -> UploadFile:
    """The document of /translate_file (the multipart field "file")."""
    upload = params.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "Invalid request: missing file parameter")
    return upload


Upload = Annotated[UploadFile, Depends(uploaded_file)]


@dataclass(frozen=True)
class Suggestion:
    """/suggest's pair: q translated as s, from source to target (codes of the table)."""

    q: str
    s: str
    source: str
    target: str


def check_suggestion_sender(request: Request, options: ApiOptions) -> None:
    """ApiError 403 unless the request may write into the user's memory: from this computer (or with a
    key, which checked_params has checked), and not from a web page.

    A page in the user's browser can send a form POST to 127.0.0.1 without CORS (it cannot read the
    answer, but the pair would be stored); browsers name the page in Origin, so only the origins CORS
    allows (browser extensions, --cors-origin) may suggest.
    """
    origin = request.headers.get("origin")
    if origin is not None and not origin_allowed(origin, options.cors_origins):
        raise ApiError(403, f"Suggestions from the web page {origin} are refused: only browser extensions and "
                            "the origins named with serve --cors-origin may send them")
    if not options.api_keys and not is_loopback_client(request.client.host if request.client else None):
        raise ApiError(403, "Suggestions are accepted from this computer only, or with an API key")


async def suggestion(request: Request, params: Checked, state: State) -> Suggestion:
    """/suggest's pair, once the key, then whether suggestions are on (as LibreTranslate checks), then the
    sender are checked; q, s, source and target in that order (source "auto" is not a language)."""
    if not state.options.suggestions:
        raise ApiError(403, SUGGESTIONS_OFF)
    check_suggestion_sender(request, state.options)
    texts = {}
    for name in ("q", "s"):
        value = params.get(name)
        if not value:
            raise ApiError(400, f"Invalid request: missing {name} parameter")
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, f"Invalid request: {name} must be a non-empty string")
        texts[name] = value
    source = language_code(params.get("source"))
    if source is None:
        raise ApiError(400, "Invalid request: missing source parameter")
    target = check_target(params.get("target"))
    if source == "auto":
        raise ApiError(400, "Invalid request: a suggestion needs its source language, not auto")
    return Suggestion(texts["q"], texts["s"], check_source(source, target), target)


SuggestedPair = Annotated[Suggestion, Depends(suggestion)]
