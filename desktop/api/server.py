"""ApiServer: the API on uvicorn in a background thread, over one engine, started and stopped cleanly.

Sockets are bound before uvicorn starts; signals stay with the caller (docs/api.md, "How it is built").
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from desktop.api.app import create_app
from desktop.api.jobs import ModelQueue
from desktop.api.options import ApiOptions

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000  # LibreTranslate's port: its clients' default settings find us
# Requests waiting for or using the model; more get 429. Tools that pre-translate in parallel send 16 or
# 32 at once and treat a 429 as a failed segment: they wait their turn instead. Still a bound, so a
# runaway client cannot pile up connections without end (a client that gives up leaves the queue).
DEFAULT_MAX_QUEUE = 64
DEFAULT_MAX_REQUEST_BYTES = 20_000_000
# What a browser sends as Origin: scheme://host[:port], nothing after (RFC 6454).
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s]+")


class ApiServerError(Exception):
    """The server cannot start: an address that does not resolve, a taken port, no API key off loopback."""


@dataclass(frozen=True)
class ServerOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0: any free port (see ApiServer.port)
    api_keys: tuple[str, ...] = ()
    max_queue: int = DEFAULT_MAX_QUEUE  # requests waiting or running; more get 429
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES  # larger bodies get 413
    terms: Any = None  # server-wide glossaries (desktop.terminology.sources.GlossarySet) or None
    # The translation memory /suggest stores into (desktop.memory.store.TranslationMemory), or None: no
    # /suggest. The engine's own memory (exact matches served) is the engine's: serve gives it the same one.
    memory: Any = None
    cors_origins: tuple[str, ...] = ()  # web origins allowed by CORS besides browser extensions ("*": any)
    suggest: bool = True  # False: /suggest answers 403 even with a memory (serve --no-suggest)


def resolve_host(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
    """(family, sockaddr) for every address `host` names; ApiServerError when it names none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise ApiServerError(f"--host {host}: not an address of this computer ({exc})") from None
    seen: list[tuple[int, tuple[Any, ...]]] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and (family, sockaddr[:2]) not in [(f, a[:2]) for f, a in seen]:
            seen.append((family, sockaddr))
    if not seen:
        raise ApiServerError(f"--host {host}: not an IPv4 or IPv6 address")
    return seen


def is_loopback(host: str) -> bool:
    """Whether every address `host` resolves to is a loopback address (127.0.0.0/8, ::1)."""
    return all(ipaddress.ip_address(sockaddr[0].split("%")[0]).is_loopback
               for _, sockaddr in resolve_host(host, 0))


def check_options(options: ServerOptions) -> None:
    """ApiServerError for options the server refuses: listening beyond loopback without a key, bad limits."""
    if not 0 <= options.port <= 65535:
        raise ApiServerError(f"--port {options.port}: a port from 1 to 65535 (0: any free port)")
    if options.max_queue < 1:
        raise ApiServerError(f"--max-queue {options.max_queue}: at least 1")
    if options.max_request_bytes < 1024:
        raise ApiServerError("--max-request-mb: at least 0.001 (1 kB)")
    for origin in options.cors_origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ApiServerError(f"--cors-origin {origin}: not a web origin (scheme://host or scheme://host:port, "
                                 "without a path, e.g. https://translate.example.org or http://localhost:8080)")
    if not is_loopback(options.host) and not options.api_keys:
        raise ApiServerError(
            f"--host {options.host} is reachable from other computers: give --api-key-file FILE "
            "(clients send the key as api_key), or use the default --host 127.0.0.1"
        )


def _bind(options: ServerOptions) -> list[socket.socket]:
    sockets: list[socket.socket] = []
    port = options.port
    try:
        for family, sockaddr in resolve_host(options.host, port):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            # Port 0 on a name with several addresses: the first one's free port for all of them.
            sock.bind((sockaddr[0], port, *sockaddr[2:]))
            port = sock.getsockname()[1]
            sock.set_inheritable(True)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise ApiServerError(f"cannot listen on {options.host} port {options.port}: {exc.strerror or exc}") from None
    return sockets


class ApiServer:
    """The LibreTranslate-compatible API over `engine` (a TranslationEngine; closed by stop() when
    own_engine, as the CLI and the app want; a caller that shares one engine passes False).

    ApiServer(engine, options) binds the port; start() serves in a background thread and returns when
    requests are answered; stop() refuses new requests, cancels the running translation, waits for
    the thread, closes the engine and removes the translated files. Usable as a context manager.
    """

    def __init__(self, engine: Any, options: ServerOptions, own_engine: bool = True) -> None:
        check_options(options)
        self.options = options
        self.engine = engine
        self.own_engine = own_engine
        self._sockets = _bind(options)
        self.port: int = self._sockets[0].getsockname()[1]
        self.models = ModelQueue(engine, options.max_queue)
        self.app = create_app(self.models, ApiOptions(
            api_keys=options.api_keys, max_request_bytes=options.max_request_bytes, terms=options.terms,
            memory=options.memory, suggest=options.suggest, cors_origins=options.cors_origins,
        ))
        self._server = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()  # set when uvicorn's thread has returned
        self._stopped = False

    @property
    def url(self) -> str:
        """http://host:port/ as a client on this computer would write it."""
        host = self.options.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1" if host != "::" else "::1"
        return f"http://[{host}]:{self.port}/" if ":" in host else f"http://{host}:{self.port}/"

    def start(self, timeout: float = 30.0) -> None:
        import uvicorn

        # Warnings and errors only (no access log): the server's own lines are the CLI's to print.
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=5, server_header=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="alma-api-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._done.is_set() or time.monotonic() > deadline:
                self.stop()
                raise ApiServerError("the HTTP server did not start (see the messages above)")
            time.sleep(0.02)

    def _serve(self) -> None:
        try:
            self._server.run(sockets=self._sockets)
        finally:
            self._done.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    def wait(self, poll_s: float = 0.2) -> None:
        """Block until the server thread ends; wakes every poll_s so the main thread can take signals.

        An Event, not Thread.join: a signal that interrupts join() makes Python 3.11 take the thread
        for stopped while it runs (its bpo-45274 fix releases the running thread's own lock).
        """
        while not self._done.wait(poll_s):
            pass

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving (idempotent): queued requests get 503, the running translation is cancelled."""
        if self._stopped:
            return
        self._stopped = True
        # The model queue first: requests waiting on it answer at once, so uvicorn's graceful shutdown
        # does not wait for translations nobody will use.
        idle = self.models.close(timeout)
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            if not self._done.wait(timeout):  # connections that would not close: uvicorn's second Ctrl-C
                self._server.force_exit = True
                self._done.wait(timeout)
        if not self.running:  # uvicorn closes the sockets it served; these are the ones it never took
            for sock in self._sockets:
                sock.close()
        self.app.state.api.files.remove_all()
        close = getattr(self.engine, "close", None)
        if close is not None and idle and self.own_engine:  # never free llama.cpp under a generation that did not stop
            close()

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
