"""desktop: translation on the user's machine with llama.cpp (engine, documents, GUI, CLI).

Never imports torch: the packaged app ships without it.
"""
