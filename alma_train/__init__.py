"""alma_train: the ALMA fine-tuning stages, merge and evaluation.

Importing this package must stay cheap and torch-free: the desktop bundle imports
alma_core.prompts and alma_core.languages. Heavy imports live inside the functions that need them.
"""

__version__ = "0.1.0"
