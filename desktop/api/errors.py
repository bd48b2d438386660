"""The API's errors: LibreTranslate's {"error": message} answers and the handlers that give them
(docs/api.md, "Errors")."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    """An answer {"error": message} with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """{"error": message} with `status`."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def api_error_handler(request: Request, exc: ApiError) -> JSONResponse:
    """An ApiError as its answer; a 429 tells the client to retry after a second."""
    headers = {"Retry-After": "1"} if exc.status == 429 else None
    return error_response(exc.status, exc.message, headers)


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's errors (404 for an unknown path, 405 for a wrong method) in the same shape."""
    return error_response(exc.status_code, str(exc.detail))
