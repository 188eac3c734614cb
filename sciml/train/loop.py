"""The one training loop: :func:`fit` (objects in, trained model out) and :func:`train` (config in).

One readable loop around a pure, jitted update step with donated buffers and explicit
shardings::

    for step in range(start, steps):
        batch = next(data)                        # global arrays, sharded (data x space)
        params, rest, opt_state, metrics = update(params, rest, opt_state, batch, key, step)
        check the loss is finite; log; evaluate; checkpoint

The step's PRNG key is ``fold_in(key(seed), step)``, so a resumed run draws the same numbers as
an uninterrupted one. The loss is the task's mean over the GLOBAL batch; under ``jit`` on global
arrays XLA inserts the cross-device reductions, so 1 device, 8 devices and 2 hosts give the same
losses for the same global batch.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml import interrupt
from sciml.train.checkpoint import Checkpoints, is_damage
from sciml.train.config import TrainConfig, dump_config
from sciml.train.lock import hold_run_dir
from sciml.train.mesh import batch_partition_specs, batch_shardings, make_mesh, replicated
from sciml.train.optim import make_optimizer
from sciml.train.runlog import RunLogger, prepare_run_dir, run_info
from sciml.train.state import checkpoint_tree, host_value, keys_from_data, make_steps, to_global

Callback = Callable[[int, list[dict[str, Any]]], None]


class DivergenceError(RuntimeError):
    """The loss became NaN or Inf; the message names the step and the last good checkpoint."""


@dataclass
class TrainResult:
    """What :func:`fit` returns.

    Attributes:
      model: the trained model (the object passed to ``fit``, updated in place).
      history: every logged record (``{"step", "split", "loss", ...}``), as in ``metrics.jsonl``.
      run_dir: the run directory (None for an in-memory run).
      final_step: the last completed step.
      best_step: the step of the best evaluation (None without evaluation).
    """

    model: nnx.Module
    history: list[dict[str, Any]] = field(default_factory=list)
    run_dir: str | None = None
    final_step: int = 0
    best_step: int | None = None


# --------------------------------------------------------------------------------------------
# helpers


def _check_source(source: Any, where: str) -> None:
    for attr in ("__len__", "__getitem__", "element_spec"):
        if not hasattr(source, attr):
            raise ValueError(
                f"{where}: expected a data source with __len__, __getitem__ and element_spec, "
                f"found {type(source).__name__}; wrap arrays in sciml.datasets.ArraySource"
            )


# --------------------------------------------------------------------------------------------
# the loop


def _locked(config: Any):
    """The run directory's lock (process 0 of a run with a directory), else a no-op."""
    if isinstance(config, TrainConfig) and config.run_dir is not None:
        if jax.process_index() == 0:
            return hold_run_dir(prepare_run_dir(config.run_dir))
    return contextlib.nullcontext()


def fit(
    model: nnx.Module,
    task: Any,
    train_source: Any,
    *,
    config: TrainConfig,
    eval_source: Any = None,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Train ``model`` on ``task`` with batches of ``train_source`` as ``config`` describes.

    Resumes from the latest checkpoint when ``config.run_dir`` has one (model, optimiser, step,
    data position and PRNG key are restored). Every process of a multi-host job calls ``fit``
    with the same arguments; each reads only its share of the data.

    Args:
      model: an ``nnx.Module``; its parameters (``nnx.Param``) are trained, other variables
        (e.g. batch statistics) are carried along. Updated in place and returned.
      task: a :class:`sciml.train.Task` (``loss(model, batch, *, key, step)``).
      train_source: a source (``__len__``, ``__getitem__``, ``element_spec``), e.g.
        ``sciml.datasets.ArraySource``; batches are ``{key: (batch, *shape)}``.
      config: the run (batch size, steps, optimiser, mesh, logging, checkpoints).
      eval_source: the held-out split, evaluated every ``config.eval_every`` steps and at the end
        over its full batches of ``config.batch_size`` (a remainder smaller than one batch is
        not evaluated; metrics are the mean over the batches).
      callbacks: ``callback(step, records)`` after every step; ``records`` are the metric
        records logged at that step (often empty).

    Raises:
      ValueError: bad configuration (batch vs mesh, space split vs grid, run directory, an
        incompatible checkpoint).
      DivergenceError: the loss became NaN/Inf (the last good checkpoint is kept).
      RunDirLockedError: another process is training into ``config.run_dir``.
    """
    with _locked(config):
        return _fit(model, task, train_source, config, eval_source, callbacks)


def _fit(model, task, train_source, config, eval_source, callbacks) -> TrainResult:
    from sciml.datasets import Loader, prefetch_to_mesh

    cfg = config
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
    is_main = jax.process_index() == 0

    mesh = make_mesh(cfg.mesh.data, cfg.mesh.space)
    repl = replicated(mesh)
    spatial_axes = getattr(task, "spatial_axes", None)
    specs = batch_partition_specs(
        mesh,
        train_source.element_spec,
        cfg.batch_size,
        space_axis=cfg.mesh.space_axis,
        spatial_axes=spatial_axes,
        where="data.train",
    )
    shardings = batch_shardings(mesh, specs)
    eval_shardings = None
    if eval_source is not None:
        if len(eval_source) < cfg.batch_size:
            raise ValueError(
                f"data.eval: the held-out split has {len(eval_source)} samples, fewer than "
                f"batch_size={cfg.batch_size}; give more evaluation samples or a smaller batch_size"
            )
        eval_shardings = batch_shardings(
            mesh,
            batch_partition_specs(
                mesh,
                eval_source.element_spec,
                cfg.batch_size,
                space_axis=cfg.mesh.space_axis,
                spatial_axes=spatial_axes,
                where="data.eval",
            ),
        )

    run_dir = prepare_run_dir(cfg.run_dir) if cfg.run_dir is not None else None
    tx, schedule = make_optimizer(cfg.optim, cfg.steps)
    compute_dtype = jnp.bfloat16 if cfg.compute_dtype == "bfloat16" else None

    # ---- state: replicated parameters, other variables, optimiser state, PRNG key ----
    graphdef, params, rngs, rest = nnx.split(model, nnx.Param, nnx.RngState, ...)
    params, rest = to_global((params, rest), repl)
    rngs = to_global(rngs, repl) if jax.tree.leaves(rngs) else rngs
    opt_state = jax.jit(tx.init, out_shardings=repl)(params)
    key_data = np.asarray(jax.random.key_data(jax.random.key(cfg.seed)))

    loader = Loader(train_source, global_batch=cfg.batch_size, seed=cfg.seed, shuffle=True)
    ckpt = None
    start_step, best = 0, None
    if run_dir is not None:
        ckpt = Checkpoints(
            os.path.join(run_dir, "checkpoints"),
            keep=cfg.keep_checkpoints,
            best_metric=cfg.best_metric,
            best_mode=cfg.best_mode,
        )
        latest = ckpt.latest_step()
        if latest is not None:
            template = checkpoint_tree(params, rest, rngs, opt_state)
            abstract = jax.tree.map(
                lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=repl), template
            )

            def load(step: int) -> tuple[dict[str, Any], dict[str, Any]]:
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

            # A damaged newest checkpoint (disk fault, a copy cut short) is set aside with a
            # warning and the run resumes from the newest intact one.
            set_aside = os.path.join(run_dir, "damaged_checkpoints") if is_main else None
            latest, (state, meta) = ckpt.first_intact(
                sorted(ckpt.all_steps(), reverse=True), load, set_aside=set_aside
            )
            nnx.replace_by_pure_dict(params, state["params"])
            nnx.replace_by_pure_dict(rest, state["rest"])
            if jax.tree.leaves(rngs):
                nnx.replace_by_pure_dict(
                    rngs, keys_from_data(state["rngs"], nnx.to_pure_dict(rngs))
                )
            opt_state = state["opt_state"]
            start_step = int(meta["step"])
            key_data = np.asarray(meta["rng_key"], dtype=np.uint32)
            loader.set_state(meta["loader"])
            best = meta.get("best")
        if is_main:
            dump_config(cfg, os.path.join(run_dir, "config.yaml"))

    logger = RunLogger(run_dir, start_step=start_step, total_steps=cfg.steps, enabled=is_main)
    if run_dir is not None and is_main:
        info = run_info(mesh)
        info["resumed_from_step"] = start_step
        logger.write_json("run_info.json", info)

    # ---- the pure update and evaluation steps, jitted with explicit shardings ----
    update, evaluate_batch = make_steps(graphdef, task, tx, compute_dtype=compute_dtype)
    update_step = jax.jit(
        update,
        in_shardings=(repl, repl, repl, repl, shardings, repl, repl),
        out_shardings=repl,
        donate_argnums=(0, 1, 2, 3),
    )
    eval_step = jax.jit(
        evaluate_batch,
        in_shardings=(repl, repl, repl, eval_shardings, repl, repl),
        out_shardings=repl,
    )

    def run_eval(step: int) -> dict[str, float]:
        eval_loader = Loader(
            eval_source, global_batch=cfg.batch_size, seed=cfg.seed, shuffle=False, num_epochs=1
        )
        sums: dict[str, float] = {}
        n = 0
        for batch in prefetch_to_mesh(eval_loader, eval_shardings):
            out = eval_step(params, rest, rngs, batch, key_data, np.int32(step))
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + float(host_value(v))
            n += 1
        return {k: v / n for k, v in sums.items()}

    def meta_now(step: int) -> dict[str, Any]:
        return {
            "step": step,
            "loader": loader_iter.get_state(),
            "rng_key": [int(v) for v in key_data],
            "best": best,
            "device_count": jax.device_count(),
            "process_count": jax.process_count(),
        }

    def save(step: int, metrics: dict[str, float] | None = None) -> None:
        state = checkpoint_tree(params, rest, rngs, opt_state)
        ckpt.check_space(step, state)
        ckpt.save(step, state, meta_now(step), metrics=metrics)

    # ---- the loop ----
    loader_iter = prefetch_to_mesh(loader, shardings)
    pending: tuple[int, dict[str, jax.Array]] | None = None
    best_loss: list = [None, None, None]  # lowest training loss so far, its step, first loss
    last_log = (start_step, time.perf_counter())
    step = start_step

    def resolve() -> list[dict[str, Any]]:
        """Check (and maybe log) the metrics of the previous step."""
        nonlocal pending, last_log
        if pending is None:
            return []
        s, m = pending
        pending = None
        loss = float(host_value(m["loss"]))
        factor = cfg.divergence_factor
        # Diverging, not a spike: far above the best loss AND above the loss the run started
        # from (a spike from 1e-8 to 1e-4 late in a good run is not a divergence).
        grown = (
            factor is not None
            and best_loss[0] is not None
            and best_loss[0] > 0
            and loss > factor * best_loss[0]
            and loss > best_loss[2]
        )
        if not np.isfinite(loss) or grown:
            where = "no checkpoint was written"
            if ckpt is not None:
                ckpt.wait()
                good = ckpt.latest_step()
                if good is not None:
                    where = f"the last good checkpoint is step {good} in {ckpt.directory}"
            logger.close()
            if grown:
                what = (
                    f"loss {loss:.4g} at step {s} is {loss / best_loss[0]:.3g} times its best "
                    f"{best_loss[0]:.4g} (step {best_loss[1]}), above divergence_factor={factor:g}"
                )
                fix = "or raise divergence_factor"
            else:
                what, fix = f"loss is {loss} at step {s}", "or check the data for NaN"
            raise DivergenceError(
                f"training diverged: {what}; {where}; lower optim.learning_rate, set "
                f"optim.clip_norm, {fix}"
            )
        if best_loss[0] is None:
            best_loss[2] = loss
        if best_loss[0] is None or loss < best_loss[0]:
            best_loss[0], best_loss[1] = loss, s
        logger.progress(s, loss)
        if s % cfg.log_every and s != cfg.steps:
            return []
        now = time.perf_counter()
        rate = (s - last_log[0]) / max(now - last_log[1], 1e-9)
        last_log = (s, now)
        values = {k: float(host_value(v)) for k, v in m.items()}
        values["lr"] = float(schedule(s - 1))
        values["steps_per_s"] = rate
        return [logger.log(s, "train", values)]

    try:
        while step < cfg.steps:
            interrupt.check()
            try:
                batch = next(loader_iter)
            except StopIteration:
                raise ValueError(
                    f"data.train: the source ran out of batches at step {step}"
                ) from None
            params, rest, rngs, opt_state, metrics = update_step(
                params, rest, rngs, opt_state, batch, key_data, np.int32(step)
            )
            records = resolve()
            step += 1
            pending = (step, metrics)
            do_eval = eval_source is not None and (
                (cfg.eval_every and step % cfg.eval_every == 0) or step == cfg.steps
            )
            do_save = ckpt is not None and (
                (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or step == cfg.steps
            )
            if do_eval or do_save or step == cfg.steps or callbacks:
                records += resolve()
            eval_metrics = None
            if do_eval:
                eval_metrics = run_eval(step)
                records.append(logger.log(step, "eval", eval_metrics))
                if cfg.best_metric not in eval_metrics:
                    raise ValueError(
                        f"config best_metric: {cfg.best_metric!r} is not an evaluation metric; "
                        f"available: {', '.join(sorted(eval_metrics))}"
                    )
                value = eval_metrics[cfg.best_metric]
                better = best is None or (
                    value < best["value"] if cfg.best_mode == "min" else value > best["value"]
                )
                if better and np.isfinite(value):
                    best = {"step": step, "value": value, "metric": cfg.best_metric}
                    do_save = ckpt is not None
            if do_save:
                save(
                    step, {cfg.best_metric: eval_metrics[cfg.best_metric]} if eval_metrics else None
                )
            for callback in callbacks:
                callback(step, records)
        resolve()
    finally:
        if ckpt is not None:
            ckpt.close()
        logger.close()

    nnx.update(model, params, rngs, rest)
    return TrainResult(
        model=model,
        history=logger.history,
        run_dir=run_dir,
        final_step=step,
        best_step=best["step"] if best else None,
    )


def train(config: TrainConfig, *, callbacks: Sequence[Callback] = ()) -> TrainResult:
    """Build model, task and data from the registries named in ``config``, then :func:`fit`."""
    from sciml.train.registry import build_model, build_source, build_task

    model = build_model(config.model.name, dict(config.model.kwargs), seed=config.seed)
    task = build_task(config.task.name, dict(config.task.kwargs))
    train_source = build_source(config.data.train.kind, dict(config.data.train.kwargs))
    eval_source = None
    if config.data.eval is not None and config.data.eval.kind:
        eval_source = build_source(
            config.data.eval.kind, dict(config.data.eval.kwargs), key="data.eval"
        )
    # A model that knows its data's grid and time step (a learned stepper) refuses a mismatch
    # before the first step; the loop only calls the hook, it never imports a model.
    check_data = getattr(model, "check_data", None)
    if callable(check_data):
        check_data(train_source, where="data.train")
        if eval_source is not None:
            check_data(eval_source, where="data.eval", reference=train_source)
    with _locked(config):
        if config.run_dir is not None:
            _store_stats(train_source, config.run_dir)
        return fit(
            model, task, train_source, config=config, eval_source=eval_source, callbacks=callbacks
        )


def _store_stats(source: Any, run_dir: str) -> None:
    """Per-channel statistics of every floating-point array of the training data, computed once
    in a streaming pass and kept with the run as ``RUN_DIR/stats/KEY.json`` (``{mean, std,
    count}``) for normalisation and export; a resumed run keeps the files it has."""
    from sciml.datasets import compute_stats, save_stats

    folder = os.path.join(run_dir, "stats")
    if jax.process_index() != 0 or os.path.isdir(folder):
        return
    spec = source.element_spec
    keys = [k for k, (shape, dtype) in spec.items() if np.issubdtype(dtype, np.floating) and shape]
    os.makedirs(folder, exist_ok=True)
    for k in keys:
        save_stats(os.path.join(folder, f"{k}.json"), compute_stats(source, k))
