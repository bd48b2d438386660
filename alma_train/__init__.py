"""alma_train: the ALMA fine-tuning stages, merge and evaluation.

Importing this package must stay cheap and torch-free: the desktop bundle imports
alma_train.prompts and alma_train.languages. Heavy imports live inside the functions that need them.
"""

__version__ = "0.1.0"
