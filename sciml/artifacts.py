"""The ``sciml-stepper`` artifact family: its format name, its error type, and which kind of
stepper a file holds (NumPy/h5py only, no JAX; below every area).

Two kinds share the family (``docs/stepper_artifact.md``): grid steppers (conv -> f -> conv,
read by :mod:`sciml.stepper.artifact`) and graph steppers on a fixed mesh (read by
:mod:`sciml.graphs.artifact`, ``docs/graph_stepper.md``). The group ``/tendency`` names the kind
in its attribute ``kind`` (``"tendency"`` for grids, ``"graph"``, ``"stencil_flux"`` for the
learned finite-volume stencils of :mod:`sciml.stepper.stencil_artifact`, ``"fv_interpolation"``
for the learned interpolation on the FV Navier-Stokes base of
:mod:`sciml.stepper.interpolation_artifact`); version-1 files name it in the
JSON ``metadata`` (``architecture.kind``). ``sciml.load_stepper`` reads the kind here and hands
the file to the loader of that kind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sciml.errors import DataFileError

FORMAT = "sciml-stepper"
KINDS = {
    "tendency": "grid",
    "graph": "graph",
    "stencil_flux": "stencil_flux",
    "fv_interpolation": "fv_interpolation",
}


class ArtifactError(DataFileError):
    """The file is not a valid sciml stepper artifact (the message names the file and the field)."""


def stepper_kind(path: str | os.PathLike) -> str | None:
    """``"grid"``, ``"graph"``, ``"stencil_flux"`` or ``"fv_interpolation"`` for a sciml stepper
    artifact; ``None`` when the file cannot be opened or names no kind (the grid loader then
    reports what is wrong with it)."""
    import h5py

    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError:
        return None
    with f:
        kind = None
        if "tendency" in f:
            kind = f["tendency"].attrs.get("kind")
        if kind is None:
            try:
                kind = json.loads(f.attrs["metadata"])["architecture"]["kind"]
            except (KeyError, TypeError, ValueError):
                return None
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    return KINDS.get(kind)
