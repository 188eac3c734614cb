"""The package version, in a module of its own so that any layer can read it without importing
the ``sciml`` facade (whose lazy names reach into the areas)."""

__version__ = "0.1.0"
