"""Exported graph steppers: the ``sciml-stepper`` HDF5 family, kind ``graph`` (pickle-free).

Same family as the grid steppers (``docs/stepper_artifact.md``): root attributes ``format =
"sciml-stepper"``, ``format_version = 2``, ``metadata`` (JSON), ``dt``, ``integrator``,
``variables``; ``/normalization/*`` ``(C,)`` float32; the group ``/tendency`` carries the attribute
``kind = "graph"`` that ``sciml.load_stepper`` dispatches on. What differs (``docs/graph_stepper.md``)::

    /graph                attrs: n_nodes (int64), lambda_max (float64), name
    /graph/senders        (E,) int64     edge j -> i sends from j ...
    /graph/receivers      (E,) int64     ... to i
    /graph/positions      (N, d) float32 node coordinates
    /graph/edge_features  (E, d + 1) float32   [x_j - x_i, |x_j - x_i|]
    /graph/free_mask      (N,) float32   0 on nodes the physics holds (zero tendency)
    /tendency             attrs: kind = "graph", network (gcn | cheb | mpnn), channels, width,
                                 depth, K, activation, edge_features, mlp_layers
    gcn:  /tendency/layer_<i>/weight (F_in, F_out), /tendency/layer_<i>/bias (F_out,)
    cheb: /tendency/layer_<i>/weight (K, F_in, F_out), /tendency/layer_<i>/bias (F_out,)
    mpnn: /tendency/<mlp>/linear_<j>/kernel (F_in, F_out), .../bias (F_out,),
          /tendency/<mlp>/norm/scale, .../norm/bias (F_out,)  (all but the decoder), with <mlp> in
          node_encoder, edge_encoder, block_<b>/edge_mlp, block_<b>/node_mlp, decoder

This module imports no JAX at import time (export imports it lazily): the loader runs on NumPy and
SciPy alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from sciml.artifacts import FORMAT, ArtifactError
from sciml.atomic import atomic_path
from sciml.graphs import numpy_eval as ne
from sciml.numpy_eval import NUMPY_ACTIVATIONS, NUMPY_INTEGRATORS

FORMAT_VERSION = 2
NETWORKS = ("gcn", "cheb", "mpnn")
_NORM_KEYS = ("state_mean", "state_std", "tendency_mean", "tendency_std")
_ARCH_INT = ("channels", "width", "depth", "K", "edge_features", "mlp_layers")


# ------------------------------------------------------------------------------------- export


def _mlp_arrays(mlp: Any) -> dict[str, np.ndarray]:
    out = {}
    for j, lin in enumerate(mlp.layers):
        out[f"linear_{j}/kernel"] = np.asarray(lin.kernel[...], np.float32)
        out[f"linear_{j}/bias"] = np.asarray(lin.bias[...], np.float32)
    if mlp.norm is not None:
        out["norm/scale"] = np.asarray(mlp.norm.scale[...], np.float32)
        out["norm/bias"] = np.asarray(mlp.norm.bias[...], np.float32)
    return out


def _weights(stepper: Any) -> dict[str, np.ndarray]:
    g = stepper.tendency
    arrays: dict[str, np.ndarray] = {}
    if g.kind == "mpnn":
        net = g.net
        mlps = {"node_encoder": net.node_encoder, "edge_encoder": net.edge_encoder}
        for b, block in enumerate(net.blocks):
            mlps[f"block_{b}/edge_mlp"] = block.edge_mlp
            mlps[f"block_{b}/node_mlp"] = block.node_mlp
        mlps["decoder"] = net.decoder
        for name, mlp in mlps.items():
            arrays |= {f"{name}/{k}": v for k, v in _mlp_arrays(mlp).items()}
        return arrays
    for i, layer in enumerate(g.layers):
        if g.kind == "gcn":
            w = np.asarray(layer.linear.kernel[...], np.float32)
        else:
            w = np.stack([np.asarray(lin.kernel[...], np.float32) for lin in layer.linears])
        arrays[f"layer_{i}/weight"] = w
        out = w.shape[-1]  # a bias-free layer is written with zero biases: same file layout
        bias = np.zeros(out, np.float32) if layer.bias is None else layer.bias[...]
        arrays[f"layer_{i}/bias"] = np.asarray(bias, np.float32)
    return arrays


def export_graph_stepper(stepper: Any, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a trained :class:`sciml.graphs.GraphStepper` to ``path`` (HDF5, atomic)."""
    from sciml._version import __version__

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: output exists; pass overwrite=True or choose another path")
    arch = stepper.tendency.architecture()
    meta = dict(stepper.metadata()) | {"architecture": arch, "sciml_version": __version__}
    graph = stepper.graph()
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["metadata"] = json.dumps(meta, sort_keys=True)
        f.attrs["dt"] = np.float64(stepper.dt)
        f.attrs["integrator"] = stepper.integrator
        f.attrs["variables"] = np.array(list(stepper.variables), dtype=h5py.string_dtype())
        gg = f.create_group("graph")
        gg.attrs["n_nodes"] = np.int64(graph.n_nodes)
        gg.attrs["lambda_max"] = np.float64(graph.lambda_max)
        gg.attrs["name"] = graph.name
        gg.create_dataset("senders", data=graph.senders.astype(np.int64))
        gg.create_dataset("receivers", data=graph.receivers.astype(np.int64))
        gg.create_dataset("positions", data=graph.positions.astype(np.float32))
        gg.create_dataset("edge_features", data=graph.edge_features.astype(np.float32))
        gg.create_dataset("free_mask", data=np.asarray(stepper.free_mask[...], np.float32))
        norm = f.create_group("normalization")
        for k in _NORM_KEYS:
            norm.create_dataset(k, data=np.asarray(getattr(stepper, k)[...], np.float32))
        tg = f.create_group("tendency")
        for k, v in arch.items():
            tg.attrs[k] = np.int64(v) if k in _ARCH_INT else v
        for name, arr in _weights(stepper).items():
            tg.create_dataset(name, data=arr)
    return path


# ------------------------------------------------------------------------------------- loading


class LoadedGraphStepper:
    """A graph stepper evaluated with NumPy and SciPy only (returned by ``sciml.load_stepper``).

    Attributes:
      state_shape: ``(N, C)``; dt, integrator, variables, units, metadata, architecture.
      senders, receivers, positions: the graph.

    Methods take one state ``(N, C)`` or a batch ``(B, N, C)`` (float32/64), like the grid
    stepper's :class:`sciml.stepper.LoadedStepper`: ``tendency``, ``step``, ``rhs``.
    """

    def __init__(self, path: Path, meta: dict, graph: dict, norm: dict, weights: dict):
        self.path = path
        self.metadata = meta
        self.architecture = meta["architecture"]
        self.dt = float(meta["dt"])
        self.integrator = meta["integrator"]
        self.variables = tuple(meta["variables"])
        self.units = dict(meta.get("units", {}))
        self.senders, self.receivers = graph["senders"], graph["receivers"]
        self.positions = graph["positions"]
        self.state_shape = (int(graph["n_nodes"]), len(self.variables))
        self._free = graph["free_mask"]
        self._norm = norm
        self._ops = ne.GraphOps(
            graph["senders"],
            graph["receivers"],
            graph["n_nodes"],
            graph["lambda_max"],
            graph["edge_features"],
        )
        arch = self.architecture
        self._act = NUMPY_ACTIVATIONS[arch["activation"]]
        if arch["network"] == "mpnn":
            blocks = [
                (_mlp(weights, f"block_{b}/edge_mlp"), _mlp(weights, f"block_{b}/node_mlp"))
                for b in range(arch["depth"])
            ]
            enc_n, enc_e = _mlp(weights, "node_encoder"), _mlp(weights, "edge_encoder")
            dec = _mlp(weights, "decoder")
            self._net = lambda x: ne.mpnn_tendency(x, self._ops, enc_n, enc_e, blocks, dec)
        else:
            ws = [weights[f"layer_{i}/weight"] for i in range(arch["depth"])]
            bs = [weights[f"layer_{i}/bias"] for i in range(arch["depth"])]
            fn = ne.gcn_tendency if arch["network"] == "gcn" else ne.cheb_tendency
            self._net = lambda x: fn(x, self._ops, ws, bs, self._act)

    def __repr__(self) -> str:
        return (
            f"LoadedGraphStepper({self.path.name}: {self.architecture['network']} on "
            f"{self.state_shape[0]} nodes, {self.senders.size} edges, variables="
            f"{list(self.variables)}, dt={self.dt}, integrator={self.integrator!r})"
        )

    def _batched(self, z: np.ndarray) -> tuple[np.ndarray, bool]:
        z = np.asarray(z)
        single = z.ndim == 2
        if single:
            z = z[None]
        if z.ndim != 3 or z.shape[1:] != self.state_shape:
            raise ValueError(
                f"state: expected shape {self.state_shape} or (batch, *{self.state_shape}), found "
                f"{np.shape(z)}; the stepper lives on a fixed graph of {self.state_shape[0]} nodes"
            )
        if np.iscomplexobj(z):
            raise ValueError("state: complex states are not supported; pass real arrays")
        if not np.issubdtype(z.dtype, np.floating):
            z = z.astype(np.float32)
        return z, single

    def _raw_tendency(self, z: np.ndarray) -> np.ndarray:
        dt = z.dtype
        zn = (z - self._norm["state_mean"].astype(dt)) / self._norm["state_std"].astype(dt)
        g = self._net(zn)
        return g * self._norm["tendency_std"].astype(dt) + self._norm["tendency_mean"].astype(dt)

    def _tendency(self, z: np.ndarray) -> np.ndarray:
        g = self._raw_tendency(z)
        if self.metadata.get("zero_anchor", False):  # G(z) - G(0), see GraphStepper
            g = g - self._raw_tendency(np.zeros((1, *z.shape[1:]), z.dtype))
        return g * self._free.astype(z.dtype)[None, :, None]

    def tendency(self, z: np.ndarray) -> np.ndarray:
        """dz/dt (state units per time unit), same shape as ``z``."""
        zb, single = self._batched(z)
        out = self._tendency(zb)
        return out[0] if single else out

    def step(self, z: np.ndarray, dt: float | None = None) -> np.ndarray:
        """One step of the exported integrator (``dt`` defaults to the trained one)."""
        zb, single = self._batched(z)
        out = NUMPY_INTEGRATORS[self.integrator](self._tendency, zb, self.dt if dt is None else dt)
        return out[0] if single else out

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        """Right-hand side for ``scipy.integrate.solve_ivp``: ``y`` is one flattened state."""
        y = np.asarray(y)
        expected = self.state_shape[0] * self.state_shape[1]
        if y.size != expected:
            raise ValueError(
                f"rhs: expected a flat state of {expected} values {self.state_shape}, found {y.size}"
            )
        return self.tendency(y.reshape(self.state_shape)).reshape(-1)


def _mlp(weights: dict, prefix: str) -> ne.MLP:
    lins, j = [], 0
    while f"{prefix}/linear_{j}/kernel" in weights:
        lins.append(
            ne.Linear(weights[f"{prefix}/linear_{j}/kernel"], weights[f"{prefix}/linear_{j}/bias"])
        )
        j += 1
    norm = None
    if f"{prefix}/norm/scale" in weights:
        norm = (weights[f"{prefix}/norm/scale"], weights[f"{prefix}/norm/bias"])
    return ne.MLP(lins, norm)


def _fail(path: Path, what: str) -> ArtifactError:
    return ArtifactError(f"{path}: not a valid sciml graph stepper artifact: {what}")


def _text(v: Any) -> Any:
    return v.decode() if isinstance(v, bytes) else v


def load_graph_stepper(path: str | os.PathLike) -> LoadedGraphStepper:
    """Load a graph stepper written by :func:`export_graph_stepper`; NumPy and SciPy only.

    Every inconsistency raises :class:`sciml.artifacts.ArtifactError` (a ``ValueError``)
    naming the file and the field.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such stepper artifact")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise _fail(path, f"cannot open as HDF5 ({err})") from None
    with f:
        if _text(f.attrs.get("format")) != FORMAT:
            raise _fail(path, f"attribute 'format' expected {FORMAT!r}")
        if int(f.attrs.get("format_version", -1)) != FORMAT_VERSION:
            raise _fail(path, f"format_version expected {FORMAT_VERSION}")
        try:
            meta = json.loads(f.attrs["metadata"])
        except (KeyError, json.JSONDecodeError, TypeError) as err:
            raise _fail(path, f"attribute 'metadata' is missing or not JSON ({err})") from None
        if "tendency" not in f or "graph" not in f:
            raise _fail(path, "missing group '/tendency' or '/graph'")
        arch = {k: _text(v) for k, v in f["tendency"].attrs.items()}
        arch = {k: int(v) if k in _ARCH_INT else v for k, v in arch.items()}
        meta["architecture"] = arch
        meta["dt"] = float(f.attrs["dt"])
        meta["integrator"] = _text(f.attrs["integrator"])
        meta["variables"] = [_text(v) for v in f.attrs["variables"]]
        if arch.get("kind") != "graph" or arch.get("network") not in NETWORKS:
            raise _fail(
                path, f"/tendency kind/network expected 'graph' and one of {list(NETWORKS)}"
            )
        if arch.get("activation") not in NUMPY_ACTIVATIONS:
            raise _fail(path, f"activation {arch.get('activation')!r} unknown")
        if meta["integrator"] not in NUMPY_INTEGRATORS:
            raise _fail(
                path, f"integrator {meta['integrator']!r} is not one of {sorted(NUMPY_INTEGRATORS)}"
            )
        c = len(meta["variables"])
        if arch.get("channels") != c:
            raise _fail(path, f"architecture has {arch.get('channels')} channels for {c} variables")
        gg = f["graph"]
        n = int(gg.attrs["n_nodes"])
        graph: dict[str, Any] = {"n_nodes": n, "lambda_max": float(gg.attrs["lambda_max"])}
        for k in ("senders", "receivers", "positions", "edge_features", "free_mask"):
            if k not in gg:
                raise _fail(path, f"missing array '/graph/{k}'")
            graph[k] = gg[k][()]
        e = graph["senders"].shape
        if graph["receivers"].shape != e or len(e) != 1:
            raise _fail(path, "'/graph/senders' and '/graph/receivers' must be equal 1-D arrays")
        for k in ("senders", "receivers"):
            a = graph[k]
            if a.dtype.kind not in "iu" or (a.size and (a.min() < 0 or a.max() >= n)):
                raise _fail(path, f"'/graph/{k}' must hold node indices in 0..{n - 1}")
        if graph["free_mask"].shape != (n,) or graph["edge_features"].shape[0] != e[0]:
            raise _fail(path, "'/graph/free_mask' or '/graph/edge_features' has the wrong length")
        norm = {}
        for k in _NORM_KEYS:
            name = f"normalization/{k}"
            if name not in f or f[name].shape != (c,):
                raise _fail(path, f"'{name}' missing or not of shape ({c},)")
            norm[k] = np.asarray(f[name][()], np.float32)
        weights: dict[str, np.ndarray] = {}
        f["tendency"].visititems(
            lambda name, obj: (
                weights.__setitem__(name, np.asarray(obj[()], np.float32))
                if isinstance(obj, h5py.Dataset)
                else None
            )
        )
    if np.any(norm["state_std"] <= 0) or np.any(norm["tendency_std"] <= 0):
        raise _fail(path, "normalisation standard deviations must be positive")
    bad = [k for k, v in weights.items() if not np.all(np.isfinite(v))]
    if bad:
        raise _fail(path, f"'/tendency/{bad[0]}' holds NaN or Inf")
    _check_weights(path, arch, weights)
    return LoadedGraphStepper(path, meta, graph, norm, weights)


def _check_weights(path: Path, arch: dict, weights: dict) -> None:
    c, w, d = arch["channels"], arch["width"], arch["depth"]
    if arch["network"] == "mpnn":
        need = ["node_encoder", "edge_encoder", "decoder"]
        need += [f"block_{b}/{m}" for b in range(d) for m in ("edge_mlp", "node_mlp")]
        for p in need:
            if f"{p}/linear_0/kernel" not in weights:
                raise _fail(path, f"missing MLP '/tendency/{p}'")
        if weights["node_encoder/linear_0/kernel"].shape[0] != c:
            raise _fail(path, "node encoder input width differs from the number of variables")
        return
    sizes = [c] + [w] * (d - 1) + [c]
    for i in range(d):
        shape = (sizes[i], sizes[i + 1])
        if arch["network"] == "cheb":
            shape = (arch["K"], *shape)
        got = weights.get(f"layer_{i}/weight")
        if got is None or got.shape != shape:
            raise _fail(
                path,
                f"'/tendency/layer_{i}/weight' has shape {None if got is None else got.shape}, "
                f"the architecture needs {shape}",
            )
        if weights.get(f"layer_{i}/bias") is None:
            raise _fail(path, f"missing '/tendency/layer_{i}/bias'")
    if f"layer_{d}/weight" in weights:
        raise _fail(path, f"found more layers than depth={d}")
