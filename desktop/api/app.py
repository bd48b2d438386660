"""create_app: the LibreTranslate-compatible FastAPI app assembled from its routes, dependencies' state,
error handlers and middleware (docs/api.md, "How it is built")."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from desktop.api.errors import ApiError, api_error_handler, http_error_handler
from desktop.api.files import TranslatedFiles
from desktop.api.jobs import ModelQueue
from desktop.api.middleware import BodyLimit, LoopbackHostOnly
from desktop.api.options import ApiOptions, ApiState
from desktop.api.origins import EXTENSION_ORIGIN_REGEX
from desktop.api.routes import router

__all__ = ["ApiOptions", "create_app"]


def create_app(models: ModelQueue, options: ApiOptions) -> FastAPI:
    """The FastAPI app: /translate, /detect, /languages, /translate_file, /download_file, /suggest, /spec,
    /health, /frontend/settings.

    Its state (app.state.api) is what the routes' dependencies read; its translated files are the
    owner's to remove (ApiServer.stop).
    """
    # No /docs or /openapi.json: FastAPI's docs page loads its scripts from a CDN (nothing here may
    # reach the network); /spec serves a written OpenAPI document instead (desktop/api/spec.py).
    app = FastAPI(title="alma-local", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.api = ApiState(models, options, TranslatedFiles(options.files_kept_s))
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_middleware(BodyLimit, max_bytes=options.max_request_bytes)
    if options.check_host and not options.api_keys:
        app.add_middleware(LoopbackHostOnly)
    # Outermost: preflights are answered before the Host check, and errors carry the CORS headers too (a
    # client reads its 413 or 429). Browser extensions always (desktop.api.origins), web origins only when
    # named (serve --cors-origin); web pages get no CORS headers, so they cannot read answers. No
    # credentials: the API has no cookies, and a key travels in the body.
    app.add_middleware(CORSMiddleware, allow_origins=list(options.cors_origins),
                       allow_origin_regex=EXTENSION_ORIGIN_REGEX, allow_methods=["GET", "POST"],
                       allow_headers=["*"], allow_private_network=True, max_age=600)
    app.include_router(router)
    return app
