"""The local LibreTranslate-compatible HTTP API (`alma-translate serve`, the app's API switch).

language_id: source "auto" and /detect; jobs: the one model behind a single worker queue; app: the
FastAPI routes speaking LibreTranslate's request and error shapes; server: uvicorn on a bound socket
in a thread, started and stopped cleanly; cli: the `serve` command's options. No Qt, no torch.
"""
