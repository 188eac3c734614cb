"""Reproductions of published results: one readable file per experiment, above every area.

Each experiment module exposes ``reproduce(out, *, quick, seed, overwrite) -> dict`` and is
registered in :data:`sciml.experiments.registry.EXPERIMENTS`; ``sciml reproduce NAME`` runs it.
Shared mechanics (safe output directory with a marker file, ``summary.json`` with NaN -> null,
atomic figures, stage logging) live in :mod:`sciml.experiments.runner`; the setup of a run
(presets, ``--setup`` files, ``--set`` overrides, ``setup.yaml``) in :mod:`sciml.experiments.setups`.
"""
