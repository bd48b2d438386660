"""The routes of the local API, in LibreTranslate's shapes, over the one model queue (desktop.api.jobs).

Parameters, answers and error texts follow LibreTranslate's app; where this server differs is in
docs/api.md ("LibreTranslate compatibility notes").
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from alma_core.gguf_file import trained_pairs
from alma_core.languages import LANGUAGES
from desktop.api.errors import ApiError, api_error_handler, http_error_handler
from desktop.api.jobs import ModelQueue, QueueFull, ShuttingDown
from desktop.api.language_id import detect_language, detect_languages
from desktop.api.middleware import BodyLimit, LoopbackHostOnly
from desktop.terminology import TermEntry, Terms
from desktop.terminology.missing import MissingTermReporter
from desktop.terminology.sources import EntryList, direction_terms

# LibreTranslate's code for Simplified Chinese is "zh" too; clients that send the script subtag get it.
_ALIASES = {"zh-hans": "zh", "zh-cn": "zh"}
# How much of a document's text decides its language for source "auto".
_DETECT_CHARS = 2000
_SAFE_NAME = re.compile(r"[^\w.\- ]+")
# How often a request waiting on the model checks that its client is still connected.
_DISCONNECT_POLL_S = 0.5


@dataclass(frozen=True)
class ApiOptions:
    """What the routes need to know about the server: its keys and its limits."""

    api_keys: tuple[str, ...] = ()  # empty: no key asked (loopback only; the CLI enforces that)
    max_request_bytes: int = 20_000_000
    check_host: bool = True  # refuse Host headers that do not name this computer (DNS rebinding)
    files_kept_s: float = 3600.0  # translated files stay downloadable this long (and until shutdown)
    terms: Any = None  # a desktop.terminology.sources.TermSource (GlossarySet) for every request, or None


class TranslatedFiles:
    """The folder /translate_file writes to and /download_file serves from, removed at shutdown.

    A translated file is named <32 hex digits>.<name>.<tgt>.<ext>: the random part makes the URL
    unguessable (as LibreTranslate's uuid4 does) and /download_file serves nothing else.
    """

    _NAME = re.compile(r"^[0-9a-f]{32}\.[^/\\]+$")

    def __init__(self, keep_s: float) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="alma-api-files-"))
        self.keep_s = keep_s
        self._lock = threading.Lock()

    def new_id(self) -> str:
        return uuid.uuid4().hex

    def path_of(self, name: str) -> Path | None:
        """The file served under `name`, or None (a malformed, unknown or expired name)."""
        if not self._NAME.match(name):
            return None
        path = self.folder / name
        return path if path.is_file() else None

    def expire(self) -> None:
        """Remove translated files older than keep_s (checked at every upload; nothing runs idle)."""
        limit = time.time() - self.keep_s
        with self._lock:
            for path in self.folder.iterdir():
                try:
                    if path.is_file() and path.stat().st_mtime < limit:
                        path.unlink()
                except OSError:
                    pass

    def remove_all(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def safe_file_name(name: str) -> str:
    """The client's file name without folders or odd characters ("../x/Brief ä.docx" -> "Brief ä.docx")."""
    base = _SAFE_NAME.sub("_", re.split(r"[/\\]", name)[-1]).strip(" ")
    if base.startswith("."):  # ".docx", "..": never a hidden or relative name on the server
        base = "document" + base
    return base or "document"


def language_code(value: Any) -> str | None:
    """A request's language value, lower-cased, LibreTranslate's aliases mapped; None when missing."""
    if not isinstance(value, str) or not value.strip():
        return None
    code = value.strip().lower()
    return _ALIASES.get(code, code)


def served_languages(info: dict[str, Any]) -> list[dict[str, Any]]:
    """GET /languages: the model's trained directions (alma.language_pairs), else every language."""
    pairs = trained_pairs(info)
    if pairs:
        codes = [code for code in LANGUAGES if any(code in pair for pair in pairs)]
        return [{"code": code, "name": LANGUAGES[code],
                 "targets": [t for t in LANGUAGES if (code, t) in pairs]} for code in codes]
    return [{"code": code, "name": LANGUAGES[code], "targets": [t for t in LANGUAGES if t != code]}
            for code in LANGUAGES]


def create_app(models: ModelQueue, options: ApiOptions) -> FastAPI:
    """The FastAPI app: /translate, /detect, /languages, /translate_file, /download_file, /health."""
    # No /docs or /openapi.json: FastAPI's docs page loads its scripts from a CDN (nothing here may
    # reach the network), and LibreTranslate's clients do not read the schema.
    app = FastAPI(title="alma-local", docs_url=None, redoc_url=None, openapi_url=None)
    files = TranslatedFiles(options.files_kept_s)
    app.state.translated_files = files
    app.add_middleware(BodyLimit, max_bytes=options.max_request_bytes)
    if options.check_host and not options.api_keys:
        app.add_middleware(LoopbackHostOnly)

    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)

    async def read_params(request: Request) -> tuple[dict[str, Any], bool]:
        """Parameters from the JSON body, else form and query fields (first value wins), as in Flask."""
        mimetype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json")):
            try:
                data = json.loads(await request.body())
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError(400, f"Failed to decode JSON object: {exc}") from None
            if not isinstance(data, dict):
                raise ApiError(400, "Invalid JSON format")
            return data, True
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
            form = await request.form(max_part_size=options.max_request_bytes)
            for key, value in form.multi_items():
                params.setdefault(key, value)
        return params, False

    def check_access(params: dict[str, Any]) -> None:
        if not options.api_keys:
            return
        key = params.get("api_key")
        if not isinstance(key, str) or not key:
            raise ApiError(403, "Please contact the server operator to get an API key")
        import hmac

        if not any(hmac.compare_digest(key.encode(), known.encode()) for known in options.api_keys):
            raise ApiError(403, "Invalid API key")

    def check_target(target: str | None) -> str:
        if target is None:
            raise ApiError(400, "Invalid request: missing target parameter")
        if target not in LANGUAGES:
            raise ApiError(400, f"{target} is not supported")
        return target

    def check_source(source: str | None, target: str) -> str:
        if source is None:
            raise ApiError(400, "Invalid request: missing source parameter")
        if source != "auto" and source not in LANGUAGES:
            raise ApiError(400, f"{source} is not supported")
        if source == target:
            name = LANGUAGES[target]
            raise ApiError(400, f"{name} ({target}) is not available as a target language from {name} ({source})")
        return source

    async def run_job(request: Request, job: Callable[[Any, Callable[[], bool]], Any],
                      scrub: tuple[str, str] | None = None) -> Any:
        """Queue job on the model and wait for it; its failures as LibreTranslate's answers.

        A client that hangs up (a timeout, a closed tab) takes its job with it: dropped while it
        waits, stopped at the next token while it runs, so the model is not kept busy for nobody.
        """
        from desktop.documents import DocumentError, TranslationCancelled

        gone = threading.Event()
        try:
            future: Future = models.submit(job, cancel=gone)
        except QueueFull as exc:
            raise ApiError(429, f"Slowdown: {exc}; try again shortly") from None
        except ShuttingDown as exc:
            raise ApiError(503, str(exc)) from None
        waiting = asyncio.wrap_future(future)
        try:
            while not (await asyncio.wait({waiting}, timeout=_DISCONNECT_POLL_S))[0]:
                if await request.is_disconnected():
                    gone.set()
                    future.cancel()
            return await waiting
        except asyncio.CancelledError:
            if not gone.is_set():  # the server task itself was cancelled: let it end
                raise
            raise ApiError(503, "the request was cancelled: the client went away") from None
        except (ShuttingDown, TranslationCancelled):
            # The server stops, or the client left (then nobody reads this answer).
            raise ApiError(503, "the server is shutting down" if models.stopping.is_set()
                           else "the request was cancelled: the client went away") from None
        except DocumentError as exc:
            message = str(exc)
            if scrub:  # the client knows its file by its own name, not by the server's temporary path
                message = message.replace(*scrub)
            raise ApiError(400, message) from None
        except ApiError:
            raise
        except Exception as exc:  # noqa: BLE001 (any failure of the engine is a 500 with its reason)
            raise ApiError(500, f"Cannot translate text: {exc}") from None

    @app.get("/languages")
    async def languages() -> JSONResponse:
        return JSONResponse(served_languages(models.engine.info))

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/frontend/settings")
    async def frontend_settings() -> JSONResponse:
        from desktop.documents import SUPPORTED_EXTENSIONS

        return JSONResponse({
            "charLimit": -1, "frontendTimeout": 500, "apiKeys": bool(options.api_keys),
            "keyRequired": bool(options.api_keys), "suggestions": False, "filesTranslation": True,
            "supportedFilesFormat": list(SUPPORTED_EXTENSIONS),
            "language": {"source": {"code": "auto", "name": "Auto Detect"},
                         "target": {"code": "en", "name": "English"}},
        })

    @app.post("/detect")
    async def detect(request: Request) -> JSONResponse:
        params, _ = await read_params(request)
        check_access(params)
        q = params.get("q")
        if not q:
            raise ApiError(400, "Invalid request: missing q parameter")
        if isinstance(q, list) and all(isinstance(text, str) for text in q):
            q = "\n".join(q)
        if not isinstance(q, str):
            raise ApiError(400, "Invalid request: q must be a string or a list of strings")
        return JSONResponse(await run_in_threadpool(detect_languages, q))

    @app.post("/translate")
    async def translate(request: Request) -> JSONResponse:
        params, is_json = await read_params(request)
        check_access(params)
        q = params.get("q")
        if not q:
            raise ApiError(400, "Invalid request: missing q parameter")
        source = language_code(params.get("source"))
        if source is None:
            raise ApiError(400, "Invalid request: missing source parameter")
        target = check_target(language_code(params.get("target")))
        source = check_source(source, target)
        try:
            alternatives = max(0, int(params.get("alternatives") or 0))
        except (TypeError, ValueError):
            raise ApiError(400, "Invalid request: alternatives parameter is not a number") from None
        text_format = params.get("format") or "text"
        if text_format not in ("text", "html"):
            raise ApiError(400, f"{text_format} format is not supported")
        request_terms = _request_terms(params)
        batch = isinstance(q, list)
        texts = q if batch else [q]
        if not all(isinstance(text, str) for text in texts):
            raise ApiError(400, "Invalid request: q must be a string or a list of strings")
        if not is_json:  # as LibreTranslate: form text gets Unix line endings
            texts = ["\n".join(text.splitlines()) for text in texts]

        detections: list[dict[str, Any]] = []
        sources: list[str | None] = []  # None: returned as it is (no letters, or already in the target)
        for text in texts:
            if not any(ch.isalpha() for ch in text):
                detections.append({"confidence": 0.0, "language": "en"})
                sources.append(None)
            elif source == "auto":
                found = dict(await run_in_threadpool(detect_language, text))
                detections.append(found)
                sources.append(None if found["language"] == target else found["language"])
            else:
                detections.append({"confidence": 100.0, "language": source})
                sources.append(source)

        use_terms = bool(request_terms) or bool(options.terms)
        missing: list[list[dict[str, Any]]] = []

        def job(engine: Any, should_stop: Callable[[], bool]) -> list[str]:
            translated = []
            for text, src in zip(texts, sources, strict=True):
                terms = _term_base(options.terms, request_terms, src, target) if src is not None else None
                reporter = MissingTermReporter()
                translated.append(text if src is None else _translate_text(engine, text, src, target, text_format,
                                                                           should_stop, terms, reporter))
                missing.append(reporter.as_json())
            return translated

        translated = await run_job(request, job)
        result: dict[str, Any] = {"translatedText": translated if batch else translated[0]}
        if use_terms:
            result["terms_missing"] = missing if batch else missing[0]
        if source == "auto":
            result["detectedLanguage"] = detections if batch else detections[0]
        if alternatives > 0:  # accepted, never produced: greedy decoding gives one translation
            result["alternatives"] = [[] for _ in texts] if batch else []
        return JSONResponse(result)

    @app.post("/translate_file")
    async def translate_file(request: Request) -> JSONResponse:
        from starlette.datastructures import UploadFile

        from desktop.documents import DocumentError, format_for, output_path_for

        params, _ = await read_params(request)
        check_access(params)
        upload = params.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "Invalid request: missing file parameter")
        source = language_code(params.get("source"))
        if source is None:
            raise ApiError(400, "Invalid request: missing source parameter")
        target = check_target(language_code(params.get("target")))
        source = check_source(source, target)
        if not upload.filename:
            raise ApiError(400, "Invalid request: empty file")
        name = safe_file_name(upload.filename)
        try:
            fmt = format_for(Path(name))
        except DocumentError:
            raise ApiError(400, "Invalid request: file format not supported") from None

        files.expire()
        file_id = files.new_id()
        work = files.folder / f"{file_id}.upload"
        work.mkdir()
        source_path = work / name

        def save() -> None:
            with source_path.open("wb") as out:
                shutil.copyfileobj(upload.file, out)

        await run_in_threadpool(save)

        def job(engine: Any, should_stop: Callable[[], bool]) -> str:
            from desktop.documents import DocumentJob, JobOptions

            try:
                src = source
                if src == "auto":
                    sample = []
                    for text in fmt.segments(source_path):
                        sample.append(text)
                        if sum(map(len, sample)) > _DETECT_CHARS:
                            break
                    src = detect_language("\n".join(sample))["language"]
                    if src == target:
                        raise DocumentError(f"{name}: the document is in {LANGUAGES[target]} already")
                out_name = f"{file_id}.{output_path_for(Path(name), src, target).name}"
                DocumentJob(source_path, JobOptions(src, target, output=files.folder / out_name, cancel=should_stop,
                                                    terms=_term_base(options.terms, [], src, target))).run(engine)
                return out_name
            finally:
                shutil.rmtree(work, ignore_errors=True)

        out_name = await run_job(request, job, scrub=(str(source_path), name))
        return JSONResponse({"translatedFileUrl": str(request.url_for("download_file", filename=out_name))})

    @app.get("/download_file/{filename}", name="download_file")
    async def download_file(filename: str) -> FileResponse:
        path = files.path_of(filename)
        if path is None:
            raise ApiError(404, "Invalid filename: no such translated file (they are kept for an hour)")
        return FileResponse(path, filename=filename.partition(".")[2])

    return app


def _request_terms(params: dict[str, Any]) -> list[Any]:
    """The request's own terms: glossary [{"source": ..., "target": ...}] and do_not_translate [str]."""
    glossary = params.get("glossary") or []
    keep = params.get("do_not_translate") or []
    if isinstance(glossary, str) or isinstance(keep, str):  # form fields: a JSON text
        try:
            glossary = json.loads(glossary) if isinstance(glossary, str) else glossary
            keep = json.loads(keep) if isinstance(keep, str) else keep
        except ValueError:
            raise ApiError(400, "Invalid request: glossary and do_not_translate must be JSON lists") from None
    if not isinstance(glossary, list) or not all(
            isinstance(item, dict) and isinstance(item.get("source"), str) and isinstance(item.get("target"), str)
            and item["source"].strip() and item["target"].strip() for item in glossary):
        raise ApiError(400, 'Invalid request: glossary must be a list of {"source": "...", "target": "..."} '
                            "with non-empty terms")
    if not isinstance(keep, list) or not all(isinstance(term, str) and term.strip() for term in keep):
        raise ApiError(400, "Invalid request: do_not_translate must be a list of non-empty strings")
    entries = [TermEntry(item["source"].strip(), item["target"].strip(), str(item.get("note") or ""),
                         f"request:glossary[{number}]") for number, item in enumerate(glossary)]
    entries += [TermEntry(term.strip(), term.strip(), "", f"request:do_not_translate[{number}]", keep=True)
                for number, term in enumerate(keep)]
    return entries


def _term_base(server_terms: Any, request_terms: list[Any], src: str, tgt: str) -> Any:
    """The server's terms for src->tgt, then the request's (which win), as Terms (the default
    strategy); None if none."""
    terms = direction_terms([server_terms, EntryList(request_terms)], src, tgt)
    return Terms(terms) if len(terms) else None


def _translate_text(engine: Any, text: str, src: str, tgt: str, text_format: str,
                    should_stop: Callable[[], bool], terms: Any = None,
                    missing: MissingTermReporter | None = None) -> str:
    """One q item: plain text through the engine, or HTML through the documents' HTML format.

    terms: a desktop.terminology.Terms; each sentence goes to `missing` (numbered from 1).
    """
    if text_format == "text" and terms is not None:
        report = engine.translate_report(text, src, tgt, cancel=should_stop, terms=terms)
        if missing is not None:
            missing.sentences_of(report.sentences)
        return report.text
    if text_format == "text":
        return engine.translate(text, src, tgt, cancel=should_stop)
    # The HTML format of desktop.documents (tags, attributes, scripts and entities kept) on the
    # fragment, read and written in memory, so /translate and /translate_file treat markup the same way.
    from desktop.documents import DocumentJob, JobOptions, TextSource

    job = DocumentJob(TextSource(text, "q", ".html"), JobOptions(
        src, tgt, terms=terms, cancel=should_stop, missing_terms=missing if terms is not None else None))
    if job.count() == 0:
        return text  # markup only: nothing for the model
    out = io.BytesIO()
    job.run(engine, out)
    return out.getvalue().decode("utf-8")
