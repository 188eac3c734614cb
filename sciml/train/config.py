"""Typed, frozen run configuration: YAML file + ``a.b=value`` overrides -> :class:`TrainConfig`.

A run is described by nested sections; only entry points (the CLI, :func:`sciml.train.train`)
read files, library code receives a :class:`TrainConfig` object. Unknown keys and values of the
wrong type are rejected with a one-line error that names the key, the expected and the found
value, and lists the valid keys.

Example YAML::

    model: {name: tendency, kwargs: {channels: 1, width: 16, kernel_size: 5, ndim: 1}}
    task: {name: regression}
    data:
      train: {kind: synthetic_heat, kwargs: {n_samples: 256, n: 64}}
      eval: {kind: synthetic_heat, kwargs: {n_samples: 64, n: 64, seed: 1}}
    optim: {name: adam, learning_rate: 1.0e-3, schedule: cosine, warmup_steps: 20, clip_norm: 1.0}
    mesh: {data: -1, space: 1}
    steps: 300
    batch_size: 16
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from sciml.atomic import write_text
from sciml.typed_yaml import convert, describe, describe_value, load_yaml, loose, members


class _Section:
    """Mixin: build from a mapping with validation, convert back to plain dicts."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, *, where: str = "config") -> Any:
        return _build(cls, data if data is not None else {}, where)

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(self)

    def __post_init__(self):
        # Accept plain mappings for nested sections (``TrainConfig(optim={"learning_rate": 0.1})``).
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            section = _section_type(hints[f.name])
            if section is not None and isinstance(value, Mapping):
                object.__setattr__(self, f.name, section.from_dict(value, where=f.name))


@dataclass(frozen=True)
class ModelConfig(_Section):
    """Which model to build: a registered name (or ``"package.module:callable"``) and its kwargs."""

    name: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskConfig(_Section):
    """Which training objective (a :class:`sciml.train.Task`) to build."""

    name: str = "regression"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceConfig(_Section):
    """A data source: registered kind (``array``, ``h5``, ``xarray``, ``windows``, ``synthetic_heat``)."""

    kind: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DataConfig(_Section):
    """The training split and the optional held-out split used for evaluation."""

    train: SourceConfig = field(default_factory=SourceConfig)
    eval: SourceConfig | None = None


@dataclass(frozen=True)
class OptimConfig(_Section):
    """Optax optimiser and learning-rate schedule.

    ``name``: adam, adamw, sgd, rmsprop, lion, lamb, adabelief, adafactor (any ``optax.NAME`` that
    takes ``learning_rate``). ``schedule``: constant, cosine, linear, exponential, each after
    ``warmup_steps`` of linear warm-up from 0; the decay lasts ``decay_steps`` (default: the run's
    ``steps``) down to ``learning_rate * end_factor``. ``clip_norm``: global-norm gradient clipping.
    ``weight_decay``: decoupled (AdamW-style) decay. ``kwargs``: extra optimiser arguments.
    """

    name: str = "adam"
    learning_rate: float = 1.0e-3
    schedule: str = "constant"
    warmup_steps: int = 0
    decay_steps: int | None = None
    end_factor: float = 0.0
    clip_norm: float | None = None
    weight_decay: float = 0.0
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MeshConfig(_Section):
    """Device mesh: ``data`` devices split the batch (-1: all devices / space), ``space`` devices
    split spatial axis ``space_axis`` (0 = x) of every field."""

    data: int = -1
    space: int = 1
    space_axis: int = 0


@dataclass(frozen=True)
class TrainConfig(_Section):
    """The whole run. ``run_dir=None`` trains in memory (no checkpoints, logs or files).

    Attributes:
      steps: optimiser steps in total (a resumed run continues up to this number).
      batch_size: GLOBAL batch (all devices, all processes); a multiple of ``mesh.data``.
      eval_every: evaluate on ``data.eval`` every N steps (0: only at the end, if an eval split exists).
      log_every: write a training line to ``metrics.jsonl``/TensorBoard every N steps.
      checkpoint_every: save every N steps (0: only at the end); a new best evaluation is also saved.
      keep_checkpoints: how many of the latest checkpoints to keep (the best one is kept as well).
      best_metric: evaluation metric that ranks checkpoints (``loss`` or an aux metric of the task).
      best_mode: ``min`` or ``max``.
      seed: one integer seeds model initialisation, data order and per-step keys.
      compute_dtype: ``float32`` or ``bfloat16`` (parameters stay float32).
      divergence_factor: stop when the training loss exceeds its best so far by this factor
        and the loss the run started from (NaN/Inf always stops the run); ``null`` checks for
        NaN/Inf only.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    mesh: MeshConfig = field(default_factory=MeshConfig)
    steps: int = 1000
    batch_size: int = 8
    eval_every: int = 0
    log_every: int = 10
    checkpoint_every: int = 0
    keep_checkpoints: int = 3
    best_metric: str = "loss"
    best_mode: str = "min"
    seed: int = 0
    compute_dtype: str = "float32"
    divergence_factor: float | None = 1.0e4
    run_dir: str | None = None

    def __post_init__(self):
        super().__post_init__()
        checks = [
            ("steps", self.steps >= 1, "an integer >= 1", "set steps=1000"),
            ("batch_size", self.batch_size >= 1, "an integer >= 1", "set batch_size=8"),
            ("eval_every", self.eval_every >= 0, "an integer >= 0", "set eval_every=0"),
            ("log_every", self.log_every >= 1, "an integer >= 1", "set log_every=10"),
            (
                "checkpoint_every",
                self.checkpoint_every >= 0,
                "an integer >= 0",
                "0 saves at the end",
            ),
            ("keep_checkpoints", self.keep_checkpoints >= 1, "an integer >= 1", "set it to 3"),
            ("best_mode", self.best_mode in ("min", "max"), "'min' or 'max'", "set best_mode=min"),
            (
                "compute_dtype",
                self.compute_dtype in ("float32", "bfloat16"),
                "'float32' or 'bfloat16'",
                "set compute_dtype=float32",
            ),
        ]
        wd, warm = self.optim.weight_decay, self.optim.warmup_steps
        checks.append(
            (
                "optim.weight_decay",
                math.isfinite(wd) and wd >= 0,
                "a finite value >= 0 (negative decay pushes the weights outwards)",
                "set optim.weight_decay=0 or 1e-4",
            )
        )
        checks.append(
            (
                "optim.warmup_steps",
                0 <= warm <= self.steps,
                f"0 to the run's steps={self.steps} (a longer warm-up never reaches the rate)",
                f"set optim.warmup_steps={self.steps // 10} or train longer",
            )
        )
        factor = self.divergence_factor
        checks.append(
            (
                "divergence_factor",
                factor is None or (math.isfinite(factor) and factor > 1),
                "a number > 1 or null",
                "set divergence_factor=1.0e4",
            )
        )
        for name, ok, expected, fix in checks:
            if not ok:
                value = (
                    getattr(self.optim, name[6:])
                    if name.startswith("optim.")
                    else getattr(self, name)
                )
                raise ValueError(f"config {name}: expected {expected}, found {value!r}; {fix}")

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with top-level fields replaced (sections may be given as dicts)."""
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------------------------
# Validation / conversion


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, _Section)


def _section_type(tp: Any) -> type | None:
    for t in members(tp):
        if _is_section(t):
            return t
    return None


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """``value`` (as YAML read it) as field ``where`` of annotation ``tp`` wants it: a mapping
    for a section is built here, everything else is converted by :func:`sciml.typed_yaml.convert`."""
    section = _section_type(tp)
    if section is not None and isinstance(value, Mapping):
        return _build(section, value, where)
    for t in members(tp):
        if not _is_section(t):
            try:
                return convert(value, t)
            except ValueError:
                continue
    expected = " or ".join("a mapping" if _is_section(t) else describe(t) for t in members(tp))
    raise ValueError(
        f"config {where}: expected {expected}, found {describe_value(value)}; "
        f"fix the value in the YAML file or with --set {where}=..."
    )


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    if not isinstance(data, Mapping):
        raise ValueError(
            f"config {where}: expected a mapping of keys {_field_names(cls)}, found {data!r}"
        )
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        path = key if where == "config" else f"{where}.{key}"
        if key not in names:
            raise ValueError(
                f"config: unknown key {path!r}; valid keys"
                f"{'' if where == 'config' else ' in ' + repr(where)}: {', '.join(_field_names(cls))}"
            )
        kwargs[key] = _coerce(value, hints[key], path)
    return cls(**kwargs)


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _to_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_to_plain(v) for v in obj]
    return obj


# --------------------------------------------------------------------------------------------
# Files and overrides


def _set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for i, k in enumerate(keys[:-1]):
        nxt = node.get(k)
        if nxt is None:
            nxt = node[k] = {}
        if not isinstance(nxt, dict):
            raise ValueError(
                f"--set {dotted}: {'.'.join(keys[: i + 1])!r} is a value, not a section; "
                f"use --set {'.'.join(keys[: i + 1])}=VALUE"
            )
        node = nxt
    node[keys[-1]] = value


def apply_overrides(tree: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``"a.b=value"`` strings to a plain config dict (values parsed as YAML, with only
    true/false as booleans: :func:`sciml.typed_yaml.load_yaml`)."""
    for item in overrides:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ValueError(
                f"--set {item!r}: expected KEY=VALUE with a dotted key, e.g. --set optim.learning_rate=0.001"
            )
        key, raw = item.split("=", 1)
        try:
            value = load_yaml(raw) if raw.strip() else ""
        except yaml.YAMLError as err:
            raise ValueError(f"--set {key}: cannot parse value {raw!r} as YAML ({err})") from None
        _set_path(tree, key.strip(), loose(value))
    return tree


def load_config(path: str | os.PathLike | None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a YAML config (or start from the defaults when ``path`` is None) and apply overrides.

    Args:
      path: YAML file with the sections of :class:`TrainConfig`.
      overrides: ``"a.b=value"`` strings; values are parsed as YAML (``steps=10``, ``mesh.data=2``,
        ``optim.clip_norm=null``, ``model.kwargs.width=16``). In the file and the overrides only
        true/false are booleans (``yes``/``no``/``on``/``off`` stay strings).

    Raises:
      FileNotFoundError: the file does not exist.
      ValueError: invalid YAML, unknown key (the valid keys are listed), value of the wrong type.
    """
    tree: dict[str, Any] = {}
    if path is not None:
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"config: file {path!r} not found; pass an existing YAML file to --config "
                "(see examples/configs/)"
            )
        with open(path, encoding="utf-8") as fh:
            try:
                loaded = load_yaml(fh.read())
            except yaml.YAMLError as err:
                msg = " ".join(str(err).split())
                raise ValueError(f"config {path}: invalid YAML ({msg})") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ValueError(
                f"config {path}: expected a mapping of sections at the top level, "
                f"found {type(loaded).__name__}"
            )
        tree = loaded or {}
    apply_overrides(tree, overrides)
    try:
        return TrainConfig.from_dict(tree)
    except ValueError as err:
        if path is None:
            raise
        raise ValueError(f"{path}: {err}") from None


def dump_config(config: TrainConfig, path: str | os.PathLike) -> None:
    """Write the resolved config as YAML (atomic: temporary file + ``os.replace``)."""
    write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
