"""HDF5 export and NumPy-only evaluation of the learned-stencil Burgers model (kind ``stencil_flux``).

An addition to the ``sciml-stepper`` artifact family (format version 2, see
``docs/stepper_artifact.md``): the same root attributes and ``/tendency/conv_i`` network, with
``/tendency`` attribute ``kind = "stencil_flux"``, plus::

    /normalization/state_std   (1,)        network input u / state_std
    /stencil/c0                (3, S)      particular stencils of u^-, u^+, u_x (u_x in 1/dx units)
    /stencil/basis             (3, S, F)   null-space bases; stencil = c0 + basis @ y
    /stencil/offsets           (S,) int64  cells i + offsets of the stencil of face i + 1/2

The network output at cell ``i`` (``3 F`` channels, ``y[q * F + f]``) gives the free parts of the
three stencils of face ``i + 1/2``. The flux is ``F = G(u^-, u^+) - nu u_x`` (``G``: Godunov flux of
``u^2/2``, ``nu`` in the metadata), the tendency ``-(F_{i+1/2} - F_{i-1/2}) / dx`` plus the user's
forcing (cell averages). ``sciml.load_stepper`` dispatches here on the kind
(:data:`sciml.artifacts.KINDS`). NumPy only at import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from sciml.atomic import atomic_path
from sciml.stepper import numpy_eval

KIND = "stencil_flux"


def export_stencil_model(model: Any, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a :class:`~sciml.stepper.stencil.StencilFluxModel` to ``path`` (atomic HDF5 write)."""
    from sciml._version import __version__
    from sciml.stepper.artifact import FORMAT, FORMAT_VERSION, _write_plain_attributes

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: output exists; pass overwrite=True or choose another path")
    g = model.net
    first = g.convs[0].conv
    arch = {
        "kind": KIND,
        "channels": 1,
        "out_channels": int(g.convs[-1].conv.out_features),
        "width": int(first.out_features) if g.depth > 1 else 1,
        "kernel_size": int(g.kernel_size),
        "depth": int(g.depth),
        "ndim": 1,
        "activation": g.activation_name,
        "boundary": "periodic",
        "use_bias": first.bias is not None,
        "n_free": int(model.n_free),
        "flux": "godunov",
    }
    meta = dict(model.metadata())
    meta.update(architecture=arch, sciml_version=__version__, boundary_value=0.0)
    meta.setdefault("units", {"u": "length/time", "x": "length", "t": "time"})
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["metadata"] = json.dumps(meta, sort_keys=True)
        _write_plain_attributes(f, meta)
        f.attrs["nu"] = np.float64(meta["nu"])
        f.create_group("normalization").create_dataset(
            "state_std", data=np.asarray(model.state_std[...], np.float32)
        )
        tg = f["tendency"]
        for i, c in enumerate(g.convs):
            grp = tg.create_group(f"conv_{i}")
            grp.create_dataset("kernel", data=np.asarray(c.conv.kernel[...], np.float32))
            if c.conv.bias is not None:
                grp.create_dataset("bias", data=np.asarray(c.conv.bias[...], np.float32))
        sg = f.create_group("stencil")
        sg.create_dataset("c0", data=np.asarray(model.c0[...], np.float32))
        sg.create_dataset("basis", data=np.asarray(model.basis[...], np.float32))
        sg.create_dataset("offsets", data=np.asarray(model.offsets, np.int64))
    return path


def load_stencil_model(path: str | os.PathLike) -> LoadedStencilModel:
    """Load a ``stencil_flux`` artifact (NumPy and h5py only; ``sciml.load_stepper`` calls this).

    Raises ``FileNotFoundError`` or :class:`sciml.stepper.artifact.ArtifactError` naming the file
    and the field.
    """
    from sciml.stepper.artifact import read_kind_artifact

    return read_kind_artifact(
        path, read_stencil_model, fix="re-export the model with export_stencil_model"
    )


def read_stencil_model(f: h5py.File, path: Path, meta: dict) -> LoadedStencilModel:
    """Read an open ``stencil_flux`` artifact (called by :func:`sciml.load_stepper`)."""
    from sciml.stepper.artifact import _check_plain_attributes, _fail, _read

    arch = meta.get("architecture") if isinstance(meta, dict) else None
    if not isinstance(arch, dict) or arch.get("kind") != KIND:
        raise _fail(path, f"metadata architecture.kind expected {KIND!r}")
    for k in ("nu", "offsets", "steps_per_frame", "dt", "dx", "integrator", "variables"):
        if k not in meta:
            raise _fail(path, f"metadata has no {k!r} (needed by kind {KIND!r})")
    if arch["activation"] not in numpy_eval.NUMPY_ACTIVATIONS:
        raise _fail(path, f"activation {arch['activation']!r} is not supported in NumPy")
    if meta["integrator"] not in ("euler", "rk2", "ssprk3"):
        raise _fail(path, f"integrator {meta['integrator']!r}: expected euler, rk2 or ssprk3")
    _check_plain_attributes(f, path, meta)
    s, nf = len(meta["offsets"]), int(arch["n_free"])
    if meta.get("stencil_width", s) != s:
        raise _fail(
            path,
            f"metadata stencil_width expected len(offsets) = {s}, found {meta['stencil_width']}; "
            "re-export the model with export_stencil_model",
        )
    if arch["out_channels"] != 3 * nf:
        raise _fail(path, f"out_channels {arch['out_channels']} != 3 * n_free = {3 * nf}")
    sizes = [1] + [arch["width"]] * (arch["depth"] - 1) + [3 * nf]
    kernels, biases = [], []
    for i in range(arch["depth"]):
        k = (arch["kernel_size"], sizes[i], sizes[i + 1])
        kernels.append(_read(f, path, f"tendency/conv_{i}/kernel", k))
        b = _read(f, path, f"tendency/conv_{i}/bias", (sizes[i + 1],)) if arch["use_bias"] else None
        biases.append(b)
    std = _read(f, path, "normalization/state_std", (1,))
    if std[0] <= 0:
        raise _fail(path, f"normalization/state_std must be positive, found {std[0]}")
    c0 = _read(f, path, "stencil/c0", (3, s))
    basis = _read(f, path, "stencil/basis", (3, s, nf))
    return LoadedStencilModel(path, meta, kernels, biases, std, c0, basis)


class LoadedStencilModel:
    """A ``stencil_flux`` artifact evaluated in NumPy: face stencils, fluxes, tendency, step.

    Shapes: ``u`` ``(batch, N, 1)`` cell averages on a periodic grid of spacing ``dx``;
    ``forcing``: ``None`` or a function ``t -> (batch, N, 1)`` cell-averaged forcing.
    """

    def __init__(self, path, meta, kernels, biases, state_std, c0, basis):
        self.path, self.meta = Path(path), meta
        self.kernels, self.biases = kernels, biases
        self.state_std, self.c0, self.basis = state_std, c0, basis
        self.dt = float(meta["dt"])
        self.dx = float(meta["dx"][0])
        self.nu = float(meta["nu"])
        self.integrator = meta["integrator"]
        self.offsets = [int(o) for o in meta["offsets"]]
        self.kind = KIND

    def __repr__(self) -> str:
        return (
            f"LoadedStencilModel({self.path.name}: dx={self.dx:.4g}, dt={self.dt:g}, "
            f"nu={self.nu:g}, {self.integrator})"
        )

    def coefficients(self, u: np.ndarray) -> np.ndarray:
        """``(batch, N, 3, S)`` stencils of the faces ``i + 1/2``."""
        arch = self.meta["architecture"]
        y = numpy_eval.tendency(u / self.state_std, self.kernels, self.biases,
                                arch["activation"], "periodic")  # fmt: skip
        y = y.reshape(*y.shape[:-1], 3, -1)
        return self.c0 + np.einsum("qsf,bnqf->bnqs", self.basis, y)

    def fluxes(self, u: np.ndarray) -> np.ndarray:
        """``F_{i+1/2}`` ``(batch, N, 1)``."""
        u = np.asarray(u, np.float32)
        if u.ndim != 3 or u.shape[-1] != 1:
            raise ValueError(f"u: expected shape (batch, N, 1), found {u.shape}")
        cells = np.stack([np.roll(u[..., 0], -j, axis=1) for j in self.offsets], axis=-1)
        v = np.einsum("bnqs,bns->bnq", self.coefficients(u), cells)
        ul, ur, ux = v[..., 0], v[..., 1], v[..., 2] / self.dx
        god = 0.5 * np.maximum(np.maximum(ul, 0) ** 2, np.minimum(ur, 0) ** 2)
        return (god - self.nu * ux)[..., None]

    def tendency(self, u: np.ndarray, f: np.ndarray | None = None) -> np.ndarray:
        """``du/dt = -(F_{i+1/2} - F_{i-1/2}) / dx [+ f]``, ``(batch, N, 1)``."""
        flux = self.fluxes(u)
        out = -(flux - np.roll(flux, 1, axis=1)) / self.dx
        return out if f is None else out + f

    def step(
        self,
        u: np.ndarray,
        t: float = 0.0,
        forcing: Callable[[float], np.ndarray] | None = None,
        dt: float | None = None,
    ) -> np.ndarray:
        """One step of the exported integrator (``euler``, ``rk2`` or ``ssprk3``) from time ``t``."""
        dt = self.dt if dt is None else float(dt)

        def rhs(v, time):
            return self.tendency(v, None if forcing is None else forcing(time))

        if self.integrator == "euler":
            return u + dt * rhs(u, t)
        u1 = u + dt * rhs(u, t)
        if self.integrator == "rk2":
            return 0.5 * (u + u1 + dt * rhs(u1, t + dt))
        u2 = 0.75 * u + 0.25 * (u1 + dt * rhs(u1, t + dt))
        return u / 3 + 2 / 3 * (u2 + dt * rhs(u2, t + 0.5 * dt))
