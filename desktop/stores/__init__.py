"""SQLite stores of the app that keep going when their file is in trouble: the translation cache."""
