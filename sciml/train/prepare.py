"""The first phase of :func:`sciml.train.fit`: everything before the first step.

:func:`prepare` checks the arguments, builds the mesh and the batch shardings, prepares the run
directory, places the model's state on the mesh, opens the checkpoints and resumes from the
newest intact one (parameters, other variables, PRNG streams, optimiser state, step, step key,
data position and best evaluation come back as saved, so a resumed run continues
bit-identically), opens the log and jits the update and evaluation steps. The result, a
:class:`Run`, is what the step loop (:mod:`sciml.train.loop`) advances.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.train.checkpoint import Checkpoints, is_damage
from sciml.train.config import TrainConfig, dump_config
from sciml.train.mesh import batch_partition_specs, batch_shardings, make_mesh, replicated
from sciml.train.optim import make_optimizer
from sciml.train.runlog import RunLogger, prepare_run_dir, run_info
from sciml.train.state import checkpoint_tree, keys_from_data, make_steps, to_global


@dataclass
class Run:
    """What the phases of one run share: made by :func:`prepare`, advanced step by step by the
    step loop, read when the run finishes."""

    cfg: TrainConfig
    eval_source: Any
    callbacks: Sequence[Callable[[int, list[dict[str, Any]]], None]]
    run_dir: str | None
    schedule: Callable[[int], Any]
    update_step: Callable[..., Any]
    eval_step: Callable[..., Any]
    eval_shardings: Any
    params: Any
    rest: Any
    rngs: Any
    opt_state: Any
    key_data: np.ndarray
    ckpt: Checkpoints | None
    logger: RunLogger
    loader_iter: Any
    step: int
    best: dict[str, Any] | None
    last_log: tuple[int, float]
    pending: tuple[int, dict[str, jax.Array]] | None = None
    best_loss: float | None = None  # the lowest training loss so far,
    best_loss_step: int | None = None  # its step,
    first_loss: float | None = None  # and the first loss this run checked


def prepare(model, task, train_source, cfg, eval_source, callbacks) -> Run:
    """Everything before the first step: the checks, the mesh and batch shardings, the run
    directory, the state placed on the mesh, the checkpoints (resuming from the newest intact
    one), the log and the jitted steps."""
    from sciml.datasets import Loader, prefetch_to_mesh

    _check_args(cfg, task, train_source, eval_source)
    is_main = jax.process_index() == 0
    mesh = make_mesh(cfg.mesh.data, cfg.mesh.space)
    repl = replicated(mesh)
    shardings, eval_shardings = _batch_shardings(mesh, cfg, task, train_source, eval_source)
    run_dir = prepare_run_dir(cfg.run_dir) if cfg.run_dir is not None else None
    tx, schedule = make_optimizer(cfg.optim, cfg.steps)
    graphdef, params, rngs, rest, opt_state = _place_state(model, tx, repl)
    key_data = np.asarray(jax.random.key_data(jax.random.key(cfg.seed)))
    loader = Loader(train_source, global_batch=cfg.batch_size, seed=cfg.seed, shuffle=True)
    ckpt, start_step, best = None, 0, None
    if run_dir is not None:
        ckpt = _open_checkpoints(run_dir, cfg)
        resumed = _resume(
            ckpt, run_dir, params, rest, rngs, opt_state, loader, repl, is_main=is_main
        )
        if resumed is not None:
            opt_state, start_step, key_data, best = resumed
        if is_main:
            dump_config(cfg, os.path.join(run_dir, "config.yaml"))
    logger = _open_log(run_dir, mesh, cfg, start_step, is_main)
    update_step, eval_step = _jit_steps(graphdef, task, tx, cfg, repl, shardings, eval_shardings)
    loader_iter = prefetch_to_mesh(loader, shardings)
    return Run(
        cfg=cfg, eval_source=eval_source, callbacks=callbacks, run_dir=run_dir,
        schedule=schedule, update_step=update_step, eval_step=eval_step,
        eval_shardings=eval_shardings, params=params, rest=rest, rngs=rngs,
        opt_state=opt_state, key_data=key_data, ckpt=ckpt, logger=logger,
        loader_iter=loader_iter, step=start_step, best=best,
        last_log=(start_step, time.perf_counter()),
    )  # fmt: skip


def _check_args(cfg: Any, task: Any, train_source: Any, eval_source: Any) -> None:
    """Refuse a config that is not a TrainConfig, a task without ``loss``, a non-source."""
    if not isinstance(cfg, TrainConfig):
        raise ValueError(
            f"fit config: expected a sciml.train.TrainConfig, found {type(cfg).__name__}; build "
            "one with TrainConfig(...) or load_config(path)"
        )
    if not callable(getattr(task, "loss", None)):
        raise ValueError(
            f"fit task: expected an object with loss(model, batch, *, key, step), found "
            f"{type(task).__name__}; see sciml.train.Task (e.g. sciml.train.RegressionTask())"
        )
    _check_source(train_source, "train_source")
    if eval_source is not None:
        _check_source(eval_source, "eval_source")


def _batch_shardings(mesh, cfg: TrainConfig, task: Any, train_source: Any, eval_source: Any):
    """The shardings of a training batch and of an evaluation batch (None without one); the
    held-out split must hold at least one batch."""
    shardings = batch_shardings(mesh, _specs(mesh, cfg, task, train_source, "data.train"))
    if eval_source is None:
        return shardings, None
    if len(eval_source) < cfg.batch_size:
        raise ValueError(
            f"data.eval: the held-out split has {len(eval_source)} samples, fewer than "
            f"batch_size={cfg.batch_size}; give more evaluation samples or a smaller batch_size"
        )
    return shardings, batch_shardings(mesh, _specs(mesh, cfg, task, eval_source, "data.eval"))


def _specs(mesh, cfg: TrainConfig, task: Any, source: Any, where: str):
    """The partition specs of a batch of ``source`` on the mesh (``task.spatial_axes`` split)."""
    return batch_partition_specs(
        mesh,
        source.element_spec,
        cfg.batch_size,
        space_axis=cfg.mesh.space_axis,
        spatial_axes=getattr(task, "spatial_axes", None),
        where=where,
    )


def _place_state(model: nnx.Module, tx: Any, repl: Any):
    """``(graphdef, params, rngs, rest, opt_state)``: the model split into its parameters, PRNG
    streams and other variables, replicated over the mesh, and the optimiser's state."""
    graphdef, params, rngs, rest = nnx.split(model, nnx.Param, nnx.RngState, ...)
    params, rest = to_global((params, rest), repl)
    rngs = to_global(rngs, repl) if jax.tree.leaves(rngs) else rngs
    opt_state = jax.jit(tx.init, out_shardings=repl)(params)
    return graphdef, params, rngs, rest, opt_state


def _open_log(run_dir, mesh, cfg: TrainConfig, start_step: int, is_main: bool) -> RunLogger:
    """The run's logger (writing on process 0 only) and, with a run directory, run_info.json."""
    logger = RunLogger(run_dir, start_step=start_step, total_steps=cfg.steps, enabled=is_main)
    if run_dir is not None and is_main:
        info = run_info(mesh)
        info["resumed_from_step"] = start_step
        logger.write_json("run_info.json", info)
    return logger


def _jit_steps(graphdef, task, tx, cfg: TrainConfig, repl, shardings, eval_shardings):
    """The pure update and evaluation steps, jitted with explicit shardings; the update donates
    the buffers of the state it replaces."""
    compute_dtype = jnp.bfloat16 if cfg.compute_dtype == "bfloat16" else None
    update, evaluate_batch = make_steps(graphdef, task, tx, compute_dtype=compute_dtype)
    options = (
        getattr(task, "cpu_compiler_options", None) if jax.default_backend() == "cpu" else None
    )
    update_step = jax.jit(
        update,
        in_shardings=(repl, repl, repl, repl, shardings, repl, repl),
        out_shardings=repl,
        donate_argnums=(0, 1, 2, 3),
        compiler_options=options,
    )
    eval_step = jax.jit(
        evaluate_batch,
        in_shardings=(repl, repl, repl, eval_shardings, repl, repl),
        out_shardings=repl,
        compiler_options=options,
    )
    return update_step, eval_step


def _check_source(source: Any, where: str) -> None:
    """Refuse an object that is not a data source (``__len__``, ``__getitem__``, spec)."""
    for attr in ("__len__", "__getitem__", "element_spec"):
        if not hasattr(source, attr):
            raise ValueError(
                f"{where}: expected a data source with __len__, __getitem__ and element_spec, "
                f"found {type(source).__name__}; wrap arrays in sciml.datasets.ArraySource"
            )


# ---- checkpoints: open, resume


def _open_checkpoints(run_dir: str, cfg: TrainConfig) -> Checkpoints:
    """The checkpoint manager of ``RUN_DIR/checkpoints`` (the newest N and the best are kept)."""
    return Checkpoints(
        os.path.join(run_dir, "checkpoints"),
        keep=cfg.keep_checkpoints,
        best_metric=cfg.best_metric,
        best_mode=cfg.best_mode,
    )


def _load(
    ckpt: Checkpoints, params: Any, rest: Any, abstract: Any, step: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(state, meta)`` of checkpoint ``step``, refused when it does not fit this model."""
    ckpt.check_compatible(step, nnx.to_pure_dict(params), section="params")
    ckpt.check_compatible(step, nnx.to_pure_dict(rest), section="rest")
    try:
        return ckpt.restore(step, abstract)
    except (ValueError, KeyError, TypeError) as err:
        if is_damage(err):
            raise
        raise ValueError(
            f"checkpoint {ckpt.directory}/{step}: cannot restore onto this model and "
            f"optimiser ({' '.join(str(err).split())[:300]}); resume with the run's "
            "config.yaml or start a new --run-dir"
        ) from None


def _resume(
    ckpt: Checkpoints,
    run_dir: str,
    params: Any,
    rest: Any,
    rngs: Any,
    opt_state: Any,
    loader: Any,
    repl: jax.sharding.Sharding,
    *,
    is_main: bool,
) -> tuple[Any, int, np.ndarray, dict[str, Any] | None] | None:
    """Restore the newest intact checkpoint, or None when the run has none.

    ``params``, ``rest`` and ``rngs`` (nnx states) and the data ``loader``'s position are
    restored in place; the optimiser state, the step, the step key data and the best evaluation
    are returned as ``(opt_state, step, key_data, best)``. A damaged newest checkpoint (disk
    fault, a copy cut short) is set aside with a warning (by process 0, into
    ``RUN_DIR/damaged_checkpoints``) and the run resumes from the newest intact one.
    """
    if ckpt.latest_step() is None:
        return None
    template = checkpoint_tree(params, rest, rngs, opt_state)
    abstract = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=repl), template
    )
    set_aside = os.path.join(run_dir, "damaged_checkpoints") if is_main else None
    _, (state, meta) = ckpt.first_intact(
        sorted(ckpt.all_steps(), reverse=True),
        functools.partial(_load, ckpt, params, rest, abstract),
        set_aside=set_aside,
    )
    nnx.replace_by_pure_dict(params, state["params"])
    nnx.replace_by_pure_dict(rest, state["rest"])
    if jax.tree.leaves(rngs):
        nnx.replace_by_pure_dict(rngs, keys_from_data(state["rngs"], nnx.to_pure_dict(rngs)))
    opt_state = state["opt_state"]
    start_step = int(meta["step"])
    key_data = np.asarray(meta["rng_key"], dtype=np.uint32)
    loader.set_state(meta["loader"])
    return opt_state, start_step, key_data, meta.get("best")
