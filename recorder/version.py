"""The version of contract-recorder (a leaf module: exports and reports name it without importing the rest)."""

__version__ = "0.1.0"
