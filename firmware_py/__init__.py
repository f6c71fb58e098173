"""wakegate: a privacy-first wake-word gate. No audio leaves unless the wake word fires."""

__version__ = "0.1.0"
