"""alma_core: the bottom floor shared by training, conversion and the app (torch-free, Qt-free): the prompt
and languages, user folders, atomic writing, signals, the model registry, the GGUF reader."""
