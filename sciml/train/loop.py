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

:func:`fit` runs in three phases: :func:`sciml.train.prepare.prepare` (checks, mesh, state on
the mesh, checkpoints and resume, log, jitted steps), ``_train_steps`` (the loop above) and
``_finish`` (the trained state back into the model, the result).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import jax
import numpy as np
from flax import nnx

from sciml import interrupt
from sciml.train.config import TrainConfig
from sciml.train.lock import hold_run_dir
from sciml.train.prepare import Run, prepare
from sciml.train.runlog import prepare_run_dir
from sciml.train.state import checkpoint_tree, host_value

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
    """:func:`fit` in its three phases: prepare, the step loop, finish."""
    run = prepare(model, task, train_source, config, eval_source, callbacks)
    _train_steps(run)
    return _finish(model, run)


# ---- phase 2 (phase 1 is sciml.train.prepare): the step loop


def _train_steps(run: Run) -> None:
    """Run the steps up to ``config.steps``; the checkpoints and the log are closed however the
    loop ends (done, diverged, interrupted, failed)."""
    try:
        while run.step < run.cfg.steps:
            interrupt.check()
            _one_step(run)
        _resolve(run)
    finally:
        if run.ckpt is not None:
            run.ckpt.close()
        run.logger.close()


def _one_step(run: Run) -> None:
    """One update on the next batch; then, when due, the previous step's check and log, an
    evaluation, a checkpoint, and the callbacks."""
    cfg = run.cfg
    try:
        batch = next(run.loader_iter)
    except StopIteration:
        raise ValueError(f"data.train: the source ran out of batches at step {run.step}") from None
    run.params, run.rest, run.rngs, run.opt_state, metrics = run.update_step(
        run.params, run.rest, run.rngs, run.opt_state, batch, run.key_data, np.int32(run.step)
    )
    records = _resolve(run)
    run.step = step = run.step + 1
    run.pending = (step, metrics)
    do_eval = run.eval_source is not None and (
        (cfg.eval_every and step % cfg.eval_every == 0) or step == cfg.steps
    )
    do_save = run.ckpt is not None and (
        (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or step == cfg.steps
    )
    if do_eval or do_save or step == cfg.steps or run.callbacks:
        records += _resolve(run)
    eval_metrics = None
    if do_eval:
        eval_metrics = _evaluate(run, step)
        records.append(run.logger.log(step, "eval", eval_metrics))
        if _is_best(run, step, eval_metrics):
            do_save = run.ckpt is not None
    if do_save:
        _save(run, step, {cfg.best_metric: eval_metrics[cfg.best_metric]} if eval_metrics else None)
    for callback in run.callbacks:
        callback(step, records)


def _resolve(run: Run) -> list[dict[str, Any]]:
    """Check the loss of the previous step (raising if it diverged) and log its metrics when
    due; the logged records."""
    if run.pending is None:
        return []
    s, m = run.pending
    run.pending = None
    cfg = run.cfg
    loss = float(host_value(m["loss"]))
    factor = cfg.divergence_factor
    # Diverging, not a spike: far above the best loss AND above the loss the run started
    # from (a spike from 1e-8 to 1e-4 late in a good run is not a divergence).
    grown = (
        factor is not None
        and run.best_loss is not None
        and run.best_loss > 0
        and loss > factor * run.best_loss
        and loss > run.first_loss
    )
    if not np.isfinite(loss) or grown:
        _diverged(run, s, loss, grown)
    if run.best_loss is None:
        run.first_loss = loss
    if run.best_loss is None or loss < run.best_loss:
        run.best_loss, run.best_loss_step = loss, s
    run.logger.progress(s, loss)
    if s % cfg.log_every and s != cfg.steps:
        return []
    now = time.perf_counter()
    rate = (s - run.last_log[0]) / max(now - run.last_log[1], 1e-9)
    run.last_log = (s, now)
    values = {k: float(host_value(v)) for k, v in m.items()}
    values["lr"] = float(run.schedule(s - 1))
    values["steps_per_s"] = rate
    return [run.logger.log(s, "train", values)]


def _diverged(run: Run, step: int, loss: float, grown: bool) -> NoReturn:
    """Close the log and raise :class:`DivergenceError` naming the last good checkpoint."""
    where = "no checkpoint was written"
    if run.ckpt is not None:
        run.ckpt.wait()
        good = run.ckpt.latest_step()
        if good is not None:
            where = f"the last good checkpoint is step {good} in {run.ckpt.directory}"
    run.logger.close()
    if grown:
        what = (
            f"loss {loss:.4g} at step {step} is {loss / run.best_loss:.3g} times its best "
            f"{run.best_loss:.4g} (step {run.best_loss_step}), above "
            f"divergence_factor={run.cfg.divergence_factor:g}"
        )
        fix = "or raise divergence_factor"
    else:
        what, fix = f"loss is {loss} at step {step}", "or check the data for NaN"
    raise DivergenceError(
        f"training diverged: {what}; {where}; lower optim.learning_rate, set optim.clip_norm, {fix}"
    )


def _evaluate(run: Run, step: int) -> dict[str, float]:
    """The mean evaluation metrics over the full batches of the held-out split."""
    from sciml.datasets import Loader, prefetch_to_mesh

    cfg = run.cfg
    eval_loader = Loader(
        run.eval_source, global_batch=cfg.batch_size, seed=cfg.seed, shuffle=False, num_epochs=1
    )
    sums: dict[str, float] = {}
    n = 0
    for batch in prefetch_to_mesh(eval_loader, run.eval_shardings):
        out = run.eval_step(run.params, run.rest, run.rngs, batch, run.key_data, np.int32(step))
        for k, v in out.items():
            sums[k] = sums.get(k, 0.0) + float(host_value(v))
        n += 1
    return {k: v / n for k, v in sums.items()}


def _is_best(run: Run, step: int, eval_metrics: dict[str, float]) -> bool:
    """Whether this evaluation is the best so far (finite); if so it becomes ``run.best``."""
    cfg = run.cfg
    if cfg.best_metric not in eval_metrics:
        raise ValueError(
            f"config best_metric: {cfg.best_metric!r} is not an evaluation metric; "
            f"available: {', '.join(sorted(eval_metrics))}"
        )
    value = eval_metrics[cfg.best_metric]
    best = run.best
    better = best is None or (
        value < best["value"] if cfg.best_mode == "min" else value > best["value"]
    )
    if better and np.isfinite(value):
        run.best = {"step": step, "value": value, "metric": cfg.best_metric}
        return True
    return False


def _save(run: Run, step: int, metrics: dict[str, float] | None) -> None:
    """Checkpoint the state with the metadata a resume needs (step, data position, key, best)."""
    state = checkpoint_tree(run.params, run.rest, run.rngs, run.opt_state)
    run.ckpt.check_space(step, state)
    meta = {
        "step": step,
        "loader": run.loader_iter.get_state(),
        "rng_key": [int(v) for v in run.key_data],
        "best": run.best,
        "device_count": jax.device_count(),
        "process_count": jax.process_count(),
    }
    run.ckpt.save(step, state, meta, metrics=metrics)


# ---- phase 3: finish


def _finish(model: nnx.Module, run: Run) -> TrainResult:
    """Write the trained state back into ``model``; the result of the run."""
    nnx.update(model, run.params, run.rngs, run.rest)
    return TrainResult(
        model=model,
        history=run.logger.history,
        run_dir=run.run_dir,
        final_step=run.step,
        best_step=run.best["step"] if run.best else None,
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
