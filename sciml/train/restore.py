"""Load a trained model back from a run directory (for export, evaluation, inference)."""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from sciml.train.checkpoint import Checkpoints, flatten
from sciml.train.config import TrainConfig, load_config


def run_config(run_dir: str | os.PathLike) -> TrainConfig:
    """The resolved config saved in ``RUN_DIR/config.yaml``."""
    path = os.path.join(os.fspath(run_dir), "config.yaml")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"run_dir {os.fspath(run_dir)!r}: no config.yaml; pass the directory of a run made by "
            "`sciml train` or sciml.train.fit(config=TrainConfig(run_dir=...))"
        )
    return load_config(path)


def _fill(template: nnx.State, saved: dict[str, Any]) -> None:
    """Set every leaf of ``template`` from the saved arrays with the same dotted path."""
    pure = nnx.to_pure_dict(template)
    treedef = jax.tree_util.tree_structure(pure)
    values = [jnp.asarray(saved[name]) for name in flatten(pure)]
    nnx.replace_by_pure_dict(template, jax.tree_util.tree_unflatten(treedef, values))


def restore_model(
    run_dir: str | os.PathLike,
    model_template: nnx.Module | None = None,
    which: str = "best",
) -> nnx.Module:
    """The model of a run directory with the weights of its best or latest checkpoint.

    Args:
      run_dir: a directory written by :func:`sciml.train.fit` / ``sciml train``.
      model_template: a model of the same architecture whose variables are overwritten (any
        initialisation). None rebuilds it from ``config.yaml`` (``model.name`` and
        ``model.kwargs`` through the model registry).
      which: ``"best"`` (best evaluation by the run's ``best_metric``; the latest checkpoint if
        the run never evaluated) or ``"latest"``.

    Returns:
      The model (``model_template`` itself when given), arrays on the default device.

    Raises:
      FileNotFoundError: no run directory, config or checkpoint.
      ValueError: the template does not match the checkpoint (names the parameter and shapes).
    """
    run_dir = os.fspath(run_dir)
    if which not in ("best", "latest"):
        raise ValueError(f"restore_model which: expected 'best' or 'latest', found {which!r}")
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"run_dir {run_dir!r}: not a directory; pass a run directory")
    cfg = run_config(run_dir)
    if model_template is None:
        if not cfg.model.name:
            raise ValueError(
                f"run_dir {run_dir!r}: config.yaml has no model.name (the run was trained from a "
                "model object); pass model_template= with the same architecture"
            )
        from sciml.train.registry import build_model

        model_template = build_model(cfg.model.name, dict(cfg.model.kwargs), seed=cfg.seed)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    if not os.path.isdir(ckpt_dir):
        raise FileNotFoundError(f"run_dir {run_dir!r}: no checkpoints/ directory; train it first")
    ckpt = Checkpoints(
        ckpt_dir, best_metric=cfg.best_metric, best_mode=cfg.best_mode, read_only=True
    )
    try:
        step = ckpt.best_step() if which == "best" else ckpt.latest_step()
        if step is None:
            raise FileNotFoundError(
                f"run_dir {run_dir!r}: checkpoints/ holds no finished checkpoint; train longer"
            )
        _, params, _, rest = nnx.split(model_template, nnx.Param, nnx.RngState, ...)

        def load(s: int) -> dict[str, Any]:
            ckpt.check_compatible(s, nnx.to_pure_dict(params), section="params")
            ckpt.check_compatible(s, nnx.to_pure_dict(rest), section="rest")
            return ckpt.restore(s, None)[0]

        # The chosen checkpoint first; if it is damaged, the newest intact one (with a warning).
        others = [s for s in sorted(ckpt.all_steps(), reverse=True) if s != step]
        _, state = ckpt.first_intact([step, *others], load)
    finally:
        ckpt.close()
    _fill(params, flatten(state.get("params", {})))
    if jax.tree.leaves(rest):
        _fill(rest, flatten(state.get("rest", {})))
    nnx.update(model_template, params, rest)
    return model_template
