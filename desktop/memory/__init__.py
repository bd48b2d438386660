"""The translation memory: the sentence pairs the user confirmed, its files and `alma-translate memory`."""
