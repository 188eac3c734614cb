"""Data layer (installed as ``sciml.datasets``): trajectory files, readers, data sources."""
