"""``jax.export`` (StableHLO) artifacts of a learned stepper, runnable with JAX alone.

``export_jax(stepper, path)`` writes two files:

- ``path``: the serialised ``jax.export.Exported`` of ``step(z)`` with the weights baked in as
  constants and a symbolic batch size ``b``: input and output ``(b, *grid_shape, C)`` float32;
- ``path + ".json"``: the stepper's metadata (dt, dx, boundary, variables, units, grid, integrator).

Running it needs neither flax nor sciml::

    import jax, numpy as np
    exported = jax.export.deserialize(open("ks.jaxexport", "rb").read())
    z_next = exported.call(z)            # z: (batch, *grid_shape, C) float32
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from sciml.atomic import write_bytes, write_text


def export_jax(
    stepper: Any,
    path: str | os.PathLike,
    *,
    grid_shape: tuple[int, ...] | None = None,
    platforms: tuple[str, ...] = ("cpu", "cuda"),
    overwrite: bool = False,
) -> Path:
    """Serialise ``stepper.step`` with a symbolic batch axis to ``path`` (+ ``path.json``).

    Args:
      stepper: a ``LearnedStepper`` (any tendency network).
      path: output file.
      grid_shape: spatial shape; defaults to ``stepper.grid_shape``.
      platforms: lowering platforms (CPU and CUDA by default, so the file runs on either).
      overwrite: replace an existing file.
    """
    path = Path(path)
    meta_path = Path(str(path) + ".json")
    if path.is_dir():
        raise IsADirectoryError(
            f"{path}: is a directory; --overwrite replaces a file, never a directory: give a file "
            f"path such as {path / 'stepper.jax'}"
        )
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: output exists; pass --overwrite or choose another --out")
    grid_shape = tuple(grid_shape or stepper.grid_shape or ())
    if len(grid_shape) != stepper.ndim:
        raise ValueError(
            f"grid_shape: expected {stepper.ndim} spatial sizes, found {grid_shape}; the stepper has no "
            "recorded grid, pass grid_shape=(...)"
        )
    graphdef, state = nnx.split(stepper)

    def step(z: jax.Array) -> jax.Array:
        return nnx.merge(graphdef, state).step(z)

    (b,) = jax.export.symbolic_shape("b")
    spec = jax.ShapeDtypeStruct((b, *grid_shape, stepper.channels), jnp.float32)
    exported = jax.export.export(jax.jit(step), platforms=platforms)(spec)
    write_bytes(path, bytes(exported.serialize()))
    meta = dict(stepper.metadata())
    meta["grid_shape"] = list(grid_shape)
    meta["format"] = "sciml-stepper-jax-export"
    meta["input"] = {"shape": ["b", *grid_shape, stepper.channels], "dtype": "float32"}
    write_text(meta_path, json.dumps(meta, indent=2, sort_keys=True))
    return path


def load_jax(path: str | os.PathLike) -> tuple[Any, dict]:
    """Deserialise an exported step; returns ``(exported, metadata)``; call ``exported.call(z)``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such jax-export artifact")
    try:
        exported = jax.export.deserialize(bytearray(path.read_bytes()))
    except Exception as err:  # the deserialiser raises several types on garbage input
        raise ValueError(
            f"{path}: not a jax.export artifact ({type(err).__name__}: {err})"
        ) from None
    meta_path = Path(str(path) + ".json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return exported, meta
