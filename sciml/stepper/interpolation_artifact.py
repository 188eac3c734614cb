"""HDF5 export and NumPy-only evaluation of the learned interpolation on the FV Navier-Stokes base
(kind ``fv_interpolation``).

An addition to the ``sciml-stepper`` artifact family (format version 2,
``docs/stepper_artifact.md``) for
:class:`sciml.stepper.learned_interpolation.LearnedInterpolationStepper`: the same root attributes
and ``/tendency/conv_i`` network (2-D, 1 -> ``2 F`` channels), with ``/tendency`` attribute
``kind = "fv_interpolation"``, plus::

    /normalization/state_mean  (1,)     network input (omega - state_mean) / state_std
    /normalization/state_std   (1,)
    /stencil/basis             (S, F)   null-space basis N: c = N bound tanh(scale y / bound)
    /stencil/offsets           (S,)     cell centres relative to the face, in cells (-1.5 .. 1.5)

and root attributes for the base scheme (``nu``, ``drag``, ``forcing_wavenumber``,
``forcing_amplitude``, ``length``, ``substeps``, ``solver_dt``, ``order``, ``scale``, ``bound``,
``scheme``, ``face_layout``). One model step of ``dt = substeps * solver_dt``:

    c = N bound tanh(scale G((omega_n - mean) / std) / bound)            (B, Nx, Ny, 2, S), once
    omega_f = MUSCL_f(omega) + sum_s c_{f,s} omega_{i + offsets[s] + 1/2}  in every RK stage
    omega_{n+1} = (SSP-RK3 of the FV scheme with these face values)^substeps (omega_n)

``sciml.load_stepper`` dispatches here on the kind (:data:`sciml.artifacts.KINDS`). NumPy and
h5py only at import.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from sciml.atomic import atomic_path
from sciml.stepper import numpy_eval
from sciml.stepper.numpy_fvns import X_AXIS, Y_AXIS, NumpyFVNS2D, muscl_face_values

KIND = "fv_interpolation"
SCHEME = (
    "fvns2d: van Leer MUSCL face values + learned stencil; FFT 5-point Poisson streamfunction; "
    "face velocities from centred psi differences; 5-point diffusion; drag; pointwise forcing; "
    "SSP-RK3"
)
FACE_LAYOUT = "x-faces then y-faces; face i+1/2 uses cells i + offsets + 1/2 (i-1 .. i+2)"
# root attributes of this kind beyond the family's: name -> HDF5 type
_EXTRA = {
    "nu": np.float64,
    "drag": np.float64,
    "forcing_wavenumber": np.int64,
    "forcing_amplitude": np.float64,
    "length": np.float64,
    "substeps": np.int64,
    "solver_dt": np.float64,
    "order": np.int64,
    "scale": np.float64,
    "bound": np.float64,
    "scheme": str,
    "face_layout": str,
}
_FIX = "re-export the model with export_interpolation_model"


def export_interpolation_model(
    model: Any, path: str | os.PathLike, *, overwrite: bool = False
) -> Path:
    """Write a :class:`~sciml.stepper.learned_interpolation.LearnedInterpolationStepper` to
    ``path`` (atomic HDF5 write, kind ``fv_interpolation``). Returns the path."""
    from sciml._version import __version__
    from sciml.stepper.artifact import FORMAT, FORMAT_VERSION, _write_plain_attributes
    from sciml.stepper.learned_interpolation import STENCIL_OFFSETS

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: output exists; pass overwrite=True or choose another path")
    g, stencil, solver = model.net, model.stencil, model.solver
    if g.boundary == "ghost":
        raise ValueError("export: network boundary 'ghost' is not supported; use 'periodic'")
    first = g.convs[0].conv
    n_free = int(stencil.n_free)
    arch = {
        "kind": KIND,
        "channels": 1,
        "out_channels": int(g.convs[-1].conv.out_features),
        "width": int(first.out_features) if g.depth > 1 else 1,
        "kernel_size": int(g.kernel_size),
        "depth": int(g.depth),
        "ndim": 2,
        "activation": g.activation_name,
        "boundary": g.boundary,
        "use_bias": first.bias is not None,
        "n_free": n_free,
    }
    p = solver.params
    meta = {
        "dt": float(model.dt),
        "integrator": "ssprk3",
        "dx": [float(h) for h in solver.grid.dx],
        "grid_shape": [int(n) for n in solver.grid.shape],
        "boundary": "periodic",
        "boundary_value": 0.0,
        "variables": ["omega"],
        "units": {"omega": "1", "x": "1", "t": "1"},
        "architecture": arch,
        "sciml_version": __version__,
        "nu": float(p["nu"]),
        "drag": float(p["drag"]),
        "forcing_wavenumber": int(p["forcing_wavenumber"]),
        "forcing_amplitude": float(p["forcing_amplitude"]),
        "length": [float(v) for v in solver.grid.length],
        "substeps": int(model.substeps),
        "solver_dt": float(solver.dt),
        "order": len(STENCIL_OFFSETS) - n_free - 1,
        "scale": float(stencil.scale),
        "bound": float(stencil.bound),
        "scheme": SCHEME,
        "face_layout": FACE_LAYOUT,
        "offsets": [float(o) for o in STENCIL_OFFSETS],
    }
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["metadata"] = json.dumps(meta, sort_keys=True)
        _write_plain_attributes(f, meta)
        for key, typ in _EXTRA.items():
            f.attrs[key] = str(meta[key]) if typ is str else np.asarray(meta[key], typ)
        norm = f.create_group("normalization")
        for key in ("state_mean", "state_std"):
            norm.create_dataset(key, data=np.asarray(getattr(model, key)[...], np.float32))
        tg = f["tendency"]
        for i, c in enumerate(g.convs):
            grp = tg.create_group(f"conv_{i}")
            grp.create_dataset("kernel", data=np.asarray(c.conv.kernel[...], np.float32))
            if c.conv.bias is not None:
                grp.create_dataset("bias", data=np.asarray(c.conv.bias[...], np.float32))
        sg = f.create_group("stencil")
        sg.create_dataset("basis", data=np.asarray(stencil.basis[...], np.float32))
        sg.create_dataset("offsets", data=np.asarray(STENCIL_OFFSETS, np.float32))
    return path


def load_interpolation_model(path: str | os.PathLike) -> LoadedInterpolationModel:
    """Load an ``fv_interpolation`` artifact (NumPy and h5py only; ``sciml.load_stepper`` calls
    this).

    Raises ``FileNotFoundError`` or :class:`sciml.stepper.artifact.ArtifactError` (a ValueError)
    naming the file, the field, the expected and the found value.
    """
    from sciml.stepper.artifact import READABLE_VERSIONS, read_kind_artifact

    # kind fv_interpolation exists from format version 2 on
    return read_kind_artifact(
        path, read_interpolation_model, versions=READABLE_VERSIONS[1:], fix=_FIX
    )


def _dataset(f: h5py.File, path: Path, name: str, shape: tuple[int, ...], why: str) -> np.ndarray:
    """A float dataset of exactly ``shape`` (``why`` says where the shape comes from)."""
    from sciml.stepper.artifact import _fail, _read

    if name not in f:
        raise _fail(path, f"missing dataset {name!r} (expected shape {shape}); {_FIX}")
    found = tuple(getattr(f[name], "shape", ()) or ())
    if found != shape:
        raise _fail(path, f"dataset {name!r} expected shape {shape} ({why}), found {found}; {_FIX}")
    return _read(f, path, name, shape)


def read_interpolation_model(f: h5py.File, path: Path, meta: dict) -> LoadedInterpolationModel:
    """Read an open ``fv_interpolation`` artifact (called by :func:`load_interpolation_model`)."""
    from sciml.stepper.artifact import _check_plain_attributes, _fail

    arch = meta.get("architecture") if isinstance(meta, dict) else None
    found = arch.get("kind") if isinstance(arch, dict) else None
    if found != KIND:
        raise _fail(
            path,
            f"metadata architecture.kind expected {KIND!r}, found {found!r}; load it with "
            "sciml.load_stepper, which dispatches on the kind",
        )
    for key in (*_EXTRA, "dt", "dx", "grid_shape", "offsets"):
        if key not in meta:
            raise _fail(path, f"metadata has no {key!r} (needed by kind {KIND!r}); {_FIX}")
    if arch["activation"] not in numpy_eval.NUMPY_ACTIVATIONS:
        raise _fail(path, f"activation {arch['activation']!r} is not supported in NumPy")
    if arch["boundary"] not in ("periodic", "zero", "reflect"):
        raise _fail(
            path, f"network boundary expected periodic, zero or reflect, found {arch['boundary']!r}"
        )
    if meta["scheme"] != SCHEME:
        raise _fail(path, f"attribute scheme expected {SCHEME!r}, found {meta['scheme']!r}; {_FIX}")
    _check_plain_attributes(f, path, meta)
    for key, want in (("integrator", "ssprk3"), ("boundary", "periodic")):
        if meta.get(key) != want:
            raise _fail(path, f"{key} expected {want!r}, found {meta.get(key)!r}; {_FIX}")
    for key in _EXTRA:
        if key not in f.attrs:
            raise _fail(path, f"missing attribute /{key} (kind {KIND!r} needs it); {_FIX}")
        got = f.attrs[key]
        got = got.tolist() if isinstance(got, np.ndarray | np.generic) else got
        got = got.decode() if isinstance(got, bytes) else got
        if got != meta[key]:
            raise _fail(
                path, f"attribute /{key} = {got!r} disagrees with metadata {meta[key]!r}; {_FIX}"
            )
    nf = int(arch["n_free"])
    if arch["out_channels"] != 2 * nf:
        raise _fail(
            path, f"out_channels expected 2 * n_free = {2 * nf}, found {arch['out_channels']}"
        )
    sub, sdt, dt = int(meta["substeps"]), float(meta["solver_dt"]), float(meta["dt"])
    if sub < 1 or abs(sub * sdt - dt) > 1e-6 * dt:
        raise _fail(path, f"dt expected substeps * solver_dt = {sub * sdt}, found {dt}; {_FIX}")
    sizes = [1] + [arch["width"]] * (arch["depth"] - 1) + [2 * nf]
    k = int(arch["kernel_size"])
    kernels, biases = [], []
    for i in range(arch["depth"]):
        shape = (k, k, sizes[i], sizes[i + 1])
        kernels.append(_dataset(f, path, f"tendency/conv_{i}/kernel", shape, "the architecture"))
        bias = None
        if arch["use_bias"]:
            bias = _dataset(f, path, f"tendency/conv_{i}/bias", (sizes[i + 1],), "the architecture")
        biases.append(bias)
    mean = _dataset(f, path, "normalization/state_mean", (1,), "one channel")
    std = _dataset(f, path, "normalization/state_std", (1,), "one channel")
    if std[0] <= 0:
        raise _fail(path, f"normalization/state_std expected > 0, found {std[0]}; {_FIX}")
    s = len(meta["offsets"])
    offsets = _dataset(f, path, "stencil/offsets", (s,), "len(metadata offsets)")
    basis = _dataset(f, path, "stencil/basis", (s, nf), "(len(offsets), n_free)")
    cells = offsets + 0.5
    if not np.array_equal(cells, np.round(cells)) or not np.allclose(offsets, meta["offsets"]):
        raise _fail(
            path,
            f"stencil/offsets expected half-integers {meta['offsets']}, found {offsets.tolist()}",
        )
    order = int(meta["order"])
    if order != s - nf - 1:
        raise _fail(path, f"order expected len(offsets) - n_free - 1 = {s - nf - 1}, found {order}")
    moments = np.stack([offsets.astype(np.float64) ** p for p in range(order + 1)]) @ basis
    if np.abs(moments).max(initial=0.0) > 1e-5 * (1 + np.abs(offsets).max()) ** order:
        raise _fail(
            path,
            f"stencil/basis expected to annihilate polynomials of degree <= {order} on the "
            f"offsets, found moments up to {np.abs(moments).max():.3g}; {_FIX}",
        )
    return LoadedInterpolationModel(path, meta, kernels, biases, mean, std, offsets, basis)


class LoadedInterpolationModel:
    """An ``fv_interpolation`` artifact evaluated in NumPy: stencils, face values, the model step.

    Shapes: ``omega`` ``(batch, Nx, Ny, 1)`` (or one state ``(Nx, Ny, 1)``) cell-averaged vorticity
    on the artifact's periodic grid ``grid_shape``; float32 in, float32 arithmetic, float64 in,
    float64 arithmetic.

    Attributes:
      dt, substeps, solver_dt: the model step ``dt = substeps * solver_dt``.
      grid_shape, length: ``(Nx, Ny)`` cells of the periodic box ``(Lx, Ly)``.
      params: ``nu``, ``drag``, ``forcing_wavenumber``, ``forcing_amplitude`` of the scheme.
      cells: ``offsets + 1/2`` as integers, ``[-1, 0, 1, 2]``: face ``i+1/2`` reads cells
        ``i + cells[s]`` along its normal.
      basis, offsets, scale, bound, state_mean, state_std: the stored constraint and normalisation.
      solver: the base scheme (:class:`~sciml.stepper.numpy_fvns.NumpyFVNS2D`, step ``solver_dt``).
    """

    def __init__(self, path, meta, kernels, biases, state_mean, state_std, offsets, basis):
        self.path, self.meta, self.kind = Path(path), meta, KIND
        self.kernels, self.biases = kernels, biases
        self.state_mean, self.state_std = state_mean, state_std
        self.offsets, self.basis = offsets, basis
        self.cells = [round(o + 0.5) for o in offsets.tolist()]
        self.dt, self.solver_dt = float(meta["dt"]), float(meta["solver_dt"])
        self.substeps = int(meta["substeps"])
        self.scale, self.bound = float(meta["scale"]), float(meta["bound"])
        self.grid_shape = tuple(int(n) for n in meta["grid_shape"])
        self.length = tuple(float(v) for v in meta["length"])
        self.params = {
            k: meta[k] for k in ("nu", "drag", "forcing_wavenumber", "forcing_amplitude")
        }
        self.solver = NumpyFVNS2D(self.grid_shape, self.length, self.solver_dt, **self.params)

    def __repr__(self) -> str:
        n = "x".join(str(v) for v in self.grid_shape)
        return (f"LoadedInterpolationModel({self.path.name}: {n}, dt={self.dt:g} = "
                f"{self.substeps} x {self.solver_dt:g}, nu={self.params['nu']:g})")  # fmt: skip

    def _state(self, omega: np.ndarray) -> tuple[np.ndarray, bool]:
        w = np.asarray(omega)
        w = w.astype(np.float32) if w.dtype.kind in "iub" else w
        single = w.ndim == 3
        w = w[None] if single else w
        if w.ndim != 4 or w.shape[1:] != (*self.grid_shape, 1) or w.dtype.kind != "f":
            nx, ny = self.grid_shape
            raise ValueError(
                f"omega: expected a real (batch, {nx}, {ny}, 1) state on the grid of {self.path} "
                f"({nx} x {ny} cells, box {self.length[0]:g} x {self.length[1]:g}), found "
                f"{np.asarray(omega).shape} {np.asarray(omega).dtype}; coarse-grain or "
                "interpolate the state onto that grid (the model was trained on it)"
            )
        return w, single

    def coefficients(self, omega: np.ndarray) -> np.ndarray:
        """Stencil corrections ``(B, Nx, Ny, 2, S)`` (x-faces, y-faces) from ``omega``:
        ``c = N bound tanh(scale y / bound)`` with ``y = G((omega - mean) / std)`` reshaped to
        ``(B, Nx, Ny, 2, F)``."""
        w, single = self._state(omega)
        dt = w.dtype
        z = (w - self.state_mean.astype(dt)) / self.state_std.astype(dt)
        arch = self.meta["architecture"]
        y = numpy_eval.tendency(z, [k.astype(dt) for k in self.kernels],
                                [None if b is None else b.astype(dt) for b in self.biases],
                                arch["activation"], arch["boundary"])  # fmt: skip
        r = y.reshape(*y.shape[:-1], 2, -1) * self.scale
        r = self.bound * np.tanh(r / self.bound)
        c = np.einsum("...df,sf->...ds", r, self.basis.astype(dt))
        return c[0] if single else c

    def face_correction(
        self, omega: np.ndarray, coeffs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(dx_f, dy_f)``, each ``(B, Nx, Ny, 1)``: ``sum_s c[..., d, s] omega_{i + cells[s]}``
        along x (``d = 0``, faces ``i+1/2``) and y (``d = 1``, faces ``j+1/2``); add to MUSCL."""
        out = []
        for d, axis in enumerate((X_AXIS, Y_AXIS)):
            acc = np.zeros_like(omega)
            for s, j in enumerate(self.cells):
                acc = acc + coeffs[..., d, s, None] * np.roll(omega, -j, axis)
            out.append(acc)
        return out[0], out[1]

    def face_values_fn(self, coeffs: np.ndarray):
        """The face-value rule ``(omega, u, v) -> (omega_x, omega_y)``: MUSCL + learned stencil."""

        def face_values(w, u, v):
            cx, cy = self.face_correction(w, coeffs)
            return muscl_face_values(w, u, X_AXIS) + cx, muscl_face_values(w, v, Y_AXIS) + cy

        return face_values

    def step(self, omega: np.ndarray) -> np.ndarray:
        """One model step of ``dt``: ``substeps`` SSP-RK3 solver steps with the face values
        MUSCL + learned stencil, coefficients predicted once from ``omega``; shape kept."""
        w, single = self._state(omega)
        rule = self.face_values_fn(self.coefficients(w).astype(w.dtype))
        for _ in range(self.substeps):
            w = self.solver.step(w, rule)
        return w[0] if single else w
