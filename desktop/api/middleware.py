"""ASGI middleware of the API: the request body limit and the loopback Host check
(docs/api.md, "How it is built")."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from desktop.api.errors import error_response


class BodyLimit:
    """413 for a request body over max_bytes, before any route reads it.

    The body is read here (at most max_bytes of it is kept) and handed on to the app, so a client
    that sends no Content-Length (chunked) is held to the same limit. An oversized body is still
    read and dropped up to a bound, so the client receives the 413 instead of a reset connection.
    """

    _DRAIN_BYTES = 64_000_000

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = declared is not None and declared.isdigit() and int(declared) > self.max_bytes
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            more = message.get("more_body", False)
            if size > self.max_bytes:
                too_large = True
            if too_large:
                if size > self.max_bytes + self._DRAIN_BYTES:
                    break
                continue
            chunks.append(body)
        if too_large:
            response = error_response(413, f"Request too large: the limit is {self.max_bytes:,} bytes "
                                           "(alma-translate serve --max-request-mb)")
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _replay(whole: bytes, receive: Callable) -> Callable[[], Awaitable[dict]]:
    """A receive() that hands the app the body read already, then passes on to the client's."""
    replayed = False

    async def replay() -> dict:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": whole, "more_body": False}
        return await receive()

    return replay


class LoopbackHostOnly:
    """403 for a Host header that is not a loopback name or address.

    A keyless server on 127.0.0.1 is reachable from any web page the user opens; a page on an
    attacker's domain that re-resolves to 127.0.0.1 (DNS rebinding) still sends its own domain as
    Host. Checking the Host header closes that door, as local model servers do.
    """

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if not is_loopback_host_header(host):
                response = error_response(403, f"Host {host!r} is not this computer: the API answers on "
                                               "loopback names only (localhost, 127.0.0.1, [::1])")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def is_loopback_host_header(host: str) -> bool:
    """Whether a Host header ("localhost:5000", "[::1]:5000", "127.0.0.1") names this computer."""
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
