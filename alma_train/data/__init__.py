"""Training data: the catalogs and man pages that install offline, and their readers (docs/training.md)."""
