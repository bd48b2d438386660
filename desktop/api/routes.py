"""The API's routes in LibreTranslate's shapes: /languages, /health, /spec, /frontend/settings, /detect,
/translate, /suggest, /translate_file, /download_file (docs/api.md, "Endpoints")."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from alma_core.gguf_file import trained_pairs
from alma_core.languages import LANGUAGES
from desktop.api.deps import (
    LISTED_CODES,
    Alternatives,
    Direction,
    Query,
    QueryTexts,
    RequestTerms,
    State,
    SuggestedPair,
    TextFormat,
    Upload,
    Way,
)
from desktop.api.errors import ApiError
from desktop.api.files import safe_file_name
from desktop.api.language_id import detect_language, detect_languages
from desktop.api.runs import DocumentFileJob, TextsJob, run_job
from desktop.api.spec import openapi_spec
from desktop.documents import SUPPORTED_EXTENSIONS, DocumentError, format_for
from desktop.memory.store import MemoryWriteError

router = APIRouter()
# The memory's origin of a pair a client suggested (the app's own corrections are "correction").
SUGGESTION_ORIGIN = "suggestion"


def served_languages(info: dict[str, Any]) -> list[dict[str, Any]]:
    """GET /languages: the model's trained directions (alma.language_pairs), else every language; codes
    as LibreTranslate's clients know them (zh-Hans for the table's zh)."""
    pairs = trained_pairs(info)
    if pairs:
        codes = [code for code in LANGUAGES if any(code in pair for pair in pairs)]
        targets = {code: [t for t in LANGUAGES if (code, t) in pairs] for code in codes}
    else:
        codes = list(LANGUAGES)
        targets = {code: [t for t in LANGUAGES if t != code] for code in codes}
    return [{"code": LISTED_CODES.get(code, code), "name": LANGUAGES[code],
             "targets": [LISTED_CODES.get(t, t) for t in targets[code]]} for code in codes]


@router.get("/languages")
async def languages(state: State) -> JSONResponse:
    return JSONResponse(served_languages(state.models.engine.info))


@router.get("/health")
async def health() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/spec")
async def spec() -> JSONResponse:
    """The OpenAPI document of these routes (LibreTranslate serves its own here)."""
    return JSONResponse(openapi_spec())


@router.get("/frontend/settings")
async def frontend_settings(state: State) -> JSONResponse:
    keys = bool(state.options.api_keys)
    return JSONResponse({
        "charLimit": -1, "frontendTimeout": 500, "apiKeys": keys, "keyRequired": keys,
        "suggestions": state.options.suggestions,
        "filesTranslation": True, "supportedFilesFormat": list(SUPPORTED_EXTENSIONS),
        "language": {"source": {"code": "auto", "name": "Auto Detect"},
                     "target": {"code": "en", "name": "English"}},
    })


@router.post("/detect")
async def detect(q: Query) -> JSONResponse:
    if isinstance(q, list) and all(isinstance(text, str) for text in q):
        q = "\n".join(q)
    if not isinstance(q, str):
        raise ApiError(400, "Invalid request: q must be a string or a list of strings")
    return JSONResponse(await run_in_threadpool(detect_languages, q))


# The parameters of /translate are checked in the order they are named: q, source and target,
# alternatives, format, the request's terms, then q's items.
@router.post("/translate")
async def translate(request: Request, state: State, q: Query, way: Way,
                    alternatives: Alternatives, text_format: TextFormat, terms: RequestTerms,
                    texts: QueryTexts) -> JSONResponse:
    batch = isinstance(q, list)
    detections, sources = await _detect_sources(texts, way)
    job = TextsJob(texts, sources, way.target, text_format, state.options.terms, terms, alternatives)
    translated, missing, others, truncated = await run_job(request, state.models, job)
    result: dict[str, Any] = {"translatedText": translated if batch else translated[0]}
    if bool(terms) or bool(state.options.terms):
        result["terms_missing"] = missing if batch else missing[0]
    if way.source == "auto":
        result["detectedLanguage"] = detections if batch else detections[0]
    if alternatives > 0:  # beam search's n-best (none for HTML, as in LibreTranslate)
        result["alternatives"] = others if batch else others[0]
    if any(truncated):  # not LibreTranslate's: a translation cut at its token limit is never silent
        result["truncated"] = truncated if batch else truncated[0]
    return JSONResponse(result)


async def _detect_sources(texts: list[str], way: Direction) -> tuple[list[dict[str, Any]], list[str | None]]:
    """Each text's detection (LibreTranslate's shape) and the source it is translated from; None:
    returned as it is (no letters, or already in the target)."""
    detections: list[dict[str, Any]] = []
    sources: list[str | None] = []
    for text in texts:
        if not any(ch.isalpha() for ch in text):
            detections.append({"confidence": 0.0, "language": "en"})
            sources.append(None)
        elif way.source == "auto":
            found = dict(await run_in_threadpool(detect_language, text))
            detections.append(found)
            sources.append(None if found["language"] == way.target else found["language"])
        else:
            detections.append({"confidence": 100.0, "language": way.source})
            sources.append(way.source)
    return detections, sources


@router.post("/suggest")
async def suggest(state: State, pair: SuggestedPair) -> JSONResponse:
    """Store q -> s in the translation memory (origin "suggestion"): the engine serves it from then on."""
    try:
        await run_in_threadpool(state.options.memory.add, pair.source, pair.target, pair.q, pair.s,
                                SUGGESTION_ORIGIN)
    except ValueError as exc:
        raise ApiError(400, f"Invalid request: {exc}") from None
    except MemoryWriteError as exc:
        raise ApiError(500, f"Cannot store the suggestion: {exc}") from None
    return JSONResponse({"success": True})


@router.post("/translate_file")
async def translate_file(request: Request, state: State, upload: Upload, way: Way) -> JSONResponse:
    if not upload.filename:
        raise ApiError(400, "Invalid request: empty file")
    name = safe_file_name(upload.filename)
    try:
        fmt = format_for(Path(name))
    except DocumentError:
        raise ApiError(400, "Invalid request: file format not supported") from None
    files = state.files
    files.expire()
    file_id = files.new_id()
    work = files.folder / f"{file_id}.upload"
    work.mkdir()
    source_path = work / name
    await run_in_threadpool(_save, upload, source_path)
    job = DocumentFileJob(source_path, name, fmt, way.source, way.target, files.folder, file_id,
                          state.options.terms)
    out_name = await run_job(request, state.models, job, scrub=(str(source_path), name))
    return JSONResponse({"translatedFileUrl": str(request.url_for("download_file", filename=out_name))})


def _save(upload: UploadFile, path: Path) -> None:
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out)


@router.get("/download_file/{filename}", name="download_file")
async def download_file(filename: str, state: State) -> FileResponse:
    path = state.files.path_of(filename)
    if path is None:
        raise ApiError(404, "Invalid filename: no such translated file (they are kept for an hour)")
    return FileResponse(path, filename=filename.partition(".")[2])
