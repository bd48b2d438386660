"""The app's SQLite stores that keep going when their file is in trouble: the one opener (sqlite.py) and the
translation cache; the translation memory (desktop.memory.store) stands on the same opener."""
