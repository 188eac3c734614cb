"""Name -> builder registries for models, tasks and data sources.

A config names what to build (``model.name``, ``task.name``, ``data.train.kind``); other parts of
sciml (learned steppers, MRI) register their own builders with :func:`register_model`,
:func:`register_task` and :func:`register_data`. A name of the form ``"package.module:attr"`` is
imported on demand, so a config can also point at a builder that was never registered.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
from flax import nnx

_MODELS: dict[str, Callable[..., Any]] = {}
_TASKS: dict[str, Callable[..., Any]] = {}
_DATA: dict[str, Callable[..., Any]] = {}


def register_model(name: str, builder: Callable[..., nnx.Module]) -> None:
    """Register ``builder(**kwargs, rngs=nnx.Rngs) -> nnx.Module`` under ``name``."""
    _MODELS[name] = builder


def register_task(name: str, builder: Callable[..., Any]) -> None:
    """Register ``builder(**kwargs) -> Task`` under ``name``."""
    _TASKS[name] = builder


def register_data(name: str, builder: Callable[..., Any]) -> None:
    """Register ``builder(**kwargs) -> Source`` (``__len__``, ``__getitem__``, ``element_spec``)."""
    _DATA[name] = builder


# Packages that provide built-in models as a ``MODELS`` table (name -> builder), read on first
# use by module name: the loop never imports a concrete model (import-linter checks it).
BUILTIN_PROVIDERS: tuple[str, ...] = ("sciml.nn.builders",)
_providers_loaded = False


def _load_builtin_models() -> None:
    global _providers_loaded
    if _providers_loaded:
        return
    _providers_loaded = True
    for provider in BUILTIN_PROVIDERS:
        for name, builder in importlib.import_module(provider).MODELS.items():
            _MODELS.setdefault(name, builder)


def _lookup(table: dict[str, Callable[..., Any]], name: str, what: str, key: str) -> Callable:
    if table is _MODELS:
        _load_builtin_models()
    if name in table:
        return table[name]
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as err:
            raise ValueError(
                f"config {key}: cannot import module {module_name!r} ({err})"
            ) from None
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise ValueError(f"config {key}: module {module_name!r} has no attribute {attr!r}")
            obj = getattr(obj, part)
        return obj
    valid = ", ".join(sorted(table)) or "(none)"
    raise ValueError(
        f"config {key}: unknown {what} {name!r}; registered: {valid} "
        f"(or give 'package.module:callable')"
    )


def build_model(name: str, kwargs: dict[str, Any], *, seed: int) -> nnx.Module:
    """Build a registered model with ``rngs=nnx.Rngs(seed)``."""
    _load_builtin_models()
    if not name:
        raise ValueError(
            "config model.name: expected a model name, found ''; set model.name=tendency "
            f"(registered: {', '.join(sorted(_MODELS))})"
        )
    builder = _lookup(_MODELS, name, "model", "model.name")
    try:
        return builder(**kwargs, rngs=nnx.Rngs(seed))
    except TypeError as err:
        raise ValueError(f"config model.kwargs: {name!r} rejected its arguments ({err})") from None


def build_task(name: str, kwargs: dict[str, Any]) -> Any:
    builder = _lookup(_TASKS, name, "task", "task.name")
    try:
        return builder(**kwargs)
    except TypeError as err:
        raise ValueError(f"config task.kwargs: {name!r} rejected its arguments ({err})") from None


def build_source(kind: str, kwargs: dict[str, Any], *, key: str = "data.train") -> Any:
    if not kind:
        raise ValueError(
            f"config {key}.kind: expected a data kind, found ''; registered: "
            f"{', '.join(sorted(_DATA))}"
        )
    builder = _lookup(_DATA, kind, "data kind", f"{key}.kind")
    try:
        return builder(**kwargs)
    except TypeError as err:
        raise ValueError(f"config {key}.kwargs: {kind!r} rejected its arguments ({err})") from None


def registered() -> dict[str, list[str]]:
    """The registered names, for ``--help`` texts and error messages."""
    _load_builtin_models()
    return {"model": sorted(_MODELS), "task": sorted(_TASKS), "data": sorted(_DATA)}


# --------------------------------------------------------------------------------------------
# Built-in entries


def _regression(**kwargs: Any) -> Any:
    from sciml.train.tasks import RegressionTask

    return RegressionTask(**kwargs)


def _array(*, path: str | None = None, arrays: dict | None = None) -> Any:
    """In-memory arrays: ``arrays`` (library use) or a ``.npz`` file (loaded without pickle)."""
    from sciml.datasets import ArraySource

    if (path is None) == (arrays is None):
        raise ValueError(
            "data kind 'array': give exactly one of kwargs.path (.npz) or kwargs.arrays"
        )
    if path is not None:
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except FileNotFoundError:
            raise FileNotFoundError(
                f"data kind 'array': file {path!r} not found; set data.train.kwargs.path"
            ) from None
    return ArraySource(arrays)


def _h5(**kwargs: Any) -> Any:
    from sciml.datasets import H5Source

    return H5Source(**kwargs)


def _xarray(**kwargs: Any) -> Any:
    from sciml.datasets import XarraySource

    return XarraySource(**kwargs)


def _windows(**kwargs: Any) -> Any:
    from sciml.datasets import TrajectoryWindows

    return TrajectoryWindows(**kwargs)


def _synthetic_heat(**kwargs: Any) -> Any:
    from sciml.train.synthetic import SyntheticHeat

    return SyntheticHeat(**kwargs)


register_task("regression", _regression)
register_data("array", _array)
register_data("h5", _h5)
register_data("xarray", _xarray)
register_data("windows", _windows)
register_data("synthetic_heat", _synthetic_heat)


# --- graphs (sciml.nn.graph, sciml.datasets.graphs) ---
def _graph_convnet(
    *, in_features: int = 1, out_features: int = 1, rngs: nnx.Rngs, **kwargs: Any
) -> nnx.Module:
    from sciml.nn.graph import GraphConvNet

    return GraphConvNet(in_features, out_features, rngs=rngs, **kwargs)


def _meshgraphnet(
    *,
    node_features: int = 1,
    edge_features: int = 3,
    out_features: int = 1,
    rngs: nnx.Rngs,
    **kw: Any,
) -> nnx.Module:
    from sciml.nn.graph import MeshGraphNet

    return MeshGraphNet(node_features, edge_features, out_features, rngs=rngs, **kw)


def _graph_regression(**kwargs: Any) -> Any:
    from sciml.train.graph_tasks import GraphRegressionTask

    return GraphRegressionTask(**kwargs)


def _graphs(*, path: str, n_node: int | None = None, n_edge: int | None = None) -> Any:
    """Graph file (docs/graph_layout.md) as fixed-shape padded samples."""
    from sciml.datasets.graphs import GraphSource, PaddedGraphs

    return PaddedGraphs(GraphSource(path), n_node=n_node, n_edge=n_edge)


register_model("graph_convnet", _graph_convnet)
register_model("meshgraphnet", _meshgraphnet)
register_task("graph_regression", _graph_regression)
register_data("graphs", _graphs)
# --- end graphs ---
