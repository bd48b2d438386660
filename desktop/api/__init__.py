"""The local LibreTranslate-compatible HTTP API (`alma-translate serve`, the app's API switch): app assembles
routes, deps, middleware and errors; runs puts work on the one model queue (jobs); server runs uvicorn
(docs/api.md, "How it is built")."""
