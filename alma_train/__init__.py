"""alma_train: the ALMA fine-tuning stages, merge and evaluation (docs/training.md).

Importing it stays cheap and torch-free: heavy imports live inside the functions that need them.
"""

__version__ = "0.1.0"
