"""alma-translate serve: the local LibreTranslate-compatible API (docs/api.md).

One model, one queue; loopback only unless --host (with --api-key-file); signals stop it cleanly.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from alma_core.interrupts import run_interruptible
from alma_core.models import DefaultModelMissingError, default_gguf_path, is_model_path
from desktop.memory.store import TranslationMemory
from desktop.terminology import GlossaryError
from desktop.terminology.sources import GlossarySet
from desktop.terminology.store import read_app_glossaries

PROG = "alma-translate serve"
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad options: one line on stderr, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    from desktop.api.server import DEFAULT_HOST, DEFAULT_MAX_QUEUE, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_PORT

    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}, this computer only; any other "
                             "address needs --api-key-file)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}, LibreTranslate's; 0 picks a free one)")
    parser.add_argument("--api-key-file", type=Path,
                        help="file with the accepted API keys, one per line (# comments allowed); clients send "
                             "one as api_key (or apiKey). Required with a --host other than loopback")
    parser.add_argument("-m", "--model", type=Path,
                        help="GGUF model or bundle folder (default: as alma-translate, see alma-translate --print-model)")
    parser.add_argument("--max-queue", type=int, default=DEFAULT_MAX_QUEUE,
                        help=f"requests waiting for or using the model at once; more are answered 429 "
                             f"(default {DEFAULT_MAX_QUEUE})")
    parser.add_argument("--max-request-mb", type=float, default=DEFAULT_MAX_REQUEST_BYTES / 1e6,
                        help=f"largest request body, documents included; larger ones are answered 413 "
                             f"(default {DEFAULT_MAX_REQUEST_BYTES / 1e6:g})")
    parser.add_argument("--threads", type=int, help="CPU threads for llama.cpp (default: up to 8)")
    parser.add_argument("--gpu-layers", default="auto",
                        help="layers to offload to the GPU: a number, or auto (all when llama.cpp has GPU support)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="token limit per sentence (default 256)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the translation cache")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="a web origin (https://host[:port]) whose pages may call the API from a browser, "
                             "besides browser extensions, which always may (repeatable; * allows every web page)")
    parser.add_argument("--no-memory", action="store_true",
                        help="do not serve sentences from the translation memory (alma-translate memory), nor "
                             "store clients' suggestions in it (/suggest answers 403)")
    parser.add_argument("--no-suggest", action="store_true",
                        help="refuse /suggest (403): clients' suggested translations are not stored in the "
                             "translation memory, which is still served from")
    parser.add_argument("--glossary", action="append", type=Path, default=[], metavar="FILE",
                        help="terms every request translates a fixed way: TSV, CSV or TBX (repeatable; a "
                             "TSV/CSV whose header names a pair serves that pair only)")
    parser.add_argument("--do-not-translate", action="append", type=Path, default=[], metavar="FILE",
                        help="terms every request keeps as they are, one a line (repeatable)")
    parser.add_argument("--app-glossaries", action="store_true",
                        help="also apply the app's glossaries (its Glossaries tab) as they are at start: each "
                             "list for the directions it is switched on for; --glossary files come after them")
    return parser


def read_api_keys(path: Path) -> tuple[str, ...]:
    """The keys in path, one per line; blank lines and # comments skipped. UsageError when none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"--api-key-file {path}: cannot be read ({reason})") from None
    keys = tuple(line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))
    if not keys:
        raise UsageError(f"--api-key-file {path}: no key in it (one key per line)")
    return keys


def _options(args: argparse.Namespace):
    from desktop.api.server import ApiServerError, ServerOptions, check_options

    if args.gpu_layers != "auto" and not args.gpu_layers.lstrip("-").isdigit():
        raise UsageError(f"--gpu-layers {args.gpu_layers!r}: a number or auto")
    if args.max_new_tokens < 1:
        raise UsageError("--max-new-tokens must be at least 1")
    if args.model is not None and not is_model_path(args.model):
        raise UsageError(f"{args.model}: no such model file or bundle folder")
    if not args.max_request_mb > 0:
        raise UsageError(f"--max-request-mb {args.max_request_mb:g}: must be more than 0")
    def warn(message: str) -> None:
        print(f"{PROG}: warning: {message}", file=sys.stderr)

    before = [read_app_glossaries(warn)] if args.app_glossaries else []
    try:
        terms = GlossarySet(args.glossary, args.do_not_translate, before=before)
    except GlossaryError as exc:
        raise UsageError(str(exc)) from None
    options = ServerOptions(
        host=args.host, port=args.port,
        api_keys=read_api_keys(args.api_key_file) if args.api_key_file is not None else (),
        max_queue=args.max_queue, max_request_bytes=int(args.max_request_mb * 1e6), terms=terms or None,
        suggest=not args.no_suggest, cors_origins=tuple(origin.lower() for origin in args.cors_origin),
    )
    try:
        check_options(options)  # before the model loads: a bad option costs no waiting
    except ApiServerError as exc:
        raise UsageError(str(exc)) from None
    return replace(options, memory=_open_memory(args, warn))


def _open_memory(args: argparse.Namespace, warn: Callable[[str], None]) -> TranslationMemory | None:
    """The user's translation memory (served from, and /suggest's store), or None with --no-memory.

    A memory that cannot be written is still served from (it warns itself); /suggest then answers 403.
    """
    if args.no_memory:
        return None
    try:
        return TranslationMemory()
    except (OSError, sqlite3.Error) as exc:  # an unusable memory never stops the server
        warn(f"translation memory not used: {exc}")
        return None


def _serve(args: argparse.Namespace) -> int:
    from desktop.api.server import ApiServer, ApiServerError
    from desktop.engine import ModelLoadError, TranslationEngine

    try:
        options = _options(args)
        gpu_layers = args.gpu_layers if args.gpu_layers == "auto" else int(args.gpu_layers)
        try:
            model = Path(args.model) if args.model else default_gguf_path()  # decided here, once
            engine = TranslationEngine(model, n_threads=args.threads, n_gpu_layers=gpu_layers,
                                       max_new_tokens=args.max_new_tokens, cache=not args.no_cache,
                                       memory=options.memory)
        except (ModelLoadError, DefaultModelMissingError) as exc:
            _close(options.memory)
            raise UsageError(str(exc)) from None
        try:
            server = ApiServer(engine, options)
        except ApiServerError as exc:
            engine.close()
            _close(options.memory)
            raise UsageError(str(exc)) from None
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        server.start()
        key_note = f"; {len(options.api_keys)} API key(s) accepted" if options.api_keys else ""
        # Tests and scripts read the URL from this line (with --port 0 it is the only way to know it).
        print(f"{PROG}: {engine.model_path.name} at {server.url} (LibreTranslate API{key_note}; Ctrl-C stops)",
              file=sys.stderr, flush=True)
        server.wait()
    except ApiServerError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        server.stop()
        _close(options.memory)
    print(f"{PROG}: error: the HTTP server stopped on its own (see the messages above)", file=sys.stderr)
    return 1


def _close(memory: TranslationMemory | None) -> None:
    if memory is not None:
        memory.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # SIGINT/SIGTERM/SIGHUP raise in the main thread (which only waits on the server): stop() runs.
    return run_interruptible(PROG, lambda: _serve(args), message="the server stopped")


if __name__ == "__main__":
    sys.exit(main())
