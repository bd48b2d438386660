"""alma-translate: the command line of the app (text, documents, memory, serve, --self-test)."""
