"""The package version, importable without importing anything else of linernotes."""

__version__ = "0.1.0"
