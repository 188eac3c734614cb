"""Exported learned steppers: one pickle-free HDF5 file that any language can read.

Layout (format ``sciml-stepper``, version 1; every array float32, little-endian, C order)::

    /                         attrs: format = "sciml-stepper", format_version = 1,
                                     metadata = JSON text (see below)
    /normalization/state_mean     (C,)   z_n = (z - state_mean) / state_std
    /normalization/state_std      (C,)
    /normalization/tendency_mean  (C,)   dz/dt = tendency_std * G(z_n) + tendency_mean
    /normalization/tendency_std   (C,)
    /tendency/conv_0/kernel       (*kernel_size, C_in, C_out)   spatial axes x[, y[, z]], then in, out
    /tendency/conv_0/bias         (C_out,)                      (absent when use_bias is false)
    /tendency/conv_1/...          one group per convolution, applied in index order

``metadata`` JSON keys: ``dt`` (time units), ``integrator`` (euler | rk2 | ssprk3 | rk4), ``dx``
(per axis, length units), ``grid_shape`` (points per axis, or null), ``boundary`` (periodic |
dirichlet | neumann), ``boundary_value``, ``variables`` (channel names), ``units`` (per variable,
plus ``x`` and ``t``), ``data_hash``, ``sciml_version`` and ``architecture``:
``{"kind": "tendency", "channels", "out_channels", "width", "kernel_size", "depth", "ndim",
"activation", "boundary" (network padding: periodic | zero | reflect | ghost), "use_bias"}``.

Evaluation (``tendency`` and ``step`` of :class:`LoadedStepper`): each convolution is the
cross-correlation ``y[i] = bias + sum_j x_pad[i + j] @ kernel[j]`` over a field padded by
``kernel_size // 2`` cells per side (wrap for periodic, zeros, mirror without edge repeat for
reflect); the activation goes between convolutions. With network boundary ``ghost``, ``depth *
(kernel_size // 2)`` ghost cells are filled from the physical boundary first (cell-centred:
Dirichlet ``2 g - mirror``, Neumann ``mirror + (2 j + 1) dx g`` for the j-th ghost from the face). The step is the named explicit Runge-Kutta method.

This module imports no JAX at import time: :func:`load_stepper` works in processes without JAX.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from sciml import artifacts
from sciml.atomic import ensure_free_space, write_bytes
from sciml.stepper import numpy_eval

FORMAT = "sciml-stepper"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 2 = version 1 + every runtime parameter as a plain attribute
_NORM_KEYS = ("state_mean", "state_std", "tendency_mean", "tendency_std")
_ARCH_KEYS = (
    "kind",
    "channels",
    "out_channels",
    "width",
    "kernel_size",
    "depth",
    "ndim",
    "activation",
    "boundary",
    "use_bias",
)


class ArtifactError(artifacts.ArtifactError):
    """The file is not a valid sciml grid-stepper artifact (names the file and the field)."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)


def _is_real(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float | np.floating)) and not isinstance(v, bool)


def _validate_metadata(path: Path, meta: Any) -> None:
    """Check every metadata field against docs/stepper_artifact.md (types, ranges, agreement)."""
    if not isinstance(meta, dict):
        raise _fail(path, f"metadata expected a JSON object, found {type(meta).__name__}")
    for k in ("dt", "dx", "integrator", "boundary", "variables", "architecture"):
        if k not in meta:
            raise _fail(path, f"metadata has no {k!r}")
    dt = meta["dt"]
    if not _is_real(dt) or not math.isfinite(dt) or dt <= 0:
        raise _fail(path, f"metadata dt expected a finite time step > 0, found {dt!r}")
    variables = meta["variables"]
    if (
        not isinstance(variables, list)
        or not variables
        or not all(isinstance(v, str) for v in variables)
        or len(set(variables)) != len(variables)
    ):
        raise _fail(path, f"metadata variables expected distinct names, found {variables!r}")
    arch = meta["architecture"]
    if not isinstance(arch, dict):
        raise _fail(path, f"architecture expected a JSON object, found {type(arch).__name__}")
    missing = [k for k in _ARCH_KEYS if k not in arch]
    if missing:
        raise _fail(path, f"architecture is missing {missing}")
    if arch["kind"] != "tendency":
        raise _fail(path, f"architecture kind expected 'tendency', found {arch['kind']!r}")
    for k, low in (("channels", 1), ("out_channels", 1), ("width", 1), ("depth", 1)):
        if not _is_int(arch[k]) or arch[k] < low:
            raise _fail(path, f"architecture {k} expected an integer >= {low}, found {arch[k]!r}")
    ks = arch["kernel_size"]
    if not _is_int(ks) or ks < 1 or ks % 2 == 0:
        raise _fail(path, f"architecture kernel_size expected an odd integer >= 1, found {ks!r}")
    if not _is_int(arch["ndim"]) or arch["ndim"] not in (1, 2, 3):
        raise _fail(path, f"architecture ndim expected 1, 2 or 3, found {arch['ndim']!r}")
    if not isinstance(arch["use_bias"], bool):
        raise _fail(path, f"architecture use_bias expected true/false, found {arch['use_bias']!r}")
    ndim = int(arch["ndim"])
    dx = meta["dx"]
    if (
        not isinstance(dx, list)
        or len(dx) != ndim
        or not all(_is_real(d) and math.isfinite(d) and d > 0 for d in dx)
    ):
        raise _fail(
            path,
            f"metadata dx expected {ndim} finite grid spacings > 0 (one per axis), found {dx!r}",
        )
    grid = meta.get("grid_shape")
    if grid is not None and (
        not isinstance(grid, list)
        or len(grid) != ndim
        or not all(_is_int(n) and n >= 1 for n in grid)
    ):
        raise _fail(
            path,
            f"metadata grid_shape expected {ndim} point counts >= 1 (the rank of dx), found {grid!r}",
        )
    bv = meta.get("boundary_value", 0.0)
    if not _is_real(bv) or not math.isfinite(bv):
        raise _fail(path, f"metadata boundary_value expected a finite number, found {bv!r}")
    if not isinstance(meta.get("units", {}), dict):
        raise _fail(path, f"metadata units expected a JSON object, found {meta['units']!r}")


def export_stepper(stepper: Any, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a trained ``LearnedStepper`` whose G is a ``sciml.nn.Tendency`` to ``path`` (HDF5).

    The write is atomic (temporary file, then rename). Returns the path.
    """
    from sciml._version import __version__
    from sciml.nn import Tendency

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{path}: is a directory; --overwrite replaces a file, never a directory: give a file "
            f"path such as {path / 'stepper.h5'}"
        )
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path}: output exists; pass overwrite=True (CLI: --overwrite) or choose another --out"
        )
    g = stepper.tendency
    if not isinstance(g, Tendency):
        raise ValueError(
            f"export: the HDF5 artifact holds the conv -> f -> conv family (sciml.nn.Tendency), found "
            f"{type(g).__name__}; use format 'jax-export' for other tendency networks"
        )
    first = g.convs[0].conv
    arch = {
        "kind": "tendency",
        "channels": int(first.in_features),
        "out_channels": int(g.convs[-1].conv.out_features),
        "width": int(first.out_features) if g.depth > 1 else int(first.in_features),
        "kernel_size": int(g.kernel_size),
        "depth": int(g.depth),
        "ndim": int(g.ndim),
        "activation": g.activation_name,
        "boundary": g.boundary,
        "use_bias": first.bias is not None,
    }
    meta = dict(stepper.metadata())
    meta["architecture"] = arch
    meta["sciml_version"] = __version__
    if meta.get("grid_shape") is not None:
        problem = grid_problem(arch, meta["grid_shape"])
        if problem:
            raise ValueError(f"export: {problem}")
    # Built in memory, then written in one atomic write: an HDF5 library that meets a full
    # disk is left in a state that crashes the interpreter; a plain write fails cleanly.
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["metadata"] = json.dumps(meta, sort_keys=True)
        _write_plain_attributes(f, meta)
        norm = f.create_group("normalization")
        for k in _NORM_KEYS:
            norm.create_dataset(k, data=np.asarray(getattr(stepper, k)[...], np.float32))
        tg = f.require_group("tendency")
        for i, c in enumerate(g.convs):
            grp = tg.create_group(f"conv_{i}")
            grp.create_dataset("kernel", data=np.asarray(c.conv.kernel[...], np.float32))
            if c.conv.bias is not None:
                grp.create_dataset("bias", data=np.asarray(c.conv.bias[...], np.float32))
    data = buffer.getvalue()
    ensure_free_space(path, len(data))
    write_bytes(path, data)
    return path


def min_grid_points(arch: dict) -> int:
    """Fewest points per axis the network can evaluate (see docs/stepper_artifact.md, "Grid").

    ``ghost``: the ghost fill mirrors ``depth * (kernel_size // 2)`` interior cells per side;
    ``reflect``: one reflection needs ``kernel_size // 2 + 1`` points; ``periodic`` and ``zero``: 1.
    """
    half = int(arch["kernel_size"]) // 2
    if arch["boundary"] == "ghost":
        return max(1, int(arch["depth"]) * half)
    if arch["boundary"] == "reflect":
        return half + 1
    return 1


def grid_problem(arch: dict, grid: Sequence[int]) -> str | None:
    """A one-line description of why ``grid`` cannot be evaluated by ``arch``, or ``None``."""
    need = min_grid_points(arch)
    small = [int(n) for n in grid if int(n) < need]
    if small:
        return (
            f"grid {tuple(int(n) for n in grid)} has an axis of {min(small)} points; a "
            f"{arch['boundary']!r} network with kernel_size {arch['kernel_size']} and depth "
            f"{arch['depth']} needs at least {need} points per axis; use a finer grid"
        )
    return None


def _write_plain_attributes(f: h5py.File, meta: dict) -> None:
    """Every runtime parameter as a plain HDF5 attribute (for C/Fortran readers without JSON)."""
    arch = meta["architecture"]
    ndim = int(arch["ndim"])
    grid = meta.get("grid_shape")
    f.attrs["dt"] = np.float64(meta["dt"])
    f.attrs["integrator"] = str(meta["integrator"])
    f.attrs["dx"] = np.asarray(meta["dx"], np.float64)
    f.attrs["grid_shape"] = np.asarray([0] * ndim if grid is None else grid, np.int64)
    f.attrs["boundary"] = str(meta["boundary"])
    f.attrs["boundary_value"] = np.float64(meta.get("boundary_value", 0.0))
    f.attrs["variables"] = [str(v) for v in meta["variables"]]
    t = f.require_group("tendency")
    for key in ("ndim", "channels", "out_channels", "width", "kernel_size", "depth"):
        t.attrs[key] = np.int64(arch[key])
    t.attrs["use_bias"] = np.int64(bool(arch["use_bias"]))
    for key in ("kind", "activation", "boundary"):
        t.attrs[key] = str(arch[key])


def _check_plain_attributes(f: h5py.File, path: Path, meta: dict) -> None:
    """Version 2: the plain attributes must exist and agree with the JSON metadata."""
    arch = meta["architecture"]
    grid = meta.get("grid_shape")
    want_root = {
        "dt": meta["dt"],
        "integrator": meta["integrator"],
        "dx": list(meta["dx"]),
        "grid_shape": [0] * int(arch["ndim"]) if grid is None else list(grid),
        "boundary": meta["boundary"],
        "boundary_value": meta.get("boundary_value", 0.0),
        "variables": list(meta["variables"]),
    }
    t = f.get("tendency")
    want_t = {k: arch[k] for k in _ARCH_KEYS}
    want_t["use_bias"] = int(bool(arch["use_bias"]))
    for where, obj, want in (("/", f, want_root), ("/tendency", t, want_t)):
        for key, value in want.items():
            if obj is None or key not in obj.attrs:
                raise _fail(path, f"format_version 2 needs attribute {key!r} on {where}")
            got = obj.attrs[key]
            got = got.tolist() if isinstance(got, np.ndarray | np.generic) else got
            if isinstance(got, list):
                got = [g.decode() if isinstance(g, bytes) else g for g in got]
            got = got.decode() if isinstance(got, bytes) else got
            if got != value:
                raise _fail(
                    path, f"attribute {where}{key} = {got!r} disagrees with metadata {value!r}"
                )


class LoadedStepper:
    """A learned stepper evaluated with NumPy only (returned by :func:`load_stepper`).

    Attributes:
      state_shape: shape of one state ``(*grid_shape, C)`` (``None`` entries when the grid is free).
      dt, dx, boundary, boundary_value, variables, units, integrator, metadata.

    Methods take one state ``(*spatial, C)`` or a batch ``(batch, *spatial, C)`` (float32/64 NumPy).
    """

    def __init__(self, path: Path, meta: dict, norm: dict[str, np.ndarray], kernels, biases):
        self.path = path
        self.metadata = meta
        self.architecture = meta["architecture"]
        self._norm = norm
        self._kernels = kernels
        self._biases = biases
        self.dt = float(meta["dt"])
        self.dx = tuple(float(d) for d in meta["dx"])
        self.integrator = meta["integrator"]
        self.boundary = meta["boundary"]
        self.boundary_value = float(meta.get("boundary_value", 0.0))
        self.variables = tuple(meta["variables"])
        self.units = dict(meta.get("units", {}))
        grid = meta.get("grid_shape")
        self.grid_shape = None if grid is None else tuple(int(n) for n in grid)
        spatial = self.grid_shape or (None,) * len(self.dx)
        self.state_shape = (*spatial, len(self.variables))
        self._halo = self.architecture["depth"] * (self.architecture["kernel_size"] // 2)

    def __repr__(self) -> str:
        return (
            f"LoadedStepper({self.path.name}: variables={list(self.variables)}, state_shape="
            f"{self.state_shape}, dt={self.dt}, dx={self.dx}, integrator={self.integrator!r}, "
            f"boundary={self.boundary!r})"
        )

    def _batched(self, z: np.ndarray) -> tuple[np.ndarray, bool]:
        z = np.asarray(z)
        nd = len(self.dx)
        if z.ndim == nd + 1:
            z, single = z[None], True
        elif z.ndim == nd + 2:
            single = False
        else:
            raise ValueError(
                f"state: expected shape {self.state_shape} or (batch, *{self.state_shape}), found {z.shape}"
            )
        want = self.state_shape
        if z.shape[-1] != want[-1] or any(
            w is not None and w != s for w, s in zip(want[:-1], z.shape[1:-1])
        ):
            raise ValueError(
                f"state: expected shape {self.state_shape} (or with a leading batch axis), found "
                f"{z.shape[1:]}; the stepper was trained on this grid"
            )
        if np.iscomplexobj(z):
            raise TypeError(
                f"state: expected real values, found dtype {z.dtype}; the stepper is real: pass "
                "z.real and z.imag as separate channels if that is the model"
            )
        if z.dtype.kind not in "biuf":
            raise TypeError(f"state: expected a real numeric array, found dtype {z.dtype}")
        if self.grid_shape is None:
            problem = grid_problem(self.architecture, z.shape[1:-1])
            if problem:
                raise ValueError(f"state: {problem}")
        if not np.issubdtype(z.dtype, np.floating):
            z = z.astype(np.float32)
        return z, single

    def _tendency(self, z: np.ndarray) -> np.ndarray:
        arch = self.architecture
        dtype = z.dtype
        if arch["boundary"] == "ghost":
            z = numpy_eval.fill_ghost(z, self._halo, self.boundary, self.dx, self.boundary_value)
        zn = (z - self._norm["state_mean"].astype(dtype)) / self._norm["state_std"].astype(dtype)
        kernels = [k.astype(dtype) for k in self._kernels]
        biases = [None if b is None else b.astype(dtype) for b in self._biases]
        g = numpy_eval.tendency(zn, kernels, biases, arch["activation"], arch["boundary"])
        return g * self._norm["tendency_std"].astype(dtype) + self._norm["tendency_mean"].astype(
            dtype
        )

    def tendency(self, z: np.ndarray) -> np.ndarray:
        """dz/dt = G_phys(z) (state units per time unit), same shape as ``z``."""
        zb, single = self._batched(z)
        out = self._tendency(zb)
        return out[0] if single else out

    def step(self, z: np.ndarray, dt: float | None = None) -> np.ndarray:
        """One step of the exported integrator (``dt`` defaults to the trained one)."""
        zb, single = self._batched(z)
        if dt is not None and (not _is_real(dt) or not math.isfinite(dt) or dt <= 0):
            raise ValueError(f"step dt: expected a finite time step > 0, found {dt!r}")
        out = numpy_eval.NUMPY_INTEGRATORS[self.integrator](
            self._tendency, zb, self.dt if dt is None else dt
        )
        return out[0] if single else out

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        """Right-hand side for ``scipy.integrate.solve_ivp``: ``y`` is one flattened state."""
        if self.grid_shape is None:
            raise ValueError(
                "rhs: the artifact has no grid_shape, so a flat state cannot be reshaped; "
                "call tendency(z) with a shaped state instead"
            )
        y = np.asarray(y)
        expected = int(np.prod(self.state_shape))
        if y.size != expected:
            raise ValueError(
                f"rhs: expected a flat state of {expected} values {self.state_shape}, found {y.size}"
            )
        return self.tendency(y.reshape(self.state_shape)).reshape(-1)


def _fail(path: Path, what: str) -> ArtifactError:
    return ArtifactError(f"{path}: not a valid sciml stepper artifact: {what}")


def load_stepper(path: str | os.PathLike) -> LoadedStepper:
    """Load an artifact written by ``sciml export`` / :func:`export_stepper`; NumPy only.

    Reads numeric datasets and JSON text only: no pickle, no code execution. Any inconsistency
    (format, version, missing arrays, shapes that disagree with the architecture) raises
    :class:`ArtifactError` naming the file and the field.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no such stepper artifact; export one with `sciml export RUN_DIR --out {path}`"
        )
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise _fail(path, f"cannot open as HDF5 ({err})") from None
    try:
        with f:
            meta, norm, kernels, biases = _read_artifact(f, path)
    except ArtifactError:
        raise
    except Exception as err:  # h5py/HDF5 on a damaged file: OSError, RuntimeError, KeyError...
        text = " ".join(str(err).split())[:200]
        raise _fail(path, f"unreadable ({type(err).__name__}: {text}); re-export it") from None
    return LoadedStepper(path, meta, norm, kernels, biases)


def read_kind_artifact(
    path: str | os.PathLike,
    read: Any,
    *,
    versions: Sequence[int] = READABLE_VERSIONS,
    fix: str,
) -> Any:
    """Open an artifact of an added kind (``stencil_flux``, ``fv_interpolation``), check its format,
    version and JSON ``metadata``, and return ``read(f, path, meta)`` on the open file.

    ``fix`` ends every error about the file's content (what the user should do instead).
    Raises ``FileNotFoundError`` or :class:`ArtifactError` naming the file and the field.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such stepper artifact; {fix}")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise _fail(path, f"cannot open as HDF5 ({err})") from None
    with f:
        fmt = f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        version = f.attrs.get("format_version")
        if fmt != FORMAT or version is None or int(version) not in versions:
            raise _fail(
                path,
                f"format/format_version expected {FORMAT!r} {tuple(versions)}, found {fmt!r} "
                f"{version}; {fix}",
            )
        try:
            meta = json.loads(f.attrs["metadata"])
        except (KeyError, json.JSONDecodeError, TypeError) as err:
            raise _fail(
                path, f"attribute 'metadata' is missing or not JSON ({err}); {fix}"
            ) from None
        return read(f, path, meta)


def _read_artifact(f: h5py.File, path: Path) -> tuple[dict, dict, list, list]:
    """Read and check the metadata and arrays of an open artifact (see load_stepper)."""
    fmt = f.attrs.get("format")
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    if fmt != FORMAT:
        raise _fail(path, f"attribute 'format' expected {FORMAT!r}, found {fmt!r}")
    version = f.attrs.get("format_version")
    if version is None or int(version) not in READABLE_VERSIONS:
        raise _fail(
            path,
            f"format_version expected one of {READABLE_VERSIONS}, found {version}; "
            "re-export with this sciml",
        )
    try:
        meta = json.loads(f.attrs["metadata"])
    except (KeyError, json.JSONDecodeError, TypeError) as err:
        raise _fail(path, f"attribute 'metadata' is missing or not JSON ({err})") from None
    _validate_metadata(path, meta)
    arch = meta["architecture"]
    if arch["activation"] not in numpy_eval.NUMPY_ACTIVATIONS:
        raise _fail(
            path,
            f"activation {arch['activation']!r} is not one of {sorted(numpy_eval.NUMPY_ACTIVATIONS)}",
        )
    if meta["integrator"] not in numpy_eval.NUMPY_INTEGRATORS:
        raise _fail(
            path,
            f"integrator {meta['integrator']!r} is not one of {sorted(numpy_eval.NUMPY_INTEGRATORS)}",
        )
    if arch["boundary"] not in ("periodic", "zero", "reflect", "ghost"):
        raise _fail(path, f"network boundary {arch['boundary']!r} unknown")
    if meta["boundary"] not in ("periodic", "dirichlet", "neumann"):
        raise _fail(path, f"boundary {meta['boundary']!r} unknown")
    c = len(meta["variables"])
    if arch["channels"] != c or arch["out_channels"] != c:
        raise _fail(
            path,
            f"architecture has {arch['channels']} in / {arch['out_channels']} out channels "
            f"but {c} variables",
        )
    if len(meta["dx"]) != arch["ndim"]:
        raise _fail(path, f"dx has {len(meta['dx'])} entries for a {arch['ndim']}-D network")
    if meta.get("grid_shape") is not None:
        problem = grid_problem(arch, meta["grid_shape"])
        if problem:
            raise _fail(path, problem)
    if int(version) >= 2:
        _check_plain_attributes(f, path, meta)
    norm = {}
    for k in _NORM_KEYS:
        norm[k] = _read(f, path, f"normalization/{k}", (c,))
    sizes = [c] + [arch["width"]] * (arch["depth"] - 1) + [c]
    ks = (arch["kernel_size"],) * arch["ndim"]
    kernels, biases = [], []
    for i in range(arch["depth"]):
        kernels.append(_read(f, path, f"tendency/conv_{i}/kernel", (*ks, sizes[i], sizes[i + 1])))
        biases.append(
            _read(f, path, f"tendency/conv_{i}/bias", (sizes[i + 1],)) if arch["use_bias"] else None
        )
    if f"tendency/conv_{arch['depth']}" in f:
        raise _fail(path, f"found more convolutions than depth={arch['depth']}")
    if np.any(norm["state_std"] <= 0) or np.any(norm["tendency_std"] <= 0):
        raise _fail(path, "normalisation standard deviations must be positive")
    return meta, norm, kernels, biases


def _read(f: h5py.File, path: Path, name: str, shape: Sequence[int]) -> np.ndarray:
    if name not in f:
        raise _fail(path, f"missing array {name!r}")
    ds = f[name]
    if not isinstance(ds, h5py.Dataset) or ds.dtype.kind != "f":
        raise _fail(
            path,
            f"{name!r} must be a floating-point dataset, found {getattr(ds, 'dtype', type(ds))}",
        )
    if tuple(ds.shape) != tuple(shape):
        raise _fail(
            path, f"{name!r} has shape {tuple(ds.shape)}, the architecture needs {tuple(shape)}"
        )
    a = np.asarray(ds[()], np.float32)
    if not np.all(np.isfinite(a)):
        raise _fail(path, f"{name!r} holds NaN or Inf")
    return a
