"""Metrics shared by every area: field metrics, image metrics, spectra. Imports no area."""
